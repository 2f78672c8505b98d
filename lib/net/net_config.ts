/**
 * Network configuration through iproute2: the only code in `sstp` that starts
 * processes (`ip …`; `ip netns exec NS sysctl …` for proxy ARP inside a test
 * namespace). With a `netlink` opener (the platform's rtnetlink socket), the
 * changes on the connect path (IPv4 point-to-point address, IPv4 routes in
 * the main table) are made through it instead: no `ip` process (~5-10 ms
 * each) before the tunnel is up, and so is the removal of those routes when
 * the platform's socket can delete routes. Other undo steps, lookups (`ip
 * route get`), IPv6 and anything rtnetlink here lacks still use `ip`.
 *
 * {@linkcode NetConfig} records every change it makes, with how to undo it.
 * {@linkcode NetConfig.cleanup} undoes them newest first, treats "already
 * gone" (interface deleted with its tunnel, route removed by someone else) as
 * success, carries on past other failures and reports them together at the end.
 * It is idempotent: a second call has nothing left to do.
 *
 * Changes that outlive the process (routes through an interface that is not
 * the tunnel's own, resolv.conf) are also kept as plain data,
 * {@linkcode NetChangeRecord}s, and handed to the `journal` callback before
 * they are made and after each undo, so a crash-recovery state file can hold
 * exactly what is in force; {@linkcode NetConfig.restore} takes such records
 * from a killed process and cleanup undoes them as if they were its own.
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
import { isIpv4, isIpv6, parseIpv4Cidr, prefixMask } from "../ip.ts";
import type { PlatformNetlink, PlatformRoute6 } from "../platform.ts";

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
  /**
   * A route that drops instead of forwarding (no gateway or device):
   * `unreachable` answers ICMP host unreachable (EHOSTUNREACH locally),
   * `prohibit` administratively prohibited (EACCES), `blackhole` drops silently.
   */
  type?: RouteType | undefined;
}

/** Route types besides unicast that {@linkcode RouteSpec} may name. */
export const ROUTE_TYPES = ["unreachable", "prohibit", "blackhole"] as const;
/** A route type besides unicast. */
export type RouteType = typeof ROUTE_TYPES[number];

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

/** How resolv.conf looked before `sstp` wrote it. */
export type ResolvConfBackup =
  | { kind: "absent" }
  | { kind: "symlink"; target: string }
  | { kind: "file"; base64: string };

/**
 * One change as plain data (JSON), enough to undo it from another process:
 * - `route`: `ip route del` of the route;
 * - `dns`: resolv.conf gets `previous` back if it still holds `written`;
 * - `ip`: run `ip UNDO` (addresses, link settings, proxy neighbours);
 * - `sysctl`: write `value` back to `key`.
 */
export type NetChangeRecord =
  | { kind: "route"; route: RouteSpec }
  | { kind: "dns"; path: string; written: string; previous: ResolvConfBackup }
  | { kind: "ip"; description: string; undo: string[] }
  | { kind: "sysctl"; key: string; value: string };

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
   * addresses, IPv6 addresses and main-table routes when there is no `netns`. Opened on first
   * use and closed by {@linkcode NetConfig.cleanup}; when it cannot be
   * opened, `ip` does the work.
   */
  netlink?: (() => PlatformNetlink) | undefined;
  /**
   * Called synchronously with every change in force (oldest first) whenever
   * that list changes: before a change is made (so a crash in between leaves
   * a record of something that may not exist, whose undo is then "already
   * gone", rather than a change without a record) and after each undo.
   */
  journal?: ((records: readonly NetChangeRecord[]) => void) | undefined;
}

/** One recorded change and how to take it back. */
interface Change {
  description: string;
  record: NetChangeRecord;
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
export const runIp: CommandRunner = async (args): Promise<CommandResult> => {
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
  readonly #journal: ((records: readonly NetChangeRecord[]) => void) | undefined;
  /** A change being made right now (journaled ahead of it). */
  #pending: NetChangeRecord | undefined;
  #journalWarned = false;
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
    this.#journal = options.journal;
  }

