/**
 * Probes a raw TCP connection from the client side.
 *
 * @module
 */

/** Resolves "closed" when the server ends `conn` (EOF or reset), "open" after `ms`. */
export async function serverClosed(conn: Deno.TcpConn, ms: number): Promise<"closed" | "open"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      conn.read(new Uint8Array(64)).then(() => "closed" as const, () => "closed" as const),
      new Promise<"open">((r) => timer = setTimeout(() => r("open"), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
