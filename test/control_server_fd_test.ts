/**
 * The control socket survives the open-file limit: connections that take
 * every descriptor make its accepts fail with EMFILE; once they are gone it
 * answers again (its accept loop used to end at the first such failure, so
 * `sstp status` got no answer until a restart). The server runs as a child
 * under `prlimit --nofile`.
 */
import assert from "node:assert/strict";
import { controlRequest } from "../lib/control/control_client.ts";
import { PRLIMIT_AVAILABLE, spawnUnderNofile } from "./helpers/nofile_child.ts";

const CHILD = new URL("./helpers/control_server_child.ts", import.meta.url).pathname;

Deno.test({
  name: "control socket: accepts again once the descriptors an EMFILE flood took are free",
  ignore: !PRLIMIT_AVAILABLE,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-control-fd-" });
  const path = `${dir}/control.sock`;
  const child = spawnUnderNofile(64, CHILD, [path]);
  const held: Deno.UnixConn[] = [];
  try {
    await child.until(() => child.out.includes("ready"), 30_000, "not ready");
    assert.equal((await controlRequest(path, { op: "status" })).ok, true);
    // More connections than the child has descriptors: its accepts fail with EMFILE.
    for (let i = 0; i < 100; i++) held.push(await Deno.connect({ transport: "unix", path }));
    await child.until(
      () => child.err.some((l) => /Too many open files/.test(l)),
      10_000,
      "no EMFILE log",
    );
    for (const c of held.splice(0)) c.close();
    let reply: Record<string, unknown> | undefined;
    const failures: string[] = [];
    for (let attempt = 0; reply === undefined && attempt < 5; attempt++) {
      reply = await controlRequest(path, { op: "status" }, 2000).catch((e) => {
        failures.push(String(e));
        return undefined;
      });
    }
    assert.equal(reply?.ok, true, `${failures.join("\n")}\n${child.err.join("\n")}`);
  } finally {
    for (const c of held) c.close();
    await child.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
