/**
 * `sstp cert`: a small CA for SSTP (RouterOS `/certificate add|sign`,
 * `/certificate crl`): create a CA, server and client certificates signed by
 * it, CRLs, and show what a certificate holds.
 *
 * Private keys are written readable only by their owner (mode 0600);
 * existing files are not overwritten without `--force`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createPrivateKey } from "node:crypto";
import type { CommandContext } from "../command_context.ts";
import { EXIT_CODE } from "../command_context.ts";
import { createCertificateAuthority, issueCertificate, type IssuerPem } from "../cert/ca.ts";
import { type KeyType, parseKeyType, RECOMMENDED_RSA_BITS } from "../cert/_generate.ts";
import { createCrl, formatCrlSummary, parseCrls, summarizeCrl } from "../cert/crl.ts";
import { formatCertificateSummary, summarizeCertificate } from "../cert/inspect.ts";
import { isIpAddress } from "../cert/_ip.ts";
import { encodePem, leafCertificateDer, splitPemBundle } from "../cert/pem.ts";
import { keyPathCandidates } from "../cert/server_certificate.ts";
import { x509 } from "../cert/_x509.ts";

const HELP = `usage: sstp cert <command> [options]

commands:
  ca      create a certificate authority (keyCertSign + cRLSign): a self-signed root,
          or an intermediate signed by --ca
  server  create a server certificate signed by a CA (serverAuth, SAN = CN + --dns/--ip)
  client  create a client certificate signed by a CA (clientAuth)
  show    print a certificate (or CRL) file: names, validity, SANs, EKU, key, fingerprints
  crl     issue a CRL revoking serial numbers

sstp cert ca     [--cn NAME] [--out ca.pem] [--key-out ca.key] [--days 3650] [--key-type T]
                 [--ca ROOT.pem [--ca-key ROOT.key]]
sstp cert server --ca ca.pem [--ca-key ca.key] --cn HOST [--dns NAME]... [--ip ADDR]...
                 [--out server.pem] [--key-out server.key] [--days 825] [--key-type T]
sstp cert client --ca ca.pem [--ca-key ca.key] --cn NAME [--out client.pem] [--key-out client.key]
                 [--days 825] [--key-type T]
sstp cert show   FILE... [--json]
sstp cert crl    --ca ca.pem [--ca-key ca.key] [--revoke SERIAL]... [--revoke-cert FILE]...
                 [--reason CODE] [--days 30] [--out crl.pem]

options:
  --key-type T   rsa2048 (default), rsa3072, rsa4096, ecdsa-p256, ecdsa-p384
                 (also rsa<bits>, 1024/2048/4096, prime256v1, secp384r1; RSA under
                 ${RECOMMENDED_RSA_BITS} bits is warned about, under 472 refused).
                 Windows 10 SSTP clients need RSA server certificates.
  --ca-key FILE  default: the key inside --ca, else ca.key / ca-key.pem beside it
  --force        overwrite existing output files
  --json         (show) print JSON`;

const COMMON = {
  help: { type: "boolean", short: "h" },
  force: { type: "boolean" },
  out: { type: "string" },
  "key-out": { type: "string" },
  days: { type: "string" },
  "key-type": { type: "string" },
  cn: { type: "string" },
  ca: { type: "string" },
  "ca-key": { type: "string" },
} as const;

/** Runs `sstp cert ARGS`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    ctx.print(HELP);
    return command === undefined ? EXIT_CODE.USAGE : EXIT_CODE.OK;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    ctx.printError(`sstp cert: unknown command "${command}"\n\n${HELP}`);
    return EXIT_CODE.USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    ctx.print(HELP);
    return EXIT_CODE.OK;
  }
  try {
    return await run(rest, ctx);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ctx.printError(`sstp cert ${command}: ${message}`);
    if (error instanceof TypeError || error instanceof RangeError) return EXIT_CODE.USAGE;
    return EXIT_CODE.FAILURE;
  }
}

type Command = (argv: string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  ca: runCa,
  server: (argv, ctx) => runLeaf("server", argv, ctx),
  client: (argv, ctx) => runLeaf("client", argv, ctx),
  show: runShow,
  crl: runCrl,
};

async function runCa(argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: COMMON, strict: true });
  const keyType = keyTypeOption(values["key-type"], ctx, "ca");
  const out = values.out ?? "ca.pem";
  const keyOut = values["key-out"] ?? defaultKeyPath(out);
  await refuseOverwrite([out, keyOut], values.force);
  const ca = await createCertificateAuthority({
    commonName: values.cn ?? "sstp CA",
    keyType,
    ...daysOption(values.days),
    ...(values.ca === undefined ? {} : { issuer: await readIssuer(values.ca, values["ca-key"]) }),
  });
  await writeOutputs(out, ca.certPem, keyOut, ca.keyPem, values.force);
  printCreated(ctx, "CA", out, keyOut, ca.certDer);
  return EXIT_CODE.OK;
}

async function runLeaf(
  usage: "server" | "client",
  argv: string[],
  ctx: CommandContext,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMMON,
      dns: { type: "string", multiple: true },
      ip: { type: "string", multiple: true },
    },
    strict: true,
  });
  const cn = required(values.cn, "--cn");
  const issuer = await readIssuer(values.ca, values["ca-key"]);
  const keyType = keyTypeOption(values["key-type"], ctx, usage);
  const dnsNames = [...(values.dns ?? [])];
  const ipAddresses = [...(values.ip ?? [])];
  if (usage === "server") {
    // Windows matches the dialled name against the SAN: the CN must be in it.
    const list = isIpAddress(cn) ? ipAddresses : dnsNames;
    if (!list.some((name) => name.toLowerCase() === cn.toLowerCase())) list.unshift(cn);
  }
  const out = values.out ?? `${usage}.pem`;
  const keyOut = values["key-out"] ?? defaultKeyPath(out);
  await refuseOverwrite([out, keyOut], values.force);
  const cert = await issueCertificate({
    issuer,
    commonName: cn,
    usage,
    dnsNames,
    ipAddresses,
    keyType,
    ...daysOption(values.days),
  });
  await writeOutputs(out, cert.certPem, keyOut, cert.keyPem, values.force);
  printCreated(ctx, usage, out, keyOut, cert.certDer);
  return EXIT_CODE.OK;
}

async function runShow(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: "boolean" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new TypeError("show needs a FILE");
  const certificates = [];
  const crls = [];
  for (const path of positionals) {
    const bytes = await Deno.readFile(path);
    const text = new TextDecoder().decode(bytes);
    if (text.includes("-----BEGIN")) {
      certificates.push(...splitPemBundle(text).certificates);
      if (/-----BEGIN (X509 )?CRL-----/.test(text)) crls.push(...parseCrls(text));
    } else {
      // A DER file: a certificate or a CRL.
      try {
        new x509.X509Certificate(bytes);
        certificates.push(bytes);
      } catch {
        crls.push(...parseCrls(bytes));
      }
    }
  }
  if (certificates.length === 0 && crls.length === 0) {
    throw new TypeError(`${positionals.join(", ")}: no certificate or CRL found`);
  }
  const now = Date.now();
  const certSummaries = certificates.map((der) => summarizeCertificate(der, now));
  const crlSummaries = crls.map((der) => summarizeCrl(der, now));
  if (values.json) {
    ctx.print(JSON.stringify(
      crlSummaries.length === 0
        ? certSummaries
        : { certificates: certSummaries, crls: crlSummaries },
      null,
      2,
    ));
    return EXIT_CODE.OK;
  }
  const blocks = [
    ...certSummaries.map(formatCertificateSummary),
    ...crlSummaries.map(formatCrlSummary),
  ];
  ctx.print(blocks.map((lines) => lines.join("\n")).join("\n\n"));
  return EXIT_CODE.OK;
}

async function runCrl(argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMMON,
      revoke: { type: "string", multiple: true },
      "revoke-cert": { type: "string", multiple: true },
      reason: { type: "string" },
    },
    strict: true,
  });
  const issuer = await readIssuer(values.ca, values["ca-key"]);
  const serials = [...(values.revoke ?? []).flatMap((s) => s.split(",")).filter((s) => s !== "")];
  for (const path of values["revoke-cert"] ?? []) {
    serials.push(
      new x509.X509Certificate(leafCertificateDer(await Deno.readTextFile(path))).serialNumber,
    );
  }
  const reason = values.reason === undefined ? undefined : Number(values.reason);
  if (reason !== undefined && Number.isNaN(reason)) {
    throw new TypeError(`--reason "${values.reason}" is not a number (RFC 5280 5.3.1 code)`);
  }
  const out = values.out ?? "crl.pem";
  await refuseOverwrite([out], values.force);
  const crl = await createCrl({
    issuer,
    revoked: serials.map((serialNumber) => ({
      serialNumber,
      ...(reason === undefined ? {} : { reason }),
    })),
    ...daysOption(values.days),
  });
  await writeFile(out, crl.crlPem, 0o644, values.force);
  const summary = summarizeCrl(crl.crlDer);
  ctx.print(`wrote ${out}: ${summary.revoked.length} revoked, next update ${summary.nextUpdate}`);
  return EXIT_CODE.OK;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new TypeError(`${name} is required`);
  return value;
}

function daysOption(text: string | undefined): { days?: number } {
  if (text === undefined) return {};
  const days = Number(text);
  if (!Number.isInteger(days) || days <= 0) {
    throw new RangeError(`--days "${text}" must be a positive whole number`);
  }
  return { days };
}

function keyTypeOption(text: string | undefined, ctx: CommandContext, what: string): KeyType {
  const keyType = parseKeyType(text ?? "rsa2048");
  const rsaBits = /^rsa([0-9]+)$/.exec(keyType);
  if (rsaBits !== null && Number(rsaBits[1]) < RECOMMENDED_RSA_BITS) {
    ctx.printError(
      `sstp cert ${what}: warning: RSA ${
        rsaBits[1]
      } bits is weak; use at least ${RECOMMENDED_RSA_BITS}`,
    );
  }
  return keyType;
}

function defaultKeyPath(certPath: string): string {
  return keyPathCandidates(certPath)[0] ?? `${certPath}.key`;
}

/** Reads the CA certificate and its key (converted to PKCS#8 when PKCS#1 or SEC1). */
async function readIssuer(
  caPath: string | undefined,
  caKeyPath: string | undefined,
): Promise<IssuerPem> {
  const certPath = required(caPath, "--ca");
  const certText = await Deno.readTextFile(certPath);
  const certDer = leafCertificateDer(certText);
  let keys = splitPemBundle(certText).privateKeys;
  let keySource = certPath;
  if (caKeyPath !== undefined) {
    keys = splitPemBundle(await Deno.readTextFile(caKeyPath)).privateKeys;
    keySource = caKeyPath;
  } else if (keys.length === 0) {
    for (const candidate of keyPathCandidates(certPath)) {
      const text = await Deno.readTextFile(candidate).catch((error) => {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      });
      if (text === undefined) continue;
      keys = splitPemBundle(text).privateKeys;
      keySource = candidate;
      break;
    }
  }
  const key = keys[0];
  if (key === undefined) {
    throw new TypeError(
      `no CA private key in ${keySource}${
        caKeyPath === undefined ? " nor beside it" : ""
      }; give --ca-key`,
    );
  }
  if (key.label === "ENCRYPTED PRIVATE KEY") {
    throw new TypeError(`the CA key in ${keySource} is encrypted; decrypt it with openssl pkey`);
  }
  const pkcs8 = key.label === "PRIVATE KEY"
    ? encodePem(key.label, key.der)
    : createPrivateKey(encodePem(key.label, key.der)).export({ type: "pkcs8", format: "pem" })
      .toString();
  return { certPem: encodePem("CERTIFICATE", certDer), keyPem: pkcs8 };
}

