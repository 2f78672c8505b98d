/**
 * `sstp doctor`: checks that say what is wrong and how to fix it, one line
 * each. Each check returns {@linkcode CheckResult}s; the command prints them
 * and exits non-zero when one failed.
 *
 * @module
 */

/** How a check went. */
export type CheckStatus = "ok" | "warn" | "fail" | "info";

/** One line of the report. */
export interface CheckResult {
  status: CheckStatus;
  /** What was checked (`/dev/net/tun`, `certificate`, `port 443`, …). */
  check: string;
  /** What was found. */
  detail: string;
  /** What to do about it (for warn and fail). */
  fix?: string;
}

/** Shorthands. */
export const ok = (check: string, detail: string): CheckResult => ({ status: "ok", check, detail });
/** A problem that does not stop the program. */
export const warn = (check: string, detail: string, fix: string): CheckResult => ({
  status: "warn",
  check,
  detail,
  fix,
});
/** A problem that stops the program or its clients. */
export const fail = (check: string, detail: string, fix: string): CheckResult => ({
  status: "fail",
  check,
  detail,
  fix,
});

/** Formats one result as the report line. */
export function formatCheck(r: CheckResult): string {
  const tag = { ok: "ok  ", warn: "WARN", fail: "FAIL", info: "info" }[r.status];
  return `${tag} ${r.check}: ${r.detail}${r.fix === undefined ? "" : ` (fix: ${r.fix})`}`;
}

const CAP_NET_BIND_SERVICE = 10;
const CAP_NET_ADMIN = 12;

/** Effective capabilities of this process (Linux), or `undefined`. */
export function effectiveCapabilities(statusText?: string): bigint | undefined {
  let text = statusText;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/self/status");
    } catch {
      return undefined;
    }
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  return m === null ? undefined : BigInt(`0x${m[1]}`);
}

/** Privileges: root, or CAP_NET_ADMIN (+ CAP_NET_BIND_SERVICE below port 1024). */
export function checkPrivileges(
  o: { port?: number; uid?: number | null; caps?: bigint | undefined } = {},
): CheckResult[] {
  const uid = o.uid === undefined ? Deno.uid() : o.uid;
  const caps = o.caps === undefined && !("caps" in o) ? effectiveCapabilities() : o.caps;
  const has = (bit: number) => caps !== undefined && (caps & (1n << BigInt(bit))) !== 0n;
  const out: CheckResult[] = [];
  const who = uid === 0 ? "root" : `uid ${uid ?? "?"}`;
  const unit = "run as root, or as the systemd units do: AmbientCapabilities=CAP_NET_ADMIN " +
    "CAP_NET_BIND_SERVICE (contrib/systemd)";
  if (has(CAP_NET_ADMIN)) {
    out.push(ok("privileges", `${who} with CAP_NET_ADMIN (TUN devices, addresses, routes)`));
  } else {
    out.push(
      fail(
        "privileges",
        `${who} without CAP_NET_ADMIN: cannot create or configure TUN devices`,
        unit,
      ),
    );
  }
  if (o.port !== undefined && o.port < 1024) {
    if (has(CAP_NET_BIND_SERVICE)) {
      out.push(ok("privileges", `CAP_NET_BIND_SERVICE: may listen on port ${o.port}`));
    } else {
      out.push(
        fail("privileges", `no CAP_NET_BIND_SERVICE: cannot listen on port ${o.port}`, unit),
      );
    }
  }
  return out;
}

/** /dev/net/tun exists and opens read-write. */
export function checkTun(path = "/dev/net/tun"): CheckResult {
  try {
    const f = Deno.openSync(path, { read: true, write: true });
    f.close();
    return ok("/dev/net/tun", "opens read-write");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return fail(
        "/dev/net/tun",
        `${path} does not exist`,
        "modprobe tun (containers: pass the device, e.g. docker --device /dev/net/tun)",
      );
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      return fail(
        "/dev/net/tun",
        `${path}: permission denied`,
        "run as root, or chmod 0666 /dev/net/tun (Debian's default); under systemd DeviceAllow=/dev/net/tun rw",
      );
    }
    return fail(
      "/dev/net/tun",
      `${path}: ${(e as Error).message}`,
      "check the tun module and the device node",
    );
  }
}

/** Reads one sysctl value, or `undefined`. */
export function readSysctl(key: string, procSys = "/proc/sys"): string | undefined {
  try {
    return Deno.readTextFileSync(`${procSys}/${key.replaceAll(".", "/")}`).trim();
  } catch {
    return undefined;
  }
}

/** ip_forward (and forwarding for IPv6), and strict rp_filter when clients route subnets. */
export function checkForwarding(
  o: { clientSubnets: boolean; procSys?: string },
): CheckResult[] {
  const out: CheckResult[] = [];
  const fwd = readSysctl("net.ipv4.ip_forward", o.procSys);
  if (fwd === "1") out.push(ok("ip_forward", "net.ipv4.ip_forward = 1"));
  else {
    out.push(warn(
      "ip_forward",
      `net.ipv4.ip_forward = ${
        fwd ?? "unreadable"
      }: clients reach this host only, not the networks behind it`,
      "sysctl -w net.ipv4.ip_forward=1 and put net.ipv4.ip_forward=1 in /etc/sysctl.d/90-sstp.conf",
    ));
  }
  const rp = readSysctl("net.ipv4.conf.all.rp_filter", o.procSys);
  if (o.clientSubnets && rp === "1") {
    out.push(warn(
      "rp_filter",
      "net.ipv4.conf.all.rp_filter = 1 (strict): packets from subnets behind clients (secret routes) may be dropped",
      "sysctl -w net.ipv4.conf.all.rp_filter=2 (loose)",
    ));
  } else if (rp !== undefined) {
    out.push(ok("rp_filter", `net.ipv4.conf.all.rp_filter = ${rp}`));
  }
  return out;
}
