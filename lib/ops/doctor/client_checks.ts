/**
 * `sstp doctor client …` (the same arguments as `sstp connect`): DNS, TCP
 * reach, the TLS handshake with the client's own verification settings,
 * whether the far end speaks SSTP, and this machine's privileges and TUN;
 * with `--login`, one real login (login_check.ts).
 *
 * @module
 */
import type { ConnectOptions } from "../../config/client_config.ts";
import { parseFingerprint } from "../../cert/fingerprint.ts";
import { dialTls } from "../../transport/tls_client.ts";
import { checkPrivileges, type CheckResult, checkTun, fail, ok } from "./checks.ts";
import { probeSstp } from "./sstp_probe.ts";

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every client check. `parseOptions` reads the options as `sstp connect`
 * would (the command layer owns argv parsing); its error is the first check's
 * failure.
 */
export async function clientChecks(
  parseOptions: () => Promise<ConnectOptions>,
  timeoutMs = 5000,
  options: { login?: boolean } = {},
): Promise<CheckResult[]> {
  let o;
  try {
    o = await parseOptions();
  } catch (e) {
    return [fail("configuration", (e as Error).message, "fix the options or the config file")];
  }
  const out: CheckResult[] = [
    ok("configuration", `server ${o.connectTo.host}:${o.connectTo.port}`),
  ];
  out.push(...checkPrivileges());
  out.push(checkTun());
  const { host, port } = o.connectTo;
  let address = host;
  if (o.connectTo.kind === "name") {
    const found: string[] = [];
    for (const type of ["A", "AAAA"] as const) {
      try {
        found.push(...await withTimeout(Deno.resolveDns(host, type), timeoutMs, "DNS"));
      } catch { /* none of this type */ }
    }
    if (found.length === 0) {
      out.push(fail(
        "DNS",
        `${host} does not resolve`,
        "check the name and /etc/resolv.conf (or dial the server's IP)",
      ));
      return out;
    }
    out.push(ok("DNS", `${host} → ${found.join(", ")}`));
    address = found[0]!;
  }
  if (o.httpProxy === undefined) {
    try {
      const conn = await withTimeout(
        Deno.connect({ hostname: address, port }),
        timeoutMs,
        "TCP connect",
      );
      conn.close();
      out.push(ok("TCP", `${address}:${port} accepts connections`));
    } catch (e) {
      out.push(fail(
        "TCP",
        `${address}:${port}: ${(e as Error).message}`,
        "check that the server runs, the port, and firewalls on the way",
      ));
      return out;
    }
  }
  try {
    const conn = await dialTls({
      host,
      port,
      sni: o.sni === undefined ? false : o.sni,
      verifyServerCertificate: o.verifyServerCertificate,
      verifyServerAddress: o.verifyServerAddressFromCertificate,
      ...(o.ca ? { caPem: Deno.readTextFileSync(o.ca) } : {}),
      ...(o.serverFingerprint
        ? { serverFingerprintSha256: parseFingerprint(`sha256:${o.serverFingerprint}`).bytes }
        : {}),
      ...(o.crl ? { crlPem: Deno.readTextFileSync(o.crl) } : {}),
      tlsVersion: o.tlsVersion,
      connectTimeoutMs: timeoutMs,
      ...(o.httpProxy ? { httpProxy: o.httpProxy } : {}),
    });
    conn.duplex.close();
    const how = o.serverFingerprint !== undefined
      ? (o.ca !== undefined
        ? "certificate verified against ca and pin"
        : "certificate pinned by fingerprint")
      : o.verifyServerCertificate
      ? "certificate verified"
      : "certificate NOT verified (verify-server-certificate no)";
    out.push(ok("TLS", `${conn.tlsVersion} ${conn.cipher}; ${how}`));
  } catch (e) {
    out.push(fail(
      "TLS",
      (e as Error).message,
      "trust the server's CA (ca), pin it (server-fingerprint), or fix the server's certificate",
    ));
  }
  if (o.httpProxy === undefined) {
    const probe = await probeSstp({
      host: address,
      port,
      verify: false,
      ...(o.sni === undefined ? {} : { sni: o.sni }),
      timeoutMs,
    });
    if (probe.sstp) out.push(ok("SSTP", `the server answers the SSTP request (${probe.detail})`));
    else {
      out.push(fail(
        "SSTP",
        `the far end does not speak SSTP: ${probe.detail}`,
        "check the port: it may be a web server or another VPN",
      ));
    }
  }
  if (options.login) {
    if (
      out.some((r) => r.status === "fail" && r.check !== "privileges" && r.check !== "/dev/net/tun")
    ) {
      out.push(fail("login", "not tried: an earlier check failed", "fix that first"));
    } else {
      const { loginCheck } = await import(
        new URL("./login_check.ts", import.meta.url).href
      ) as typeof import("./login_check.ts");
      out.push(...await loginCheck(o, { readTextFile: (p) => Deno.readTextFileSync(p) }));
    }
  }
  return out;
}