async function refuseOverwrite(paths: string[], force: boolean | undefined): Promise<void> {
  if (new Set(paths).size !== paths.length) {
    throw new TypeError(`output files must differ (${paths.join(", ")})`);
  }
  if (force) return;
  for (const path of paths) {
    const exists = await Deno.lstat(path).then(() => true, (error) => {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    });
    if (exists) throw new TypeError(`${path} exists; use --force to overwrite it`);
  }
}

async function writeOutputs(
  certPath: string,
  certPem: string,
  keyPath: string,
  keyPem: string,
  force: boolean | undefined,
): Promise<void> {
  await writeFile(keyPath, keyPem, 0o600, force);
  await writeFile(certPath, certPem, 0o644, force);
}

async function writeFile(
  path: string,
  text: string,
  mode: number,
  force: boolean | undefined,
): Promise<void> {
  // Create the file anew with its final mode, so that a key is never readable
  // by others, not even for a moment when --force replaces a 0644 file.
  if (force) {
    await Deno.remove(path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
  await Deno.writeTextFile(path, text, { mode, createNew: true });
  await Deno.chmod(path, mode);
}

function printCreated(
  ctx: CommandContext,
  what: string,
  certPath: string,
  keyPath: string,
  certDer: Uint8Array,
): void {
  const summary = summarizeCertificate(certDer);
  ctx.print(`wrote ${what} certificate ${certPath} and key ${keyPath} (mode 0600)`);
  ctx.print(formatCertificateSummary(summary).join("\n"));
}
