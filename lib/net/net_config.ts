/**
 * Network configuration through iproute2: the only code in `sstp` that starts
 * processes (`ip …`; `ip netns exec NS sysctl …` for proxy ARP inside a test
 * namespace). With a `netlink` opener (the platform's rtnetlink socket), the
 * changes on the connect path (IPv4 point-to-point address, IPv4 routes in
 * the main table) are made through it instead: no `ip` process (~5-10 ms
 * each) before the tunnel is up. Undo, lookups (`ip route get`), IPv6 and
 * anything rtnetlink here lacks still use `ip`.
 *
 * {@linkcode NetConfig} records every change it makes, with how to undo it.
 * {@linkcode NetConfig.cleanup} undoes them newest first, treats "already
 * gone" (interface deleted with its tunnel, route removed by someone else) as
 * success, carries on past other failures and reports them together at the end.
 * It is idempotent: a second call has nothing left to do.
 *
 * With `netns`, every `ip` command runs as `ip -n NS …`, so tests can work in
 * a private namespace. DNS is written to `resolvConfPath`, which tests point at
 * a temporary file.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { NOOP_LOGGER } from "../log.ts";
import { interfaceNameProblem } from "../config/interface_names.ts";
import { isIpv4, isIpv6 } from "../config/ip.ts";
import type { PlatformNetlink } from "../platform.ts";

/** What a finished command returned. */
export interface CommandResult {
  /** Exit code. */
  code: number;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

/** Runs `ip` with arguments (injected in tests). */
export type CommandRunner = (args: string[]) => Promise<CommandResult>;

/** A failed `ip` command. */
export class NetCommandError extends Error {
  /** The full command line, `["ip", …]`. */
  readonly command: string[];
  /** Exit code, or -1 when the command could not be started. */
  readonly code: number;
  /** What the command wrote to standard error (trimmed). */
  readonly stderr: string;
  /** Creates the error. */
  constructor(command: string[], code: number, stderr: string, options?: ErrorOptions) {
    super(`Cannot run "${command.join(" ")}": ${stderr || `exit code ${code}`}`, options);
    this.name = "NetCommandError";
    this.command = command;
    this.code = code;
    this.stderr = stderr;
  }
}

/** A route to add or delete. */
export interface RouteSpec {
  /** Destination: `A.B.C.D/N`, an address (host route) or `default`. */
  dst: string;
  /** Next hop. */
  gateway?: string | undefined;
  /** Output interface. */
  dev?: string | undefined;
  /** Metric (RouterOS distance). */
  metric?: number | undefined;
  /** Routing table number or name. */
  table?: number | string | undefined;
}

/** What `ip route get` reports for an address. */
export interface RouteLookup {
  /** The address looked up. */
  dst: string;
  /** Route type when not unicast (`local`, `unreachable`, …). */
  type: string | undefined;
  /** Next hop, if the address is not on-link. */
  gateway: string | undefined;
  /** Output interface. */
  dev: string | undefined;
  /** Source address the kernel would use. */
  prefsrc: string | undefined;
}

/** Options of {@linkcode NetConfig}. */
export interface NetConfigOptions {
  /** Run every command inside this network namespace (`ip -n NS`). */
  netns?: string | undefined;
  /** Where to log changes (debug: each command). */
  logger?: Logger | undefined;
  /** Command runner; default runs `ip` with `Deno.Command`. */
  run?: CommandRunner | undefined;
  /** resolv.conf to manage (default `/etc/resolv.conf`). */
  resolvConfPath?: string | undefined;
  /** Root of the sysctl tree when not in a namespace (default `/proc/sys`). */
  procSysPath?: string | undefined;
  /**
   * Opens an rtnetlink socket (`Platform.openNetlink`), used for IPv4
   * addresses and main-table routes when there is no `netns`. Opened on first
   * use and closed by {@linkcode NetConfig.cleanup}; when it cannot be
   * opened, `ip` does the work.
   */
  netlink?: (() => PlatformNetlink) | undefined;
}

/** One recorded change and how to take it back. */
interface Change {
  description: string;
  undo: () => Promise<void>;
}

/**
 * stderr fragments that mean the thing to remove is already gone: route
 * (`ESRCH`), address (newer and older kernels), proxy neighbour (`ENOENT`),
 * and a deleted interface.
 */
const GONE = [
  "No such process",
  "Address not found",
  "Cannot assign requested address",
  "No such file or directory",
  "Cannot find device",
  "does not exist",
  "No such device",
];

/** True when `error` says the object to remove no longer exists. */
export function isAlreadyGone(error: unknown): boolean {
  if (error instanceof Deno.errors.NotFound) return true;
  return error instanceof NetCommandError && GONE.some((s) => error.stderr.includes(s));
}

const decoder = new TextDecoder();

/** Default runner: `ip ARGS` via `Deno.Command`. */
export const runIp: CommandRunner = async (args) => {
  try {
    const out = await new Deno.Command("ip", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (e) {
    throw new NetCommandError(["ip", ...args], -1, (e as Error).message, { cause: e });
  }
};

/** Applies and undoes tunnel network settings. */
export class NetConfig {
  readonly #netns: string | undefined;
  readonly #log: Logger;
  readonly #run: CommandRunner;
  readonly #resolvConf: string;
  readonly #procSys: string;
  readonly #changes: Change[] = [];
  #dnsContent: string | undefined;
  readonly #openNetlink: (() => PlatformNetlink) | undefined;
  /** The open socket, `null` after opening failed (use `ip` from then on). */
  #netlink: PlatformNetlink | null | undefined;

  /** Creates a configurator; nothing runs until a method is called. */
  constructor(options: NetConfigOptions = {}) {
    if (options.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(options.netns)) {
      throw new TypeError(`Cannot use network namespace "${options.netns}": invalid name`);
    }
    this.#netns = options.netns;
    this.#log = options.logger ?? NOOP_LOGGER;
    this.#run = options.run ?? runIp;
    this.#resolvConf = options.resolvConfPath ?? "/etc/resolv.conf";
    this.#procSys = options.procSysPath ?? "/proc/sys";
    this.#openNetlink = options.netns === undefined ? options.netlink : undefined;
  }

  /** Descriptions of the changes in force, oldest first (for logs). */
  get changes(): readonly string[] {
    return this.#changes.map((c) => c.description);
  }

  /** Runs `ip ARGS` (inside the namespace, if any) and returns stdout. */
  ip(args: string[]): Promise<string> {
    return this.#runChecked(this.#netns === undefined ? args : ["-n", this.#netns, ...args]);
  }

  async #runChecked(args: string[]): Promise<string> {
    this.#log.debug(`run: ip ${args.join(" ")}`);
    const result = await this.#run(args);
    if (result.code !== 0) {
      throw new NetCommandError(["ip", ...args], result.code, result.stderr.trim());
    }
    return result.stdout;
  }

  /** `ip addr add LOCAL peer PEER/32 dev IF` (`/128` for IPv6). */
  async addPointToPointAddress(dev: string, local: string, peer: string): Promise<void> {
    checkDev(dev);
    const family = checkAddress(local, "local address");
    if (checkAddress(peer, "peer address") !== family) {
      throw new TypeError(`Cannot add address on "${dev}": ${local} and ${peer} differ in family`);
    }
    const args = [local, "peer", `${peer}/${family === 4 ? 32 : 128}`, "dev", dev];
    const nl = family === 4 ? this.#netlinkSocket() : undefined;
    if (nl !== undefined) {
      this.#viaNetlink(
        ["addr", "add", ...args],
        () => nl.addAddress({ index: nl.interfaceIndex(dev), local, peer, prefixLen: 32 }),
      );
    } else {
      await this.ip(["addr", "add", ...args]);
    }
    this.#record(
      `address ${local} peer ${peer} on ${dev}`,
      () => this.ip(["addr", "del", ...args]),
    );
  }

