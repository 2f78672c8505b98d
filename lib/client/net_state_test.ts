import assert from "node:assert/strict";
import {
  NetStateFile,
  netStatePath,
  parseNetState,
  processStartTime,
  recoverNetState,
} from "./net_state.ts";
import { type CommandResult, type NetChangeRecord, NetConfig } from "../net/net_config.ts";
import { NOOP_LOGGER } from "../log.ts";

const PIN: NetChangeRecord = {
  kind: "route",
  route: { dst: "198.18.60.1/32", gateway: "198.18.59.1", dev: "veth0" },
};
const SPLIT: NetChangeRecord = {
  kind: "route",
  route: { dst: "0.0.0.0/1", dev: "sstp-out1", metric: 1 },
};

function fakeIp(answer: (args: string[]) => Partial<CommandResult> = () => ({})) {
  const calls: string[] = [];
  const run = (args: string[]): Promise<CommandResult> => {
    calls.push(args.join(" "));
    return Promise.resolve({ code: 0, stdout: "", stderr: "", ...answer(args) });
  };
  return { calls, run };
}

/** A pid no process has (above the kernel's pid_max limit of 2^22). */
const DEAD_PID = 2 ** 22 + 17;

Deno.test("netStatePath() names the file after the client and its namespace", () => {
  assert.equal(netStatePath("/run/sstp", "sstp-out1"), "/run/sstp/client-sstp-out1.state");
  assert.equal(
    netStatePath("/run/sstp", "sstp-out1", "@net4026532001"),
    "/run/sstp/client-sstp-out1@net4026532001.state",
  );
});

Deno.test("processStartTime() reads this process's start time and nothing for a dead pid", () => {
  assert.match(processStartTime(Deno.pid) ?? "", /^[0-9]+$/);
  assert.equal(processStartTime(DEAD_PID), undefined);
});

Deno.test("parseNetState() accepts what NetStateFile writes and refuses damaged files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = new NetStateFile(`${dir}/sub/client-x.state`, "x");
    const dns: NetChangeRecord = {
      kind: "dns",
      path: "/etc/resolv.conf",
      written: "nameserver 198.18.61.53\n",
      previous: { kind: "file", base64: btoa("nameserver 198.18.99.99\n") },
    };
    file.write([PIN, SPLIT, dns]);
    assert.equal((await Deno.stat(file.path)).mode! & 0o777, 0o600);
    const state = parseNetState(await Deno.readTextFile(file.path));
    assert.equal(state.pid, Deno.pid);
    assert.equal(state.name, "x");
    assert.deepEqual(state.changes, [PIN, SPLIT, dns]);
    file.write([]);
    await assert.rejects(Deno.stat(file.path), Deno.errors.NotFound);
    file.write([]); // removing twice is fine
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  for (
    const bad of [
      "{",
      "[]",
      JSON.stringify({ version: 2, name: "x", pid: 1, changes: [] }),
      JSON.stringify({ version: 1, name: "x", pid: 1, changes: [{ kind: "nuke" }] }),
      JSON.stringify({ version: 1, name: "x", pid: 1, changes: [{ kind: "route" }] }),
      JSON.stringify({
        version: 1,
        name: "x",
        pid: 1,
        changes: [{ kind: "dns", path: "/x", written: "", previous: { kind: "file" } }],
      }),
      JSON.stringify({ version: 1, name: "x", pid: 1, changes: [{ kind: "ip", undo: [1] }] }),
      JSON.stringify({
        version: 1,
        name: "x",
        pid: 1,
        changes: [{ kind: "ip", description: "x", undo: ["netns", "exec", "n", "sh"] }],
      }),
      JSON.stringify({
        version: 1,
        name: "x",
        pid: 1,
        changes: [{ kind: "sysctl", key: "kernel/core_pattern", value: "|/tmp/x" }],
      }),
    ]
  ) {
    assert.throws(() => parseNetState(bad), SyntaxError, bad);
  }
});

