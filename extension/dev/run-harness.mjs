// Drive dev/harness.html in headless Debian Chromium (never a downloaded browser):
//   node dev/run-harness.mjs [grid|graph|all]
// Serves the repository root on 127.0.0.1, measures first frame / pan frame time, takes
// screenshots into ../test-artifacts/ (light and dark).
import { createServer } from "node:http";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), "..", ".."));
const artifacts = join(root, "test-artifacts");
mkdirSync(artifacts, { recursive: true });
const ARGS = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
  "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css" };

const server = createServer((req, res) => {
  const p = normalize(join(root, decodeURIComponent(new URL(req.url, "http://x").pathname)));
  if (!p.startsWith(root)) { res.writeHead(403).end(); return; }
  try {
    if (!statSync(p).isFile()) throw new Error("not a file");
    res.writeHead(200, { "content-type": TYPES[extname(p)] || "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(p));
  } catch { res.writeHead(404).end(); }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}/extension/dev/harness.html`;

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ARGS, headless: true, timeout: 60000 });
const what = process.argv[2] || "all";
const stats = (a) => { const s = [...a].sort((x, y) => x - y); return { median: +s[s.length >> 1].toFixed(1), p90: +s[Math.floor(s.length * 0.9)].toFixed(1), n: s.length }; };

async function open(query) {
  const page = await browser.newPage({ viewport: { width: 1160, height: 900 }, deviceScaleFactor: 1 });
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${base}?${query}`);
  return { page, logs };
}

async function waitLoaded(page, key = "n") {
  await page.waitForFunction((k) => { const m = window.__harness.model; return m && m.get("loaded") >= m.get(k) && m.get(k) > 0; }, key, { timeout: 120000 });
}

async function panBench(page, x, y, steps = 40, button = "middle") {
  await page.mouse.move(x, y);
  await page.mouse.down({ button });
  const times = [], draws = [];
  for (let k = 0; k < steps; k++) {
    const since = await page.evaluate(() => performance.now());
    const p = page.evaluate((s) => window.__harness.nextFrame(s), since);
    await page.mouse.move(x + 3 * k, y + 2 * k);
    times.push(await p);
    draws.push(await page.evaluate(() => window.__harness.frames.at(-1).ms));
  }
  await page.mouse.up({ button });
  return { frame: stats(times), jsDraw: stats(draws) };
}

async function grid(theme) {
  const n = 1000000;
  const { page, logs } = await open(`widget=grid&n=${n}&theme=${theme}`);
  await page.waitForFunction(() => window.__harness.firstFrame !== null, null, { timeout: 120000 });
  const first = await page.evaluate(() => ({ firstFrame: window.__harness.firstFrame, firstDrawMs: window.__harness.firstDrawMs, firstLoaded: window.__harness.firstLoaded }));
  const tLoaded0 = Date.now();
  await waitLoaded(page);
  await page.evaluate(() => window.__harness.sync());
  first.allLoadedAfterFirstMs = Date.now() - tLoaded0;
  await page.waitForTimeout(300);
  await page.evaluate(() => window.__harness.sync());
  const info = await page.evaluate(() => {
    const c = document.createElement("canvas").getContext("webgl2");
    const dbg = c && c.getExtension("WEBGL_debug_renderer_info");
    return { renderer: window.__harness.model.get("renderer"), gl: c ? c.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : c.RENDERER) : null };
  });
  const stage = await page.$(".ngx-stage");
  const box = await stage.boundingBox();
  const pan = await panBench(page, box.x + 500, box.y + 250);
  await page.screenshot({ path: join(artifacts, `grid-${theme}.png`) });
  // box selection in a small multiple, then hover
  await page.mouse.move(box.x + 20, box.y + 540);
  await page.mouse.down(); await page.mouse.move(box.x + 90, box.y + 600, { steps: 5 }); await page.mouse.up();
  await page.waitForTimeout(400);
  await page.mouse.move(box.x + 560, box.y + 260, { steps: 3 });
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(artifacts, `grid-${theme}-selected.png`) });
  const sel = await page.evaluate(() => { const h = window.__harness; return { saves: h.kernel.selections.length, bytes: h.kernel.selections.at(-1)?.byteLength, hovers: h.kernel.hovers, card: document.querySelector(".ngx-card").textContent.slice(0, 80), count: document.querySelector(".ngx-count").textContent, error: h.model.get("error") }; });
  console.log(JSON.stringify({ widget: "grid", theme, n, ...first, ...info, pan, sel }, null, 1));
  if (logs.length) console.log(logs.slice(0, 20).join("\n"));
  return page;
}

