/**
 * Issue 10 point 1, "Echo flood freezes the server": after the HTTP preamble a
 * client streams SSTP Echo Requests (8 bytes each) and never reads. The server
 * session must keep bounded memory (its output queue and what it hands the
 * transport), close the connection with a typed error, and leave other
 * sessions working. A second flood, of requests the rate limit does not cover,
 * checks that transport reads pause while control output piles up and resume
 * once the peer reads.
 */
import assert from "node:assert/strict";
import { createServerEngine } from "../lib/tunnel/server_engine.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { TunnelRunner } from "../lib/pipeline/runner.ts";
import { systemClock } from "../lib/clock.ts";
import { createLogger, NOOP_LOGGER } from "../lib/log.ts";
import { ERROR_CODE, ProtocolError } from "../lib/errors.ts";
import { MESSAGE_TYPE } from "../lib/sstp/constants.ts";
import { encodeSstpPacket } from "../lib/sstp/packet.ts";
import type { TunnelAction, TunnelEngine } from "../lib/tunnel/events.ts";
import { DEFAULT_OUTPUT_LIMITS } from "../lib/pipeline/output_queue.ts";
import { memoryDuplexPair } from "./helpers/memory_duplex.ts";
import { MemoryTun } from "./helpers/memory_tun.ts";
import { buildControl, buildEncapsulatedProtocolId } from "./helpers/sstp_builders.ts";
import { seededRandomBytes } from "./helpers/xorshift.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import { pairSetup, until } from "./helpers/pipeline_pair.ts";

const CERT = new TextEncoder().encode("flood test certificate");
const ECHO_REQUEST = buildControl(MESSAGE_TYPE.ECHO_REQUEST);
const CALL_CONNECT_REQUEST = buildControl(MESSAGE_TYPE.CALL_CONNECT_REQUEST, [
  buildEncapsulatedProtocolId(1),
]);

function repeat(packet: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(packet.length * n);
  for (let i = 0; i < n; i++) out.set(packet, i * packet.length);
  return out;
}

function serverRunner(transport: ConstructorParameters<typeof TunnelRunner>[0]["transport"]) {
  const warnings: string[] = [];
  const runner = new TunnelRunner({
    engine: createServerEngine({
      certHashes: certHashes(CERT),
      authentication: ["mschap2"],
      lookupPassword: () => undefined,
      assignAddresses: () => ({ localAddress: "198.18.9.1", peerAddress: "198.18.9.2" }),
      serverName: "srv",
      helloMs: 60_000,
      randomBytes: seededRandomBytes(9),
      logger: NOOP_LOGGER,
    }),
    transport,
    clock: systemClock,
    logger: createLogger("warn", (_level, line) => void warnings.push(line)),
    onLinkUp: () => Promise.resolve(new MemoryTun("flood0")),
  });
  return { runner, warnings };
}

Deno.test("an Echo Request flood that never reads stays bounded, is closed with LIMIT_EXCEEDED, and another session keeps working", async () => {
  // A legitimate pair, up before the flood starts.
  const legit = pairSetup();
  const legitDone = [legit.client.run(), legit.server.run()];
  await until(() => legit.client.tun !== undefined && legit.server.tun !== undefined, 5000, "up");

  const [attacker, serverEnd] = memoryDuplexPair();
  const { runner } = serverRunner(serverEnd);
  const done = runner.run();

  // Before Call Connect Request, Echo Requests are not answered at all.
  attacker.lane.write(repeat(ECHO_REQUEST, 100));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(serverEnd.bytesWritten, 0, "no Echo Response before Call Connect Request");

  // Call Connect Request (answered with an Ack), then the flood, never reading.
  attacker.lane.write(CALL_CONNECT_REQUEST);
  let maxOutput = 0;
  let result: Awaited<typeof done> | undefined;
  void done.then((r) => (result = r));
  const chunk = repeat(ECHO_REQUEST, 8192); // 64 KiB per write
  for (let i = 0; i < 400 && result === undefined; i++) {
    try {
      await attacker.lane.write(chunk);
    } catch {
      break; // the server closed the connection
    }
    maxOutput = Math.max(maxOutput, runner.outputPendingBytes);
    // The legitimate session still answers, within the flood.
    if (i % 50 === 0) {
      legit.clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: i }));
      const got = await legit.serverTun.nextWritten(legit.serverTun.written.length, 2000);
      assert.equal(parseIcmp(got)?.seq, i);
    }
  }
  const end = await done;
  assert.ok(end.error instanceof ProtocolError, `typed error, got ${end.error}`);
  assert.equal(end.error.code, ERROR_CODE.LIMIT_EXCEEDED);
  assert.match(end.error.message, /Echo Request flood/);
  assert.ok(maxOutput <= 1024, `server output queue stayed small (max ${maxOutput} B)`);
  assert.ok(
    serverEnd.bytesWritten < 1024,
    `the server wrote only a few answers (${serverEnd.bytesWritten} B)`,
  );

  legit.client.close("done");
  await Promise.all(legitDone);
  legit.clientTun.close();
  legit.serverTun.close();
  attacker.close();
});

