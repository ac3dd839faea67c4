"""The dashboard's grid and graph pages in headless Chromium against a real ``ng.serve``: the
notebook's own WebGL views (the same modules) draw data fed over HTTP (pixel checks), a box
selection opens in the tokens table, a double-click expands the graph, and a change made in
the notebook's runtime reloads the grid without a page reload."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import _lab as lab
import numpy as np
import pytest
from _dash import TIMEOUT_MS, DashServer, assert_clean, link_login, make_runtime, new_page

N_CHAIN = 6


@pytest.fixture(scope="module")
def views_server() -> Iterator[DashServer]:
    """A served runtime of its own (the shared one's counts change under other tests): the
    dashboard fixtures' runtime plus a chain ``chain0 - chain1 - ... - chain5``."""
    rt = make_runtime()
    chain = rt.tokens.create_many(
        np.random.default_rng(1).uniform(-1, 1, (N_CHAIN, 8, 3)).astype(np.float32),
        labels=[f"chain{i}" for i in range(N_CHAIN)],
        entities="concept",
    )
    rt.connections.create_many(chain[:-1], chain[1:], kind="cause", strength=0.9)
    state = Path(tempfile.mkdtemp(prefix="ng-dash-views-"))
    ds = DashServer.start(rt, state / "state")
    try:
        yield ds
    finally:
        ds.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def open_page(browser: Any, views_server: DashServer) -> Iterator[Any]:
    """``open_page(hash, theme="light")``: a logged-in page showing ``#/<hash>``."""
    pages: list[Any] = []

    def make(hash_: str, theme: str = "light") -> Any:
        page = new_page(browser, theme)
        pages.append(page)
        link_login(page, views_server)
        page.evaluate("h => { location.hash = h; }", "#/" + hash_)
        page.wait_for_selector(f"[data-page='{hash_.split('?')[0]}']")
        return page

    try:
        yield make
    finally:
        for page in pages:
            try:
                assert_clean(page)
            finally:
                page.context.close()


def wait_grid_loaded(page: Any, n_min: int = 1) -> dict[str, str]:
    """Wait until the grid view has every point of the current version; its data-* hooks."""
    try:
        page.wait_for_function(
            """n => { const h = document.querySelector("[data-testid=grid-host]");
                      return h && Number(h.dataset.n) >= n && h.dataset.loaded === h.dataset.n; }""",
            arg=n_min,
            timeout=TIMEOUT_MS,
        )
    except Exception as e:  # say what the page had
        marks = page.eval_on_selector("[data-testid=grid-host]", "h => ({...h.dataset})")
        raise AssertionError(f"grid not loaded with >= {n_min} points: {marks}; log {page.ng_log}") from e
    return dict(page.eval_on_selector("[data-testid=grid-host]", "h => ({...h.dataset})"))


def not_blank(locator: Any, name: str) -> lab.PixelStats:
    stats = lab.pixel_stats(lab.element_png(locator, name))
    assert not stats.blank and stats.distinct_colors > 3, (name, stats)
    return stats


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_grid_page_draws_every_token_with_the_shared_view(open_page, views_server, theme):
    page = open_page("grid", theme)
    marks = wait_grid_loaded(page, len(views_server.rt.tokens))
    assert int(marks["n"]) == len(views_server.rt.tokens)
    assert marks["renderer"] in ("webgl2", "canvas2d", "density")
    stage = page.locator("[data-testid=grid-host] .ngx-stage")
    stats = not_blank(stage, f"dashboard-grid-stage-{theme}")
    bg = stats.background
    assert (sum(bg) > 384) == (theme == "light"), bg  # the view follows the dashboard's theme
    # the global labels arrived and some are drawn
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=grid-host] canvas[data-labels]')?.dataset.labels) > 0",
        timeout=TIMEOUT_MS,
    )
    lab.screenshot(page, f"dashboard-grid-page-{theme}", full_page=True)


def test_a_box_selection_opens_in_the_tokens_table(open_page, views_server):
    page = open_page("grid")
    wait_grid_loaded(page, 1)
    stage = page.locator("[data-testid=grid-host] .ngx-stage")
    box = stage.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.05, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + 380, steps=12)
    page.mouse.up()
    count = page.locator("[data-testid=grid-count]")
    page.wait_for_function(
        "() => /selected/.test(document.querySelector('[data-testid=grid-count]').textContent)", timeout=TIMEOUT_MS
    )
    shown = int(count.inner_text().split("·")[1].split("selected")[0].replace(",", "").strip())
    assert shown > 0
    page.click("[data-testid=grid-open-table]")
    page.wait_for_function("() => location.hash.startsWith('#/tokens')", timeout=TIMEOUT_MS)
    assert "selection=1" in page.evaluate("() => location.hash")
    ids = json.loads(page.evaluate("() => sessionStorage.getItem('ng.dashboard.selection')"))
    assert len(ids) == shown == len(set(ids))
    assert set(ids) <= set(int(i) for i in views_server.rt.tokens.ids())


