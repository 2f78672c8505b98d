/**
 * The node:tls duplex's direct lane (lib/transport/duplex.ts `DirectLane`),
 * end to end over loopback: bytes queued before the take-over come first and
 * in order, later chunks are pushed as they arrive, EOF ends it once, and
 * `write` completes synchronously while the socket buffer has room; pause
 * holds chunks back and resume delivers them, EOF included.
 */
import assert from "node:assert/strict";
import { createCertificateAuthority, issueCertificate } from "../cert/ca.ts";
import type { ByteDuplex } from "./duplex.ts";
import { dialTls } from "./tls_client.ts";
import { listenTls } from "./tls_server.ts";

const ca = await createCertificateAuthority({ commonName: "lane test CA", keyType: "ecdsa-p256" });
const server = await issueCertificate({
  issuer: ca,
  commonName: "localhost",
  usage: "server",
  ipAddresses: ["127.0.0.1"],
});

const text = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join("");
const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
};

Deno.test("direct lane: queued bytes first, then pushed chunks, then one EOF; writes are synchronous", async () => {
  const listener = await listenTls({
    hostname: ["127.0.0.1"],
    port: 0,
    certPem: server.certPem,
    keyPem: server.keyPem,
    handshakeTimeoutMs: 5_000,
  });
  let accepted: ByteDuplex | undefined;
  const acceptLoop = (async () => {
    for await (const duplex of listener) accepted ??= duplex;
  })();
  const connection = await dialTls({
    host: "127.0.0.1",
    port: listener.addrs[0]?.port ?? 0,
    caPem: ca.certPem,
  });
  try {
    const client = connection.duplex;
    assert.ok(client.lane, "node:tls client duplex offers a lane");
    await waitFor(() => accepted !== undefined, "the accepted connection");
    const peer = accepted!;
    assert.ok(peer.lane, "node:tls server duplex offers a lane");

    // Sent before the client takes its reads over: must be queued, not lost.
    const writer = peer.writable.getWriter();
    await writer.write(new TextEncoder().encode("one,"));
    await writer.write(new TextEncoder().encode("two,"));
    await new Promise((r) => setTimeout(r, 100));

    const got: Uint8Array[] = [];
    const ends: (Error | undefined)[] = [];
    const reads = client.lane.takeReads((chunk) => got.push(chunk), (error) => ends.push(error));
    assert.equal(text(got), "one,two,", "queued bytes delivered inside takeReads");
    assert.throws(() => client.lane!.takeReads(() => {}, () => {}), /already taken over/);
    assert.throws(() => client.readable, /taken over by the data path/);

    await writer.write(new TextEncoder().encode("three"));
    await waitFor(() => text(got) === "one,two,three", "the pushed chunk");

    // Client → server through the lane: accepted synchronously (no promise).
    const serverReader = peer.readable.getReader();
    assert.equal(client.lane.write(new TextEncoder().encode("ping")), undefined);
    const { value } = await serverReader.read();
    assert.equal(new TextDecoder().decode(value), "ping");
    serverReader.releaseLock();

    // Paused: nothing is delivered (the socket stops reading); resumed: it comes, in order.
    reads.pause();
    await writer.write(new TextEncoder().encode(",four"));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(text(got), "one,two,three", "nothing delivered while paused");
    reads.resume();
    await waitFor(() => text(got) === "one,two,three,four", "the chunk held while paused");

    // EOF after a pause/resume still arrives.
    await writer.close();
    await waitFor(() => ends.length > 0, "EOF");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(ends, [undefined], "EOF reported once, without an error");
  } finally {
    connection.duplex.close();
    await connection.duplex.closed;
    listener.close();
    await acceptLoop;
    accepted?.close();
    await accepted?.closed;
  }
});