  /** `ip link set dev IF mtu N`; cleanup restores the previous MTU. */
  async setMtu(dev: string, mtu: number): Promise<void> {
    await this.#setLinkNumber(dev, "mtu", "mtu", mtu);
  }

  /** `ip link set dev IF txqueuelen N`; cleanup restores the previous length. */
  async setTxQueueLen(dev: string, length: number): Promise<void> {
    await this.#setLinkNumber(dev, "txqueuelen", "txqlen", length);
  }

  /** `ip link set dev IF up`; cleanup sets it down again if it was down. */
  async setLinkUp(dev: string): Promise<void> {
    const link = await this.#link(dev);
    const wasUp = Array.isArray(link["flags"]) && link["flags"].includes("UP");
    await this.ip(["link", "set", "dev", dev, "up"]);
    if (!wasUp) {
      this.#record(
        `link ${dev} up`,
        () => this.ip(["link", "set", "dev", dev, "down"]),
      );
    }
  }

  /** `ip route add DST [via GW] [dev IF] [metric N] [table T]`. */
  async addRoute(route: RouteSpec): Promise<void> {
    const args = routeArgs(route);
    const nl = this.#netlinkRoute(route);
    if (nl !== undefined) {
      const [address = "", length] = route.dst === "default"
        ? ["0.0.0.0", "0"]
        : route.dst.split("/");
      const dev = route.dev!;
      this.#viaNetlink(["route", "add", ...args], () =>
        nl.addRoute({
          dst: address,
          prefixLen: length === undefined ? 32 : Number(length),
          index: nl.interfaceIndex(dev),
          ...(route.gateway === undefined ? {} : { gateway: route.gateway }),
          ...(route.metric === undefined ? {} : { metric: route.metric }),
        }));
    } else {
      await this.ip(["route", "add", ...args]);
    }
    this.#record(`route ${args.join(" ")}`, () => this.ip(["route", "del", ...args]));
  }

  /**
   * `ip route del …`. A route this object added is forgotten, so cleanup
   * does not try again. "Already gone" is not an error.
   */
  async deleteRoute(route: RouteSpec): Promise<void> {
    const args = routeArgs(route);
    const description = `route ${args.join(" ")}`;
    const index = this.#changes.findLastIndex((c) => c.description === description);
    if (index >= 0) this.#changes.splice(index, 1);
    try {
      await this.ip(["route", "del", ...args]);
    } catch (e) {
      if (!isAlreadyGone(e)) throw e;
    }
  }

  /** `ip -j route get ADDR`: how the kernel would reach `address` now. */
  async getRoute(address: string): Promise<RouteLookup> {
    checkAddress(address, "address");
    const parsed: unknown = JSON.parse(await this.ip(["-j", "route", "get", address]));
    const first = Array.isArray(parsed)
      ? parsed[0] as Record<string, unknown> | undefined
      : undefined;
    if (first === undefined) {
      throw new NetCommandError(["ip", "-j", "route", "get", address], 0, "no route in the answer");
    }
    const str = (key: string) => typeof first[key] === "string" ? first[key] as string : undefined;
    return {
      dst: str("dst") ?? address,
      type: str("type"),
      gateway: str("gateway"),
      dev: str("dev"),
      prefsrc: str("prefsrc"),
    };
  }

  /**
   * Pins a host route to the SSTP server through the path it has now, so a
   * default route into the tunnel does not capture the tunnel's own packets.
   *
   * @returns The route added, or `undefined` when the server is local or a
   * route to it already exists (left alone, not ours to remove).
   */
  async pinHostRoute(server: string): Promise<RouteSpec | undefined> {
    const family = checkAddress(server, "server address");
    const current = await this.getRoute(server);
    if (current.type !== undefined || current.dev === undefined || current.dev === "lo") {
      this.#log.debug(`no host route pinned to ${server}: it is ${current.type ?? "local"}`);
      return undefined;
    }
    const route: RouteSpec = {
      dst: `${server}/${family === 4 ? 32 : 128}`,
      gateway: current.gateway,
      dev: current.dev,
    };
    try {
      await this.addRoute(route);
    } catch (e) {
      if (e instanceof NetCommandError && e.stderr.includes("File exists")) {
        this.#log.debug(`host route to ${server} exists already; left alone`);
        return undefined;
      }
      throw e;
    }
    return route;
  }

  /** Sets `net.ipv4.conf.IF.proxy_arp` to 1; cleanup restores the old value. */
  async enableProxyArp(dev: string): Promise<void> {
    checkDev(dev);
    const old = (await this.#sysctlRead(`net/ipv4/conf/${dev}/proxy_arp`)).trim();
    if (old === "1") return;
    await this.#sysctlWrite(`net/ipv4/conf/${dev}/proxy_arp`, "1");
    this.#record(
      `proxy_arp on ${dev}`,
      () => this.#sysctlWrite(`net/ipv4/conf/${dev}/proxy_arp`, old),
    );
  }

  /** `ip neigh add proxy ADDR dev LAN`: answer ARP for a client address on the LAN. */
  async addProxyNeighbour(address: string, dev: string): Promise<void> {
    checkDev(dev);
    checkAddress(address, "address");
    const args = ["proxy", address, "dev", dev];
    await this.ip(["neigh", "add", ...args]);
    this.#record(`proxy neighbour ${address} on ${dev}`, () => this.ip(["neigh", "del", ...args]));
  }

  /**
   * Writes resolv.conf with `servers` (and `search` domains). The first call
   * keeps the old file (its content in memory, or the symlink target)
   * and cleanup puts it back, unless someone else has rewritten the file
   * since, which is then left alone with a warning.
   */
  async setDns(servers: readonly string[], search: readonly string[] = []): Promise<void> {
    if (servers.length === 0) throw new TypeError("Cannot set DNS: no servers given");
    for (const s of servers) checkAddress(s, "DNS server");
    for (const d of search) {
      if (!/^[A-Za-z0-9_.-]+$/.test(d)) {
        throw new TypeError(`Cannot set DNS: "${d}" is not a domain`);
      }
    }
    const content = "# Written by sstp; the previous file returns when the tunnel closes\n" +
      servers.map((s) => `nameserver ${s}\n`).join("") +
      (search.length > 0 ? `search ${search.join(" ")}\n` : "");
    const path = this.#resolvConf;
    if (this.#dnsContent !== undefined) {
      await Deno.writeTextFile(path, content);
      this.#dnsContent = content;
      return;
    }
    const restore = await this.#saveResolvConf(path);
    await Deno.writeTextFile(path, content);
    this.#dnsContent = content;
    this.#record(`DNS ${servers.join(", ")} in ${path}`, async () => {
      const now = await Deno.readTextFile(path).catch(() => undefined);
      if (now !== this.#dnsContent) {
        this.#log.warn(`${path} was changed by someone else; not restoring it`);
      } else await restore();
      this.#dnsContent = undefined;
    });
  }

  /**
   * Undoes every recorded change, newest first. Already-gone objects count as
   * removed.
   *
   * @throws {AggregateError} After trying everything, when some undo failed
   * for another reason.
   */
  async cleanup(): Promise<void> {
    const failures: unknown[] = [];
    for (let change = this.#changes.pop(); change !== undefined; change = this.#changes.pop()) {
      try {
        await change.undo();
        this.#log.debug(`undone: ${change.description}`);
      } catch (e) {
        if (isAlreadyGone(e)) {
          this.#log.debug(`already gone: ${change.description}`);
        } else {
          this.#log.warn(`Cannot undo ${change.description}: ${(e as Error).message}`);
          failures.push(e);
        }
      }
    }
    if (this.#netlink) this.#netlink.close();
    this.#netlink = undefined;
    if (failures.length > 0) {
      throw new AggregateError(failures, `Cannot undo ${failures.length} network change(s)`);
    }
  }

  /** The rtnetlink socket, opened on first use; `undefined` when `ip` must do the work. */
  #netlinkSocket(): PlatformNetlink | undefined {
    if (this.#netlink === undefined && this.#openNetlink !== undefined) {
      try {
        this.#netlink = this.#openNetlink();
      } catch (e) {
        this.#log.debug(`rtnetlink unavailable (${(e as Error).message}); using ip`);
        this.#netlink = null;
      }
    }
    return this.#netlink ?? undefined;
  }

  /** The socket when rtnetlink can add `route` (IPv4, an output device, the main table). */
  #netlinkRoute(route: RouteSpec): PlatformNetlink | undefined {
    const address = route.dst.split("/")[0] ?? "";
    const ipv4 = route.dst === "default" || isIpv4(address);
    if (!ipv4 || route.dev === undefined || route.table !== undefined) return undefined;
    if (route.gateway !== undefined && !isIpv4(route.gateway)) return undefined;
    return this.#netlinkSocket();
  }

  /**
   * Runs one rtnetlink request standing in for `ip ARGS`. A failure becomes
   * the {@linkcode NetCommandError} `ip` would have given (its text carries
   * the errno's, e.g. "File exists"), so callers see one error type.
   */
  #viaNetlink(args: string[], request: () => void): void {
    this.#log.debug(`rtnetlink: ip ${args.join(" ")}`);
    try {
      request();
    } catch (e) {
      throw new NetCommandError(["ip", ...args], 2, (e as Error).message, { cause: e });
    }
  }

  #record(description: string, undo: () => Promise<unknown>): void {
    this.#log.info(`set ${description}`);
    this.#changes.push({ description, undo: async () => void await undo() });
  }

  async #link(dev: string): Promise<Record<string, unknown>> {
    checkDev(dev);
    const parsed: unknown = JSON.parse(await this.ip(["-j", "link", "show", "dev", dev]));
    const link = Array.isArray(parsed) ? parsed[0] : undefined;
    if (typeof link !== "object" || link === null) {
      throw new NetCommandError(
        ["ip", "-j", "link", "show", "dev", dev],
        0,
        "no link in the answer",
      );
    }
    return link as Record<string, unknown>;
  }

  async #setLinkNumber(dev: string, arg: string, jsonKey: string, value: number): Promise<void> {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`Cannot set ${arg} of "${dev}": ${value} is not a whole number`);
    }
    const old = (await this.#link(dev))[jsonKey];
    await this.ip(["link", "set", "dev", dev, arg, String(value)]);
    if (typeof old === "number" && old !== value) {
      this.#record(
        `${arg} ${value} on ${dev} (was ${old})`,
        () => this.ip(["link", "set", "dev", dev, arg, String(old)]),
      );
    }
  }

  // `ip -n` does not reach sysctls; `ip netns exec NS sysctl` does.
  async #sysctlRead(key: string): Promise<string> {
    if (this.#netns === undefined) return await Deno.readTextFile(`${this.#procSys}/${key}`);
    return await this.#runChecked(["netns", "exec", this.#netns, "sysctl", "-n", key]);
  }

  async #sysctlWrite(key: string, value: string): Promise<void> {
    if (this.#netns === undefined) {
      await Deno.writeTextFile(`${this.#procSys}/${key}`, value);
      return;
    }
    await this.#runChecked(["netns", "exec", this.#netns, "sysctl", "-q", "-w", `${key}=${value}`]);
  }

  /** Keeps the current resolv.conf and returns how to put it back. */
  async #saveResolvConf(path: string): Promise<() => Promise<void>> {
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.lstat(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (info === undefined) return () => Deno.remove(path);
    if (info.isSymlink) {
      // systemd-resolved links /etc/resolv.conf to its stub; never write through it.
      const target = await Deno.readLink(path);
      await Deno.remove(path);
      return async () => {
        await Deno.remove(path);
        await Deno.symlink(target, path);
      };
    }
    // Keep the old content in memory and write it back in place: renaming a
    // backup over the file fails where resolv.conf is a bind mount (as inside
    // `ip netns exec` with /etc/netns/NAME/resolv.conf).
    const previous = await Deno.readFile(path);
    return async () => {
      await Deno.writeFile(path, previous);
    };
  }
}

