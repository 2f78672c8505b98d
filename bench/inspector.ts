/**
 * A minimal client of the V8 inspector protocol (what `--inspect=HOST:PORT`
 * opens), for the benchmark's heap snapshots and CPU profiles of a server
 * in its own namespace.
 *
 * @module
 */

/** One inspector message (a reply has `id`, an event `method`). */
export interface InspectorMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
}

/** An open inspector session. */
export interface InspectorSession {
  /** Sends a command; resolves with its reply. */
  send(method: string, params?: Record<string, unknown>): Promise<InspectorMessage>;
  /** Closes the WebSocket. */
  close(): void;
}

/**
 * Opens the first inspector target at `hostPort`; `onEvent` sees every
 * event (a message without `id`).
 *
 * @throws {Error} When no target answers.
 */
export async function openInspector(
  hostPort: string,
  onEvent: (m: InspectorMessage) => void = () => {},
): Promise<InspectorSession> {
  const list = await (await fetch(`http://${hostPort}/json/list`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`Cannot open the inspector: no target at ${hostPort}`);
  const ws = new WebSocket(url);
  let nextId = 1;
  const pending = new Map<number, (m: InspectorMessage) => void>();
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`Cannot open ${url}`));
  });
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as InspectorMessage;
    if (m.id === undefined) onEvent(m);
    else pending.get(m.id)?.(m);
  };
  return {
    send: (method, params = {}) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}