Deno.test("NetStateFile.readStale() refuses a state whose client still runs and moves damaged files aside", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/client-x.state`;
    // This test process stands for a client that is still running.
    new NetStateFile(path, "x", Deno.pid).write([PIN]);
    assert.throws(
      () => new NetStateFile(path, "x", DEAD_PID).readStale(NOOP_LOGGER),
      /Cannot start client "x": process [0-9]+ is running it/,
    );
    // Its own file is no obstacle to the same process (a reconnect).
    assert.deepEqual(new NetStateFile(path, "x").readStale(NOOP_LOGGER)?.changes, [PIN]);
    await Deno.writeTextFile(path, "garbage");
    assert.equal(new NetStateFile(path, "x").readStale(NOOP_LOGGER), undefined);
    assert.equal(await Deno.readTextFile(`${path}.bad`), "garbage");
    assert.equal(new NetStateFile(path, "x").readStale(NOOP_LOGGER), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recoverNetState() undoes a killed client's routes and resolv.conf, newest first, then removes the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const resolv = `${dir}/resolv.conf`;
    const written = "# Written by sstp\nnameserver 198.18.61.53\n";
    await Deno.writeTextFile(resolv, written);
    const path = `${dir}/client-x.state`;
    const dead = new NetStateFile(path, "x", DEAD_PID);
    dead.write([PIN, SPLIT, {
      kind: "dns",
      path: resolv,
      written,
      previous: { kind: "file", base64: btoa("nameserver 198.18.99.99\n") },
    }]);
    // The tunnel's routes vanished with its device; the pinned route is still there.
    const ip = fakeIp((args) =>
      args.includes("sstp-out1") ? { code: 2, stderr: 'Cannot find device "sstp-out1"' } : {}
    );
    const found = await recoverNetState(new NetStateFile(path, "x"), NOOP_LOGGER, {
      run: ip.run,
      resolvConfPath: resolv,
    });
    assert.equal(found, 3);
    assert.deepEqual(ip.calls, [
      "route del 0.0.0.0/1 dev sstp-out1 metric 1",
      "route del 198.18.60.1/32 via 198.18.59.1 dev veth0",
    ]);
    assert.equal(await Deno.readTextFile(resolv), "nameserver 198.18.99.99\n");
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    assert.equal(await recoverNetState(new NetStateFile(path, "x"), NOOP_LOGGER), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recoverNetState() keeps what it could not undo, and leaves a resolv.conf someone rewrote", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const resolv = `${dir}/resolv.conf`;
    await Deno.writeTextFile(resolv, "nameserver 198.18.7.7\n"); // rewritten by the admin since
    const path = `${dir}/client-x.state`;
    new NetStateFile(path, "x", DEAD_PID).write([PIN, {
      kind: "dns",
      path: resolv,
      written: "nameserver 198.18.61.53\n",
      previous: { kind: "absent" },
    }]);
    const ip = fakeIp(() => ({ code: 2, stderr: "RTNETLINK answers: Operation not permitted" }));
    await recoverNetState(new NetStateFile(path, "x"), NOOP_LOGGER, {
      run: ip.run,
      resolvConfPath: resolv,
    });
    assert.equal(await Deno.readTextFile(resolv), "nameserver 198.18.7.7\n");
    const left = parseNetState(await Deno.readTextFile(path));
    assert.equal(left.pid, Deno.pid);
    assert.deepEqual(left.changes, [PIN]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NetConfig journals a change before making it, drops it when it fails, and after each undo", async () => {
  const journal: string[][] = [];
  const ip = fakeIp((args) =>
    args.includes("198.18.9.0/24") ? { code: 2, stderr: "RTNETLINK answers: File exists" } : {}
  );
  const net = new NetConfig({
    run: ip.run,
    journal: (records) =>
      journal.push(records.map((r) => r.kind === "route" ? r.route.dst : r.kind)),
  });
  await net.addRoute({ dst: "0.0.0.0/1", dev: "sstp-out1", metric: 1 });
  await assert.rejects(net.addRoute({ dst: "198.18.9.0/24", dev: "sstp-out1" }), /File exists/);
  await net.addRoute({ dst: "128.0.0.0/1", dev: "sstp-out1", metric: 1 });
  assert.deepEqual(journal, [
    ["0.0.0.0/1"], // before `ip route add`
    ["0.0.0.0/1"], // recorded
    ["0.0.0.0/1", "198.18.9.0/24"],
    ["0.0.0.0/1"], // it failed
    ["0.0.0.0/1", "128.0.0.0/1"],
    ["0.0.0.0/1", "128.0.0.0/1"],
  ]);
  journal.length = 0;
  await net.cleanup();
  assert.deepEqual(journal, [["0.0.0.0/1"], [], []]);
});

Deno.test("recoverNetState() refuses files others may write and DNS records for another file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/client-x.state`;
    const victim = `${dir}/victim`;
    await Deno.writeTextFile(victim, "written");
    new NetStateFile(path, "x", DEAD_PID).write([{
      kind: "dns",
      path: victim,
      written: "written",
      previous: { kind: "file", base64: btoa("evil") },
    }]);
    await Deno.chmod(path, 0o666);
    await assert.rejects(
      recoverNetState(new NetStateFile(path, "x"), NOOP_LOGGER),
      /Cannot use network state .*writable by its owner only/,
    );
    await Deno.chmod(path, 0o600);
    const warnings: string[] = [];
    const log = { ...NOOP_LOGGER, warn: (m: string) => void warnings.push(m) };
    assert.equal(await recoverNetState(new NetStateFile(path, "x"), log), 0);
    assert.equal(await Deno.readTextFile(victim), "written");
    assert.match(warnings.join("\n"), /names .*victim, not \/etc\/resolv\.conf; ignored/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
