"""Widget benchmarks in headless Chromium (Debian's, SwiftShader WebGL, no GPU) against
JupyterLab on 127.0.0.1: the GridExplorer against jupyter-scatter showing the same points.

1. display to first frame, 1,000,000 tokens (target: < 2 s, and faster than jupyter-scatter)
   A notebook makes 1M tokens (``neurograph_lab.datasets.token_clusters``, 12 clusters) and a
   DataFrame of their cognitive x, y. Then, timed from the moment the display cell is sent to
   the kernel until the cell's output area first shows the points (polled screenshots: more
   than 1% of the pixels differ from the background, in the drawing area):
   ours: ``ng.GridExplorer(rt, space="cognitive")`` (all 8 spaces, the 9 views);
   reference: ``jscatter.Scatter(x="x", y="y", data=df).show()`` (one 2-D view).
   Both go through the same kernel, comm and browser; the order alternates, best of N.

2. frame time while panning (target < 33 ms, absolute)
   With all 1M tokens loaded and the view idle, a middle-button drag in the main view, a
   pointer move every 16 ms (as a mouse sends them) dispatched inside the page; the time
   between consecutive frames the explorer draws meanwhile (its ``neurograph-frame`` events),
   p50 and p90.

   The same with the labels off (``ours.label_by = None``, waited until none is drawn), on the
   same explorer, right after (``--label-rounds N`` alternates on, off N times): the pan frame with labels
   against without (p50 and p95 of the
   frame interval and of the explorer's own draw time per frame), and the labels drawn per
   frame. The tokens carry labels ("w0", "w1", ...), no connections: the labels sent are the
   top 20,000 by degree (all 0: a hash sample), drawn with collision avoidance on the overlay.

3. bytes kernel -> browser per token (target <= 16)
   Sum of the WebSocket frames the page received from the display until everything loaded,
   divided by the token count, for both.

Usage::

    python bench/bench_widgets.py [--quick] [--repeat N] [--json results.json]

Needs ``pip install -e '.[bench,browser]'`` (jupyter-scatter, playwright) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

import _lab as lab  # noqa: E402
import labserver  # noqa: E402
from _harness import Result, cpu_busy, git_state, machine_info, print_table  # noqa: E402

SETUP = """%load_ext neurograph_lab
import numpy as np, pandas as pd
import neurograph_lab as ng
import jscatter
from neurograph_lab.datasets import token_clusters
N = {n}
coords, entities, _ = token_clusters(N, clusters=12, seed=1)
ng_rt.tokens.create_many(coords, entities=entities, labels=[f"w{{i}}" for i in range(N)])
cog = ng_rt.tokens.coords("cognitive")
df = pd.DataFrame({{"x": cog[:, 0], "y": cog[:, 1]}})
print("ready", len(ng_rt.tokens))"""
OURS = 'ours = ng.GridExplorer(ng_rt, space="cognitive")\nours'
THEIRS = 'theirs = jscatter.Scatter(x="x", y="y", data=df, height=520)\ntheirs.show()'


def start_cell(page: Any, index: int) -> None:
    """Send a cell to the kernel without waiting for it."""
    page.evaluate(
        "(i) => {" + lab._PANEL + " panel.content.activeCellIndex = i; panel.content.deselectAll();"
        " app.commands.execute('notebook:run-cell'); }",
        index,
    )


class Screencast:
    """Frames as the compositor produces them (CDP ``Page.startScreencast``), with their
    timestamps: the first frame that shows points is found afterwards, without slowing the page
    down by taking screenshots in between."""

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.frames: list[tuple[float, str]] = []
        self.cdp.on("Page.screencastFrame", self._frame)

    def _frame(self, ev: dict[str, Any]) -> None:
        self.frames.append((ev["metadata"]["timestamp"], ev["data"]))
        self.cdp.send("Page.screencastFrameAck", {"sessionId": ev["sessionId"]})

    def start(self) -> None:
        self.frames.clear()
        self.cdp.send("Page.startScreencast", {"format": "png", "everyNthFrame": 1})

    def stop(self) -> None:
        self.cdp.send("Page.stopScreencast")

    def first_showing(self, box: dict[str, float], since: float) -> float:
        """Seconds from ``since`` (time.time()) to the first frame whose ``box`` shows points."""
        import base64
        import io

        from PIL import Image

        for ts, data in sorted(self.frames):
            if ts < since:
                continue
            img = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
            crop = img.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"])))
            buf = io.BytesIO()
            crop.save(buf, format="PNG")
            stats = lab.pixel_stats(buf.getvalue())
            if stats.non_background_fraction > 0.01 and stats.distinct_colors > 8:
                return ts - since
        raise TimeoutError("no frame showed the points")


def first_frame(page: Any, cast: Screencast, code: str, area: str, n: Optional[int]) -> tuple[float, int]:
    """Seconds from sending a new cell with ``code`` (appended at the end of the notebook and
    scrolled to the top of the window, so nothing else moves into its output's place) until
    its output ``area`` first shows points; and the cell's index. With ``n``, also waits until
    the explorer reports all ``n`` points loaded (watched in the page: polling the kernel would
    add its own traffic to the byte count)."""
    index = page.evaluate(
        "(code) => {" + lab._PANEL + " const m = panel.content.model.sharedModel;"
        " const i = m.cells.length; m.insertCell(i, {cell_type: 'code', source: code}); return i; }",
        code,
    )
    cell = lab.cell_locator(page, index)
    cell.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.evaluate(
        "() => { window.__ngLoaded = 0; document.addEventListener('neurograph-frame',"
        " (e) => { window.__ngLoaded = Math.max(window.__ngLoaded, e.detail.loaded); }, true); }"
    )
    cast.start()
    page.wait_for_timeout(200)
    t0 = time.time()
    start_cell(page, index)
    target = cell.locator(area).first
    target.wait_for(timeout=60_000)
    if n is not None:
        page.wait_for_function("(n) => window.__ngLoaded >= n", arg=n, timeout=120_000)
    deadline = time.time() + 60
    while time.time() < deadline:  # until the points show (then the screencast has that frame)
        stats = lab.pixel_stats(target.screenshot())
        if stats.non_background_fraction > 0.01 and stats.distinct_colors > 8:
            break
        page.wait_for_timeout(200)
    page.wait_for_timeout(300)
    cast.stop()
    box = target.bounding_box()
    assert box is not None
    return cast.first_showing(box, t0), index


def pan_frames(page: Any, index: int, moves: int = 240) -> tuple[list[float], list[dict[str, Any]]]:
    """Milliseconds between the explorer's frames while the main view is dragged with the
    middle button (there and back): a pointer move every 16 ms, as a mouse sends them, dispatched inside the page
    (so the test driver's round trips do not pace the frames), once the view is idle. Also the
    ``neurograph-frame`` details of those frames (draw time ``ms``, ``labels`` drawn)."""
    stage = lab.cell_locator(page, index).locator(".ngx-stage").first
    stage.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    page.evaluate(  # idle: no frame drawn for a second (the full redraw after scrolling is done)
        """async () => { let last = performance.now();
          const f = () => { last = performance.now(); };
          document.addEventListener("neurograph-frame", f, true);
          while (performance.now() - last < 1000) await new Promise((r) => setTimeout(r, 100));
          document.removeEventListener("neurograph-frame", f, true); }"""
    )
    # reading the canvas back waits until the GPU (here: SwiftShader) finished that redraw
    stage.evaluate("(el) => el.querySelector('canvas').toDataURL().length")
    return page.evaluate(
        """async ([stage, frames]) => {
          const r = stage.getBoundingClientRect();
          let x = r.left + r.width / 2, y = r.top + 150;
          const ev = (type, buttons) => new PointerEvent(type, {clientX: x, clientY: y, button: 1, buttons,
            pointerId: 1, pointerType: "mouse", bubbles: true, cancelable: true});
          const times = [], details = [];
          const seen = (e) => { times.push(performance.now()); details.push(e.detail); };
          document.addEventListener("neurograph-frame", seen, true);
          stage.dispatchEvent(ev("pointerdown", 4));
          for (let i = 0; i < frames; i++) {
            const dir = i < frames / 2 ? 1 : -1;  // there and back: the view ends where it began
            x += 2 * dir; y += dir;
            stage.dispatchEvent(ev("pointermove", 4));
            await new Promise((res) => setTimeout(res, 16));
          }
          stage.dispatchEvent(ev("pointerup", 0));
          document.removeEventListener("neurograph-frame", seen, true);
          window.__ngPan = details;
          return [times.slice(2).map((t, i) => t - times[i + 1]), details.slice(2)];
        }""",
        [stage.element_handle(), moves],
    )


def labels_drawn(page: Any, index: int) -> int:
    """Labels the explorer of cell ``index`` draws now (its overlay's ``data-labels``)."""
    return int(
        lab.cell_locator(page, index).locator(".ngx-stage canvas[data-labels]").first.get_attribute("data-labels") or 0
    )


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[int(q * (len(s) - 1))] if s else float("nan")


def pan_debug(page: Any, intervals: list[float]) -> None:
    details = page.evaluate("() => window.__ngPan")
    slow = [(i, round(t), details[i + 2]) for i, t in enumerate(intervals) if t > 60]
    print("slow pan frames (index, ms, detail):", slow[:12])


def raf_interval(page: Any, frames: int = 120) -> list[float]:
    """Milliseconds between animation frames of the page itself, nothing moving: the fastest
    frame rate this browser gives (headless, software compositing)."""
    return page.evaluate(
        """async (frames) => {
          const t = [];
          for (let i = 0; i < frames; i++) await new Promise((r) => requestAnimationFrame((x) => r(t.push(x))));
          return t.slice(1).map((x, i) => x - t[i]);
        }""",
        frames,
    )


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="200,000 tokens")
    p.add_argument("--repeat", type=int, default=2, help="displays of each (best is reported)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--label-rounds", type=int, default=1, help="pans with labels on, then off, this many times")
    args = p.parse_args(argv)
    n = 200_000 if args.quick else 1_000_000

    info = machine_info()
    info["git"] = git_state()
    info["cpu_busy_before"] = f"{cpu_busy():.0%} of all CPUs busy in the second before the start"
    print("neurograph_lab widget benchmarks" + (" (--quick)" if args.quick else ""))
    for k, v in info.items():
        print(f"  {k:<15} {v}")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        nbdir = Path(tmp) / "nb"
        nbdir.mkdir()
        lab.write_notebook(nbdir, "bench.ipynb", [SETUP.format(n=n)])
        with labserver.serve(Path(tmp), notebooks=nbdir) as server, sync_playwright() as pw:
            browser = labserver.launch_chromium(pw)
            info["chromium"] = browser.version
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            received = [0]

            def on_ws(ws: Any) -> None:
                ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))

            page.on("websocket", on_ws)
            lab.open_notebook(page, server, "bench.ipynb")
            lab.run_cell(page, 0, timeout_ms=300_000)
            assert "ready" in lab.cell_output_text(page, index=0)
            cast = Screencast(page)
            ours_t, theirs_t, ours_b, theirs_b = [], [], [], []
            for _ in range(args.repeat):
                received[0] = 0
                t, ours_cell = first_frame(page, cast, OURS, ".ngx-stage", n)
                ours_t.append(t)
                ours_b.append(received[0] / n)
                received[0] = 0
                # jupyter-scatter has no loaded signal; its points come with the widget state
                t, _ = first_frame(page, cast, THEIRS, "canvas", None)
                theirs_t.append(t)
                theirs_b.append(received[0] / n)
            payload = lab.kernel_value(page, "sum(b.nbytes for _, bufs in ours._messages() for b in bufs) / ours.n")
            lab.run_cell(page, ours_cell)
            lab.wait_for_kernel_value(page, "ours.loaded == ours.n", timeout_s=120)
            # labels on (the default) and off (label_by=None), alternating, same explorer and data:
            # on, off, on, off; each pan once the overlay shows (or no longer shows) labels
            label_canvas = lab.cell_locator(page, ours_cell).locator(".ngx-stage canvas[data-labels]").first
            label_canvas.wait_for(state="attached", timeout=60_000)
            frames, details, frames_off, details_off = [], [], [], []
            shown = 0
            for r in range(args.label_rounds):
                if r:  # the display has them at first; later rounds turn them on again
                    lab.run_in_kernel(page, "ours.label_by = 'degree'")
                drawn = "(c) => Number(c.dataset.labels) > 0"
                page.wait_for_function(drawn, arg=label_canvas.element_handle(), timeout=120_000)
                f, d = pan_frames(page, ours_cell)
                frames += f
                details += d
                shown = max(shown, labels_drawn(page, ours_cell))
                lab.run_in_kernel(page, "ours.label_by = None")
                none = "(c) => c.dataset.labels === '0'"
                page.wait_for_function(none, arg=label_canvas.element_handle(), timeout=60_000)
                f, d = pan_frames(page, ours_cell)
                frames_off += f
                details_off += d
            idle = raf_interval(page)
            if os.environ.get("NG_BENCH_DEBUG"):
                pan_debug(page, frames)
            lab.screenshot(page, "bench-widgets")
            browser.close()

    draw_on = [d["ms"] for d in details]
    draw_off = [d["ms"] for d in details_off]
    per_frame = [d.get("labels", 0) for d in details]
    results = [
        Result(
            f"first frame, {n:,} tokens",
            min(ours_t),
            min(theirs_t),
            "s",
            1.0,
            "jupyter-scatter, same points",
            ours_runs=ours_t,
            reference_runs=theirs_t,
        ),
        Result("  first frame (absolute)", min(ours_t), None, "s", 2.0, "absolute", absolute=True),
        Result(
            "pan frame time p50, labels on",
            statistics.median(frames) / 1e3,
            None,
            "s",
            0.033,
            f"absolute; p90 {pct(frames, 0.9):.0f} ms, p95 {pct(frames, 0.95):.0f} ms over {len(frames)} frames,"
            f" {statistics.median(per_frame) if per_frame else 0:.0f} labels drawn per frame",
            absolute=True,
            ours_runs=[f / 1e3 for f in frames],
        ),
        Result(
            "  pan frame p50, labels on vs off",
            statistics.median(frames) / 1e3,
            statistics.median(frames_off) / 1e3,
            "s",
            None,
            f"labels off (same explorer); p95 {pct(frames, 0.95):.0f} vs {pct(frames_off, 0.95):.0f} ms",
            ours_runs=[f / 1e3 for f in frames],
            reference_runs=[f / 1e3 for f in frames_off],
        ),
        Result(
            "  explorer draw per pan frame p50, labels on vs off",
            statistics.median(draw_on) / 1e3,
            statistics.median(draw_off) / 1e3,
            "s",
            None,
            f"labels off; p95 {pct(draw_on, 0.95):.1f} vs {pct(draw_off, 0.95):.1f} ms",
        ),
        Result("  browser frame interval, idle page (p50)", statistics.median(idle) / 1e3, None, "s", None, "-"),
        Result("bytes per token kernel -> browser", min(ours_b), min(theirs_b), "B", None, "jupyter-scatter"),
        Result("  of which data buffers", payload, None, "B", None, "-"),
    ]
    print()
    print_table(results)
    verdict = "ok" if payload <= 16 else "MISS"
    print(
        f"\npan with labels: p50 {statistics.median(frames):.1f} ms, p95 {pct(frames, 0.95):.1f} ms"
        f" ({'ok' if statistics.median(frames) < 33 else 'MISS'} against < 33 ms); without labels p50"
        f" {statistics.median(frames_off):.1f} ms, p95 {pct(frames_off, 0.95):.1f} ms;"
        f" up to {shown} labels drawn at rest"
    )
    print(
        f"bytes per token: {payload:.1f} of data ({verdict} against <= 16); {min(ours_b):.2f} with the"
        " widget code (~40 KB) and the Jupyter messages around it"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "results": [r.__dict__ for r in results]}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    raise SystemExit(main())
