"""The explorers' Python side: data messages, selection, hover, refresh, the CDNA panel and
the standalone export (the browser side is tested in tests/browser)."""

from __future__ import annotations

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab.widgets import CDNAPanel, GraphExplorer, GridExplorer, explore
from neurograph_lab.widgets._base import MAX_MESSAGE, packbits, unpackbits


@pytest.fixture
def rt():
    rt = ng.Runtime()
    rng = np.random.default_rng(0)
    ids = rt.tokens.create_many(rng.uniform(-1, 1, (300, 8, 3)), labels=[f"t{i}" for i in range(300)])
    rt.tokens.update(int(ids[0]), entity="goal", label="<script>x</script>")
    rt.connections.create_many(ids[:-1], ids[1:], kind="cause", strength=0.5)
    return rt


def test_grid_messages_carry_every_token_once_in_bytes(rt):
    g = GridExplorer(rt, space="social")
    assert g.n == 300 and g.stride == 1 and g.spaces[4] == "cognitive"
    msgs = list(g._messages())
    assert [m[0]["type"] for m in msgs] == ["coords"]
    bufs = msgs[0][1]
    assert len(bufs) == 8 and all(len(bytes(b)) == 2 * 300 for b in bufs)  # 16 bytes per token
    # decoding a code with the bounds gives the coordinate back within half a step
    coords = rt.tokens.coords("social")
    order = g._order
    q = np.frombuffer(bytes(bufs[5]), np.uint8).reshape(-1, 2)
    lo, hi = g.bounds[5][0]
    x = lo + q[:, 0] / 255 * (hi - lo)
    want = coords[np.searchsorted(rt.tokens.ids(), order), 0]
    assert np.abs(x - want).max() <= (hi - lo) / 255
    # categories are runs of the display order
    items = g.legend["items"]
    assert sum(i["count"] for i in items) == 300 and {i["name"] for i in items} == {"goal", "undefined"}


def test_numeric_colours_are_quantised_by_the_core(rt):
    # M4: the grid explorer no longer re-quantises numeric colours in numpy; the legend keeps
    # the data's min and max, and the codes rise with the value
    w = np.linspace(0.1, 0.9, 300)
    rt.tokens.update(int(rt.tokens.ids()[7]), weight=0.05)
    for i, tid in enumerate(rt.tokens.ids()[:50]):
        rt.tokens.update(int(tid), weight=float(w[i]))
    g = GridExplorer(rt, color="weight")
    try:
        weights = rt.tokens.to_pandas()["weight"]
        assert g.legend == {"kind": "numeric", "label": "weight", "min": weights.min(), "max": weights.max()}
        shown = weights.loc[g._order].to_numpy()
        codes = g._values
        assert codes.dtype == np.uint8 and codes[np.argmin(shown)] == 0 and codes[np.argmax(shown)] >= 254
        assert np.all(np.diff(codes[np.argsort(shown, kind="stable")].astype(int)) >= 0)
    finally:
        g.close()


def test_large_views_are_chunked_under_4_mib():
    rt = ng.Runtime()
    rt.tokens.create_many(np.random.default_rng(1).uniform(-1, 1, (300_000, 8, 3)).astype(np.float32))
    g = GridExplorer(rt, color="weight")
    sizes = [sum(len(bytes(b)) for b in bufs) for _, bufs in g._messages()]
    assert g.stride == 5 and max(sizes) <= MAX_MESSAGE
    assert sum(sizes) == 300_000 * 17  # 16 bytes of coordinates + 1 of colour


def test_selection_round_trip_and_dataframe(rt):
    g = GridExplorer(rt)
    ids = rt.tokens.ids()
    g.selected = ids[10:15]
    assert len(g.selection) == 38  # ceil(300 / 8)
    assert g.selected.tolist() == ids[10:15].tolist()
    assert g.selection_df().index.tolist() == ids[10:15].tolist()
    # a mask set by the browser (LSB first)
    mask = np.zeros(300, bool)
    mask[[0, 9]] = True
    g.selection = packbits(mask)
    assert sorted(g.selected.tolist()) == sorted(g._order[[0, 9]].tolist())
    assert unpackbits(packbits(mask), 300).tolist() == mask.tolist()
    # the selection survives a new colour (a new display order)
    before = g.selected.tolist()
    g.color = "cluster"
    assert g.selected.tolist() == before
    g.selected = None
    assert g.selection == b"" and len(g.selected) == 0


