/**
 * `sstp serve` without `--config`: a usable server from nothing.
 *
 * The state directory (default `/var/lib/sstp`, mode 0700) keeps, each
 * file mode 0600 and reused on the next start:
 * - `server.pem`: a self-signed RSA certificate (SANs: this host's name and
 *   addresses) followed by its key;
 * - `credentials.json`: user `sstp` and a random password.
 *
 * The configuration built from them: one pool (`--pool`, default
 * 10.255.255.2-10.255.255.254), the server side at the address just below
 * the pool's first, MS-CHAPv2 only (the default: the one method whose keys
 * protect the crypto binding). {@linkcode
 * zeroConfigBanner} prints the fingerprint, the credentials file and a ready
 * `sstp connect` line; the password itself only when it was just created and
 * standard output is a terminal.
 *
 * @module
 */
import { createSelfSignedServerCertificate } from "../cert/self_signed.ts";
import { leafCertificateDer } from "../cert/pem.ts";
import { splitCertificateAndKey } from "./_pem_files.ts";
import { certificateFingerprint, formatFingerprint } from "../cert/fingerprint.ts";
import { certificateMatchesHost } from "../cert/names.ts";
import { parseServerConfig, type ServerConfig } from "../config/server_config.ts";
import { formatIpv4, type Ipv4Range, parseIpv4Range } from "../ip.ts";

/** Default client pool when `--pool` is not given (private, rarely used by LANs). */
export const DEFAULT_ZERO_CONFIG_POOL = "10.255.255.2-10.255.255.254";

/** The zero-config user name. */
export const ZERO_CONFIG_USER = "sstp";

/** Options of {@linkcode loadZeroConfig}. */
export interface ZeroConfigOptions {
  /** Where `server.pem` and `credentials.json` are kept and reused (created mode 0700). */
  stateDir: string;
  /** Pool range (`A-B`, `A/N` or one address). */
  pool?: string;
  /** TCP port to serve on (the server's default when absent). */
  port?: number;
  /** Addresses to listen on (the server's default when absent). */
  listen?: string[];
  /** Control socket path (the server's default when absent). */
  controlSocket?: string;
  /** DNS names for the certificate SANs (default: this host's name). */
  hostNames?: string[];
  /** IP addresses for the certificate SANs (default: this host's). */
  hostAddresses?: string[];
}

/** What {@linkcode loadZeroConfig} returns. */
export interface ZeroConfig {
  /** The configuration built (one pool, MS-CHAPv2, the self-signed certificate). */
  config: ServerConfig;
  /** The self-signed certificate, PEM. */
  certPem: string;
  /** Its private key, PEM. */
  keyPem: string;
  /** The user name, {@linkcode ZERO_CONFIG_USER}. */
  user: string;
  /** The user's password (random, kept in `credentials.json`). */
  password: string;
  /** `sha256:HEX` of the certificate. */
  fingerprint: string;
  /** Files created now (empty when everything was reused). */
  created: string[];
  /** The credentials file (`credentials.json` in the state directory). */
  credentialsPath: string;
}

/** Options of {@linkcode zeroConfigBanner}. */
export interface ZeroConfigBannerOptions {
  /**
   * Print the password itself. Only for a password created by this start
   * and only when standard output is a terminal: a service's output ends
   * up in the journal, which more people can read than the 0600 file.
   */
  showPassword: boolean;
}

/**
 * Loads (or creates) the state directory and builds the configuration.
 *
 * @throws {RangeError} for a bad `pool`.
 * @throws {Error} when the state directory cannot be written.
 */
