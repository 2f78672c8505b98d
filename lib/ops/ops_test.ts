import assert from "node:assert/strict";
import { ExpositionWriter, formatValue, Histogram } from "./metrics/exposition.ts";
import { parseOpsConfig } from "./ops_config.ts";
import { parseListenAddress } from "../config/listen_address.ts";
import { formattedSink, parseLogFormat } from "../config/log_format.ts";
import { createLogger } from "../log.ts";
import { ConfigError } from "../config/config_error.ts";
import { basicAuthOk, parseAuthFile } from "./web_status/web_status.ts";

Deno.test("exposition: HELP/TYPE, escaped labels, cumulative histogram, special values", () => {
  const w = new ExpositionWriter();
  w.metric("x_total", "counter", "Things.\nSecond line \\ here", [
    [{ user: 'a"b\\c\nd' }, 3],
    [undefined, 1.5],
  ]);
  const h = new Histogram([0.1, 1]);
  for (const v of [0.05, 0.5, 0.5, 7]) h.observe(v);
  w.family("d_seconds", "histogram", "Durations.");
  w.histogram("d_seconds", h, { kind: "x" });
  assert.equal(
    w.toString(),
    [
      "# HELP x_total Things.\\nSecond line \\\\ here",
      "# TYPE x_total counter",
      'x_total{user="a\\"b\\\\c\\nd"} 3',
      "x_total 1.5",
      "# HELP d_seconds Durations.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{kind="x",le="0.1"} 1',
      'd_seconds_bucket{kind="x",le="1"} 3',
      'd_seconds_bucket{kind="x",le="+Inf"} 4',
      'd_seconds_sum{kind="x"} 8.05',
      'd_seconds_count{kind="x"} 4',
      "",
    ].join("\n"),
  );
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(NaN), "NaN");
  assert.throws(() => w.family("x_total", "counter", "again"), /twice/);
  assert.throws(() => w.family("bad-name", "gauge", ""), /metric name/);
  assert.throws(() => new ExpositionWriter().sample("a", 1, { "bad-label": "x" }), /label name/);
  assert.throws(() => new Histogram([1, 1]), /unsorted/);
});

Deno.test("ops config: listeners, log-format and errors with their lines", () => {
  const c = parseOpsConfig(
    "sstp-server:\n  certificate: /x.pem\n  metrics: 9477\n  web-status: '[::1]:9478'\n  log-format: json\n  metrics-per-user: yes\n",
    "s.yaml",
  );
  assert.deepEqual(c.metrics, { hostname: "127.0.0.1", port: 9477 });
  assert.deepEqual(c.webStatus, { hostname: "::1", port: 9478 });
  assert.equal(c.logFormat, "json");
  assert.equal(c.metricsPerUser, true);
  assert.equal(parseListenAddress("no"), undefined);
  assert.throws(
    () =>
      parseOpsConfig(
        "sstp-server:\n  port: 443\n  metrics: vpn.example:1\n  log-format: xml\n",
        "s.yaml",
      ),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /s\.yaml:3.*sstp-server\.metrics.*IP address and port/);
      assert.match(e.message, /s\.yaml:4.*sstp-server\.log-format.*"xml" is not one of text, json/);
      return true;
    },
  );
  assert.deepEqual(parseOpsConfig("", "empty.yaml").metrics, undefined);
});

Deno.test("log-format json: one object per line with the stable fields", () => {
  const out: string[] = [];
  const sink = formattedSink("json", "sstp-server", (l) => out.push(l), () => new Date(0));
  createLogger("info", sink).child("sstp-alice").child("{ID}/198.18.0.2:5000").warn('say "hi"\n');
  assert.deepEqual(JSON.parse(out[0]!), {
    ts: "1970-01-01T00:00:00.000Z",
    level: "warn",
    program: "sstp-server",
    tags: ["sstp-alice", "{ID}/198.18.0.2:5000"],
    msg: 'say "hi"\n',
  });
  assert.equal(out[0]!.includes("\n"), false);
  const text: string[] = [];
  createLogger("info", formattedSink("text", "x", (l) => text.push(l), () => new Date(0)))
    .child("t").info("m");
  assert.deepEqual(text, ["1970-01-01T00:00:00.000Z info  [t] m"]);
  assert.throws(() => parseLogFormat("JSON"));
});

Deno.test("status page basic auth: the file's users only", () => {
  const users = parseAuthFile("# admins\nadmin:s3cret:with:colons\n\nops:pw\n", "f");
  assert.equal(users.get("admin"), "s3cret:with:colons");
  const basic = (s: string) => `Basic ${btoa(s)}`;
  assert.equal(basicAuthOk(basic("admin:s3cret:with:colons"), users), true);
  assert.equal(basicAuthOk(basic("ops:pw"), users), true);
  assert.equal(basicAuthOk(basic("ops:pW"), users), false);
  assert.equal(basicAuthOk(basic("nobody:pw"), users), false);
  assert.equal(basicAuthOk(null, users), false);
  assert.equal(basicAuthOk("Basic !!!", users), false);
  assert.throws(() => parseAuthFile("# nothing\n", "f"), /no "user:password" line/);
  assert.throws(() => parseAuthFile("justaname\n", "f"), /f:1/);
});
