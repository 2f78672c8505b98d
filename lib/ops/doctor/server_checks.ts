/**
 * `sstp doctor server --config FILE`: the configuration, the certificate,
 * the port, forwarding and privileges of a server.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { parseServerConfig, type ServerConfig } from "../../config/server_config.ts";
import { loadServerTlsFiles } from "../../server/_pem_files.ts";
import { leafCertificateDer } from "../../cert/pem.ts";
import {
  checkForwarding,
  checkPrivileges,
  type CheckResult,
  checkTun,
  fail,
  ok,
  warn,
} from "./checks.ts";
import { probeSstp } from "./sstp_probe.ts";

/** Certificate warnings that mean clients will refuse it. */
const FATAL_CERT = /has expired|not yet valid|is not valid for|lacks the serverAuth/;

/** The certificate: loads with its key, dates, names, chain, key type, CRL distribution points. */
export async function checkServerCertificate(
  file: string,
  config: ServerConfig,
): Promise<CheckResult[]> {
  const s = config.sstpServer;
  const out: CheckResult[] = [];
  let tls;
  try {
    tls = await loadServerTlsFiles(file, s);
  } catch (e) {
    return [fail(
      "certificate",
      (e as Error).message,
      e instanceof Deno.errors.NotFound
        ? "create one (sstp cert server …) or fix the certificate path"
        : "give the certificate with its own key, leaf first, unencrypted",
    )];
  }
  out.push(ok("certificate", `${s.certificate}: loads with its key, ${tls.fingerprint}`));
  for (const w of tls.warnings) {
    if (FATAL_CERT.test(w)) {
      out.push(
        fail("certificate", w, "issue a new certificate (sstp cert server --cn NAME --dns NAME …)"),
      );
    } else {
      out.push(warn("certificate", w, "see the message"));
    }
  }
  const leaf = new x509.X509Certificate(leafCertificateDer(tls.certPem));
  const cdp = leaf.getExtension(x509.CRLDistributionPointsExtension);
  const urls =
    cdp?.distributionPoints.flatMap((p) =>
      p.distributionPoint?.fullName?.flatMap((n) =>
        n.uniformResourceIdentifier === undefined ? [] : [n.uniformResourceIdentifier]
      ) ?? []
    ) ?? [];
  if (urls.length > 0) {
    out.push(warn(
      "certificate",
      `CRL distribution point ${urls.join(", ")}: Windows clients fetch it before connecting and ` +
        "fail (error 0x80092013) when they cannot reach it",
      "make the URL reachable from clients, or issue the certificate without a CRL distribution point",
    ));
  }
  const hostNames = s.hostName ?? s.listen.filter((a) => a !== "0.0.0.0" && a !== "::");
  if (hostNames.length === 0) {
    out.push(warn(
      "certificate",
      "no host-name configured: cannot check the names clients dial against the certificate",
      "set sstp-server.host-name to the name(s) clients use",
    ));
  }
  return out;
}

/** The port: free to bind, or already served by a server that speaks SSTP. */
export async function checkPort(config: ServerConfig): Promise<CheckResult[]> {
  const s = config.sstpServer;
  const out: CheckResult[] = [];
  const addrs = s.listen.length === 2 && s.listen.includes("::") ? ["0.0.0.0"] : s.listen;
  for (const hostname of addrs) {
    const what = `port ${hostname}:${s.port}`;
    try {
      const l = Deno.listen({ hostname, port: s.port, transport: "tcp" });
      l.close();
      out.push(ok(what, "free (no server is running on it)"));
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        const target = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
        const probe = await probeSstp({ host: target, port: s.port, verify: false });
        if (probe.sstp) {
          out.push(ok(what, `in use by an SSTP server (answered ${probe.detail})`));
        } else {
          out.push(fail(
            what,
            `in use by something that is not an SSTP server (${probe.detail})`,
            `find it with: ss -ltnp 'sport = :${s.port}'; stop it or choose another port`,
          ));
        }
      } else if (e instanceof Deno.errors.AddrNotAvailable) {
        out.push(
          fail(what, `${hostname} is not an address of this host`, "fix sstp-server.listen"),
        );
      } else if (e instanceof Deno.errors.PermissionDenied) {
        out.push(fail(
          what,
          "permission denied",
          "run as root or grant CAP_NET_BIND_SERVICE, or use a port above 1023",
        ));
      } else {
        out.push(fail(what, (e as Error).message, "see the message"));
      }
    }
  }
  return out;
}

/** Every server check. */
export async function serverChecks(file: string): Promise<CheckResult[]> {
  let config: ServerConfig;
  try {
    config = parseServerConfig(await Deno.readTextFile(file), file);
  } catch (e) {
    return [fail("configuration", (e as Error).message, `fix ${file}`)];
  }
  const out: CheckResult[] = [ok("configuration", `${file} loads`)];
  try {
    const info = await Deno.stat(file);
    if (info.mode !== null && (info.mode & 0o004) !== 0) {
      out.push(
        warn(
          "configuration",
          `${file} is readable by all users and holds passwords`,
          `chmod 640 ${file}`,
        ),
      );
    }
  } catch { /* read above */ }
  out.push(...checkPrivileges({ port: config.sstpServer.port }));
  out.push(checkTun());
  out.push(...checkForwarding({ clientSubnets: config.secrets.some((x) => x.routes.length > 0) }));
  out.push(...await checkServerCertificate(file, config));
  out.push(...await checkPort(config));
  return out;
}
