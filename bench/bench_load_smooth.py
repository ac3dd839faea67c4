"""Smooth loading in headless Chromium (Debian's, SwiftShader WebGL, no GPU): does the page keep
drawing frames while 1,000,000 tokens load into a GridExplorer in JupyterLab, and how soon do
the first points show? Next to jupyter-scatter showing the same points, in the same harness.

For each display (a new cell appended at the end of the notebook and run):

- ``t0``: the moment the cell is sent to the kernel (what the user does: shift-enter);
- a ``requestAnimationFrame`` heartbeat and a ``PerformanceObserver`` of long tasks, both
  installed in the page before ``t0``, recorded until everything is loaded (ours: the explorer
  reports ``loaded == n`` in a drawn frame; jupyter-scatter: its canvas shows the points, its
  data comes with the widget state in one piece) plus 500 ms;
- **max frame gap**: the longest interval between two heartbeat frames in that window
  (target < 200 ms), with the long tasks (> 50 ms on the main thread) listed;
- **first points**: seconds from ``t0`` to the first compositor frame (CDP screencast, PNG)
  whose output area shows points (more than 1% of the pixels differ from the background and
  more than 8 distinct colours); target < 1.5 s. For ours also the kernel's share: the cell's
  execution time (building the explorer from the runtime) and the explorer's own events (view
  mounted, first frame drawn with points, all loaded), from the same ``t0``.

The order alternates (ours, theirs, ours, ...); the worst gap and the best first-points time of
``--repeat`` displays are reported, with every run listed.

Then the same for the dashboard's grid page (``ng.serve`` in this process on a runtime with the
same tokens, the page logged in with the one-time link, ``t0`` the hash change to ``#/grid``).

Usage::

    python bench/bench_load_smooth.py [--n 1000000] [--repeat 2] [--json results.json] [--no-theirs]
        [--no-dashboard]

Needs ``pip install -e '.[bench,browser]'`` (jupyter-scatter, playwright) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

import _lab as lab  # noqa: E402
import labserver  # noqa: E402
from _harness import Result, cpu_busy, git_state, machine_info, print_table, write_json  # noqa: E402
from bench_widgets import SETUP, Screencast, start_cell  # noqa: E402

# each display cell times its own kernel work (building the explorer / the scatter) in _exec
OURS = (
    "import time as _t\n_a = _t.perf_counter()\nours = ng.GridExplorer(ng_rt, space='cognitive')\n"
    "_exec = _t.perf_counter() - _a\nours"
)
THEIRS = (
    "import time as _t\n_a = _t.perf_counter()\ntheirs = jscatter.Scatter(x='x', y='y', data=df, height=520)\n"
    "_w = theirs.show()\n_exec = _t.perf_counter() - _a\n_w"
)

# Installed in the page before the cell is sent: the heartbeat, the long-task observer and the
# explorer's frame events (mounted, first points drawn, all loaded), all in performance.now() ms.
PROBE = """() => {
  const s = { t0: 0, raf: [], long: [], frames: [], stop: false, firstDrawn: 0, loadedAt: 0, mounted: 0 };
  window.__smooth = s;
  const beat = (t) => { s.raf.push(performance.now()); if (!s.stop) requestAnimationFrame(beat); };
  requestAnimationFrame(beat);
  try {
    const po = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) s.long.push([e.startTime, e.duration]);
    });
    po.observe({ type: "longtask", buffered: false });
    s.po = po;
  } catch (e) { s.noLongtask = String(e); }
  s.onFrame = (e) => {
    const now = performance.now(), d = e.detail || {};
    if (!s.n) return;  // jupyter-scatter's display: frames of earlier explorers do not count
    if (!s.mounted) s.mounted = now;  // the view's first frame (drawn when it mounts)
    if (!s.firstDrawn && d.loaded > 0 && d.points > 0) s.firstDrawn = now;
    if (!s.loadedAt && d.loaded >= s.n && d.pending !== true) s.loadedAt = now;  // all loaded and drawn
    s.frames.push([now, d.loaded || 0, d.ms || 0, d.points || 0]);
  };
  document.addEventListener("neurograph-frame", s.onFrame, true);
}"""

STOP = """() => { const s = window.__smooth; s.stop = true; if (s.po) s.po.disconnect();
  document.removeEventListener("neurograph-frame", s.onFrame, true);
  return { t0: s.t0, raf: s.raf, long: s.long, frames: s.frames, firstDrawn: s.firstDrawn,
           loadedAt: s.loadedAt, mounted: s.mounted, noLongtask: s.noLongtask || "" }; }"""


def gaps(raf: list[float], start: float, end: float) -> list[tuple[float, float]]:
    """(start of the gap in ms after ``start``, length in ms) of the heartbeat intervals that end
    after ``start`` and begin before ``end``."""
    out = []
    for a, b in zip(raf, raf[1:]):
        if b > start and a < end:
            out.append((a - start, b - a))
    return out


def display(page: Any, cast: Screencast, code: str, area: str, n: Optional[int]) -> dict[str, Any]:
    """Display ``code`` in a new cell and measure (see the module doc). ``n``: wait for the
    explorer's ``loaded == n`` (ours); None: wait until ``area`` shows points (theirs)."""
    index = page.evaluate(
        "(code) => {" + lab._PANEL + " const m = panel.content.model.sharedModel;"
        " const i = m.cells.length; m.insertCell(i, {cell_type: 'code', source: code}); return i; }",
        code,
    )
    cell = lab.cell_locator(page, index)
    cell.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.evaluate(PROBE)
    if n is not None:
        page.evaluate("(n) => { window.__smooth.n = n; }", n)
    cast.start()
    page.wait_for_timeout(300)
    page.evaluate("() => { window.__smooth.t0 = performance.now(); }")
    t0 = time.time()
    start_cell(page, index)
    target = cell.locator(area).first
    target.wait_for(timeout=120_000)
    if n is not None:
        page.wait_for_function("() => window.__smooth.loadedAt > 0", timeout=300_000)
    else:
        deadline = time.time() + 120
        while time.time() < deadline:
            stats = lab.pixel_stats(target.screenshot())
            if stats.non_background_fraction > 0.01 and stats.distinct_colors > 8:
                break
            page.wait_for_timeout(100)
    page.wait_for_timeout(500)
    cast.stop()
    rec = page.evaluate(STOP)
    box = target.bounding_box()
    assert box is not None
    exec_s = float(lab.kernel_value(page, "_exec"))  # the kernel's share of the display cell
    return {**measured(rec, cast.first_showing(box, t0)), "cell": index, "exec": exec_s}


