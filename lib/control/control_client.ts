/**
 * The client side of the control protocol (see `protocol.ts`): one request,
 * one answer, with a time limit; and the list of sockets in a directory.
 *
 * @module
 */
import { type ControlRequest, DEFAULT_CONTROL_DIR, MAX_CONTROL_LINE_BYTES } from "./protocol.ts";

/**
 * Sends `request` to the socket at `path` and returns the parsed answer.
 *
 * @throws {Deno.errors.NotFound | Deno.errors.ConnectionRefused} when nothing listens.
 * @throws {Error} on a timeout, a closed connection or an answer that is not JSON.
 */
export async function controlRequest(
  path: string,
  request: ControlRequest,
  timeoutMs = 5000,
): Promise<Record<string, unknown>> {
  const conn = await Deno.connect({ transport: "unix", path });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`Cannot query "${path}": no answer within ${timeoutMs} ms`));
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }, timeoutMs);
    });
    return await Promise.race([exchange(conn, request, path), timeout]);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

async function exchange(
  conn: Deno.UnixConn,
  request: ControlRequest,
  path: string,
): Promise<Record<string, unknown>> {
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
  writer.releaseLock();
  const reader = conn.readable.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Cannot query "${path}": connection closed before an answer`);
      text += decoder.decode(value, { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) {
        const answer: unknown = JSON.parse(text.slice(0, nl));
        if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
          throw new Error(`Cannot query "${path}": the answer is not a JSON object`);
        }
        return answer as Record<string, unknown>;
      }
      if (text.length > MAX_CONTROL_LINE_BYTES) {
        throw new Error(`Cannot query "${path}": the answer is too long`);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Socket files (`*.sock`) in `dir`, sorted; the server's first.
 *
 * @returns An empty list when the directory does not exist.
 */
export async function listControlSockets(dir = DEFAULT_CONTROL_DIR): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.endsWith(".sock")) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return names.map((n) => `${dir}/${n}`);
}

function rank(name: string): number {
  return name.startsWith("client-") ? 1 : 0;
}
