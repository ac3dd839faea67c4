"""Search and focus in the explorers (Python side): the label index behind the search box,
``focus()`` on both explorers and ``Explore``, completion and focus messages from the browser,
``show grid|graph`` and query results opening focused, colouring by community. The browser
side is tested in extension/tests/search.test.ts and tests/browser/test_meaning.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab.datasets import planted_embeddings
from neurograph_lab.errors import ValidationError
from neurograph_lab.widgets import GraphExplorer, GridExplorer, explore
from neurograph_lab.widgets._focus import LabelIndex


@pytest.fixture(scope="module")
def planted():
    words, vectors = planted_embeddings()
    rt = ng.Runtime()
    rt.bootstrap(vectors, words=words, k=5, progress=False)
    return rt


def sent_by(widget: Any) -> list[dict[str, Any]]:
    """Record what ``widget`` sends to the browser from now on."""
    out: list[dict[str, Any]] = []
    widget.send = lambda content, buffers=None: out.append(content)
    return out


def label_of(rt, tid) -> str:
    return rt._core.labels_of(np.asarray([tid], np.uint32))[0]


# -- the label index --


def test_label_index_completes_prefixes_case_insensitively():
    labels = ["banana", "Apple", None, "apricot", "app", "APPLE pie", "b\u00e9cher", ""]
    idx = LabelIndex(np.arange(len(labels), dtype=np.uint32), labels)
    assert len(idx) == 6  # no label, empty label: left out
    got = idx.complete("ap")
    assert [g["label"] for g in got] == ["app", "Apple", "APPLE pie", "apricot"]
    assert {g["label"]: g["id"] for g in got}["apricot"] == 3
    assert [g["label"] for g in idx.complete("APP", limit=2)] == ["app", "Apple"]
    assert [g["label"] for g in idx.complete("b\u00c9")] == ["b\u00e9cher"]
    assert idx.complete("zz") == [] and idx.complete("") == []
    assert idx.exact("apple").tolist() == [1]  # only matches ignoring case
    assert idx.exact("Apple").tolist() == [1] and idx.exact("nope").size == 0
    assert "Apple" in idx.close("Aple")


def test_long_prefixes_are_checked_on_the_whole_label():
    a, b = "x" * 40 + "alpha", "x" * 40 + "beta"
    idx = LabelIndex(np.array([5, 6], np.uint32), [a, b])
    assert [g["id"] for g in idx.complete("X" * 40 + "b")] == [6]
    assert idx.exact(b).tolist() == [6]


# -- focus on the grid --


def test_grid_focus_highlights_the_planted_neighbours(planted):
    g = GridExplorer(planted)
    try:
        g.focus("fruit3")
        f = g.focused
        tid = int(planted.tokens.find("fruit3")[0])
        assert f["label"] == "fruit3" and f["ids"] == [tid]
        assert int(g._order[f["indices"][0]]) == f["ids"][0]  # display index of the token
        assert g._order[f["near"]].tolist() == f["near_ids"]
        near = [label_of(planted, t) for t in f["near_ids"]]
        assert len(near) >= 5 and sum(w.startswith("fruit") for w in near) >= 5
        # its graph neighbours (the bootstrap's 5 nearest) are all highlighted
        hood = planted.graph.neighbourhood(f["ids"], depth=1, direction="both").index[1:]
        assert set(hood.tolist()) <= set(f["near_ids"])
        assert g.highlighted[0] == f["ids"][0] and f["version"] == g.version
        first = f["seq"]
        g.focus(f["ids"][0], k=0)  # by id; k=0: graph neighbours only
        assert g.focused["seq"] == first + 1 and set(g.focused["near_ids"]) == set(hood.tolist())
        g.focus(None)
        assert g.focused == {} and g.highlighted.size == 0
    finally:
        g.close()


def test_grid_focus_on_several_tokens_and_a_query_result(planted):
    g = GridExplorer(planted)
    try:
        res = planted.query("tool1", k=4)
        g.focus(res)
        assert g.focused["ids"] == [int(i) for i in res.ids]
        assert len(g.focused["indices"]) == 4
        g.focus(res.ids[:2].tolist())
        assert g.focused["ids"] == [int(i) for i in res.ids[:2]]
    finally:
        g.close()


def test_focus_follows_the_main_space():
    words, vectors = planted_embeddings(words_per_cluster=40, pairs=0)
    rt = ng.Runtime()
    rt.bootstrap(vectors, words=words, space=["abstract", "social"], k=5, progress=False)
    g = GridExplorer(rt, space="abstract", focus="sport9")
    try:
        seq, tid = g.focused["seq"], g.focused["ids"][0]
        hood = set(rt.graph.neighbourhood(tid, depth=1, direction="both").index[1:].tolist())

        def expected(space: str) -> set[int]:  # graph neighbours and the 10 nearest in the space
            return hood | set(rt.grid.neighbors(tid, k=10, space=space).ids.tolist())

        assert set(g.focused["near_ids"]) == expected("abstract")
        assert expected("social") != expected("abstract")
        g.space = "social"
        assert g.focused["seq"] == seq and set(g.focused["near_ids"]) == expected("social")
    finally:
        g.close()


def test_focus_survives_a_refresh_without_panning_again(planted):
    g = GridExplorer(planted, focus="capital2")
    try:
        seq, tid = g.focused["seq"], g.focused["ids"][0]
        g.color = "weight"  # reorders the tokens: a refresh
        f = g.focused
        assert f["seq"] == seq and f["version"] == g.version == 1
        assert int(g._order[f["indices"][0]]) == tid
    finally:
        g.close()


def test_bad_focus_is_refused_with_close_spellings_and_nothing_changes(planted):
    g = GridExplorer(planted, focus="fruit1")
    before = dict(g.focused)
    n = len(planted.tokens)
    try:
        with pytest.raises(ValidationError, match=r"no token is labelled 'frut3'.*did you mean: .*fruit3"):
            g.focus("frut3")
        with pytest.raises(ValidationError, match="not a token id"):
            g.focus(4_000_000_000)
        with pytest.raises(ValidationError, match="empty string"):
            g.focus("")
        with pytest.raises(ValidationError, match="k must be"):
            g.focus("fruit1", k=-1)
        with pytest.raises(ValidationError, match="integers"):
            g.focus([1.5])
        with pytest.raises(ValidationError, match="at least one"):
            g.focus([])
        assert g.focused == before and len(planted.tokens) == n
        sub = GridExplorer(planted, ids=planted.tokens.ids()[:10])
        other = int(planted.tokens.ids()[20])
        with pytest.raises(ValidationError, match="not shown"):
            sub.focus(other)
        sub.close()
    finally:
        g.close()


# -- messages from the browser --


def test_completion_requests_are_answered_and_validated(planted):
    g = GridExplorer(planted)
    try:
        out = sent_by(g)
        g._on_browser_message(g, {"type": "complete", "prefix": "FRUIT1", "seq": 4}, [])
        (m,) = out
        assert m["type"] == "completions" and m["seq"] == 4 and m["prefix"] == "FRUIT1"
        labels = [it["label"] for it in m["items"]]
        assert len(labels) == 10 and labels[0] == "fruit1" and all(w.startswith("fruit1") for w in labels)
        assert all(label_of(planted, it["id"]) == it["label"] for it in m["items"])
        g._on_browser_message(g, {"type": "complete", "prefix": "cap", "seq": 5, "limit": 3}, [])
        assert [it["label"] for it in out[-1]["items"]] == ["capital0", "capital1", "capital10"]
        g._on_browser_message(g, {"type": "complete", "prefix": "x" * 10_000, "seq": 6, "limit": 10**9}, [])
        assert out[-1]["items"] == [] and len(out[-1]["prefix"]) == 200
        for bad in (
            {"type": "complete", "prefix": 3, "seq": 1},
            {"type": "complete", "prefix": "a"},
            {"type": "complete"},
        ):
            g._on_browser_message(g, bad, [])
        assert len(out) == 3  # malformed requests are ignored
        # the browser's choice focuses; a bad id is ignored; None clears
        tid = m["items"][0]["id"]
        g._on_browser_message(g, {"type": "focus", "id": tid}, [])
        assert g.focused["ids"] == [tid]
        g._on_browser_message(g, {"type": "focus", "id": "fruit2"}, [])
        g._on_browser_message(g, {"type": "focus", "id": -3}, [])
        assert g.focused["ids"] == [tid]
        g._on_browser_message(g, {"type": "focus", "id": None}, [])
        assert g.focused == {}
    finally:
        g.close()


# -- the graph explorer and Explore --


def test_graph_focus_outside_the_subgraph_grows_it(planted):
    gr = GraphExplorer(planted, ids=planted.tokens.find("animal0"), depth=1)
    try:
        n0 = gr.n_nodes
        target = int(planted.tokens.find("vehicle7")[0])
        assert target not in gr._nodes.tolist()
        gr.focus("vehicle7")
        assert target in gr._nodes.tolist() and gr.n_nodes > n0 and gr.version == 1
        f = gr.focused
        assert f["ids"] == [target] and int(gr._nodes[f["indices"][0]]) == target
        assert gr._nodes[f["near"]].tolist() == f["near_ids"]
        near = [label_of(planted, t) for t in f["near_ids"]]
        assert len(near) >= 5 and all(w.startswith("vehicle") for w in near)
        # completion covers every token, not only the subgraph
        out = sent_by(gr)
        gr._on_browser_message(gr, {"type": "complete", "prefix": "country1", "seq": 1}, [])
        assert out[-1]["items"][0]["label"] == "country1"
    finally:
        gr.close()


def test_explorers_of_a_query_open_focused_on_its_results(planted):
    res = planted.query("fruit5", k=5)
    want = sorted(int(i) for i in res.ids)
    gr = GraphExplorer(planted, query="fruit5", k=5)
    g = GridExplorer(planted, ids=res)
    gr2 = GraphExplorer(planted, ids=res)
    try:
        assert sorted(gr.focused["ids"]) == want
        assert g.n == 5 and sorted(g.focused["ids"]) == want
        assert sorted(gr2.focused["ids"]) == want and gr2.n_nodes > 5  # with their neighbours
    finally:
        gr.close()
        g.close()
        gr2.close()


def test_explore_focuses_both_explorers(planted):
    e = explore(planted, focus="animal4")
    try:
        tid = int(planted.tokens.find("animal4")[0])
        assert e.grid.focused["ids"] == [tid] and e.graph.focused["ids"] == [tid]
        with pytest.raises(ValidationError, match="did you mean"):
            e.focus("animl4")
        assert e.grid.focused["ids"] == [tid]
        e.focus(None)
        assert e.grid.focused == {} and e.graph.focused == {}
    finally:
        e.grid.close()
        e.graph.close()


def test_show_grid_and_graph_open_focused(planted):
    from neurograph_lab._explore_lang import run_explore

    res = run_explore(planted, "near fruit0 k=5 in abstract\nshow grid", {})
    g = res.explorer()
    try:
        assert g.n == len(planted.tokens)  # every token, the result focused
        assert sorted(g.focused["ids"]) == sorted(int(i) for i in res.ids)
    finally:
        g.close()
    res = run_explore(planted, "near fruit0 k=5 in abstract\nshow graph", {})
    gr = res.explorer()
    try:
        assert sorted(gr.focused["ids"]) == sorted(int(i) for i in res.ids) and gr.color == "entity"
    finally:
        gr.close()
    # after a communities step both colour by community
    for view in ("grid", "graph"):
        w = run_explore(planted, f"near fruit0 k=5 in abstract\ncommunities\nshow {view}", {}).explorer()
        try:
            assert w.color == "community"
        finally:
            w.close()


# -- colour by community --


def test_grid_and_graph_colour_by_community(planted):
    planted.graph.communities()  # the default (leiden, seed 0); explorers reuse it
    comm = planted.graph.last_communities
    g = GridExplorer(planted, color="community")
    gr = GraphExplorer(planted, color="community")
    try:
        items = g.legend["items"]
        assert g.legend["kind"] == "category" and sum(i["count"] for i in items) == len(planted.tokens)
        sizes = comm.membership.value_counts()
        top = items[0]
        number = int(top["name"].split()[1])
        assert top["name"] == f"community {number}" and top["count"] == int(sizes[number]) and top["color"] == 0
        # each legend run holds the tokens of its community
        run = g._order[top["start"] : top["start"] + top["count"]]
        assert set(comm.membership.loc[run].tolist()) == {number}
        assert len({i["color"] for i in items}) >= 8  # 8 planted clusters at least
        names = [i["name"] for i in gr.legend]
        assert f"nodes: community {number} ({int(sizes[number])})" in names
        assert [n for n in names if n.startswith("edges:")] == ["edges: associative"]  # the groups drawn
        # a subset names each community's whole size
        sub = GridExplorer(planted, color="community", ids=run[:5])
        assert sub.legend["items"][0]["name"] == f"community {number} of {int(sizes[number])}"
        sub.close()
        assert len(set(gr._node_color.tolist())) >= 8
        with pytest.raises(ValidationError, match="color must be"):
            GraphExplorer(planted, color="nope")
    finally:
        g.close()
        gr.close()


def test_community_colour_computes_communities_when_there_are_none():
    words, vectors = planted_embeddings(words_per_cluster=10, pairs=0)
    rt = ng.Runtime()
    rt.bootstrap(vectors, words=words, k=5, progress=False)
    assert rt.graph.last_communities is None
    e = explore(rt)  # connections: colours by community by default
    try:
        assert e.grid.color == "community" and e.graph.color == "community"
        assert rt.graph.last_communities is not None
    finally:
        e.grid.close()
        e.graph.close()
    empty = ng.Runtime()
    empty.tokens.create_many(np.zeros((3, 8, 3)))
    e = explore(empty)
    try:
        assert e.grid.color == "entity"
    finally:
        e.grid.close()
        e.graph.close()