def test_bad_arguments_are_refused(rt):
    with pytest.raises(ng.ValidationError, match="unknown space"):
        GridExplorer(rt, space="cognitiv")
    with pytest.raises(ng.ValidationError, match="axes"):
        GridExplorer(rt, axes=(0, 0))
    with pytest.raises(ng.ValidationError, match="colour by"):
        GridExplorer(rt, color="nope")
    with pytest.raises(ng.ValidationError, match="not tokens"):
        GridExplorer(rt, ids=[10**6])
    with pytest.raises(TypeError, match="Runtime"):
        GridExplorer("rt")  # type: ignore[arg-type]
    g = GridExplorer(rt)
    g.color = "nope"  # from the browser: ignored, the old colour stays
    assert g.color == "entity"
    with pytest.raises(ng.ValidationError, match="depth"):
        GraphExplorer(rt, ids=[1], depth=-1)


def test_hover_and_summaries_escape_labels(rt):
    g = GridExplorer(rt)
    i = int(np.flatnonzero(g._order == rt.tokens.find("<script>x</script>")[0])[0])
    card = g._hover(i)
    assert card["label"] == "<script>x</script>" and card["entity"] == "goal" and len(card["coords"]) == 8
    bundle = g._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["text/plain"].startswith("GridExplorer: 300 tokens")
    assert "<script>" not in data["text/html"]


def test_refresh_follows_the_runtime(rt):
    g = GridExplorer(rt)
    rt.tokens.create_many(np.zeros((5, 8, 3)))
    assert g.n == 300
    g.refresh()
    assert g.n == 305 and g.version == 1


def test_graph_explorer_grows_and_expands(rt):
    ids = rt.tokens.ids()
    gr = GraphExplorer(rt, ids=[ids[10]], depth=2)
    assert gr.n_nodes == 5 and gr.n_edges == 4
    nodes, edges = list(gr._messages())
    assert nodes[0]["n"] == 5 and len(bytes(nodes[1][0])) == 5 * 8  # float32 x, y
    ends = np.frombuffer(bytes(edges[1][0]), np.uint32).reshape(-1, 2)
    assert ends.max() < 5
    gr.expand([ids[12]])
    assert gr.n_nodes == 6 and gr.version == 1
    gr._on_browser_message(gr, {"type": "expand", "index": 0}, [])
    assert gr.n_nodes == 7


def test_cdna_panel_goes_through_the_guardian(rt):
    g = GridExplorer(rt)
    panel = CDNAPanel(rt, explorers=[g])
    panel.scales["cognitive"].value = 0.0  # refused: scales must be > 0
    assert "refused" in panel.message.value and "scale of cognitive" in panel.message.value
    assert panel.scales["cognitive"].value == 1.0 and rt.cdna.scales["cognitive"] == 1.0
    panel.scales["cognitive"].value = 2.5
    assert rt.cdna.scales["cognitive"] == 2.5 and "applied" in panel.message.value
    assert g.version == 1  # linked explorers were refreshed
    panel.degrees["max_out_degree"].value = 0
    assert "refused" in panel.message.value and panel.degrees["max_out_degree"].value == 1000
    panel.profile.value = "creative"
    assert rt.cdna.flags["ENABLE_MUTATION"] and panel.flags["ENABLE_MUTATION"].value


def test_explore_links_the_grid_selection_to_the_graph(rt):
    e = explore(rt)
    e.grid.selected = rt.tokens.ids()[100:102]
    assert e.graph.n_nodes == 4  # the two selected and their neighbours


def test_to_html_is_standalone(rt, tmp_path):
    g = GridExplorer(rt)
    path = g.to_html(tmp_path / "grid.html")
    page = path.read_text()
    assert "http://" not in page and "https://" not in page
    assert "<script>x</script>" not in page  # labels are JSON inside script tags, escaped
    assert page.count("ng-bundle") == 2 and len(page) > 10_000


