"""Figures in a real kernel render in exported HTML without a network."""

from __future__ import annotations

import re

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")
nbconvert = pytest.importorskip("nbconvert")


def test_plotly_figures_are_inlined_for_exported_html():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext neurograph_lab"),
        nbformat.v4.new_code_cell(
            "import numpy as np\n"
            "from neurograph_lab import plots\n"
            "ng_rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (50, 8, 3)))\n"
            "plots.space_scatter(ng_rt, 'cognitive')"
        ),
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    fig_out = nb.cells[1].outputs[-1]["data"]
    assert "application/vnd.plotly.v1+json" in fig_out  # JupyterLab's renderer
    assert "Plotly.newPlot" in fig_out["text/html"]  # the exported page's renderer
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    srcs = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert not [s for s in srcs if "plot.ly" in s or "plotly" in s]
    # the plotly.js library itself is in the page, once
    assert html.count("plotly.js v") >= 1 and len(html) > 1_000_000
