"""Plotly figures from a real kernel, exported to HTML with nbconvert, render in Chromium with
every request that leaves the machine aborted."""

from __future__ import annotations

import _lab as lab
import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")
nbconvert = pytest.importorskip("nbconvert")


def test_exported_plots_render_offline(page, page_log):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext neurograph_lab"),
        nbformat.v4.new_code_cell(
            "import numpy as np\n"
            "from neurograph_lab import plots\n"
            "ng_rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (300, 8, 3)))\n"
            "plots.space_scatter(ng_rt, 'cognitive')"
        ),
        nbformat.v4.new_code_cell("plots.parallel_spaces(ng_rt)"),
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    page.set_content(html, wait_until="load")
    plots = page.locator(".js-plotly-plot")
    plots.nth(1).locator(".main-svg").first.wait_for(timeout=30_000)
    assert plots.count() == 2
    # the scatter has its points
    assert page.locator(".js-plotly-plot .scatterlayer .trace, .js-plotly-plot canvas").count() > 0
    stats = lab.pixel_stats(lab.element_png(plots.nth(0), "exported-plot"))
    assert not stats.blank
    assert page_log.external_succeeded == []
    assert page_log.blocked_requests  # the page did try the CDN (require.js, MathJax) and did without
