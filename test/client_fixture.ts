/**
 * Shared set-up for the `sstp connect` netns tests, on top of the
 * `sstp serve` topology of server_fixture.ts:
 *
 * ```
 *  server ns (sstp-s-…)                    client ns (sstp-c-…)                    leak ns (sstp-l-…)
 *  "v-srv" 198.18.1.1/24 ──── veth ─────── "v-cli" 198.18.1.2/24
 *  OUTSIDE 198.19.5.5/32 on lo             "v-leak" 198.18.70.2/30 ──── veth ───── "v-out" 198.18.70.1/30
 *  `sstp serve` :4433                      `sstp connect` processes               (only with `leakMetric`)
 *  pool 198.18.61.10-20, dns 198.18.61.53  (`ip netns exec`), state in `runDir`
 * ```
 *
 * {@linkcode createClientTopology} builds it; `startServer` runs `sstp serve`
 * with a config of the caller's, `connect` starts `sstp connect` processes
 * in the client namespace, and `await using` stops every process it
 * started, removes the namespaces, the temp dir and `/etc/netns/<client>`.
 * IPv6 is off on every link unless `ipv6` is set, so neighbour discovery
 * moves no packet counter.
 *
 * Only 198.18.0.0/15 and 2001:2::/48 addresses, inside namespaces the test
 * created.
 *
 * @module
 */
import assert from "node:assert/strict";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import { createNetns, type Netns, netnsTestIgnore } from "./helpers/netns.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import {
  connectProcess,
  controlSocket,
  createTopology,
  PORT,
  ServeProcess,
  SERVER_IP,
  type Topology,
  TUNNEL_LOCAL,
  writeConfig,
} from "./server_fixture.ts";

/**
 * The ignore rule of every `sstp connect` netns suite: they need root and
 * /dev/net/tun, and are skipped without them unless CI is set.
 */
export const CLIENT_NETNS_IGNORE: boolean = netnsTestIgnore("sstp connect netns tests");

/** An address on the server's `lo`, outside every network of the client: only default routes reach it. */
export const OUTSIDE = "198.19.5.5";
/** The leak namespace's end of the leak link: the client's pre-existing default gateway. */
export const LEAK_GATEWAY = "198.18.70.1";
/** The user the configs of {@linkcode serverYaml} know. */
export const USER = "carol";
/** Its password (given to `sstp connect` through `SSTP_PASSWORD`). */
export const PASSWORD = "c0rrect horse";
/** The DNS server the default profile hands out. */
export const PEER_DNS = "198.18.61.53";
/** The server's side of every tunnel of {@linkcode serverYaml}. */
export const TUNNEL_PEER = "198.18.61.1";

/** Pool, default profile and the one secret; `dns: false` leaves the DNS server out. */
export function serverYaml(
  options: { dns?: boolean; pool?: string } = {},
): string {
  const dns = (options.dns ?? true) ? `    dns-server: [${PEER_DNS}]\n` : "";
  return `pools:
  - name: p
    ranges: ${options.pool ?? "198.18.61.10-198.18.61.20"}
profiles:
  - name: default
    local-address: ${TUNNEL_PEER}
    remote-address: p
${dns}secrets:
  - name: ${USER}
    password: "${PASSWORD}"
`;
}

/** What {@linkcode createClientTopology} adds to the two namespaces. */
export interface ClientTopologyOptions {
  /** Leave IPv6 on in both namespaces. */
  ipv6?: boolean;
  /** More /32 addresses on the server's `lo` (beside {@linkcode OUTSIDE}). */
  serverAddresses?: string[];
  /** A default route in the client namespace via the server. */
  defaultViaServer?: boolean;
  /** A leak namespace; the client's default route goes there with this metric. */
  leakMetric?: number;
  /** The client namespace's resolv.conf (`/etc/netns/<name>/resolv.conf`). */
  resolvConf?: string;
}

/** Options of {@linkcode ClientTopology.connect}. */
export interface ConnectOptions {
  /** The server to dial (default {@linkcode SERVER_IP}). */
  host?: string;
  /** More environment for the process. */
  env?: Record<string, string>;
}

/** The topology of the `sstp connect` suites. */
export interface ClientTopology extends Topology {
  /** The leak namespace (with `leakMetric`). */
  leak: Netns | undefined;
  /** The client namespace's end of the server link. */
  readonly clientDev: "v-cli";
  /** The server namespace's end of the server link. */
  readonly serverDev: "v-srv";
  /** The client namespace's end of the leak link. */
  readonly leakDev: "v-leak";
  /** The client namespace's resolv.conf (exists with `resolvConf`). */
  resolvPath: string;
  /** `SSTP_RUN_DIR` of the clients: their state files. */
  runDir: string;
  /** The server's control socket. */
  socket: string;
  /**
   * Writes the config (`body` appended, `authentication: mschap2` and the
   * `server` keys set as in {@linkcode writeConfig}) and starts `sstp serve`
   * in the server namespace.
   */
  startServer(body: string, server?: Record<string, string | number>): Promise<ServeProcess>;
  /**
   * Starts `sstp connect HOST --port 4433 --user carol
   * --verify-server-certificate no ARGS` in the client namespace.
   */
  connect(args: string[], options?: ConnectOptions): SstpProcess;
  /** `sstp status --dir runDir NAME`: asserts success and returns the output. */
  status(name: string): Promise<string>;
}