async function graph(theme, nodes = 50000, edges = 200000) {
  const { page, logs } = await open(`widget=graph&n=${nodes}&edges=${edges}&theme=${theme}`);
  await waitLoaded(page, "n_edges");
  await page.evaluate(() => window.__harness.sync());
  const t0 = await page.evaluate(() => window.__harness.kernel.t0);
  const loadedMs = await page.evaluate((t) => performance.now() - t, t0);
  const box = await (await page.$(".ngx-stage")).boundingBox();
  const pan = await panBench(page, box.x + 400, box.y + 300, 30, "left");
  await page.waitForTimeout(400);
  // find a node via the fake kernel's positions is awkward; hover over a dense spot instead
  await page.mouse.move(box.x + box.width / 2 + 180, box.y + 300, { steps: 4 });
  await page.waitForTimeout(300);
  await page.mouse.click(box.x + box.width / 2 + 180, box.y + 300);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(artifacts, `graph-${theme}.png`) });
  const st = await page.evaluate(() => { const h = window.__harness; return { renderer: h.model.get("renderer"), selected: h.model.get("selected"), loaded: h.model.get("loaded"), hovers: document.querySelector(".ngx-card").textContent, error: h.model.get("error") }; });
  console.log(JSON.stringify({ widget: "graph", theme, nodes, edges, loadedAndDrawnMs: loadedMs, pan, ...st }, null, 1));
  if (logs.length) console.log(logs.slice(0, 20).join("\n"));
  return page;
}

async function extras() {
  // 2-D canvas fallback (WebGL disabled via the harness flag), grid and graph
  for (const [w, q] of [["grid", "widget=grid&n=200000&nogl=1"], ["graph", "widget=graph&n=5000&edges=20000&nogl=1&theme=dark"]]) {
    const { page, logs } = await open(q);
    await waitLoaded(page, w === "grid" ? "n" : "n_edges");
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(artifacts, `${w}-canvas2d.png`) });
    console.log(w, "fallback:", await page.evaluate(() => ({ renderer: window.__harness.model.get("renderer"), note: document.querySelector(".ngx-note")?.textContent, error: window.__harness.model.get("error") })), logs.filter((l) => !l.includes("404")).slice(0, 5));
    await page.close();
  }
  // 3-D main view + lasso selection in it
  {
    const { page } = await open("widget=grid&n=300000&theme=dark");
    await waitLoaded(page);
    await page.click("text=3-D");
    await page.waitForFunction(() => window.__harness.model.get("view3d") === true);
    await page.waitForTimeout(1500);
    await page.click("text=lasso");
    const b = await (await page.$(".ngx-stage")).boundingBox();
    const cx = b.x + b.width / 2, cy = b.y + 260;
    await page.mouse.move(cx - 100, cy - 80); await page.mouse.down();
    for (const [dx, dy] of [[100, -100], [120, 60], [0, 20], [60, 100], [-100, 90], [-110, -60]]) await page.mouse.move(cx + dx, cy + dy, { steps: 4 });
    await page.mouse.up();
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(artifacts, "grid-3d-lasso.png") });
    console.log("3d:", await page.evaluate(() => ({ count: document.querySelector(".ngx-count").textContent, error: window.__harness.model.get("error"), saves: window.__harness.kernel.selections.length })));
    // numeric colour
    await page.selectOption(".ngx-bar select >> nth=3", "weight");
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(artifacts, "grid-3d-numeric.png") });
    await page.close();
  }
  // density past 4,000,000
  {
    const { page } = await open("widget=grid&n=4200000");
    await waitLoaded(page);
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(artifacts, "grid-density.png") });
    console.log("density:", await page.evaluate(() => ({ renderer: window.__harness.model.get("renderer"), error: window.__harness.model.get("error") })));
    await page.close();
  }
  // mount/unmount 20 times: JS heap and live WebGL contexts must not grow
  {
    const { page } = await open("widget=grid&n=200000&manual=1");
    const cdp = await page.context().newCDPSession(page);
    const heap = async () => { await cdp.send("HeapProfiler.collectGarbage"); return (await cdp.send("Runtime.getHeapUsage")).usedSize / 1048576; };
    const cycle = async () => {
      await page.evaluate(() => window.__harness.mount());
      await waitLoaded(page);
      await page.evaluate(() => window.__harness.unmount());
    };
    await cycle(); await cycle();
    const h0 = await heap();
    for (let k = 0; k < 20; k++) await cycle();
    const h1 = await heap();
    const left = await page.evaluate(() => ({ canvases: document.querySelectorAll("canvas").length, handlers: window.__harness.model.handlerCount(), children: document.getElementById("cell").children.length }));
    console.log("leak:", { heapBeforeMiB: +h0.toFixed(1), heapAfter20MiB: +h1.toFixed(1), ...left });
    await page.close();
  }
}

try {
  if (what === "extras" || what === "all") await extras();
  if (what === "graph" || what === "all") { await (await graph("light")).close(); await (await graph("dark")).close(); }
  if (what === "grid" || what === "all") { await (await grid("light")).close(); await (await grid("dark")).close(); }
} finally {
  await browser.close();
  server.close();
}
