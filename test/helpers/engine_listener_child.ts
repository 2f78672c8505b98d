/**
 * A child process for ffi/openssl_server_fd_test.ts: listens on
 * 127.0.0.1 with `listenTls` and the OpenSSL engine (certificate and key
 * PEM files from the arguments), prints `port N` on stdout, logs to stderr,
 * and writes `hello` on every accepted connection. Runs until killed.
 *
 * @module
 */
import { createLogger } from "../../lib/log.ts";
import { listenTls } from "../../lib/transport/tls_server.ts";
import { openSslServer } from "../../ffi/openssl_dialer.ts";

// As `sstp serve` does: a signal listener set up at start. Deno 2.9.6 sets
// its signal machinery up on first use and panics when that first use finds
// no file descriptor left.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

const [certFile, keyFile] = Deno.args;
if (certFile === undefined || keyFile === undefined) {
  throw new TypeError("usage: engine_listener_child.ts CERT.pem KEY.pem");
}
const encoder = new TextEncoder();
const engine = openSslServer();
if (typeof engine === "string") throw new Error(engine);
const listener = await listenTls({
  hostname: "127.0.0.1",
  port: 0,
  certPem: Deno.readTextFileSync(certFile),
  keyPem: Deno.readTextFileSync(keyFile),
  engine,
  handshakeTimeoutMs: 30_000,
  maxHandshakes: 1000,
  maxHandshakesPerSource: 1000,
  logger: createLogger(
    "info",
    (_level, line) => Deno.stderr.writeSync(encoder.encode(`${line}\n`)),
  ),
});
Deno.stdout.writeSync(encoder.encode(`port ${listener.addrs[0]!.port}\n`));
for await (const duplex of listener) {
  const w = duplex.writable.getWriter();
  await w.write(encoder.encode("hello")).catch(() => {});
  w.releaseLock();
  duplex.close();
}
