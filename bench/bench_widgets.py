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
   With all 1M tokens loaded, 40 middle-button drag steps in the main view; the time between
   consecutive frames the explorer draws (its ``neurograph-frame`` events), p50 and p90.

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
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

import lab  # noqa: E402
import labserver  # noqa: E402
from bench_core import Result, cpu_busy, git_state, machine_info, print_table  # noqa: E402

SETUP = """%load_ext neurograph_lab
import numpy as np, pandas as pd
import neurograph_lab as ng
import jscatter
from neurograph_lab.datasets import token_clusters
N = {n}
coords, entities, _ = token_clusters(N, clusters=12, seed=1)
ng_rt.tokens.create_many(coords, entities=entities)
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


def first_frame(page: Any, index: int, area: str, deadline_s: float = 60.0) -> float:
    """Seconds from sending cell ``index`` until its output ``area`` shows points."""
    cell = lab.cell_locator(page, index)
    t0 = time.perf_counter()
    start_cell(page, index)
    while time.perf_counter() - t0 < deadline_s:
        loc = cell.locator(area).first
        if loc.count() and loc.is_visible():
            stats = lab.pixel_stats(loc.screenshot())
            if stats.non_background_fraction > 0.01 and stats.distinct_colors > 8:
                return time.perf_counter() - t0
        time.sleep(0.02)
    raise TimeoutError(f"no first frame within {deadline_s} s")


def pan_frames(page: Any, index: int, steps: int = 40) -> list[float]:
    """Milliseconds between the explorer's frames while the main view is dragged."""
    stage = lab.cell_locator(page, index).locator(".ngx-stage").first
    stage.scroll_into_view_if_needed()
    page.evaluate(
        "(el) => { window.__ngFrames = []; el.closest('.jp-OutputArea-output, .jp-Cell')"
        ".addEventListener('neurograph-frame', () => window.__ngFrames.push(performance.now()), true); }",
        stage.element_handle(),
    )
    box = stage.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + 200
    page.mouse.move(x, y)
    page.mouse.down(button="middle")
    for i in range(steps):
        n = page.evaluate("() => window.__ngFrames.length")
        page.mouse.move(x + 3 * (i + 1), y + 2 * (i + 1))
        page.wait_for_function("(n) => window.__ngFrames.length > n", arg=n, timeout=10_000)
    page.mouse.up(button="middle")
    ts = page.evaluate("() => window.__ngFrames")
    return [b - a for a, b in zip(ts[1:], ts[2:])]  # skip the first (the press itself)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="200,000 tokens")
    p.add_argument("--repeat", type=int, default=2, help="displays of each (best is reported)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
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
        lab.write_notebook(nbdir, "bench.ipynb", [SETUP.format(n=n), OURS, THEIRS])
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
            ours_t, theirs_t, ours_b, theirs_b = [], [], [], []
            for _ in range(args.repeat):
                received[0] = 0
                ours_t.append(first_frame(page, 1, ".ngx-stage"))
                lab.wait_for_kernel_value(page, "ours.loaded == ours.n", timeout_s=120)
                ours_b.append(received[0] / n)
                received[0] = 0
                theirs_t.append(first_frame(page, 2, "canvas"))
                lab.wait_for_cells_done(page)
                time.sleep(2.0)  # jupyter-scatter has no loaded signal: let its data arrive
                theirs_b.append(received[0] / n)
            frames = pan_frames(page, 1)
            lab.screenshot(page, "bench-widgets")
            browser.close()

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
            "pan frame time p50",
            statistics.median(frames) / 1e3,
            None,
            "s",
            0.033,
            f"absolute; p90 {sorted(frames)[int(0.9 * (len(frames) - 1))]:.0f} ms",
            absolute=True,
            ours_runs=[f / 1e3 for f in frames],
        ),
        Result("bytes per token kernel -> browser", min(ours_b), min(theirs_b), "B", None, "jupyter-scatter"),
    ]
    print()
    print_table(results)
    bytes_ok = min(ours_b) <= 16
    print(f"\nbytes per token: ours {min(ours_b):.1f} (target <= 16: {'ok' if bytes_ok else 'MISS'})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "results": [r.__dict__ for r in results]}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    raise SystemExit(main())
