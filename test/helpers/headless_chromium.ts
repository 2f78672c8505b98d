/**
 * Loads a page in headless Chromium, waits, and writes its DOM and a
 * screenshot: `deno run -A headless_chromium.ts URL WAIT_MS DOM_OUT PNG_OUT`.
 *
 * A script rather than a function so that tests can run it inside a network
 * namespace (`ip netns exec`), where the page's server listens. Chromium is
 * driven over the DevTools protocol because `--dump-dom` writes the DOM at
 * the load event, before any server-sent event has arrived.
 *
 * @module
 */
// deno-lint-ignore-file no-console

async function main(): Promise<number> {
  const [url, waitText, domOut, pngOut] = Deno.args;
  if (url === undefined || domOut === undefined || pngOut === undefined) {
    console.error("usage: headless_chromium.ts URL WAIT_MS DOM_OUT PNG_OUT");
    return 64;
  }
  const profile = await Deno.makeTempDir({ prefix: "sstp-chromium-" });
  const child = new Deno.Command("chromium", {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--window-size=1100,800",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let port: string | undefined;
    const deadline = Date.now() + 30_000;
    while (port === undefined && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      port = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(text)?.[1];
    }
    // Keep draining stderr so Chromium never blocks on it.
    (async () => {
      try {
        while (!(await reader.read()).done) { /* drain */ }
      } catch { /* closed */ }
    })();
    if (port === undefined) throw new Error(`Chromium did not start:\n${text.slice(-2000)}`);
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === "page");
    if (page === undefined) throw new Error("Chromium has no page target");
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    let nextId = 1;
    const pending = new Map<number, (r: Record<string, unknown>) => void>();
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data as string);
      if (m.id !== undefined) pending.get(m.id)?.(m.result ?? { error: m.error });
    };
    const call = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      });
    await call("Page.enable");
    await call("Page.navigate", { url });
    await new Promise((r) => setTimeout(r, Number(waitText ?? "4000")));
    const dom = await call("Runtime.evaluate", {
      expression: "document.documentElement.outerHTML",
      returnByValue: true,
    }) as { result?: { value?: string } };
    await Deno.writeTextFile(domOut, dom.result?.value ?? "");
    const shot = await call("Page.captureScreenshot", { format: "png" }) as { data?: string };
    const bin = atob(shot.data ?? "");
    await Deno.writeFile(pngOut, Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    ws.close();
    return 0;
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());