export async function loadZeroConfig(o: ZeroConfigOptions): Promise<ZeroConfig> {
  const pool = parseIpv4Range(o.pool ?? DEFAULT_ZERO_CONFIG_POOL);
  if (typeof pool === "string") throw new RangeError(`Cannot use --pool: ${pool}`);
  if (pool.first === 0) throw new RangeError("Cannot use --pool: it starts at 0.0.0.0");
  await Deno.mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const pemPath = `${o.stateDir}/server.pem`;
  let pem = await readIfExists(pemPath);
  if (pem === undefined) {
    const names = o.hostNames ?? [Deno.hostname()];
    const addresses = o.hostAddresses ?? localAddresses();
    const made = await createSelfSignedServerCertificate({
      commonName: names[0] ?? "sstp",
      dnsNames: names,
      ipAddresses: addresses,
    });
    pem = made.certPem + made.keyPem;
    await writePrivate(pemPath, pem);
    created.push(pemPath);
  }
  const credPath = `${o.stateDir}/credentials.json`;
  let credentials = parseCredentials(await readIfExists(credPath));
  if (credentials === undefined) {
    credentials = { user: ZERO_CONFIG_USER, password: randomPassword() };
    await writePrivate(credPath, JSON.stringify(credentials, null, 2) + "\n");
    created.push(credPath);
  }
  const bundle = splitCertificateAndKey(pem);
  if (bundle.keyPem === undefined) {
    throw new Error(`Cannot use "${pemPath}": it holds no private key`);
  }
  const config = parseServerConfig(yamlFor(o, pemPath, pool, credentials), "(zero-config)");
  const fingerprint = formatFingerprint(certificateFingerprint(leafCertificateDer(pem)), "sha256");
  return {
    config,
    certPem: bundle.certPem,
    keyPem: bundle.keyPem,
    user: credentials.user,
    password: credentials.password,
    fingerprint,
    created,
    credentialsPath: credPath,
  };
}

/**
 * Whether the start-up banner may print the password: only when this start
 * created it and standard output is a terminal.
 */
export function mayShowPassword(z: ZeroConfig, isOutputTerminal: boolean): boolean {
  return isOutputTerminal && z.created.includes(z.credentialsPath);
}

/**
 * The lines to print at start: fingerprint and a ready `sstp connect` line
 * for `host` (an address or name clients dial).
 */
export function zeroConfigBanner(
  z: ZeroConfig,
  host: string,
  port: number,
  options: ZeroConfigBannerOptions,
): string[] {
  const der = leafCertificateDer(z.certPem);
  const connectTo = host.includes(":") ? `[${host}]` : host;
  const addressCheck = certificateMatchesHost(der, host)
    ? ""
    : " --verify-server-address-from-certificate no";
  return [
    `zero-config: certificate ${z.fingerprint}`,
    `zero-config: user "${z.user}", password in ${z.credentialsPath}`,
    `connect with:`,
    // The password goes in the environment, not on the command line, where
    // every user could read it in the process list.
    `  SSTP_PASSWORD='${
      options.showPassword ? z.password : `<password from ${z.credentialsPath}>`
    }' sstp connect ${connectTo}` +
    `${port === 443 ? "" : ` --port ${port}`} --user ${z.user} ` +
    `--server-fingerprint ${z.fingerprint}${addressCheck}`,
  ];
}

function yamlFor(
  o: ZeroConfigOptions,
  pemPath: string,
  pool: Ipv4Range,
  c: { user: string; password: string },
): string {
  const local = formatIpv4(pool.first - 1);
  const range = pool.first === pool.last
    ? formatIpv4(pool.first)
    : `${formatIpv4(pool.first)}-${formatIpv4(pool.last)}`;
  const server: Record<string, unknown> = {
    certificate: pemPath,
    "state-dir": o.stateDir,
    ...(o.port === undefined ? {} : { port: o.port }),
    ...(o.listen === undefined ? {} : { listen: o.listen }),
    ...(o.controlSocket === undefined ? {} : { "control-socket": o.controlSocket }),
  };
  // JSON is YAML: no quoting rules to get wrong for passwords.
  return JSON.stringify({
    "sstp-server": server,
    profiles: [{ name: "default", "local-address": local, "remote-address": "zero-config" }],
    pools: [{ name: "zero-config", ranges: range }],
    secrets: [{ name: c.user, password: c.password }],
  });
}

function localAddresses(): string[] {
  const out = new Set<string>(["127.0.0.1"]);
  try {
    for (const i of Deno.networkInterfaces()) {
      if (i.family === "IPv4" || !i.address.startsWith("fe80")) out.add(i.address);
    }
  } catch {
    // Not permitted: the certificate gets the loopback address only.
  }
  return [...out];
}

function randomPassword(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

function parseCredentials(
  text: string | undefined,
): { user: string; password: string } | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as { user?: unknown; password?: unknown };
    if (typeof v.user === "string" && typeof v.password === "string" && v.password !== "") {
      return { user: v.user, password: v.password };
    }
  } catch {
    // Rewritten below.
  }
  return undefined;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function writePrivate(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}