  /** The changes in force as plain data, oldest first (what the journal is given). */
  get records(): NetChangeRecord[] {
    return this.#changes.map((c) => c.record);
  }

  /**
   * Takes over changes a killed process left behind (its journal), so that
   * {@linkcode NetConfig.cleanup} undoes them, newest first. Nothing runs here.
   */
  restore(records: readonly NetChangeRecord[]): void {
    for (const record of records) {
      this.#changes.push({
        description: describeRecord(record),
        record,
        undo: () => this.#undoRecord(record),
      });
    }
    this.#writeJournal();
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
    this.#recordIp(`address ${local} peer ${peer} on ${dev}`, ["addr", "del", ...args]);
  }

  /**
   * `ip addr add ADDRESS/LEN dev IF` (IPv4 or IPv6, e.g. a delegated
   * prefix's address on a downstream interface); cleanup deletes it.
   */
  async addAddress(dev: string, cidr: string): Promise<void> {
    checkDev(dev);
    const args = addressArgs(dev, cidr);
    if (isIpv6(cidr.split("/")[0] ?? "")) await this.setIpv6Address(dev, cidr);
    else await this.ip(["addr", "add", ...args]);
    this.#recordIp(`address ${cidr} on ${dev}`, ["addr", "del", ...args]);
  }

  /**
   * `ip -6 addr add|replace ADDRESS/LEN dev IF [nodad] [valid_lft N preferred_lft N]`
   * through rtnetlink when it can, else `ip`. Not recorded: for addresses on
   * the tunnel's own device, which go with it (the caller removes them
   * earlier with {@linkcode NetConfig.removeIpv6Address} if it must).
   */
  async setIpv6Address(
    dev: string,
    cidr: string,
    o: {
      nodad?: boolean;
      replace?: boolean;
      validLifetimeS?: number;
      preferredLifetimeS?: number;
    } = {},
  ): Promise<void> {
    checkDev(dev);
    const args = ["-6", "addr", o.replace ? "replace" : "add", ...addressArgs(dev, cidr)];
    if (o.nodad) args.push("nodad");
    if (o.validLifetimeS !== undefined || o.preferredLifetimeS !== undefined) {
      args.push("valid_lft", lifetimeText(o.validLifetimeS));
      args.push("preferred_lft", lifetimeText(o.preferredLifetimeS));
    }
    const [address = "", length = ""] = cidr.split("/");
    if (!isIpv6(address)) throw new TypeError(`Cannot configure address: "${cidr}" is not IPv6`);
    const nl = this.#netlinkAddress6();
    if (nl === undefined) {
      await this.ip(args);
      return;
    }
    this.#viaNetlink(args, () =>
      nl.addAddress6!({
        index: nl.interfaceIndex(dev),
        address,
        prefixLen: Number(length),
        ...(o.nodad ? { nodad: true } : {}),
        ...(o.replace ? { replace: true } : {}),
        ...(o.validLifetimeS !== undefined ? { validLifetimeS: o.validLifetimeS } : {}),
        ...(o.preferredLifetimeS !== undefined ? { preferredLifetimeS: o.preferredLifetimeS } : {}),
      }));
  }

  /** `ip -6 addr del ADDRESS/LEN dev IF` through rtnetlink when it can, else `ip`. */
  async removeIpv6Address(dev: string, cidr: string): Promise<void> {
    checkDev(dev);
    const args = ["-6", "addr", "del", ...addressArgs(dev, cidr)];
    const [address = "", length = ""] = cidr.split("/");
    if (!isIpv6(address)) throw new TypeError(`Cannot configure address: "${cidr}" is not IPv6`);
    const nl = this.#netlinkAddress6();
    if (nl === undefined) {
      await this.ip(args);
      return;
    }
    this.#viaNetlink(args, () =>
      nl.deleteAddress6!({
        index: nl.interfaceIndex(dev),
        address,
        prefixLen: Number(length),
      }));
  }

  /**
   * `ip addr del ADDRESS/LEN dev IF`: an address this object added is
   * forgotten, so cleanup does not try again. "Already gone" is not an error.
   */
  async deleteAddress(dev: string, cidr: string): Promise<void> {
    checkDev(dev);
    try {
      if (isIpv6(cidr.split("/")[0] ?? "")) await this.removeIpv6Address(dev, cidr);
      else await this.ip(["addr", "del", ...addressArgs(dev, cidr)]);
    } catch (e) {
      if (!isAlreadyGone(e)) throw e;
    }
    const description = `address ${cidr} on ${dev}`;
    const index = this.#changes.findLastIndex((c) => c.description === description);
    if (index >= 0) {
      this.#changes.splice(index, 1);
      this.#writeJournal();
    }
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
    if (!wasUp) this.#recordIp(`link ${dev} up`, ["link", "set", "dev", dev, "down"]);
  }

  /** `ip route add DST [via GW] [dev IF] [metric N] [table T]`. */
  async addRoute(route: RouteSpec): Promise<void> {
    const args = routeArgs(route);
    const record: NetChangeRecord = { kind: "route", route: { ...route } };
    await this.#ahead(record, () => this.#addRoute(route, args));
    this.#record(`route ${args.join(" ")}`, record, () => this.#deleteRoute(route, args));
  }

  /** `ip route del ARGS`, through rtnetlink where it was added that way. */
  async #deleteRoute(route: RouteSpec, args: string[]): Promise<void> {
    const nl6 = this.#netlinkRoute6(route);
    if (nl6?.deleteRoute6 !== undefined) {
      this.#viaNetlink(
        ["route", "del", ...args],
        () => nl6.deleteRoute6!(netlinkRoute6(nl6, route)),
      );
      return;
    }
    const nl = this.#netlinkRoute(route);
    if (nl?.deleteRoute === undefined) {
      await this.ip(["route", "del", ...args]);
      return;
    }
    this.#viaNetlink(["route", "del", ...args], () => nl.deleteRoute!(netlinkRoute(nl, route)));
  }

  async #addRoute(route: RouteSpec, args: string[]): Promise<void> {
    const nl6 = this.#netlinkRoute6(route);
    if (nl6?.addRoute6 !== undefined) {
      this.#viaNetlink(["route", "add", ...args], () => nl6.addRoute6!(netlinkRoute6(nl6, route)));
      return;
    }
    const nl = this.#netlinkRoute(route);
    if (nl !== undefined) {
      this.#viaNetlink(["route", "add", ...args], () => nl.addRoute(netlinkRoute(nl, route)));
    } else {
      await this.ip(["route", "add", ...args]);
    }
  }

  /**
   * `ip route del …`. A route this object added is forgotten, so cleanup
   * does not try again. "Already gone" is not an error.
   */
  async deleteRoute(route: RouteSpec): Promise<void> {
    const args = routeArgs(route);
    const description = `route ${args.join(" ")}`;
    try {
      await this.#deleteRoute(route, args);
    } catch (e) {
      if (!isAlreadyGone(e)) throw e;
    }
    const index = this.#changes.findLastIndex((c) => c.description === description);
    if (index >= 0) {
      this.#changes.splice(index, 1);
      this.#writeJournal();
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
   * When that path is another tunnel's split default route (`0.0.0.0/1`,
   * `128.0.0.0/1`: a tunnel with a lower distance is up), the route the
   * server would take without split routes is pinned instead, so this
   * tunnel does not ride inside the other one and survives its loss (RouterOS
   * dials each tunnel over the uplink whatever their distances).
   *
   * @returns The route added, or `undefined` when the server is local or a
   * route to it already exists (left alone, not ours to remove).
   */
  async pinHostRoute(server: string): Promise<RouteSpec | undefined> {
    const family = checkAddress(server, "server address");
    let current: {
      gateway?: string | undefined;
      dev?: string | undefined;
      type?: string | undefined;
    } = await this.getRoute(server);
    if (current.type !== undefined || current.dev === undefined || current.dev === "lo") {
      this.#log.debug(`no host route pinned to ${server}: it is ${current.type ?? "local"}`);
      return undefined;
    }
    if (family === 4) {
      const text = await this.ip(["-j", "route", "show", "table", "main"]);
      const main: unknown = text.trim() === "" ? [] : JSON.parse(text);
      const table = Array.isArray(main) ? main as Record<string, unknown>[] : [];
      if (table.some((r) => r["dev"] === current.dev && SPLIT_IPV4.has(String(r["dst"])))) {
        const under = routeAroundSplitDefaults(server, table);
        if (under === undefined) {
          throw new NetCommandError(
            ["ip", "route", "get", server],
            0,
            `${server} is reached only through split default routes (${current.dev})`,
          );
        }
        this.#log.debug(`${server} is behind split routes via ${current.dev}; pinned under them`);
        current = under;
      }
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
    const key = `net/ipv4/conf/${dev}/proxy_arp`;
    await this.#sysctlWrite(key, "1");
    this.#record(
      `proxy_arp on ${dev}`,
      { kind: "sysctl", key, value: old },
      () => this.#sysctlWrite(key, old),
    );
  }

  /** `ip neigh add proxy ADDR dev LAN`: answer ARP for a client address on the LAN. */
  async addProxyNeighbour(address: string, dev: string): Promise<void> {
    checkDev(dev);
    checkAddress(address, "address");
    const args = ["proxy", address, "dev", dev];
    await this.ip(["neigh", "add", ...args]);
    this.#recordIp(`proxy neighbour ${address} on ${dev}`, ["neigh", "del", ...args]);
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
    const index = this.#changes.findLastIndex((c) =>
      c.record.kind === "dns" && c.record.path === path
    );
    const current = index >= 0 ? this.#changes[index]!.record : undefined;
    if (current?.kind === "dns") {
      current.written = content; // the journal holds the latest content written
      this.#writeJournal();
      await Deno.writeTextFile(path, content);
      return;
    }
    const previous = await readResolvConfBackup(path);
    const record: NetChangeRecord = { kind: "dns", path, written: content, previous };
    await this.#ahead(record, async () => {
      // systemd-resolved links /etc/resolv.conf to its stub; never write through it.
      if (previous.kind === "symlink") await Deno.remove(path);
      await Deno.writeTextFile(path, content);
    });
    this.#record(`DNS ${servers.join(", ")} in ${path}`, record, () => this.#undoRecord(record));
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
    const failed: Change[] = [];
    for (let change = this.#changes.pop(); change !== undefined; change = this.#changes.pop()) {
      try {
        await change.undo();
        this.#writeJournal();
        this.#log.debug(`undone: ${change.description}`);
      } catch (e) {
        if (isAlreadyGone(e)) {
          this.#log.debug(`already gone: ${change.description}`);
        } else {
          this.#log.warn(`Cannot undo ${change.description}: ${(e as Error).message}`);
          failures.push(e);
          failed.push(change);
        }
      }
    }
    if (this.#netlink) this.#netlink.close();
    this.#netlink = undefined;
    // What could not be undone stays in the journal (a later start retries it).
    this.#writeJournal(failed.reverse().map((c) => c.record));
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
    if (route.type !== undefined) return undefined;
    if (route.gateway !== undefined && !isIpv4(route.gateway)) return undefined;
    return this.#netlinkSocket();
  }

  /** The socket when rtnetlink can do `route` (IPv6, the main table, IPv6 support in the socket). */
  #netlinkRoute6(route: RouteSpec): PlatformNetlink | undefined {
    const address = route.dst.split("/")[0] ?? "";
    if (route.dst === "default" || !isIpv6(address) || route.table !== undefined) return undefined;
    if (route.type === undefined && route.dev === undefined) return undefined;
    const nl = this.#netlinkSocket();
    return nl?.addRoute6 !== undefined && nl.deleteRoute6 !== undefined ? nl : undefined;
  }

  /** The socket when it can change IPv6 addresses. */
  #netlinkAddress6(): PlatformNetlink | undefined {
    const nl = this.#netlinkSocket();
    return nl?.addAddress6 !== undefined && nl.deleteAddress6 !== undefined ? nl : undefined;
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

  #record(description: string, record: NetChangeRecord, undo: () => Promise<unknown>): void {
    this.#log.info(`set ${description}`);
    this.#changes.push({ description, record, undo: async () => void await undo() });
    this.#writeJournal();
  }

  #recordIp(description: string, undo: string[]): void {
    this.#record(description, { kind: "ip", description, undo }, () => this.ip(undo));
  }

  /** Journals `record` while `change` runs (write-ahead); the caller records it on success. */
  async #ahead(record: NetChangeRecord, change: () => Promise<void>): Promise<void> {
    this.#pending = record;
    this.#writeJournal();
    try {
      await change();
    } catch (e) {
      this.#pending = undefined;
      this.#writeJournal();
      throw e;
    }
    this.#pending = undefined;
  }

  #writeJournal(extra: readonly NetChangeRecord[] = []): void {
    if (this.#journal === undefined) return;
    const records = [...extra, ...this.records];
    if (this.#pending !== undefined) records.push(this.#pending);
    try {
      this.#journal(records);
    } catch (e) {
      // Once: the tunnel works without it, only crash recovery is lost.
      if (!this.#journalWarned) {
        this.#log.warn(`Cannot record network changes: ${(e as Error).message}`);
      }
      this.#journalWarned = true;
    }
  }

  /** Undoes one change from its record (cleanup of restored records, and DNS). */
  async #undoRecord(record: NetChangeRecord): Promise<void> {
    switch (record.kind) {
      case "route":
        await this.#deleteRoute(record.route, routeArgs(record.route));
        return;
      case "ip":
        await this.ip(record.undo);
        return;
      case "sysctl":
        await this.#sysctlWrite(record.key, record.value);
        return;
      case "dns": {
        const now = await Deno.readTextFile(record.path).catch(() => undefined);
        if (now !== record.written) {
          this.#log.warn(`${record.path} was changed by someone else; not restoring it`);
          return;
        }
        await restoreResolvConf(record.path, record.previous);
        return;
      }
    }
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
      this.#recordIp(`${arg} ${value} on ${dev} (was ${old})`, [
        "link",
        "set",
        "dev",
        dev,
        arg,
        String(old),
      ]);
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
}

