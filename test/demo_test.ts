/**
 * `sstp demo` end to end: it must succeed and leave no namespace behind.
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "./helpers/netns.ts";
import { run, SstpProcess } from "./helpers/sstp_process.ts";

Deno.test({
  name: "sstp demo connects, pings, measures and removes everything it made",
  ignore: netnsTestIgnore("sstp demo"),
  async fn() {
    const demo = new SstpProcess(["demo"]);
    const status = await demo.wait(180_000);
    assert.equal(status.code, 0, demo.output);
    assert.match(demo.output, /tunnel up in \d+ ms/);
    assert.match(demo.output, /3 packets transmitted, 3 received|rtt 5\/5 round trips/);
    assert.match(demo.output, /received \d+ bytes/);
    assert.match(demo.output, /status: connected/);
    const ns = demo.output.match(/namespaces (sstp-demo-s-\w+) \(server\) and (sstp-demo-c-\w+)/);
    assert.ok(ns, demo.output);
    const list = (await run(["ip", "netns", "list"])).stdout;
    assert.ok(!list.includes(ns[1]!) && !list.includes(ns[2]!), `left behind: ${list}`);
  },
});
