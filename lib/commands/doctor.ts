/**
 * `sstp doctor`: checks this machine and a server or client configuration,
 * one line per check with a fix, and exits 1 when a check failed.
 *
 * @module
 */
import { type CommandContext, EXIT_CODE } from "../command_context.ts";
import { checkPrivileges, type CheckResult, checkTun, formatCheck } from "../ops/doctor/checks.ts";

const HELP = `Usage: sstp doctor server --config FILE [--json]
       sstp doctor client [sstp connect options] [--login] [--json]
       sstp doctor [--json]

Checks and explains, one line each with a fix:
  server  the configuration, privileges (CAP_NET_ADMIN, CAP_NET_BIND_SERVICE),
          /dev/net/tun, ip_forward and rp_filter, the certificate (key, dates,
          names against host-name, chain, RSA for Windows, CRL distribution
          points Windows would fetch), the port (free, or served by SSTP)
  client  privileges, /dev/net/tun, DNS, TCP reach, the TLS handshake with the
          client's verification settings, whether the far end speaks SSTP
          (takes the same options as sstp connect, e.g. --config FILE);
          --login also logs in once with the configured credentials and
          reports the authentication result, the crypto binding and the
          assigned address, then disconnects (no interface, route or DNS)
Without a role, only privileges and /dev/net/tun.

Exit status: 0 when nothing failed (warnings allowed), 1 otherwise.`;

/** Runs `sstp doctor`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const json = argv.includes("--json");
  const args = argv.filter((a) => a !== "--json");
  if (args.includes("--help") || args.includes("-h")) {
    ctx.print(HELP);
    return EXIT_CODE.OK;
  }
  const [role, ...rest] = args;
  let results: CheckResult[];
  if (role === "server") {
    const i = rest.indexOf("--config");
    const file = i >= 0 ? rest[i + 1] : undefined;
    if (file === undefined || rest.length !== 2) {
      throw new TypeError("Cannot check the server: give --config FILE");
    }
    const { serverChecks } = await import(
      new URL("../ops/doctor/server_checks.ts", import.meta.url).href
    ) as typeof import("../ops/doctor/server_checks.ts");
    results = await serverChecks(file);
  } else if (role === "client") {
    const { clientChecks } = await import(
      new URL("../ops/doctor/client_checks.ts", import.meta.url).href
    ) as typeof import("../ops/doctor/client_checks.ts");
    const { parseConnectOptions } = await import("../cli/connect_args.ts");
    const login = rest.includes("--login");
    const connectArgs = rest.filter((a) => a !== "--login");
    // Without --login the doctor does not log in: a missing password is not its concern.
    const env = login
      ? ctx.env
      : { ...ctx.env, SSTP_PASSWORD: ctx.env.SSTP_PASSWORD ?? "unused-by-doctor" };
    results = await clientChecks(
      () => parseConnectOptions(connectArgs, env, (p) => Deno.readTextFileSync(p)),
      5000,
      { login },
    );
  } else if (role === undefined) {
    results = [...checkPrivileges(), checkTun()];
  } else {
    throw new TypeError(`Cannot check "${role}": use server or client`);
  }
  if (json) ctx.print(JSON.stringify(results, null, 2));
  else for (const r of results) ctx.print(formatCheck(r));
  const failed = results.filter((r) => r.status === "fail").length;
  const warned = results.filter((r) => r.status === "warn").length;
  if (!json) {
    ctx.print(
      failed === 0
        ? `no problems found${warned > 0 ? ` (${warned} warning${warned === 1 ? "" : "s"})` : ""}`
        : `${failed} problem${failed === 1 ? "" : "s"} found`,
    );
  }
  return failed === 0 ? EXIT_CODE.OK : EXIT_CODE.FAILURE;
}
