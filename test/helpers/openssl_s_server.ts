/**
 * `openssl s_server` on a free 127.0.0.1 port, for the client-side TLS
 * policy tests: it serves what `args` allow (one suite, one version) to
 * `accepts` connections.
 *
 * @module
 */

/** A running `openssl s_server`. */
export interface SServer {
  port: number;
  /** Stops it and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts `openssl s_server` with `cert` (certificate and key PEM) and
 * `args`, and waits (at most 5 s) until it listens.
 *
 * @throws {Error} when it does not listen within 5 s.
 */
export async function startSServer(
  cert: { certPem: string; keyPem: string },
  args: string[],
  accepts = 1,
): Promise<SServer> {
  const dir = await Deno.makeTempDir({ prefix: "sstp-s-server-" });
  await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command("openssl", {
    args: [
      ...["s_server", "-accept", `127.0.0.1:${port}`, "-cert", `${dir}/cert.pem`],
      ...["-key", `${dir}/key.pem`, "-naccept", String(accepts), "-quiet", ...args],
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.stdin.close().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  // A bare TCP probe would use up an accept; ask the kernel via /proc instead.
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (let i = 0;; i++) {
    try {
      const listening = Deno.readTextFileSync("/proc/net/tcp").split("\n")
        .some((l) => l.includes(`0100007F:${hex}`) && l.trim().split(/\s+/)[3] === "0A");
      if (listening) break;
    } catch { /* retry */ }
    if (i > 250) {
      await stop();
      throw new Error("openssl s_server did not start listening within 5 s");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, stop };
}
