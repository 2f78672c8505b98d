/**
 * Client network configuration against our server, in two namespaces:
 * `add-default-route` with a distance keeps a host route to the server through
 * the original gateway, `use-peer-dns` applies and restores DNS, and SIGTERM
 * removes all of it.
 *
 * ```
 *  netns S (server)                              netns C (client)
 *  198.18.60.1/30 ─────────── veth ──────────── 198.18.60.2/30, default via 198.18.60.1
 *  pool 198.18.61.10-20, dns 198.18.61.53        TUN sstp-rt: default metric 7 + host route to .1
 * ```
 */
import assert from "node:assert/strict";
import { createNetns, netnsTestIgnore } from "./helpers/netns.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import "reflect-metadata";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";

const CONFIG = `
sstp-server:
  port: 443
  certificate: server.pem
  listen: [198.18.60.1]
  authentication: mschap2
pools:
  - name: p
    ranges: 198.18.61.10-198.18.61.20
profiles:
  - name: default
    local-address: 198.18.61.1
    remote-address: p
    dns-server: [198.18.61.53]
secrets:
  - name: carol
    password: "c0rrect horse"
`;

Deno.test({
  name:
    "sstp connect adds a default route with a distance, a host route to the server, peer DNS, and removes them",
  ignore: netnsTestIgnore("client routes"),
  async fn() {
    await using s = await createNetns();
    await using c = await createNetns();
    const veth = `vrt${s.name.slice(-6)}`;
    const dir = await Deno.makeTempDir({ prefix: "sstp-rt-" });
    const etcNetns = `/etc/netns/${c.name}`;
    await Deno.mkdir(etcNetns, { recursive: true });
    const resolv = `${etcNetns}/resolv.conf`;
    await Deno.writeTextFile(resolv, "nameserver 198.18.99.99\n");
    let server: SstpProcess | undefined;
    let client: SstpProcess | undefined;
    try {
      await s.run(["ip", "link", "add", "vs", "type", "veth", "peer", veth]);
      await s.run(["ip", "link", "set", veth, "netns", c.name]);
      await s.run(["ip", "addr", "add", "198.18.60.1/30", "dev", "vs"]);
      await s.run(["ip", "link", "set", "vs", "up"]);
      await c.run(["ip", "addr", "add", "198.18.60.2/30", "dev", veth]);
      await c.run(["ip", "link", "set", veth, "up"]);
      await c.run(["ip", "route", "add", "default", "via", "198.18.60.1"]);
      const cert = await createSelfSignedServerCertificate({
        commonName: "198.18.60.1",
        ipAddresses: ["198.18.60.1"],
      });
      await Deno.writeTextFile(`${dir}/server.pem`, cert.certPem + cert.keyPem, { mode: 0o600 });
      await Deno.writeTextFile(`${dir}/sstp.yaml`, CONFIG, { mode: 0o600 });

      server = new SstpProcess([
        "serve",
        "--config",
        `${dir}/sstp.yaml`,
        "--state-dir",
        dir,
        "--control-socket",
        `${dir}/server.sock`,
      ], { netns: s.name });
      await server.waitFor(/listening on/, 30_000);

      client = new SstpProcess([
        "connect",
        "198.18.60.1",
        "--user",
        "carol",
        "--verify-server-certificate",
        "no",
        "--name",
        "sstp-rt",
        "--add-default-route",
        "yes",
        "--default-route-distance",
        "7",
        "--use-peer-dns",
        "yes",
      ], { netns: c.name, env: { SSTP_PASSWORD: "c0rrect horse", SSTP_RUN_DIR: dir } });
      await client.waitFor(/ up: sstp-rt /, 30_000);

      const routes = await c.run(["ip", "route", "show"]);
      assert.match(routes, /default dev sstp-rt .*metric 7/);
      assert.match(routes, /198\.18\.60\.1 via 198\.18\.60\.1 dev vrt|198\.18\.60\.1 dev vrt/);
      assert.match(await Deno.readTextFile(resolv), /nameserver 198\.18\.61\.53/);
      const ping = await c.exec(["ping", "-c", "2", "-W", "2", "198.18.61.1"]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);

      client.kill("SIGTERM");
      assert.equal((await client.wait(15_000)).code, 0, client.output);
      const after = await c.run(["ip", "route", "show"]);
      assert.doesNotMatch(after, /sstp-rt/);
      assert.doesNotMatch(after, /^198\.18\.60\.1 /m);
      assert.match(after, /default via 198\.18\.60\.1/);
      await waitUntil(
        async () => (await Deno.readTextFile(resolv)).includes("198.18.99.99"),
        5000,
        "resolv.conf restored",
      );
    } finally {
      client?.kill("SIGKILL");
      await client?.wait(5000);
      server?.kill("SIGTERM");
      await server?.wait(10_000);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(etcNetns, { recursive: true }).catch(() => {});
    }
  },
});
