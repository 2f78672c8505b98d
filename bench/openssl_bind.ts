// deno-lint-ignore-file no-console
/**
 * What opening the system OpenSSL costs a process: the time of `openSsl()`
 * (find the libraries, check every declared name, `OPENSSL_init_ssl`), then
 * of one client handshake with `tls-engine: openssl` (deno I/O) against a
 * loopback node:tls server, which binds what a client uses; or (`--worker`)
 * what a data-plane Worker pays once the main thread has opened OpenSSL:
 * `requireOpenSsl()` and the functions its session calls. Prints one JSON line; run it as a whole process several
 * times, e.g. under `/usr/bin/time -v` or alternating with another tree.
 *
 *   deno run -A bench/openssl_bind.ts [--tree DIR] [--worker]
 *
 * `--tree DIR` measures the `ffi/` of another checkout (e.g. a `git
 * worktree` of an older commit). Only 127.0.0.1 is used.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createServer } from "node:tls";
import type { AddressInfo } from "node:net";
import { selfSigned } from "../test/helpers/openssl_worker_pair.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { tree: { type: "string" }, worker: { type: "boolean", default: false } },
});
const tree = values.tree === undefined
  ? new URL("..", import.meta.url)
  : new URL(`file://${values.tree.replace(/\/?$/, "/")}`);

/** Functions a data-plane Worker's session calls (ffi/data_plane_session.ts). */
const WORKER_FUNCTIONS = [
  "SSL_read",
  "SSL_write",
  "SSL_get_error",
  "SSL_shutdown",
  "SSL_free",
  "ERR_get_error",
  "ERR_clear_error",
];

/** Bound functions of a symbol table: plain values, not first-use getters. */
function boundCount(symbols: object): number {
  return Object.values(Object.getOwnPropertyDescriptors(symbols)).filter((d) => "value" in d)
    .length;
}

async function inWorker(): Promise<void> {
  // As with `tls-engine: openssl-worker`: the main thread has opened OpenSSL
  // (it did the handshake) before the Worker starts.
  const openssl = await import(new URL("ffi/openssl.ts", tree).href);
  if (openssl.openSsl() === undefined) throw new Error(openssl.openSslUnavailableReason());
  const source = `
    const { requireOpenSsl } = await import(${
    JSON.stringify(new URL("ffi/openssl.ts", tree).href)
  });
    const t0 = performance.now();
    const s = requireOpenSsl();
    const t1 = performance.now();
    for (const name of ${
    JSON.stringify(WORKER_FUNCTIONS)
  }) if (typeof s[name] !== "function") throw new Error(name);
    const t2 = performance.now();
    const bound = Object.values(Object.getOwnPropertyDescriptors(s)).filter((d) => "value" in d).length;
    self.postMessage({ openMs: t1 - t0, useMs: t2 - t1, bound });
  `;
  const url = `data:application/javascript,${encodeURIComponent(source)}`;
  const worker = new Worker(url, { type: "module" });
  try {
    const result = await new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
    });
    console.log(JSON.stringify({ worker: true, ...result as object }));
  } finally {
    worker.terminate();
  }
}

async function inMain(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "openssl-bind-" });
  const { certPem, keyPem } = await selfSigned(dir).finally(() =>
    Deno.remove(dir, { recursive: true })
  );
  const server = createServer({ cert: certPem, key: keyPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const openssl = await import(new URL("ffi/openssl.ts", tree).href);
    const { openSslDialer } = await import(new URL("ffi/openssl_dialer.ts", tree).href);
    const t0 = performance.now();
    if (openssl.openSsl() === undefined) throw new Error(openssl.openSslUnavailableReason());
    const t1 = performance.now();
    const conn = await openSslDialer("deno").dial({
      address: "127.0.0.1",
      port,
      verifyChain: false,
      minVersion: "TLSv1.2",
      timeoutMs: 5000,
    });
    const t2 = performance.now();
    conn.duplex.close();
    console.log(JSON.stringify({
      openMs: t1 - t0,
      handshakeMs: t2 - t1,
      bound: boundCount(openssl.openSsl()),
    }));
  } finally {
    server.close();
  }
}

if (values.worker) await inWorker();
else await inMain();