def test_the_grid_reloads_when_the_notebook_adds_tokens(open_page, views_server):
    page = open_page("grid")
    before = int(wait_grid_loaded(page, 1)["n"])
    views_server.rt.tokens.create_many(
        np.random.default_rng(7).uniform(-1, 1, (25, 8, 3)).astype(np.float32), labels=None, entities="concept"
    )
    marks = wait_grid_loaded(page, before + 25)
    assert int(marks["n"]) == before + 25
    not_blank(page.locator("[data-testid=grid-host] .ngx-stage"), "dashboard-grid-live")


def node_centres(png: bytes, apart: int = 25) -> list[tuple[int, int]]:
    """Points inside the drawn nodes, one per node: solid 7x7 blocks of one non-background colour
    (edges and label text are thinner), merged when closer than ``apart`` px."""
    w, h, px = lab.decode_png(png)
    bg = lab.pixel_stats(png).background
    found: list[tuple[int, int]] = []
    for y in range(4, h - 4, 2):
        for x in range(4, w - 4, 2):
            c = px[y * w + x]
            if max(abs(a - b) for a, b in zip(c, bg)) < 40:
                continue
            if any(abs(x - fx) < apart and abs(y - fy) < apart for fx, fy in found):
                continue
            if all(
                max(abs(a - b) for a, b in zip(px[(y + dy) * w + x + dx], c)) < 12
                for dx in (-3, 0, 3)
                for dy in (-3, 0, 3)
            ):
                found.append((x, y))
    return found


def graph_marks(page: Any) -> dict[str, str]:
    return dict(page.eval_on_selector("[data-testid=graph-host]", "h => ({...h.dataset})"))


def wait_graph(page: Any, nodes: int, version_above: int = 0) -> dict[str, str]:
    """Wait until the graph view shows ``nodes`` nodes of a version above ``version_above`` with
    every edge received; its data-* hooks."""
    page.wait_for_function(
        """([n, v]) => { const h = document.querySelector("[data-testid=graph-host]");
                  return h && Number(h.dataset.nodes) === n && Number(h.dataset.version) > v
                         && h.dataset.loaded === h.dataset.edges; }""",
        arg=[nodes, version_above],
        timeout=TIMEOUT_MS,
    )
    return graph_marks(page)


def selected_count(page: Any) -> int:
    text = page.locator("[data-testid=graph-host] .ngx-count").inner_text()
    return int(text.split("·")[2].split("selected")[0].replace(",", "").strip())


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_graph_page_draws_expands_and_opens_the_selection_in_the_table(open_page, views_server, theme):
    page = open_page("graph?label=chain2&depth=1", theme)
    marks = wait_graph(page, 3)
    assert marks["edges"] == "2"  # chain1 - chain2 - chain3
    stage = page.locator("[data-testid=graph-host] .ngx-stage")
    png = lab.element_png(stage, f"dashboard-graph-stage-{theme}")
    stats = lab.pixel_stats(png)
    assert not stats.blank and stats.distinct_colors > 3, stats
    assert (sum(stats.background) > 384) == (theme == "light"), stats.background
    nodes = node_centres(png)
    assert len(nodes) == 3, nodes
    box = stage.bounding_box()
    assert box is not None
    # select the three nodes (click, then shift-click), expand them: chain0 and chain4 join
    page.mouse.click(box["x"] + nodes[0][0], box["y"] + nodes[0][1])
    page.keyboard.down("Shift")
    for x, y in nodes[1:]:
        page.mouse.click(box["x"] + x, box["y"] + y)
    page.keyboard.up("Shift")
    page.wait_for_function(
        "() => / 3 selected/.test(document.querySelector('[data-testid=graph-host] .ngx-count').textContent)",
        timeout=TIMEOUT_MS,
    )
    version = int(marks["version"])
    page.click("[data-testid=graph-expand]")
    marks = wait_graph(page, 5, version)
    assert marks["edges"] == "4"
    # a double click expands through the server too (a new version: chain5 joins if an end was hit)
    page.wait_for_timeout(300)  # the view fits the new layout (drawn frames, not data)
    png = lab.element_png(stage)
    x, y = node_centres(png)[0]
    version = int(marks["version"])
    page.mouse.dblclick(box["x"] + x, box["y"] + y)
    page.wait_for_function(
        "v => Number(document.querySelector('[data-testid=graph-host]').dataset.version) > v",
        arg=version,
        timeout=TIMEOUT_MS,
    )
    assert int(graph_marks(page)["nodes"]) in (5, 6)
    lab.screenshot(page, f"dashboard-graph-page-{theme}", full_page=True)
    # the selection (kept across reloads) opens in the tokens table
    n_sel = selected_count(page)
    assert n_sel >= 1
    page.click("[data-testid=graph-open-table]")
    page.wait_for_function("() => location.hash.startsWith('#/tokens')", timeout=TIMEOUT_MS)
    ids = json.loads(page.evaluate("() => sessionStorage.getItem('ng.dashboard.selection')"))
    assert len(ids) == n_sel
    chain = {int(views_server.rt.tokens.find(f"chain{i}")[0]) for i in range(N_CHAIN)}
    assert set(ids) <= chain
