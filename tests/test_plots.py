"""Plotly figures: what they draw, sampling of large sets, and the explore views."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

import neurograph_lab as ng
from neurograph_lab import plots
from neurograph_lab._explore_lang import run_explore


@pytest.fixture
def rt():
    r = ng.Runtime()
    coords = np.random.default_rng(0).uniform(-1, 1, (300, 8, 3))
    ids = r.tokens.create_many(
        coords, entities=["concept"] * 150 + ["event"] * 150, labels=[f"w{i}" for i in range(300)]
    )
    r.connections.create_many(ids[:-1], ids[1:])
    return r


def test_space_scatter_2d_3d_and_sampling(rt):
    fig = plots.space_scatter(rt, "cognitive")
    assert isinstance(fig, go.Figure) and {t.type for t in fig.data} == {"scattergl"}
    assert sorted(t.name for t in fig.data) == ["concept", "event"]
    assert sum(len(t.x) for t in fig.data) == 300
    fig3 = plots.space_scatter(rt, "L8", dims=3, color="weight")
    assert fig3.data[0].type == "scatter3d" and len(fig3.data) == 1
    sampled = plots.space_scatter(rt, "cognitive", max_points=100)
    assert sum(len(t.x) for t in sampled.data) == 100 and "100 of 300" in sampled.layout.title.text
    with pytest.raises(ng.ValidationError, match="colour by"):
        plots.space_scatter(rt, color="nope")
    with pytest.raises(ng.ValidationError, match="unknown space"):
        plots.space_scatter(rt, "cognitve")


def test_other_figures(rt):
    par = plots.parallel_spaces(rt, ids=rt.tokens.ids()[:20], axis="norm")
    assert par.data[0].type == "parcoords" and len(par.data[0].dimensions) == 8
    hist = plots.degree_histogram(rt)
    assert hist.data[0].type == "histogram" and len(hist.data[0].x) == 300
    with pytest.raises(ng.ValidationError):
        rt.tokens.create(weight=9.0)
    tl = plots.events_timeline(rt)
    assert [t.name for t in tl.data] == ["accepted", "refused"] and len(tl.data[1].x) == 1
    gf = plots.graph_figure(rt, rt.tokens.ids()[:50])
    assert len(gf.data[1].x) == 50 and len(gf.data[0].x) == 49 * 3


def test_explore_views(rt):
    res = run_explore(rt, "near w0 k=20\nshow plot", {})
    assert res.view == "plot" and isinstance(res.figure(), go.Figure)
    assert run_explore(rt, "near w0 k=20\nshow grid", {}).figure().data[0].type == "scatter3d"
    g = run_explore(rt, "path w0 -> w5\nshow graph", {}).figure()
    assert len(g.data[1].x) == 6