function checkDev(dev: string): void {
  const problem = interfaceNameProblem(dev);
  if (problem !== undefined) throw new TypeError(`Cannot configure interface: ${problem}`);
}

function checkAddress(address: string, what: string): 4 | 6 {
  if (isIpv4(address)) return 4;
  if (isIpv6(address)) return 6;
  throw new TypeError(`Cannot configure ${what}: "${address}" is not an IP address`);
}

function routeArgs(route: RouteSpec): string[] {
  const [address = "", length, extra] = route.dst.split("/");
  const validLength = length === undefined ||
    (/^[0-9]{1,3}$/.test(length) && Number(length) <= (isIpv4(address) ? 32 : 128));
  if (route.dst !== "default" && (extra !== undefined || !validLength)) {
    throw new TypeError(`Cannot configure route: "${route.dst}" is not a prefix`);
  }
  if (route.dst !== "default") checkAddress(address, "route destination");
  const args = [route.dst];
  if (route.gateway !== undefined) {
    checkAddress(route.gateway, "gateway");
    args.push("via", route.gateway);
  }
  if (route.dev !== undefined) {
    checkDev(route.dev);
    args.push("dev", route.dev);
  }
  if (route.metric !== undefined) {
    if (!Number.isInteger(route.metric) || route.metric < 0 || route.metric > 0xffffffff) {
      throw new RangeError(`Cannot configure route: metric ${route.metric} is out of range`);
    }
    args.push("metric", String(route.metric));
  }
  if (route.table !== undefined) {
    if (!/^[A-Za-z0-9_-]+$/.test(String(route.table))) {
      throw new TypeError(`Cannot configure route: table "${route.table}" is not valid`);
    }
    args.push("table", String(route.table));
  }
  return args;
}
