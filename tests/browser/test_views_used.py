"""Every view used, in headless Chromium on the standalone export (no JupyterLab needed): a
small multiple whose space holds no token says so, a sampled graph says so on its canvas, and
graph edges fade where they crowd the view."""

from __future__ import annotations

import numpy as np

import neurograph_lab as ng
from neurograph_lab._names import SPACES
from neurograph_lab.widgets import GraphExplorer, GridExplorer


def _open(page, widget, path):
    page.set_content(widget.to_html(path).read_text(encoding="utf-8"))
    page.locator(".ngx-stage").wait_for()


def test_empty_small_multiples_say_so(page, page_log, tmp_path):
    rt = ng.Runtime()
    coords = np.full((40, 8, 3), np.nan)
    coords[:, SPACES.index("cognitive")] = np.random.default_rng(0).uniform(-1, 1, (40, 3))
    coords[:20, SPACES.index("social")] = 0.5
    rt.tokens.create_many(coords, undefined="nan")
    _open(page, GridExplorer(rt), tmp_path / "grid.html")
    page.wait_for_function("() => document.querySelector('[data-empty-spaces]') !== null", timeout=60_000)
    empty = page.evaluate("() => document.querySelector('[data-empty-spaces]').dataset.emptySpaces")
    assert sorted(empty.split(",")) == sorted(s for s in SPACES if s not in ("cognitive", "social"))
    assert page_log.page_errors == [] and page_log.external_succeeded == []


def test_a_bootstrap_leaves_no_view_empty(page, page_log, tmp_path):
    from neurograph_lab.datasets import planted_embeddings

    words, vecs = planted_embeddings()
    rt = ng.Runtime()
    rt.bootstrap(vecs, words, k=5, progress=False)
    _open(page, GridExplorer(rt), tmp_path / "boot.html")
    page.wait_for_function("() => document.querySelector('[data-empty-spaces]') !== null", timeout=60_000)
    assert page.evaluate("() => document.querySelector('[data-empty-spaces]').dataset.emptySpaces") == ""


def test_sampled_graph_says_so_and_dense_edges_fade(page, page_log, tmp_path):
    rng = np.random.default_rng(0)
    rt = ng.Runtime()
    ids = rt.tokens.create_many(rng.uniform(-1, 1, (3000, 8, 3)))
    rt.connections.create_many(ids[rng.integers(0, 3000, 30_000)], ids[rng.integers(0, 3000, 30_000)], kind="cause")
    sel = "() => { const e = document.querySelector('[data-edge-fade]'); return e && e.dataset.note !== undefined; }"
    _open(page, GraphExplorer(rt, max_nodes=2000, iterations=20), tmp_path / "dense.html")
    # once the edges are drawn, a hairball of them is drawn fainter
    page.wait_for_function(
        "() => { const e = document.querySelector('[data-edge-fade]'); return e && +e.dataset.edgeFade < 1; }",
        timeout=60_000,
    )
    got = page.evaluate(
        "() => { const e = document.querySelector('[data-edge-fade]'); return [e.dataset.note, e.dataset.edgeFade]; }"
    )
    assert got[0] == "showing 2,000 of 3,000 nodes (sampled)"
    assert 0.1 <= float(got[1]) < 1.0
    sparse = ng.Runtime()
    few = sparse.tokens.create_many(rng.uniform(-1, 1, (10, 8, 3)))
    sparse.connections.create_many(few[:-1], few[1:], kind="cause")
    _open(page, GraphExplorer(sparse), tmp_path / "sparse.html")
    page.wait_for_function(sel, timeout=60_000)
    got = page.evaluate(
        "() => { const e = document.querySelector('[data-edge-fade]'); return [e.dataset.note, e.dataset.edgeFade]; }"
    )
    assert got == ["", "1.000"]
    assert page_log.page_errors == [] and page_log.external_succeeded == []