/** Creates the topology; on any set-up failure everything made so far is removed. */
export async function createClientTopology(
  options: ClientTopologyOptions = {},
): Promise<ClientTopology> {
  const t = await createTopology({ ipv6: options.ipv6 ?? false });
  const servers: ServeProcess[] = [];
  const clients: SstpProcess[] = [];
  const etcNetns = `/etc/netns/${t.client.name}`;
  let leak: Netns | undefined;
  const dispose = async () => {
    for (const c of clients) {
      c.kill("SIGKILL");
      await c.wait(5000);
    }
    for (const s of servers) await s.stop();
    await leak?.cleanup();
    await Deno.remove(etcNetns, { recursive: true }).catch(() => {});
    await t[Symbol.asyncDispose]();
  };
  try {
    const runDir = `${t.dir}/run`;
    await Deno.mkdir(runDir);
    for (const a of [OUTSIDE, ...options.serverAddresses ?? []]) {
      await t.server.run(["ip", "addr", "add", `${a}/32`, "dev", "lo"]);
    }
    if (options.defaultViaServer) {
      await t.client.run(["ip", "route", "add", "default", "via", SERVER_IP, "metric", "0"]);
    }
    if (options.leakMetric !== undefined) {
      leak = await createLeak(t.client, options.leakMetric, options.ipv6 ?? false);
    }
    if (options.resolvConf !== undefined) {
      await Deno.mkdir(etcNetns, { recursive: true });
      await Deno.writeTextFile(`${etcNetns}/resolv.conf`, options.resolvConf);
    }
    return {
      ...t,
      leak,
      clientDev: "v-cli",
      serverDev: "v-srv",
      leakDev: "v-leak",
      resolvPath: `${etcNetns}/resolv.conf`,
      runDir,
      socket: controlSocket(t),
      async startServer(body, server = {}) {
        const config = await writeConfig(t, body, { authentication: "mschap2", ...server });
        const serve = await ServeProcess.start(t.server, ["--config", config]);
        servers.push(serve);
        return serve;
      },
      connect(args, o = {}) {
        const client = new SstpProcess([
          ...["connect", o.host ?? SERVER_IP, "--port", String(PORT), "--user", USER],
          ...["--verify-server-certificate", "no", ...args],
        ], {
          netns: t.client.name,
          env: { SSTP_PASSWORD: PASSWORD, SSTP_RUN_DIR: runDir, ...o.env },
        });
        clients.push(client);
        return client;
      },
      async status(name) {
        const status = new SstpProcess(["status", "--dir", runDir, name]);
        assert.equal((await status.wait(30_000)).code, 0, status.output);
        return status.output;
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** The leak namespace: "v-out" ↔ "v-leak" in `client`, whose default route goes there. */
async function createLeak(client: Netns, metric: number, ipv6: boolean): Promise<Netns> {
  const leak = await createNetns({ prefix: "sstp-l", disableIpv6: !ipv6 });
  try {
    await leak.run(["ip", "link", "add", "v-out", "type", "veth", "peer", "v-leak"]);
    await leak.run(["ip", "link", "set", "v-leak", "netns", client.name]);
    await leak.run(["ip", "addr", "add", `${LEAK_GATEWAY}/30`, "dev", "v-out"]);
    await leak.run(["ip", "link", "set", "v-out", "up"]);
    await client.run(["ip", "addr", "add", "198.18.70.2/30", "dev", "v-leak"]);
    await client.run(["ip", "link", "set", "v-leak", "up"]);
    await client.run(["ip", "route", "add", "default", "via", LEAK_GATEWAY, "metric", `${metric}`]);
    return leak;
  } catch (e) {
    await leak.cleanup();
    throw e;
  }
}

/** The whole routing state of a namespace (routes and rules, both families) and its links. */
export async function routingState(ns: Netns): Promise<string> {
  const parts = await Promise.all([
    ns.run(["ip", "route", "show", "table", "all"]),
    ns.run(["ip", "-6", "route", "show", "table", "all"]),
    ns.run(["ip", "rule", "show"]),
    ns.run(["ip", "-6", "rule", "show"]),
    ns.run(["ip", "-br", "link", "show"]),
  ]);
  return parts.join("---\n");
}

/** Packets sent (`tx`) or received (`rx`) so far by `dev` in `ns`. */
export async function linkPackets(ns: Netns, dev: string, way: "tx" | "rx"): Promise<number> {
  const [link] = JSON.parse(await ns.run(["ip", "-s", "-j", "link", "show", "dev", dev]));
  return link.stats64[way].packets;
}

/** Sends SIGTERM and asserts a clean exit (code 0) within `timeoutMs`. */
export async function stopClient(client: SstpProcess, timeoutMs = 15_000): Promise<void> {
  client.kill("SIGTERM");
  assert.equal((await client.wait(timeoutMs)).code, 0, client.output);
}

/** `bytes` random bytes in hex. */
export function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * A client interface name of our own, `sstp-<tag><6 hex digits>`: the state
 * file is named after it (/run/sstp/client-NAME.state), and other tests run
 * clients at the same time.
 */
export function tunnelName(tag: string): string {
  return `sstp-${tag}${randomHex(3)}`;
}

/** The server's own IPv6 address behind the tunnel (add it to its `lo`). */
export const SERVER_SIDE_V6 = "2001:2:0:ff::1";

/** The client's global IPv6 address on `dev` once SLAAC has added it (a /64 of 2001:2:0:100::/56). */
export async function waitGlobalAddress(t: Topology, dev: string): Promise<string> {
  let address = "";
  const show = ["ip", "-6", "-br", "addr", "show", "dev", dev, "scope", "global"];
  await waitUntil(
    async () => {
      const r = await t.client.exec(show);
      const m = /(2001:2:0:1[0-9a-f]{2}:[0-9a-f:]+)\/64/.exec(r.stdout);
      if (m) address = m[1]!;
      return m !== null;
    },
    20_000,
    `${dev} global IPv6 address`,
  );
  return address;
}

/**
 * Profile, pools and secret (`real`/`pw`, as `connectProcess` of
 * server_fixture.ts dials) of an IPv6 server: IPv4 from 198.19.0.10-250,
 * a /64 of `v6Prefix` by Router Advertisement, interface id `::1`, and with
 * `pdPrefix` /60s of it by DHCPv6-PD.
 */
export function ipv6ServerYaml(
  options: { v6Prefix?: string; dnsServers?: string; pdPrefix?: string } = {},
): string {
  const dns = options.dnsServers === undefined ? "" : `    dns-server: ${options.dnsServers}\n`;
  const pd = options.pdPrefix === undefined ? "" : "    dhcpv6-pd-pool: pd\n";
  const pdPool = options.pdPrefix === undefined
    ? ""
    : `  - { name: pd, prefix: "${options.pdPrefix}", prefix-length: 60 }\n`;
  return `profiles:
  - name: default
    local-address: ${TUNNEL_LOCAL}
    remote-address: pool1
    remote-ipv6-prefix-pool: v6
${pd}    local-ipv6-interface-id: "::1"
${dns}pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
ipv6-pools:
  - { name: v6, prefix: "${options.v6Prefix ?? "2001:2:0:100::/56"}", prefix-length: 64 }
${pdPool}secrets:
  - { name: real, password: pw }
`;
}

/**
 * Puts {@linkcode SERVER_SIDE_V6} on the server's `lo`, writes `yaml` and
 * starts `sstp serve --config … ARGS`.
 */
export async function startIpv6Server(
  t: Topology,
  yaml: string,
  args: string[] = [],
): Promise<ServeProcess> {
  await t.server.run(["ip", "-6", "addr", "add", `${SERVER_SIDE_V6}/128`, "dev", "lo"]);
  const config = await writeConfig(t, yaml);
  return await ServeProcess.start(t.server, ["--config", config, ...args]);
}

/**
 * `sstp connect` (server_fixture.ts's `connectProcess`) with interface `dev`,
 * pinned to the test certificate by fingerprint, `--use-ipv6 yes` and `extra`.
 */
export function connectIpv6(t: Topology, dev: string, extra: string[]): SstpProcess {
  const fingerprint = formatFingerprint(t.fingerprint, "sha256");
  return connectProcess(t, dev, [
    "--server-fingerprint",
    fingerprint,
    "--use-ipv6",
    "yes",
    ...extra,
  ]);
}

/** Two pings from `ns` to `target` (`extra` before the target, e.g. `-I SRC`); asserts replies. */
export async function ping6(ns: Netns, target: string, extra: string[] = []): Promise<void> {
  const r = await ns.exec(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", ...extra, target]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

/** IPv6 across the tunnel both ways: client (from `source`) to {@linkcode SERVER_SIDE_V6}, server to `address`. */
export async function ping6BothWays(t: Topology, address: string, source?: string): Promise<void> {
  await ping6(t.client, SERVER_SIDE_V6, source === undefined ? [] : ["-I", source]);
  await ping6(t.server, address);
}