/** Reads how resolv.conf looks now, to put it back later. */
async function readResolvConfBackup(path: string): Promise<ResolvConfBackup> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "absent" };
    throw e;
  }
  if (info.isSymlink) return { kind: "symlink", target: await Deno.readLink(path) };
  return { kind: "file", base64: toBase64(await Deno.readFile(path)) };
}

/**
 * Puts resolv.conf back as `previous` describes. The old content is written
 * back in place rather than a backup renamed over the file: renaming fails
 * where resolv.conf is a bind mount (as inside `ip netns exec` with
 * /etc/netns/NAME/resolv.conf).
 */
async function restoreResolvConf(path: string, previous: ResolvConfBackup): Promise<void> {
  switch (previous.kind) {
    case "absent":
      await Deno.remove(path);
      return;
    case "symlink":
      await Deno.remove(path);
      await Deno.symlink(previous.target, path);
      return;
    case "file":
      await Deno.writeFile(path, fromBase64(previous.base64));
      return;
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** A log line for a record taken over from another process. */
function describeRecord(record: NetChangeRecord): string {
  switch (record.kind) {
    case "route":
      return `route ${routeArgs(record.route).join(" ")}`;
    case "dns":
      return `DNS in ${record.path}`;
    case "ip":
      return record.description;
    case "sysctl":
      return `sysctl ${record.key}`;
  }
}

/** The IPv4 split default routes (OpenVPN `def1`, `sstp`'s `add-default-route`). */
const SPLIT_IPV4 = new Set(["0.0.0.0/1", "128.0.0.0/1"]);

/**
 * The route that reaches `address` in a main table (`ip -j route show table
 * main`) when split default routes are left out: unicast routes only, the
 * longest prefix first, then the lowest metric (pure, IPv4).
 *
 * @returns Its gateway and device, or `undefined` when nothing else reaches it.
 */
export function routeAroundSplitDefaults(
  address: string,
  table: readonly Record<string, unknown>[],
): { gateway: string | undefined; dev: string } | undefined {
  const target = parseIpv4Cidr(address);
  if (target === undefined) return undefined;
  let best:
    | { length: number; metric: number; gateway: string | undefined; dev: string }
    | undefined;
  for (const r of table) {
    const dst = String(r["dst"]);
    const dev = r["dev"];
    if (SPLIT_IPV4.has(dst) || typeof dev !== "string") continue;
    if (r["type"] !== undefined && r["type"] !== "unicast") continue;
    const cidr = dst === "default" ? { address: 0, prefixLength: 0 } : parseIpv4Cidr(dst);
    if (cidr === undefined) continue;
    const mask = prefixMask(cidr.prefixLength);
    if (((target.address & mask) >>> 0) !== ((cidr.address & mask) >>> 0)) continue;
    const metric = typeof r["metric"] === "number" ? r["metric"] : 0;
    if (
      best === undefined || cidr.prefixLength > best.length ||
      (cidr.prefixLength === best.length && metric < best.metric)
    ) {
      const gateway = typeof r["gateway"] === "string" ? r["gateway"] : undefined;
      best = { length: cidr.prefixLength, metric, gateway, dev };
    }
  }
  return best === undefined ? undefined : { gateway: best.gateway, dev: best.dev };
}

/** An IPv4 main-table route with an output device as rtnetlink takes it. */
/** `ip` lifetime text: `forever` when absent or infinite (RFC 4861 4.6.2's 0xffffffff). */
function lifetimeText(seconds: number | undefined): string {
  return seconds === undefined || seconds === 0xffffffff ? "forever" : String(seconds);
}

function netlinkRoute6(nl: PlatformNetlink, route: RouteSpec): PlatformRoute6 {
  const [address = "", length = "128"] = route.dst.split("/");
  return {
    dst: address,
    prefixLen: Number(length),
    ...(route.dev === undefined ? {} : { index: nl.interfaceIndex(route.dev) }),
    ...(route.type === undefined ? {} : { type: route.type }),
    ...(route.gateway === undefined ? {} : { gateway: route.gateway }),
    ...(route.metric === undefined ? {} : { metric: route.metric }),
  };
}

function netlinkRoute(nl: PlatformNetlink, route: RouteSpec) {
  const [address = "", length] = route.dst === "default" ? ["0.0.0.0", "0"] : route.dst.split("/");
  return {
    dst: address,
    prefixLen: length === undefined ? 32 : Number(length),
    index: nl.interfaceIndex(route.dev!),
    ...(route.gateway === undefined ? {} : { gateway: route.gateway }),
    ...(route.metric === undefined ? {} : { metric: route.metric }),
  };
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

/** `ADDRESS/LEN dev IF` after checking both. */
function addressArgs(dev: string, cidr: string): string[] {
  const [address = "", length, extra] = cidr.split("/");
  const family = checkAddress(address, "address");
  if (
    extra !== undefined || length === undefined || !/^[0-9]{1,3}$/.test(length) ||
    Number(length) > (family === 4 ? 32 : 128)
  ) {
    throw new TypeError(`Cannot configure address: "${cidr}" is not ADDRESS/LENGTH`);
  }
  return [cidr, "dev", dev];
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
  if (route.type !== undefined) {
    if (!(ROUTE_TYPES as readonly string[]).includes(route.type)) {
      throw new TypeError(
        `Cannot configure route: type "${route.type}" is not one of ${ROUTE_TYPES}`,
      );
    }
    if (route.gateway !== undefined || route.dev !== undefined) {
      throw new TypeError(`Cannot configure route: a ${route.type} route has no gateway or device`);
    }
    args.unshift(route.type);
  }
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