def measured(rec: dict[str, Any], first: float) -> dict[str, Any]:
    """The figures of one display from the probe's record ``rec`` and the screencast's first
    points (``first`` seconds after ``t0``)."""
    t0p = rec["t0"]
    end = rec["loadedAt"] if rec["loadedAt"] else t0p + first * 1000
    g = gaps(rec["raf"], t0p, end + 500)
    worst = max(g, key=lambda x: x[1]) if g else (0.0, 0.0)
    long_tasks = [(round(a - t0p), round(d)) for a, d in rec["long"] if a + d > t0p]
    return {
        "first_points_s": first,
        "max_gap_ms": worst[1],
        "max_gap_at_ms": worst[0],
        "gaps_over_100": [(round(a), round(d)) for a, d in g if d > 100],
        "long_tasks": long_tasks,
        "long_total_ms": sum(d for _, d in long_tasks),
        "loaded_s": (rec["loadedAt"] - t0p) / 1000 if rec["loadedAt"] else first,
        "first_drawn_s": (rec["firstDrawn"] - t0p) / 1000 if rec["firstDrawn"] else None,
        "mounted_s": (rec["mounted"] - t0p) / 1000 if rec["mounted"] else None,
        "frames": len(rec["frames"]),
        "note": rec["noLongtask"],
    }


