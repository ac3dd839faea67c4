"""Loading a large GridExplorer in real JupyterLab and headless Chromium (SwiftShader): every
point arrives, the main view and all 8 small multiples draw, and the picture drawn
progressively while the chunks came in (a bounded number of points per frame, appended to
what earlier frames drew) is the very picture a from-scratch redraw gives. No timing is
asserted here: the speed figures are in bench/bench_load_smooth.py."""

from __future__ import annotations

import base64

import _lab as lab
import pytest

# more than 2 chunks of the first frame's size (65,536): progressive drawing and the small
# multiples' fixed sample (65,536 points) both come into play, at a size CI can afford
N = 200_000

SETUP = f"""import neurograph_lab as ng
from neurograph_lab.datasets import token_clusters
rt = ng.Runtime()
coords, entities, labels = token_clusters({N}, clusters=12, seed=3)
rt.tokens.create_many(coords, entities=entities, labels=labels)
print("made", len(rt.tokens))"""

DISPLAY = 'grid = ng.GridExplorer(rt, space="cognitive")\ngrid'

# records the explorer's frames (installed before the display cell runs)
PROBE = """() => { window.__frames = [];
  document.addEventListener("neurograph-frame", (e) => window.__frames.push(e.detail), true); }"""
DONE = """(n) => { const f = window.__frames; const last = f[f.length - 1];
  return !!last && last.loaded >= n && last.pending === false; }"""


def gl_pixels(stage) -> tuple[int, int, list[tuple[int, int, int]]]:
    """The WebGL canvas's pixels (its drawing buffer is preserved, so toDataURL reads it)."""
    url = stage.locator("canvas").first.evaluate("(c) => c.toDataURL('image/png')")
    return lab.decode_png(base64.b64decode(url.split(",", 1)[1]))


def rect_stats(img: tuple[int, int, list[tuple[int, int, int]]], x: int, y: int, w: int, h: int) -> tuple[float, int]:
    """Fraction of pixels in the rectangle that differ from its corner (background) colour,
    and the number of distinct colours there."""
    width, _, px = img
    bg = px[(y + 2) * width + x + 2]
    colours, other = set(), 0
    for yy in range(y + 2, y + h - 2):
        for xx in range(x + 2, x + w - 2):
            c = px[yy * width + xx]
            colours.add(c)
            other += c != bg
    return other / max(1, (w - 4) * (h - 4)), len(colours)


@pytest.fixture
def big_grid(page, jupyter_server):
    lab.write_notebook(jupyter_server.root_dir, "load_smooth.ipynb", [SETUP])
    lab.open_notebook(page, jupyter_server, "load_smooth.ipynb")
    lab.run_cell(page, 0, timeout_ms=240_000)
    assert f"made {N}" in lab.cell_output_text(page, index=0)
    page.evaluate(PROBE)
    index = lab.append_and_run_cell(page, DISPLAY, timeout_ms=120_000)
    stage = lab.cell_locator(page, index).locator(".ngx-stage").first
    stage.scroll_into_view_if_needed()
    page.wait_for_function(DONE, arg=N, timeout=120_000)
    return page, stage


def test_all_points_load_and_every_view_draws(big_grid, page_log):
    page, stage = big_grid
    assert lab.kernel_value(page, "grid.loaded") == N
    assert lab.kernel_value(page, "grid.renderer") == "webgl2"
    assert lab.kernel_value(page, "grid.error") == ""
    # more frames than chunks: the points were drawn over several frames, not in one go
    frames = page.evaluate("() => window.__frames.length")
    stride = lab.kernel_value(page, "grid.stride")
    assert stride >= 3 and frames >= 2, (stride, frames)

    img = gl_pixels(stage)
    width = img[0]
    main_cover, main_colours = rect_stats(img, 0, 0, width, 520)
    assert main_cover > 0.05 and main_colours > 8, (main_cover, main_colours)
    # the 8 small multiples below the main view (gridLayout: 8 columns from 720 px on)
    cols = 8 if width >= 720 else 4
    size = (width - 6 * (cols + 1)) // cols
    for i in range(8):
        x, y = 6 + (i % cols) * (size + 6), 520 + 6 + (i // cols) * (size + 6)
        cover, colours = rect_stats(img, x, y, size, size)
        assert cover > 0.02 and colours > 3, (i, cover, colours)
    lab.screenshot(page, "load-smooth-grid")

    # a from-scratch redraw (the theme goes dark and back: every view starts over) gives the
    # same pixels as the progressive drawing while the chunks came in
    page.evaluate("() => { window.__frames = []; }")
    lab.set_theme(page, lab.DARK)
    page.wait_for_function(DONE, arg=N, timeout=60_000)
    page.evaluate("() => { window.__frames = []; }")
    lab.set_theme(page, lab.LIGHT)
    page.wait_for_function(DONE, arg=N, timeout=60_000)
    again = gl_pixels(stage)
    assert again[:2] == img[:2]
    differ = sum(a != b for a, b in zip(img[2], again[2]))
    assert differ == 0, f"{differ} pixels differ between the progressive and the full redraw"

    assert page_log.page_errors == []
    assert page_log.external_succeeded == []
