// Mounts a view with the fake model. Query: ?widget=grid|graph&n=1000000&edges=200000&theme=dark&nogl=1
import { FakeModel, GridKernel } from "./fake-model.js";
import { GraphKernel } from "./fake-graph.js";

const q = new URLSearchParams(location.search);
const widget = q.get("widget") || "grid";
if (q.get("theme") === "dark") document.body.setAttribute("data-jp-theme-light", "false");
if (q.get("nogl")) globalThis.__neurographForceCanvas2d = true;
const el = document.getElementById("cell");
const H = (window.__harness = { frames: [], errors: [], firstFrame: null, kernel: null, model: null, cleanup: null });
window.addEventListener("error", (e) => H.errors.push(String(e.message)));

/** Wait until the renderer really finished (1-pixel readback from the same context). */
H.sync = () => {
  const c = el.querySelector(".ngx-stage canvas");
  if (!c) return;
  const gl = c.getContext("webgl2");
  if (gl) { gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4)); return; }
  c.getContext("2d")?.getImageData(0, 0, 1, 1);
};

el.addEventListener("neurograph-frame", (e) => {
  const now = performance.now();
  H.frames.push({ t: now, ...e.detail });
  if (H.firstFrame === null && e.detail.loaded > 0 && H.kernel.t0) {
    H.sync(); // count the first frame once its pixels exist
    H.firstFrame = performance.now() - H.kernel.t0;
    H.firstDrawMs = e.detail.ms;
    H.firstLoaded = e.detail.loaded;
  }
});

/** Resolves after the next rendered frame has finished on the GPU; ms since `since`. */
H.nextFrame = (since) => new Promise((res) => {
  const f = () => { el.removeEventListener("neurograph-frame", f); H.sync(); res(performance.now() - since); };
  el.addEventListener("neurograph-frame", f);
});

H.mount = async () => {
  const mod = await import(`../../neurograph_lab/static/${widget}.js`);
  const n = Number(q.get("n") || (widget === "grid" ? 1000000 : 50000));
  const kernel = widget === "grid" ? new GridKernel(n) : new GraphKernel(n, Number(q.get("edges") || 4 * n));
  const model = new FakeModel(kernel.state());
  kernel.attach(model);
  H.kernel = kernel; H.model = model; H.firstFrame = null;
  H.cleanup = mod.default.render({ model, el });
};
H.unmount = () => { if (H.cleanup) H.cleanup(); H.cleanup = null; };

if (!q.get("manual")) H.mount().catch((e) => H.errors.push(String(e)));
