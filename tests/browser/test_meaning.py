"""``ng.explore(rt)`` on a bootstrap of planted embeddings, in real JupyterLab and headless
Chromium (every request leaving 127.0.0.1 aborted): words are drawn, the search box focuses a
word (the view pans to it, its planted neighbours are highlighted), colouring by community
changes the palette, no small multiple is empty; screenshots in light and dark themes go to
``test-artifacts/`` (``meaning-explore-light.png``, ``meaning-explore-dark.png``).

Nothing here waits a fixed time before checking: every step waits on a condition (a kernel
value, a DOM attribute) with a generous timeout."""

from __future__ import annotations

import colorsys
import json

import _lab as lab
import pytest

NOTEBOOK = "meaning.ipynb"
SETUP = (
    "import numpy as np, neurograph_lab as ng\n"
    "from neurograph_lab.datasets import planted_embeddings\n"
    "words, vectors = planted_embeddings()\n"
    "rt = ng.Runtime()\n"
    "report = rt.bootstrap(vectors, words=words, k=5, progress=False)\n"
    "print('tokens', len(rt.tokens), 'connections', len(rt.connections))"
)
SHOW = "e = ng.explore(rt)\ne"
LOADED = "e.grid.loaded == e.grid.n > 0 and e.graph.loaded == e.graph.n_edges and e.graph.n_nodes > 0"


@pytest.fixture
def explored(page, jupyter_server, lab_root):
    lab.write_notebook(lab_root, NOTEBOOK, [SETUP, SHOW])
    lab.open_notebook(page, jupyter_server, NOTEBOOK)
    lab.run_all_cells(page, timeout_ms=240_000)
    assert lab.cell_errors(page) == []
    lab.wait_for_kernel_value(page, LOADED, timeout_s=120)
    cell = lab.cell_locator(page, 1)
    grid, graph = cell.locator(".ngx-root").nth(0), cell.locator(".ngx-root").nth(1)
    grid.locator(".ngx-stage").wait_for()
    graph.locator(".ngx-stage").wait_for()
    return page, grid, graph


def wait_attr(page, locator, js_predicate: str, timeout_ms: int = 60_000) -> None:
    """Wait until ``js_predicate`` (a function of the element) holds for ``locator``'s element."""
    page.wait_for_function(f"(el) => !!el && ({js_predicate})(el)", arg=locator.element_handle(), timeout=timeout_ms)


def hues(png: bytes, region: tuple[int, int, int, int] | None = None) -> int:
    """Distinct hues (24 bins of 15 degrees) among the saturated, not too dark pixels of a PNG
    (in ``region`` = x0, y0, x1, y1 if given); a bin counts when it holds at least 0.5% of them."""
    w, h, px = lab.decode_png(png)
    x0, y0, x1, y1 = region or (0, 0, w, h)
    bins = [0] * 24
    total = 0
    for y in range(max(0, y0), min(h, y1)):
        row = px[y * w : (y + 1) * w]
        for r, g, b in row[max(0, x0) : min(w, x1)]:
            hh, s, v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
            if s > 0.35 and v > 0.35:
                bins[int(hh * 24) % 24] += 1
                total += 1
    return sum(1 for c in bins if total and c >= 0.005 * total)