def dashboard_runs(browser: Any, n: int, repeat: int) -> list[dict[str, Any]]:
    """The dashboard's grid page (``ng.serve``) on a runtime holding the same tokens, in the same
    browser: from the hash change to ``#/grid`` (a click in the nav) to all points loaded and
    drawn. The server builds the grid on the first visit and caches it per data version, so the
    first run includes that build and the later ones do not."""
    import neurograph_lab as ng  # lazy: the bench process serves its own runtime only here
    from neurograph_lab.datasets import token_clusters  # lazy: as above

    rt = ng.Runtime()
    coords, entities, _ = token_clusters(n, clusters=12, seed=1)
    rt.tokens.create_many(coords, entities=entities, labels=[f"w{i}" for i in range(n)])
    runs: list[dict[str, Any]] = []
    with ng.serve(rt) as srv:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(srv.url) else r.abort())
        page.goto(srv.login_url, wait_until="load")
        page.wait_for_function("() => !!window.ngDashboard", timeout=60_000)
        cast = Screencast(page)
        for _ in range(repeat):
            page.evaluate("() => { location.hash = '#/overview'; }")
            page.wait_for_timeout(1000)
            page.evaluate(PROBE)
            page.evaluate("(n) => { window.__smooth.n = n; }", n)
            cast.start()
            page.wait_for_timeout(300)
            page.evaluate("() => { window.__smooth.t0 = performance.now(); }")
            t0 = time.time()
            page.evaluate("() => { location.hash = '#/grid'; }")
            page.wait_for_function("() => window.__smooth.loadedAt > 0", timeout=300_000)
            page.wait_for_timeout(500)
            cast.stop()
            rec = page.evaluate(STOP)
            box = page.locator(".ngx-stage").first.bounding_box()
            assert box is not None
            runs.append({**measured(rec, cast.first_showing(box, t0)), "exec": None})
        lab.screenshot(page, "bench-load-smooth-dashboard")
        page.context.close()
    return runs


