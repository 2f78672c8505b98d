import assert from "node:assert/strict";
import { startControlServer } from "./control_server.ts";
import { controlRequest, listControlSockets } from "./control_client.ts";
import { parseControlRequest } from "./protocol.ts";

Deno.test("control socket answers JSON lines, is private and is removed on close", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/run/sstp-server.sock`;
  try {
    const server = await startControlServer({
      path,
      handle: (r) =>
        r.op === "status" ? { ok: true, role: "server", sessions: [] } : {
          ok: true,
          disconnected: [r.target],
        },
    });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/run`)).mode! & 0o777, 0o700);
    assert.deepEqual(await controlRequest(path, { op: "status" }), {
      ok: true,
      role: "server",
      sessions: [],
    });
    assert.deepEqual(await controlRequest(path, { op: "disconnect", target: "alice" }), {
      ok: true,
      disconnected: ["alice"],
    });
    assert.deepEqual(await listControlSockets(`${dir}/run`), [path]);
    // A second server on the same path is refused while the first answers.
    await assert.rejects(
      () => startControlServer({ path, handle: () => ({}) }),
      Deno.errors.AddrInUse,
    );
    // Junk lines get errors, and the connection goes on.
    const conn = await Deno.connect({ transport: "unix", path });
    await conn.write(new TextEncoder().encode('nonsense\n{"op":"x"}\n{"op":"status"}\n'));
    let text = "";
    const buf = new Uint8Array(4096);
    while (text.split("\n").length < 4) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn.close();
    const lines = text.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { ok: false, error: "request is not valid JSON" });
    assert.deepEqual(lines[1], { ok: false, error: 'unknown op "x"' });
    assert.equal(lines[2].ok, true);
    server.close();
    await server.closed;
    await assert.rejects(() => Deno.stat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("control socket replaces a stale socket file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/s.sock`;
  try {
    const stale = Deno.listen({ transport: "unix", path });
    stale.close(); // Deno removes nothing: the file stays, nobody answers.
    const server = await startControlServer({ path, handle: () => ({ ok: true }) });
    assert.deepEqual(await controlRequest(path, { op: "status" }), { ok: true });
    server.close();
    await server.closed;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseControlRequest() checks op and target", () => {
  assert.deepEqual(parseControlRequest({ op: "status" }), { op: "status" });
  assert.equal(typeof parseControlRequest({ op: "disconnect" }), "string");
  assert.equal(typeof parseControlRequest([]), "string");
  assert.equal(typeof parseControlRequest(null), "string");
});