/** An engine that answers every control message with `answerBytes` of control output. */
function chattyEngine(answerBytes: number): TunnelEngine {
  const answer = encodeSstpPacket({
    kind: "control",
    message: {
      messageType: MESSAGE_TYPE.ECHO_RESPONSE,
      attributes: [],
    },
  });
  const reps = Math.ceil(answerBytes / answer.length);
  return {
    handle(event): TunnelAction[] {
      if (event.type !== "control") return [];
      const out: TunnelAction[] = [];
      for (let i = 0; i < reps; i++) {
        out.push({
          type: "send",
          packet: {
            kind: "control",
            message: { messageType: MESSAGE_TYPE.ECHO_RESPONSE, attributes: [] },
          },
        });
      }
      return out;
    },
    noteReceive() {},
    isIpv4Open: false,
    isIpv6Open: false,
    peerMru: 1500,
  };
}

Deno.test("transport reads pause while control output piles up behind a peer that does not read, and resume when it reads", async () => {
  // 16 KiB of socket buffer each way; each request causes 64 bytes of answers.
  const [attacker, serverEnd] = memoryDuplexPair({ capacity: 16 * 1024 });
  const runner = new TunnelRunner({
    engine: chattyEngine(64),
    transport: serverEnd,
    clock: systemClock,
    logger: NOOP_LOGGER,
    onLinkUp: () => Promise.reject(new Error("no link in this test")),
  });
  const done = runner.run();
  // Flood without reading: writes stop completing once the server stops reading.
  let accepted = 0;
  let blocked: Promise<void> | undefined;
  for (let i = 0; i < 2000 && blocked === undefined; i++) {
    blocked = attacker.lane.write(repeat(ECHO_REQUEST, 512)); // 4 KiB
    accepted++;
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.ok(blocked !== undefined, `the server stopped reading (after ${accepted} writes)`);
  await new Promise((r) => setTimeout(r, 50));
  const limits = DEFAULT_OUTPUT_LIMITS;
  assert.ok(runner.outputPendingBytes >= limits.controlHighWaterBytes);
  assert.ok(
    runner.outputPendingBytes <= limits.maxControlBytes,
    `output bounded: ${runner.outputPendingBytes} B`,
  );
  assert.ok(serverEnd.unreadBytes > 0, "the rest waits in the transport, unread");

  // The peer reads: the server catches up, reads again, and answers everything.
  let received = 0;
  attacker.lane.takeReads((c) => (received += c.length), () => {});
  await blocked;
  const expected = accepted * 512 * 64;
  await until(() => received >= expected, 10_000, `all answers (${received}/${expected})`);
  assert.equal(received, expected);
  assert.equal(serverEnd.unreadBytes, 0);
  attacker.close();
  const end = await done;
  assert.equal(end.error?.message, "Connection closed by peer");
});

Deno.test("output beyond the hard bound closes the session with LIMIT_EXCEEDED and a warning", async () => {
  const [peer, serverEnd] = memoryDuplexPair({ capacity: 1024 });
  const warnings: string[] = [];
  const runner = new TunnelRunner({
    engine: chattyEngine(DEFAULT_OUTPUT_LIMITS.maxControlBytes + 4096),
    transport: serverEnd,
    clock: systemClock,
    logger: createLogger("warn", (_level, line) => void warnings.push(line)),
    onLinkUp: () => Promise.reject(new Error("no link in this test")),
  });
  const done = runner.run();
  peer.lane.write(ECHO_REQUEST);
  const end = await done;
  assert.ok(end.error instanceof ProtocolError);
  assert.equal(end.error.code, ERROR_CODE.LIMIT_EXCEEDED);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /closing: Cannot queue control output: .* bytes would exceed/);
  assert.equal(runner.outputPendingBytes, 0, "what was queued is released");
  peer.close();
});
