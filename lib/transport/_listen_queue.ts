/**
 * How many connections wait in the kernel's accept queue of a listening TCP
 * socket, from `/proc/net/tcp` (IPv4) or `/proc/net/tcp6`: for a socket in
 * LISTEN state the `rx_queue` column is that count. The server uses it to
 * notice a listener that stopped accepting: Deno 2.9.6's node:net drops an
 * accept error (EMFILE when the open-file limit is reached) without a word
 * and never polls that listener again, while connections pile up in the
 * queue.
 *
 * Listening sockets come first in those files, so only their head is read
 * (a server with thousands of connections would otherwise parse them all).
 *
 * @module
 */

/** The kernel's address text for `hostname` in /proc/net/tcp{,6}, or undefined. */
export function procNetAddress(hostname: string): string | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  if (v4 !== null) {
    // One __be32 printed as %08X on a little-endian host: the bytes reversed.
    return v4.slice(1, 5).reverse().map((b) => Number(b).toString(16).padStart(2, "0")).join("")
      .toUpperCase();
  }
  const bytes = ipv6Bytes(hostname);
  if (bytes === undefined) return undefined;
  let text = "";
  for (let w = 0; w < 16; w += 4) {
    // Four 32-bit words, each printed as %08X in host (little-endian) order.
    for (let b = 3; b >= 0; b--) text += bytes[w + b]!.toString(16).padStart(2, "0");
  }
  return text.toUpperCase();
}

/**
 * Connections waiting in the accept queue of the socket listening on
 * `hostname`:`port`, or undefined when there is none (or /proc is missing).
 *
 * @throws the open error, e.g. `Error` "Too many open files" when this
 *   process has no descriptor left; see {@linkcode isFdExhaustion}.
 */
export function listenQueueLength(hostname: string, port: number): number | undefined {
  const address = procNetAddress(hostname);
  if (address === undefined) return undefined;
  const local = `${address}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(address.length === 8 ? "/proc/net/tcp" : "/proc/net/tcp6");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    const buf = new Uint8Array(65536);
    let text = "";
    // At most 1 MiB: enough for thousands of listening sockets.
    for (let i = 0; i < 16; i++) {
      const n = file.readSync(buf);
      if (n === null || n === 0) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      const lines = text.split("\n");
      text = lines.pop() ?? "";
      for (const line of lines) {
        const f = line.trim().split(/\s+/);
        if (f.length < 5 || f[0] === "sl") continue;
        if (f[3] !== "0A") return undefined;
        if (f[1] === local) return parseInt(f[4]!.split(":")[1] ?? "", 16);
      }
    }
    return undefined;
  } finally {
    file.close();
  }
}

export { isFdExhaustion } from "../errors.ts";

function ipv6Bytes(text: string): number[] | undefined {
  const halves = text.split("%")[0]!.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) => part === "" ? [] : part.split(":").map((g) => parseInt(g, 16));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  if (!groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)) return undefined;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}
