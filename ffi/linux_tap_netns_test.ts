/**
 * Root-only test of {@linkcode openLinuxTun} in TAP mode (`IFF_TAP |
 * IFF_NO_PI`, the bridge port of a BCP session) in a throw-away network
 * namespace: an ARP request written to the device is answered by the
 * namespace's stack with an ARP reply read back from it, whole Ethernet
 * frames both ways.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createNetns, netnsTestIgnore } from "../test/helpers/netns.ts";
import { openLinuxTun } from "./linux_tun.ts";

const ignore = netnsTestIgnore("ffi/linux_tap_netns_test.ts");

const PEER_MAC = [0x02, 0x00, 0x5e, 0x00, 0x00, 0x02];

/** An Ethernet broadcast ARP request: who has `target`? tell `sender` (PEER_MAC). */
function arpRequest(sender: number[], target: number[]): Uint8Array {
  return Uint8Array.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // destination: broadcast
    ...PEER_MAC, // source
    0x08,
    0x06, // EtherType ARP
    0x00,
    0x01,
    0x08,
    0x00,
    6,
    4,
    0x00,
    0x01, // Ethernet/IPv4, request
    ...PEER_MAC,
    ...sender,
    0,
    0,
    0,
    0,
    0,
    0,
    ...target,
    ...new Array(18).fill(0), // pad to 60 bytes
  ]);
}

Deno.test({
  name: "LinuxTun in TAP mode carries Ethernet frames: an ARP request in, the ARP reply out",
  ignore,
  async fn() {
    await using ns = await createNetns();
    const tap = ns.enter(() => openLinuxTun({ name: "sstp-tap0", mode: "tap", up: true }));
    try {
      assert.match(await ns.run(["ip", "-d", "link", "show", "dev", "sstp-tap0"]), /tun type tap/);
      await ns.run(["ip", "addr", "add", "198.18.6.1/24", "dev", "sstp-tap0"]);
      const ownMac = (await ns.run(["cat", "/sys/class/net/sstp-tap0/address"])).trim()
        .split(":").map((h) => parseInt(h, 16));
      let reply: Uint8Array | undefined;
      let retry: ReturnType<typeof setTimeout> | undefined;
      const got = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no ARP reply within 5 s")), 5000);
        const reads = tap.readPush((batch) => {
          for (const frame of batch) {
            // EtherType ARP, opcode 2 (reply).
            if (frame[12] === 0x08 && frame[13] === 0x06 && frame[21] === 2) {
              reply = frame.slice();
              clearTimeout(timer);
              reads.stop();
              resolve();
            }
          }
        }, () => {});
        // Retried: the kernel may drop the first frames while the device settles.
        const send = (n: number) => {
          if (reply !== undefined || n === 0) return;
          tap.writePackets([arpRequest([198, 18, 6, 2], [198, 18, 6, 1])]);
          retry = setTimeout(() => send(n - 1), 200);
        };
        send(20);
      });
      await got.finally(() => clearTimeout(retry));
      assert.ok(reply);
      assert.deepEqual([...reply.subarray(0, 6)], PEER_MAC, "sent to the asking MAC");
      assert.deepEqual([...reply.subarray(6, 12)], ownMac, "from the TAP device's own MAC");
      assert.deepEqual([...reply.subarray(28, 32)], [198, 18, 6, 1], "sender IP: the device's");
      assert.ok(tap.stats.txPackets >= 1);
    } finally {
      tap.close();
      await tap.closed;
    }
    // A non-persistent TAP device is deleted with its file descriptor.
    const left = await ns.exec(["ip", "link", "show", "dev", "sstp-tap0"]);
    assert.notEqual(left.code, 0);
  },
});