def test_a_torn_down_view_closes_an_explorer_nobody_holds(rt):
    from IPython.core.interactiveshell import InteractiveShell
    from ipywidgets.widgets import widget

    def live_widgets() -> int:
        # the registry Widget.widgets (deprecated in ipywidgets 8) returns
        return len(widget._instances)

    shell = InteractiveShell.instance()
    try:
        shell.user_ns["rt"] = rt
        shell.run_cell("kept = __import__('neurograph_lab').GridExplorer(rt)")
        kept = shell.user_ns["kept"]
        before = live_widgets()
        for _ in range(3):  # what re-running `kept = GridExplorer(rt); kept` does
            shell.run_cell("kept = __import__('neurograph_lab').GridExplorer(rt)")
            kept._on_browser_message(kept, {"type": "ready"}, [])
            kept._on_browser_message(kept, {"type": "closed"}, [])
            kept = shell.user_ns["kept"]
        assert live_widgets() == before  # each replaced explorer was closed
        # JupyterLab may tear the view down before the re-run re-binds the variable
        kept._on_browser_message(kept, {"type": "ready"}, [])
        kept._on_browser_message(kept, {"type": "closed"}, [])
        assert kept.comm is not None  # still held by `kept`: stays open
        shell.run_cell("kept = __import__('neurograph_lab').GridExplorer(rt)")
        assert kept.comm is None  # closed after the cell that dropped it
        assert live_widgets() == before
    finally:
        InteractiveShell.clear_instance()


def test_live_explorers_refresh_after_cells_that_change_the_runtime(rt):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.user_ns["rt"] = rt
        shell.run_cell("import neurograph_lab as ng\ng = ng.GridExplorer(rt, live=True)")
        g = shell.user_ns["g"]
        shell.run_cell("x = 1")  # nothing changed: no refresh
        assert g.version == 0
        shell.run_cell("rt.tokens.create_many(__import__('numpy').zeros((4, 8, 3)))")
        assert g.n == 304 and g.version == 1
        shell.run_cell("rt.cdna.update_scales(cognitive=2.0)")  # a CDNA change counts too
        assert g.version == 2
        g.live = False
        shell.run_cell("rt.tokens.create_many(__import__('numpy').zeros((1, 8, 3)))")
        assert g.n == 304
    finally:
        InteractiveShell.clear_instance()


def test_closed_explorers_and_panels_free_their_runtime_without_gc():
    # S3-3: no explorer or panel keeps its runtime in a reference cycle (nor, as anywidget does
    # for a file-path bundle, in a file watcher for the life of the process)
    import gc
    import weakref

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for make in (
            lambda rt: GridExplorer(rt),
            lambda rt: GraphExplorer(rt, ids=rt.tokens.ids()[:3]),
            lambda rt: CDNAPanel(rt),
        ):
            rt = ng.Runtime()
            ids = rt.tokens.create_many(np.zeros((5, 8, 3)), labels=list("abcde"))
            rt.connections.create_many(ids[:-1], ids[1:], kind="cause")
            r = weakref.ref(rt)
            w = make(rt)
            del rt
            assert r() is not None  # an open widget keeps its runtime
            w.close()
            del w
            assert r() is None
    finally:
        if was_enabled:
            gc.enable()


def _script_payloads(page: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'<script type="application/json" id="ng-(\w+)">(.*?)</script>', page, re.S))


def test_exports_are_safe_for_any_label(tmp_path):
    # S2-7: a label holding "<!--<script>" sent the HTML parser into the "double escaped"
    # state, which swallowed the next script elements (the page rendered nothing)
    import json

    nasty = ["<!--<script>", "</script><script>alert(1)</script>", "a\u2028b\u2029c", "&amp; -->", "%%HOVER%%"]
    clean_rt, rt = ng.Runtime(), ng.Runtime()
    for r, labels in ((clean_rt, ["a", "b", "c", "d", "e"]), (rt, nasty)):
        ids = r.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (5, 8, 3)), labels=labels)
        r.connections.create_many(ids[:-1], ids[1:], kind="cause")
    for make in (GridExplorer, lambda r: GraphExplorer(r, ids=r.tokens.ids())):
        clean = make(clean_rt).to_html(tmp_path / "clean.html").read_text(encoding="utf-8")
        page = make(rt).to_html(tmp_path / "nasty.html").read_text(encoding="utf-8")
        assert page.count("<script") == clean.count("<script") == 5
        assert page.count("</script>") == clean.count("</script>") == 5
        assert "<!--" not in page and "\u2028" not in page and "\u2029" not in page
        payloads = _script_payloads(page)
        assert set(payloads) == {"state", "messages", "hover"}
        for text in payloads.values():
            assert "<" not in text and ">" not in text and "&" not in text
        hover = json.loads(payloads["hover"])
        assert sorted(v["label"] for v in hover.values()) == sorted(nasty)
        # every payload reads back as JSON, the same values the clean page carries
        assert json.loads(payloads["state"]).keys() == json.loads(_script_payloads(clean)["state"]).keys()
        json.loads(payloads["messages"])
        # the placeholders were filled once: a label holding one is left as text
        assert "%%" not in page.replace("%%HOVER%%", "")
