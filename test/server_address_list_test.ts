/**
 * `address-list` needs nftables: when `nft` cannot be used the server
 * refuses to start, naming the profile and the reason, rather than ignoring
 * the key.
 */
import assert from "node:assert/strict";
import { SstpServer } from "../lib/server/server.ts";
import { parseServerConfig } from "../lib/config/server_config.ts";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import type { Platform } from "../lib/platform.ts";

const platform: Platform = {
  openTun: () => {
    throw new Error("not in this test");
  },
  createReactor: () => ({ close() {}, closed: Promise.resolve() }),
  openNetlink: () => {
    throw new Error("not in this test");
  },
};

Deno.test("SstpServer.start() refuses address-list when nftables is unusable", async () => {
  const cert = await createSelfSignedServerCertificate({ commonName: "t", ipAddresses: [] });
  const config = parseServerConfig(
    `sstp-server: { certificate: /x.pem, listen: 127.0.0.1, port: 44333 }
profiles:
  - { name: listed, address-list: vpn-users }
`,
    "t.yaml",
  );
  const calls: string[][] = [];
  await assert.rejects(
    SstpServer.start({
      config,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      platform,
      logger: NOOP_LOGGER,
      tool: (argv) => {
        calls.push([...argv]);
        return Promise.resolve({ code: 1, stdout: "", stderr: "Error: Could not process rule" });
      },
    }),
    /Cannot use address-list of profile "listed": nftables is unusable: nft failed: Error: Could not process rule/,
  );
  assert.deepEqual(calls, [["nft", "add", "table", "inet", "sstp"]]);
});