def small_rects(width: int) -> list[tuple[int, int, int, int]]:
    """The 8 small multiples (x0, y0, x1, y1) in the grid stage, as grid-views.ts lays them out."""
    main_h, gap = 520, 6
    cols = 8 if width >= 720 else 4
    size = (width - gap * (cols + 1)) // cols
    out = []
    for i in range(8):
        x = gap + (i % cols) * (size + gap)
        y = main_h + gap + (i // cols) * (size + gap)
        out.append((x, y, x + size, y + size))
    return out


def test_words_are_drawn(explored, page_log):
    # the labels layer (hC, labels.ts) publishes the drawn label texts on the widget's root
    page, grid, graph = explored
    words = set(lab.kernel_value(page, "words"))
    for root in (grid, graph):
        wait_attr(page, root, "(el) => JSON.parse(el.dataset.labelTexts || '[]').length >= 5")
        drawn = json.loads(root.get_attribute("data-label-texts") or "[]")
        whole = [t for t in drawn if not t.endswith("\u2026")]
        assert whole and set(whole) <= words, drawn[:20]
    assert page_log.page_errors == [] and page_log.external_succeeded == []


def test_search_box_focuses_a_word_and_its_planted_neighbours(explored, page_log):
    page, grid, graph = explored
    box = grid.get_by_role("combobox", name="search token labels")
    box.click()
    box.press_sequentially("FRUIT3")
    listbox = grid.get_by_role("listbox", name="matching labels")
    first = listbox.get_by_role("option").first
    first.wait_for()
    assert first.inner_text().startswith("fruit3")
    assert box.get_attribute("aria-expanded") == "true"
    box.press("ArrowDown")
    wait_attr(page, box, "(el) => el.getAttribute('aria-activedescendant')?.endsWith('-1')")
    box.press("ArrowUp")
    box.press("Enter")
    assert box.input_value() == "fruit3" and listbox.is_hidden()

    tid = lab.kernel_value(page, "int(rt.tokens.find('fruit3')[0])")
    lab.wait_for_kernel_value(page, "e.grid.focused.get('ids')", lambda v: v == [tid])
    # the kernel's highlighted set holds the word's planted neighbours (the bootstrap's kNN)
    planted = lab.kernel_value(page, f"rt.graph.neighbourhood({tid}, depth=1, direction='both').index[1:].tolist()")
    highlighted = lab.kernel_value(page, "e.grid.highlighted.tolist()")
    assert len(planted) >= 5 and set(planted) <= set(highlighted)
    near_words = lab.kernel_value(page, "[w for w in rt.labels_of(e.grid.highlighted) if w]")
    assert sum(w.startswith("fruit") for w in near_words) >= 0.8 * len(near_words)

    # the browser draws the focus: the word sits at the main view's centre (the view panned)
    stage = grid.locator(".ngx-stage")
    wait_attr(
        page,
        stage,
        f"(el) => el.dataset.focusId === '{tid}'"
        " && Math.abs(+el.dataset.focusX - +el.dataset.focusCx) < 2"
        " && Math.abs(+el.dataset.focusY - +el.dataset.focusCy) < 2"
        f" && +el.dataset.focusNear >= {len(planted)}",
    )
    lab.element_png(stage, "meaning-grid-focused")
    status = grid.get_by_role("status")
    wait_attr(page, status, "(el) => /^focused fruit3, \\d+ neighbours ringed$/.test(el.textContent)")
    # the graph explorer follows the grid's search (Explore links them), panned the same way
    gstage = graph.locator(".ngx-stage")
    wait_attr(
        page,
        gstage,
        f"(el) => el.dataset.focusId === '{tid}' && Math.abs(+el.dataset.focusX - +el.dataset.focusCx) < 2"
        " && +el.dataset.focusNear >= 5",
    )

    # the graph's own box completes every token's label; a mouse choice focuses (and grows the graph)
    gbox = graph.get_by_role("combobox", name="search token labels")
    gbox.click()
    gbox.press_sequentially("vehicle7")
    option = graph.get_by_role("listbox").get_by_role("option").filter(has_text="vehicle7").first
    option.wait_for()
    option.click()
    vid = lab.kernel_value(page, "int(rt.tokens.find('vehicle7')[0])")
    lab.wait_for_kernel_value(page, "e.graph.focused.get('ids')", lambda v: v == [vid])
    wait_attr(page, gstage, f"(el) => el.dataset.focusId === '{vid}'")
    # Escape twice: closes, then clears the box and the focus
    gbox.click()
    gbox.press("Escape")
    gbox.press("Escape")
    assert gbox.input_value() == ""
    lab.wait_for_kernel_value(page, "e.graph.focused", lambda v: v == {})
    wait_attr(page, gstage, "(el) => el.dataset.focusId === undefined")

    # Enter right after typing waits for the answer to what was typed, then chooses
    box.click()
    box.press("Control+A")
    box.press_sequentially("tool2")
    box.press("Enter")
    t2 = lab.kernel_value(page, "int(rt.tokens.find('tool2')[0])")
    lab.wait_for_kernel_value(page, "e.grid.focused.get('ids')", lambda v: v == [t2])
    wait_attr(page, stage, f"(el) => el.dataset.focusId === '{t2}'")

    # focus() from Python does the same, and a misspelling is refused with suggestions
    r = lab.run_in_kernel(page, "e.focus('colour2')")
    assert r.error is None
    cid = lab.kernel_value(page, "int(rt.tokens.find('colour2')[0])")
    wait_attr(
        page, stage, f"(el) => el.dataset.focusId === '{cid}' && Math.abs(+el.dataset.focusX - +el.dataset.focusCx) < 2"
    )
    bad = lab.run_in_kernel(page, "e.focus('colur2')", check=False)
    assert bad.error and "did you mean" in bad.error and "colour2" in bad.error
    assert page_log.page_errors == [] and page_log.external_succeeded == []
    assert lab.kernel_value(page, "e.grid.error + e.graph.error") == ""


def test_community_colours_and_no_empty_small_multiple(explored, page_log):
    page, grid, graph = explored
    assert lab.kernel_value(page, "(e.grid.color, e.graph.color)") == ["community", "community"]
    count = lab.kernel_value(page, "rt.graph.last_communities.count")
    assert count >= 8  # the 8 planted clusters at least
    legend = grid.locator(".ngx-legend")
    wait_attr(page, legend, "(el) => /community/.test(el.textContent)")
    stage = grid.locator(".ngx-stage")
    width = int(stage.bounding_box()["width"])
    main = (4, 24, width - 4, 516)
    community_png = lab.element_png(stage, "meaning-grid-community")
    by_community = hues(community_png, main)

    lab.run_in_kernel(page, "e.grid.color = 'entity'")
    wait_attr(page, legend, "(el) => /concept/.test(el.textContent) && !/community/.test(el.textContent)")
    lab.wait_for_kernel_value(page, "e.grid.loaded == e.grid.n")
    page.wait_for_function(
        "(el) => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok(true))))",
        arg=stage.element_handle(),
    )
    by_entity = hues(lab.element_png(stage, "meaning-grid-entity"), main)
    assert by_community >= 6 and by_entity <= 2, (by_community, by_entity)

    # every small multiple shows tokens (the bootstrap fills all 8 spaces)
    placed = lab.kernel_value(page, "[int(np.isfinite(rt.tokens.coords(s)[:, 0]).sum()) for s in e.grid.spaces]")
    assert all(p > 0 for p in placed), placed
    w, _, px = lab.decode_png(community_png)
    drawn = [_drawn_fraction(px, w, (x0 + 2, y0 + 22, x1 - 2, y1 - 2)) for x0, y0, x1, y1 in small_rects(width)]
    assert all(f > 0.002 for f in drawn), drawn
    assert page_log.page_errors == []


def _drawn_fraction(px: list[tuple[int, int, int]], w: int, box: tuple[int, int, int, int]) -> float:
    """Fraction of the pixels in ``box`` that differ from the box's most common colour."""
    x0, y0, x1, y1 = box
    region = [px[y * w + x] for y in range(y0, y1) for x in range(x0, x1)]
    counts: dict[tuple[int, int, int], int] = {}
    for c in region:
        counts[c] = counts.get(c, 0) + 1
    bg = max(counts.items(), key=lambda kv: kv[1])[0]
    off = sum(n for c, n in counts.items() if max(abs(c[i] - bg[i]) for i in range(3)) > 8)
    return round(off / max(1, len(region)), 4)


def test_screenshots_light_and_dark(explored, page_log):
    page, grid, graph = explored
    page.set_viewport_size({"width": 1400, "height": 2400})  # the whole explore cell on screen
    cell = lab.cell_locator(page, 1)
    for root in (grid, graph):
        wait_attr(page, root.locator(".ngx-legend"), "(el) => /community/.test(el.textContent)")
    lab.element_png(cell, "meaning-explore-light")
    light = lab.dominant_color(lab.element_png(grid.locator(".ngx-stage")))
    lab.set_theme(page, lab.DARK)
    stage = grid.locator(".ngx-stage")
    # the stage background follows the theme (wait for a frame drawn with the dark colours)
    page.wait_for_function(
        "(el) => { const c = getComputedStyle(el).backgroundColor.match(/\\d+/g).map(Number);"
        " return c[0] + c[1] + c[2] < 200; }",
        arg=stage.element_handle(),
    )
    lab.element_png(cell, "meaning-explore-dark")
    dark = lab.dominant_color(lab.element_png(stage))
    assert sum(dark) < sum(light), (light, dark)
    lab.set_theme(page, lab.LIGHT)
    assert page_log.page_errors == []


def test_exported_explorer_searches_offline(explored, page_log, tmp_path):
    # the standalone HTML has no kernel: the search box completes from the inlined labels
    page, _, _ = explored
    path = tmp_path / "words.html"
    lab.run_in_kernel(page, f"e.grid.to_html({str(path)!r})")
    export = page.context.new_page()
    export.set_content(path.read_text(encoding="utf-8"))
    box = export.get_by_role("combobox", name="search token labels")
    box.wait_for()
    box.click()
    box.press_sequentially("animal1")
    option = export.get_by_role("option").filter(has_text="animal12").first
    option.wait_for()
    option.click()
    tid = lab.kernel_value(page, "int(rt.tokens.find('animal12')[0])")
    stage = export.locator(".ngx-stage")
    export.wait_for_function(
        f"(el) => el.dataset.focusId === '{tid}' && Math.abs(+el.dataset.focusX - +el.dataset.focusCx) < 2",
        arg=stage.element_handle(),
    )
    export.close()
    assert page_log.external_succeeded == []