def summary(name: str, runs: list[dict[str, Any]]) -> None:
    print(f"\n{name}:")
    for k, r in enumerate(runs):
        fd = r["first_drawn_s"]
        print(
            f"  run {k + 1}: first points {r['first_points_s']:.2f} s"
            + (
                f" (explorer drew them at {fd:.2f} s, its view mounted at {r['mounted_s']:.2f} s)"
                if fd is not None
                else ""
            )
            + f", all loaded {r['loaded_s']:.2f} s, max frame gap {r['max_gap_ms']:.0f} ms"
            f" at {r['max_gap_at_ms']:.0f} ms, long tasks {len(r['long_tasks'])} ({r['long_total_ms']:.0f} ms)"
            + (f", cell ran {r['exec']:.2f} s in the kernel" if r.get("exec") is not None else "")
        )
        if r["gaps_over_100"]:
            print(f"    gaps > 100 ms (at ms, length ms): {r['gaps_over_100'][:16]}")
        if r["long_tasks"]:
            print(f"    long tasks (at ms, length ms): {r['long_tasks'][:16]}")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=1_000_000, help="tokens (default 1,000,000)")
    p.add_argument("--repeat", type=int, default=2, help="displays of each")
    p.add_argument("--no-theirs", action="store_true", help="skip jupyter-scatter")
    p.add_argument("--no-dashboard", action="store_true", help="skip the dashboard's grid page")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = p.parse_args(argv)
    n = args.n

    info = machine_info()
    info["git"] = git_state()
    info["cpu_busy_before"] = f"{cpu_busy():.0%} of all CPUs busy in the second before the start"
    print(f"neurograph_lab smooth loading, {n:,} tokens")
    for k, v in info.items():
        print(f"  {k:<15} {v}")

    from playwright.sync_api import sync_playwright

    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    dash: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        nbdir = Path(tmp) / "nb"
        nbdir.mkdir()
        lab.write_notebook(nbdir, "bench.ipynb", [SETUP.format(n=n)])
        with labserver.serve(Path(tmp), notebooks=nbdir) as server, sync_playwright() as pw:
            browser = labserver.launch_chromium(pw)
            info["chromium"] = browser.version
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            lab.open_notebook(page, server, "bench.ipynb")
            lab.run_cell(page, 0, timeout_ms=600_000)
            assert "ready" in lab.cell_output_text(page, index=0)
            cast = Screencast(page)
            for _ in range(args.repeat):
                r = display(page, cast, OURS, ".ngx-stage", n)
                ours.append(r)
                if not args.no_theirs:
                    r = display(page, cast, THEIRS, "canvas", None)
                    theirs.append(r)
            lab.screenshot(page, "bench-load-smooth")
            page.context.close()  # JupyterLab's page stops drawing before the dashboard's is measured
            dash = [] if args.no_dashboard else dashboard_runs(browser, n, args.repeat)
            browser.close()

    summary("GridExplorer", ours)
    if theirs:
        summary("jupyter-scatter", theirs)
    if dash:
        summary("dashboard grid page (run 1 includes the server's grid build)", dash)
    best = min(r["first_points_s"] for r in ours)
    worst_gap = max(r["max_gap_ms"] for r in ours)
    results = [
        Result(
            f"first points, {n:,} tokens",
            best,
            min(r["first_points_s"] for r in theirs) if theirs else None,
            "s",
            None,
            "jupyter-scatter, same points" if theirs else "-",
            ours_runs=[r["first_points_s"] for r in ours],
            reference_runs=[r["first_points_s"] for r in theirs],
        ),
        Result("  first points (absolute)", best, None, "s", 1.5, "absolute", absolute=True),
        Result(
            "max frame gap, display to all loaded",
            worst_gap / 1e3,
            max(r["max_gap_ms"] for r in theirs) / 1e3 if theirs else None,
            "s",
            None,
            "jupyter-scatter (display to its points)" if theirs else "-",
            ours_runs=[r["max_gap_ms"] / 1e3 for r in ours],
            reference_runs=[r["max_gap_ms"] / 1e3 for r in theirs],
        ),
        Result("  max frame gap (absolute)", worst_gap / 1e3, None, "s", 0.2, "absolute", absolute=True),
        Result(
            "  first points after the view mounted",
            min(r["first_points_s"] - r["mounted_s"] for r in ours if r["mounted_s"] is not None),
            None,
            "s",
            None,
            "the kernel built the explorer before (cell time)",
        ),
        Result(
            "  kernel time of the display cell",
            min(r["exec"] for r in ours),
            min(r["exec"] for r in theirs) if theirs else None,
            "s",
            None,
            "jupyter-scatter's cell" if theirs else "-",
        ),
        Result(
            "all points loaded",
            max(r["loaded_s"] for r in ours),
            None,
            "s",
            None,
            "-",
            ours_runs=[r["loaded_s"] for r in ours],
        ),
    ]
    if dash:
        best_theirs = min(r["first_points_s"] for r in theirs) if theirs else None
        worst_theirs = max(r["max_gap_ms"] for r in theirs) / 1e3 if theirs else None
        results += [
            Result(
                "dashboard grid page: first points",
                min(r["first_points_s"] for r in dash),
                best_theirs,
                "s",
                None,
                "jupyter-scatter, same points" if theirs else "-",
                ours_runs=[r["first_points_s"] for r in dash],
            ),
            Result(
                "dashboard grid page: max frame gap",
                max(r["max_gap_ms"] for r in dash) / 1e3,
                worst_theirs,
                "s",
                None,
                "jupyter-scatter (display to its points)" if theirs else "-",
                ours_runs=[r["max_gap_ms"] / 1e3 for r in dash],
            ),
            Result(
                "dashboard grid page: all points loaded",
                max(r["loaded_s"] for r in dash),
                None,
                "s",
                None,
                "-",
                ours_runs=[r["loaded_s"] for r in dash],
            ),
        ]
    print()
    print_table(results)
    if args.json:
        write_json(args.json, info, results, n=n, ours=ours, theirs=theirs, dashboard=dash)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    raise SystemExit(main())
