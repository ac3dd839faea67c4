"""Labels on screen, the kernel side: the ``labels`` messages both explorers send (PROTOCOL.md,
"Labels"), decoded as the browser decodes them; ``label_by``; viewport requests; hover cards
with the top neighbours. Placement and drawing are tested in extension/tests and tests/browser."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab.widgets import GraphExplorer, GridExplorer, explore
from neurograph_lab.widgets._base import MAX_MESSAGE
from neurograph_lab.widgets._labels import MAX_LABELS, NO_RANK, VIEW_LABELS


def decode(msg: tuple[dict[str, Any], list[Any]], n: int) -> tuple[dict[str, Any], np.ndarray, np.ndarray, list[str]]:
    """A labels message as the browser checks it: (content, point indices, ranks, texts)."""
    content, buffers = msg
    assert content["type"] == "labels" and len(buffers) == 4
    count = content["count"]
    index = np.frombuffer(bytes(buffers[0]), np.uint32)
    rank = np.frombuffer(bytes(buffers[1]), np.uint32)
    offsets = np.frombuffer(bytes(buffers[2]), np.uint32)
    data = bytes(buffers[3])
    assert len(index) == len(rank) == count and len(offsets) == count + 1
    assert offsets[0] == 0 and offsets[-1] == len(data) and np.all(np.diff(offsets.astype(np.int64)) >= 0)
    assert np.all(np.diff(rank.astype(np.int64)) >= 0)  # priority order
    assert np.all(index < n)
    texts = [data[offsets[k] : offsets[k + 1]].decode("utf-8") for k in range(count)]
    return content, index, rank, texts


def labels_of(widget: Any) -> list[tuple[dict[str, Any], list[Any]]]:
    return [m for m in widget._all_messages() if m[0]["type"] == "labels"]


class Sent(list):  # type: ignore[type-arg]
    """Stands for ``widget.send``: the messages a widget would send to the browser."""

    def __call__(self, content: dict[str, Any], buffers: Any = None) -> None:
        self.append((content, list(buffers or [])))


@pytest.fixture
def rt():
    rt = ng.Runtime()
    rng = np.random.default_rng(0)
    labels = [f"w{i}" for i in range(200)]
    labels[7] = "café ☕"
    labels[9] = None
    ids = rt.tokens.create_many(rng.uniform(-1, 1, (200, 8, 3)), labels=labels)
    rt.connections.create_many(ids[:-1], ids[1:], kind="cause", strength=0.5)  # a chain: degree 2
    hub = ids[7]
    rt.connections.create_many(np.full(12, hub), ids[20:32], kind="cause", strength=np.linspace(0.2, 0.95, 12))
    rt.connections.create_many(ids[40:45], np.full(5, ids[3]), kind="cause", strength=0.7)
    return rt


def test_grid_sends_labels_by_degree_after_the_data(rt):
    g = GridExplorer(rt)
    msgs = list(g._all_messages())
    assert msgs[-1][0]["type"] == "labels" and msgs[0][0]["type"] == "coords"
    content, index, rank, texts = decode(msgs[-1], g.n)
    assert content["scope"] == "global" and content["version"] == g.version
    assert content["count"] == 199  # every labelled token; the one without a label is left out
    ids = g._order[index]
    assert texts == [rt.tokens.get(int(t)).label for t in ids]  # the text of the point it names
    assert texts[0] == "café ☕" and texts[1] == "w3"  # degree 14 (the hub), then 7
    assert rank.tolist() == list(range(199))
    deg = rt.graph.degrees()["total"]
    assert np.all(np.diff(deg.loc[ids].to_numpy(np.int64)) <= 0)


def test_label_by_a_column_and_none(rt):
    for i, tid in enumerate(rt.tokens.ids()):
        rt.tokens.update(int(tid), weight=float((i * 37) % 200) / 200 + 0.001)
    g = GridExplorer(rt, label_by="weight")
    _, index, _, _ = decode(labels_of(g)[0], g.n)
    w = rt.tokens.to_pandas()["weight"].loc[g._order[index]].to_numpy()
    assert np.all(np.diff(w) <= 0)
    g2 = GridExplorer(rt, label_by="social_y")
    _, index, _, _ = decode(labels_of(g2)[0], g2.n)
    y = rt.tokens.coords("social")[np.searchsorted(rt.tokens.ids(), g2._order[index]), 1]
    assert np.all(np.diff(y) <= 0)
    assert labels_of(GridExplorer(rt, label_by=None)) == []
    gr = GraphExplorer(rt, label_by="weight")
    _, index, _, _ = decode(labels_of(gr)[0], gr.n_nodes)
    w = rt.tokens.to_pandas()["weight"].loc[gr._nodes[index]].to_numpy()
    assert np.all(np.diff(w) <= 0)


def test_label_by_score_follows_a_query_result(rt):
    qr = rt.grid.neighbors(int(rt.tokens.ids()[5]), k=30, space="cognitive")
    g = GridExplorer(rt, ids=qr, label_by="score")
    assert g.n == 30
    _, index, _, _ = decode(labels_of(g)[0], g.n)
    by_distance = dict(zip(qr.ids.tolist(), qr.distances.tolist()))
    d = [by_distance[int(t)] for t in g._order[index]]
    assert d == sorted(d)  # nearest first


def test_bad_label_by_is_refused_clearly(rt):
    before = rt.tokens.to_pandas()
    with pytest.raises(ng.ValidationError, match="cannot label by 'nope'.*degree.*weight"):
        GridExplorer(rt, label_by="nope")
    with pytest.raises(ng.ValidationError, match="cannot label by 'label'"):
        GraphExplorer(rt, label_by="label")  # not numeric
    with pytest.raises(ng.ValidationError, match="label_by='score' needs query scores"):
        GridExplorer(rt, label_by="score")
    with pytest.raises(ng.ValidationError, match="label_by must be a string or None, got int 3"):
        GraphExplorer(rt, label_by=3)  # type: ignore[arg-type]
    with pytest.raises(ng.ValidationError, match="cannot label by"):
        explore(rt, label_by="cognitive_w")
    g = GridExplorer(rt)
    with pytest.raises(ng.ValidationError, match="cannot label by"):
        g.label_by = "nope"
    assert g.label_by == "degree"
    assert rt.tokens.to_pandas().equals(before)


def test_setting_label_by_sends_the_new_labels(rt):
    g = GridExplorer(rt)
    g.send = sent = Sent()  # type: ignore[method-assign]
    g.label_by = "field_radius"
    assert [m[0]["scope"] for m in sent] == ["view", "global"]  # the old view set is dropped first
    assert decode(sent[0], g.n)[0]["count"] == 0 and decode(sent[1], g.n)[0]["count"] == 199
    sent.clear()
    g.label_by = None
    assert [(m[0]["scope"], m[0]["count"]) for m in sent] == [("view", 0), ("global", 0)]  # both sets dropped


def test_viewport_requests_get_the_best_labels_inside_the_box(rt):
    g = GridExplorer(rt, space="social")
    g.send = sent = Sent()  # type: ignore[method-assign]
    box = [0, 0, 128, 100]
    g._on_browser_message(
        g, {"type": "viewport", "version": 0, "request": 5, "space": 4, "axes": [0, 2], "box": box}, []
    )
    content, index, rank, _ = decode(sent[0], g.n)
    assert content["scope"] == "view" and content["request"] == 5
    q = g._q3[:, 4]
    inside = (q[:, 0] <= 128) & (q[:, 2] <= 100) & (g._labels().rank != NO_RANK)
    assert 0 < content["count"] == int(inside.sum())
    assert set(index.tolist()) == set(np.flatnonzero(inside).tolist())
    # stale versions and malformed requests are ignored (nothing sent, no error)
    for bad in (
        {"version": 9, "space": 4, "axes": [0, 1], "box": box},
        {"version": 0, "space": 8, "axes": [0, 1], "box": box},
        {"version": 0, "space": 4, "axes": [0, 3], "box": box},
        {"version": 0, "space": 4, "axes": [0, 1], "box": [0, 0, "x", 1]},
        {"version": 0, "space": 4, "axes": [0, 1], "box": [0, float("nan"), 1, 1]},
        {"version": 0, "space": 4, "axes": [0, 1]},
    ):
        g._on_browser_message(g, {"type": "viewport", **bad}, [])
    assert len(sent) == 1


def test_graph_labels_and_viewport(rt):
    gr = GraphExplorer(rt, ids=[int(rt.tokens.ids()[7])], depth=1)
    assert gr.n_nodes == 15  # the hub, its 2 chain neighbours and the 12 it points to
    _, index, _, texts = decode(labels_of(gr)[0], gr.n_nodes)
    assert texts[0] == "café ☕"  # the hub has the highest degree in the subgraph
    assert texts == [rt.tokens.get(int(t)).label for t in gr._nodes[index]]
    gr.send = sent = Sent()  # type: ignore[method-assign]
    gr._on_browser_message(gr, {"type": "viewport", "version": 0, "request": 1, "box": [-2.0, -2.0, 0.0, 2.0]}, [])
    _, index, _, _ = decode(sent[0], gr.n_nodes)
    assert len(index) == int((gr._pos[:, 0] <= 0).sum()) and np.all(gr._pos[index, 0] <= 0)


def test_hover_shows_the_top_neighbours_by_strength(rt):
    g = GridExplorer(rt)
    hub = rt.tokens.find("café ☕")[0]
    i = int(np.flatnonzero(g._order == hub)[0])
    card = g._hover(i)
    nb = card["neighbours"]
    assert len(nb) == 5
    assert [n["strength"] for n in nb] == sorted((n["strength"] for n in nb), reverse=True)
    assert nb[0] == {"id": int(rt.tokens.ids()[31]), "label": "w31", "strength": 0.95}
    gr = GraphExplorer(rt, ids=[int(rt.tokens.ids()[3])], depth=1)
    j = int(np.flatnonzero(gr._nodes == rt.tokens.ids()[3])[0])
    near = gr._hover(j)["neighbours"]
    assert [n["strength"] for n in near] == [0.7] * 5 and {n["label"] for n in near} == {f"w{k}" for k in range(40, 45)}
    g.send = sent = Sent()  # type: ignore[method-assign]
    g._on_browser_message(g, {"type": "hover", "index": i}, [])
    assert sent[0][0]["neighbours"] == nb


def test_large_sets_are_capped_and_fit_a_message():
    rt = ng.Runtime()
    n = MAX_LABELS + 5_000
    long = "x" * 300  # long labels: the message is cut to stay under 4 MiB
    rt.tokens.create_many(
        np.random.default_rng(3).uniform(-1, 1, (n, 8, 3)).astype(np.float32), labels=[f"{long}{i}" for i in range(n)]
    )
    g = GridExplorer(rt)
    msg = labels_of(g)[0]
    content, index, _, texts = decode(msg, g.n)
    assert sum(len(bytes(b)) for b in msg[1]) <= MAX_MESSAGE
    assert 10_000 < content["count"] <= MAX_LABELS and len(set(index.tolist())) == content["count"]
    assert texts[0].startswith(long)
    # without connections every degree ties: the labels sent are a sample spread over the whole
    # display order (which runs category by category), not its first MAX_LABELS points
    assert index.max() > MAX_LABELS and index.min() < n - MAX_LABELS
    g.send = sent = Sent()  # type: ignore[method-assign]
    g._on_browser_message(
        g, {"type": "viewport", "version": 0, "request": 2, "space": 4, "axes": [0, 1], "box": [0, 0, 255, 255]}, []
    )
    assert decode(sent[0], g.n)[0]["count"] == VIEW_LABELS


def test_the_standalone_export_carries_the_labels(rt, tmp_path):
    g = GridExplorer(rt)
    page = g.to_html(tmp_path / "grid.html").read_text(encoding="utf-8")
    assert '"type":"labels"' in page
    assert '"neighbours":[{"id"' in page


def test_explore_passes_label_by_to_both_explorers(rt):
    e = explore(rt, label_by="weight")
    assert e.grid.label_by == "weight" and e.graph.label_by == "weight"
    assert labels_of(e.grid) and labels_of(e.graph)
    off = explore(rt, label_by=None)
    assert labels_of(off.grid) == [] and labels_of(off.graph) == []


def test_id_lookup_dense_and_sparse():
    from neurograph_lab.widgets._labels import _lookup

    keys = np.array([5, 2, 9], np.uint32)
    vals = np.array([50.0, 20.0, 90.0])
    assert _lookup(keys, vals, np.array([9, 3, 2, 5], np.uint32), -1.0).tolist() == [90.0, -1.0, 20.0, 50.0]
    sparse = np.array([5, 2, 9_000_000], np.uint32)  # ids far apart: the binary search path
    assert _lookup(sparse, vals, np.array([9_000_000, 3, 2, 5, 10_000_000], np.uint32), np.nan)[[0, 2, 3]].tolist() == [
        90.0,
        20.0,
        50.0,
    ]
    assert np.isnan(_lookup(sparse, vals, np.array([3, 10_000_000], np.uint32), np.nan)).all()


def test_the_export_table_has_the_same_neighbours_as_hover(rt):
    from neurograph_lab.widgets._neighbours import neighbour_table, top_neighbours

    ids = rt.tokens.ids()
    table = neighbour_table(rt, ids)
    for t in ids[[0, 3, 7, 20, 100, 199]]:
        assert table.get(int(t), []) == top_neighbours(rt, int(t))
    assert len(table[int(ids[7])]) == 5 and neighbour_table(rt, ids[:0]) == {}
