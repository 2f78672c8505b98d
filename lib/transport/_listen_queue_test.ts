import assert from "node:assert/strict";
import { isFdExhaustion, listenQueueLength, procNetAddress } from "./_listen_queue.ts";

Deno.test("procNetAddress() spells addresses as /proc/net/tcp{,6} does", () => {
  assert.equal(procNetAddress("127.0.0.1"), "0100007F");
  assert.equal(procNetAddress("198.18.1.1"), "010112C6");
  assert.equal(procNetAddress("0.0.0.0"), "00000000");
  assert.equal(procNetAddress("::"), "0".repeat(32));
  assert.equal(procNetAddress("::1"), "000000000000000000000000" + "01000000");
  assert.equal(procNetAddress("example"), undefined);
});

Deno.test("listenQueueLength() counts connections a listener has not accepted", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const conns: Deno.TcpConn[] = [];
  try {
    assert.equal(listenQueueLength("127.0.0.1", port), 0);
    for (let i = 0; i < 3; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    assert.equal(listenQueueLength("127.0.0.1", port), 3);
    assert.equal(listenQueueLength("127.0.0.2", port), undefined);
  } finally {
    for (const c of conns) c.close();
    listener.close();
  }
});

Deno.test("isFdExhaustion() recognises EMFILE and ENFILE", () => {
  assert.ok(isFdExhaustion(new Error("Too many open files (os error 24)")));
  assert.ok(isFdExhaustion(new Error("Too many open files in system (os error 23)")));
  assert.ok(!isFdExhaustion(new Error("Connection refused (os error 111)")));
});
