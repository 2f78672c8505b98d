// deno-lint-ignore-file no-console
/**
 * `sstp connect` against a real third-party server: SoftEther VPN Server
 * (Debian's package, patched private copy; ../shared/interop/softether).
 *
 * ```
 *  root namespace                                 netns sstp-se-t
 *  ┌──────────────────────┐   veth 198.18.250.0/30  ┌────────────────────────┐
 *  │ sstp connect         │─────────────────────────│ vpnserver :4443 (SSTP) │
 *  │ TUN sstp-se0         │  .1                  .2 │ SecureNAT 198.18.251.1 │
 *  │ 198.18.251.10 (DHCP) │                         │ DHCP .10-.50           │
 *  └──────────────────────┘                         └────────────────────────┘
 * ```
 *
 * SoftEther does not check the crypto binding
 * (docs/interop.md#softether-vpn-server-as-a-test-peer), so this proves
 * interop, not the Compound MAC; the server tests prove that against ours.
 */
import assert from "node:assert/strict";
import { isCi } from "./helpers/netns.ts";
import { run, SstpProcess, waitUntil } from "./helpers/sstp_process.ts";

const SE_DIR = new URL("../../shared/interop/softether/", import.meta.url).pathname;
const IFACE = "sstp-se0";
const SE_ENV = {
  SE_NETNS: "sstp-se-t",
  SE_INSTANCE: "sstp-client-test",
  SE_NETNS_HOST_IP: "198.18.250.1",
  SE_NETNS_NS_IP: "198.18.250.2",
  SE_VNET_GW: "198.18.251.1",
  SE_DHCP_START: "198.18.251.10",
  SE_DHCP_END: "198.18.251.50",
  SE_PORT: "4443",
  PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
};

function unavailable(): string | undefined {
  if (Deno.uid() !== 0) return "not root";
  try {
    Deno.statSync("/dev/net/tun");
    Deno.statSync(SE_DIR + "start.sh");
    Deno.statSync("/usr/libexec/softether/vpnserver/vpnserver");
  } catch (e) {
    return `missing ${(e as Error).message}`;
  }
  return undefined;
}

const reason = unavailable();
if (reason && !isCi()) console.warn(`skipping SoftEther interop test: ${reason}`);

async function seStart(): Promise<Record<string, string>> {
  const r = await run(["bash", SE_DIR + "start.sh"], SE_ENV, 90_000);
  if (r.code !== 0) throw new Error(`SoftEther start failed (${r.code}):\n${r.stderr}`);
  const kv: Record<string, string> = {};
  for (const line of r.stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
  }
  return kv;
}

async function seStop(keepNetns: boolean): Promise<void> {
  await run(["bash", SE_DIR + "stop.sh"], {
    ...SE_ENV,
    ...(keepNetns ? { SE_KEEP_NETNS: "1" } : {}),
  }, 60_000);
}

async function ifaceAddress(): Promise<string | undefined> {
  const r = await run(["ip", "-j", "-4", "addr", "show", "dev", IFACE]);
  if (r.code !== 0) return undefined;
  const j = JSON.parse(r.stdout) as { addr_info?: { local: string }[] }[];
  return j[0]?.addr_info?.[0]?.local;
}

async function linkExists(): Promise<boolean> {
  return (await run(["ip", "link", "show", "dev", IFACE])).code === 0;
}

Deno.test({
  name: "sstp connect interoperates with a real SoftEther VPN Server",
  ignore: reason !== undefined && !isCi(),
  async fn(t) {
    const se = await seStart();
    const common = [
      "connect",
      "--connect-to",
      `${se.SE_HOST}:${se.SE_PORT}`,
      "--ca",
      se.SE_CA_CERT!,
      "--name",
      IFACE,
      "--keepalive-timeout",
      "10",
      "--log-level",
      "debug",
    ];
    try {
      await t.step(
        "MS-CHAPv2 login, address from SoftEther, ping through the tunnel, clean SIGTERM",
        async () => {
          const client = new SstpProcess([...common, "--user", se.SE_USER!], {
            env: { SSTP_PASSWORD: se.SE_PASS! },
          });
          try {
            await client.waitFor(/ up: sstp-se0 198\.18\.251\.\d+ peer 198\.18\.251\.1/, 30_000);
            assert.match(client.output, /auth mschap2/);
            assert.match(client.output, /TLSv1\.[23]/);
            const addr = await ifaceAddress();
            assert.match(addr ?? "", /^198\.18\.251\.\d+$/);
            const ping = await run(["ping", "-c", "3", "-W", "2", "-I", IFACE, se.SE_GATEWAY_IP!]);
            assert.equal(ping.code, 0, ping.stdout + ping.stderr);
            client.kill("SIGTERM");
            const st = await client.wait(15_000);
            assert.equal(st.code, 0, client.output);
            assert.match(client.output, /send \[SSTP CallDisconnect/);
            assert.equal(await linkExists(), false, "interface left behind");
            const routes = await run(["ip", "route", "show", "dev", IFACE]);
            assert.notEqual(routes.code, 0);
          } finally {
            client.kill("SIGKILL");
            await client.wait(5000);
          }
        },
      );

      await t.step(
        "a wrong password ends with the authentication error and exit code 65",
        async () => {
          const client = new SstpProcess([...common, "--user", se.SE_USER!], {
            env: { SSTP_PASSWORD: "wrong-password" },
          });
          const st = await client.wait(40_000);
          assert.equal(st.code, 65, client.output);
          assert.match(client.output, /691|[Aa]uthentication failed/);
          assert.equal(await linkExists(), false);
        },
      );

      await t.step("a certificate that fails verification ends with exit code 66", async () => {
        // No --ca: the system store does not know the test CA.
        const args = common.filter((a, i) => a !== "--ca" && common[i - 1] !== "--ca");
        const client = new SstpProcess([...args, "--user", se.SE_USER!], {
          env: { SSTP_PASSWORD: se.SE_PASS! },
        });
        const st = await client.wait(40_000);
        assert.equal(st.code, 66, client.output);
        assert.match(client.output, /Cannot verify server certificate/);
      });

      await t.step("the client reconnects after the server is killed and restarted", async () => {
        const client = new SstpProcess([...common, "--user", se.SE_USER!], {
          env: { SSTP_PASSWORD: se.SE_PASS! },
        });
        try {
          await client.waitFor(/ up: sstp-se0 /, 30_000);
          const before = await ifaceAddress();
          await seStop(true);
          await client.waitFor(/reconnecting in/, 40_000);
          await seStart();
          const after = await waitUntil(ifaceAddress, 60_000, "address restored");
          assert.equal(after, before);
          const ping = await run(["ping", "-c", "2", "-W", "2", "-I", IFACE, se.SE_GATEWAY_IP!]);
          assert.equal(ping.code, 0, ping.stdout + ping.stderr);
          client.kill("SIGTERM");
          assert.equal((await client.wait(15_000)).code, 0, client.output);
        } finally {
          client.kill("SIGKILL");
          await client.wait(5000);
        }
      });
    } finally {
      await seStop(false);
      await run(["ip", "link", "del", IFACE]);
    }
  },
});
