"""Graph queries against small references: direction, bidirectional links, depth limits,
weighted paths, components, subgraphs, degrees and the layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurograph_lab as ng


def chain(rt: ng.Runtime, labels: list[str]) -> list[int]:
    return [rt.tokens.create(label=w) for w in labels]


@pytest.fixture
def g():
    rt = ng.Runtime()
    a, b, c, d, e, f = chain(rt, ["a", "b", "c", "d", "e", "f"])
    rt.connections.create(a, b, kind="cause", strength=0.5)
    rt.connections.create(b, c, kind="cause", strength=0.5)
    rt.connections.create(a, c, kind="cause", strength=0.1)  # one hop but expensive
    rt.connections.create(c, d, kind="associated_with", bidirectional=True)
    return rt, (a, b, c, d, e, f)


def test_bfs_dfs_depth_and_direction(g):
    rt, (a, b, c, d, e, f) = g
    bfs = rt.graph.bfs(a)
    assert bfs.index.tolist() == [a, b, c, d]
    assert bfs["depth"].tolist() == [0, 1, 1, 2] and bfs.loc[d, "parent"] == c
    assert bfs["label"].tolist() == ["a", "b", "c", "d"]
    assert rt.graph.bfs(a, depth=1).index.tolist() == [a, b, c]
    assert rt.graph.bfs(b).index.tolist() == [b, c, d]  # no way back to a
    assert rt.graph.bfs(d).index.tolist() == [d, c]  # bidirectional link walks back
    assert rt.graph.dfs(a).index.tolist() == [a, b, c, d]
    assert rt.graph.bfs(e).index.tolist() == [e]


def test_shortest_paths_by_weight(g):
    rt, (a, b, c, d, e, f) = g
    p = rt.graph.shortest_path(a, c)  # 1/0.5 + 1/0.5 = 4 < 1/0.1 = 10
    assert p.found and p.ids.tolist() == [a, b, c] and p.cost == pytest.approx(4.0)
    assert p.labels == ["a", "b", "c"] and len(p) == 2
    assert "a -> b -> c" in repr(p)
    assert rt.graph.shortest_path(a, c, weight="hops").ids.tolist() == [a, c]
    none = rt.graph.shortest_path(c, a)
    assert not none.found and "no path" in repr(none)
    lengths = rt.graph.shortest_path_lengths(a)
    assert lengths.to_dict() == pytest.approx({a: 0.0, b: 2.0, c: 4.0, d: 6.0}, rel=1e-5)
    with pytest.raises(ng.ValidationError, match="weight must be"):
        rt.graph.shortest_path(a, c, weight="fast")
    with pytest.raises(ng.NotFoundError):
        rt.graph.shortest_path(a, 999)


def test_distance_weight_uses_space_coordinates():
    rt = ng.Runtime()
    a = rt.tokens.create(cognitive=(0, 0, 0))
    b = rt.tokens.create(cognitive=(1, 0, 0))
    c = rt.tokens.create(cognitive=(1, 1, 0))
    x = rt.tokens.create(cognitive=(3, 3, 0))
    rt.connections.create_many([a, b, a, x], [b, c, x, c])
    p = rt.graph.shortest_path(a, c, weight="distance")
    assert p.ids.tolist() == [a, b, c] and p.cost == pytest.approx(2.0)
    lonely = rt.tokens.create(physical=(0, 0, 0))
    rt.connections.create(c, lonely)
    with pytest.raises(ng.ValidationError, match="not placed in the cognitive space"):
        rt.graph.shortest_path(a, c, weight="distance")


def test_components_subgraph_degrees(g):
    rt, (a, b, c, d, e, f) = g
    rt.connections.create(f, e)
    comp = rt.graph.components()
    assert comp.nunique() == 2
    assert comp[a] == comp[d] != comp[e] == comp[f]
    sub = rt.graph.subgraph([a, b, c])
    assert sorted(zip(sub["token_a"], sub["token_b"])) == sorted([(a, b), (b, c), (a, c)])
    deg = rt.graph.degrees()
    assert deg.loc[a].tolist() == [2, 0, 2]
    # c -> d is bidirectional: an out- and an in-edge for both
    assert deg.loc[c].tolist() == [1, 3, 4] and deg.loc[d].tolist() == [1, 1, 2]
    with pytest.raises(ng.NotFoundError):
        rt.graph.subgraph([a, 999])


def test_graph_follows_changes(g):
    rt, (a, b, c, d, e, f) = g
    assert rt.graph.shortest_path(a, e).found is False
    cid = rt.connections.create(d, e)
    assert rt.graph.shortest_path(a, e).ids.tolist() == [a, b, c, d, e]
    rt.connections.delete(cid)
    assert not rt.graph.shortest_path(a, e).found
    rt.tokens.delete(b)
    assert rt.graph.shortest_path(a, c).ids.tolist() == [a, c]


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 25), st.lists(st.tuples(st.integers(0, 24), st.integers(0, 24)), max_size=60), st.integers(0, 24))
def test_bfs_depth_equals_hop_distance(n, edges, start):
    start %= n
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((n, 8, 3), np.float32))
    edges = [(u % n, v % n) for u, v in edges]
    if edges:
        arr = np.asarray(edges)
        rt.connections.create_many(ids[arr[:, 0]], ids[arr[:, 1]])
    # reference: Bellman-Ford style relaxation on hop counts
    dist = {start: 0}
    for _ in range(n):
        for u, v in edges:
            if u in dist and dist[u] + 1 < dist.get(v, n + 1):
                dist[v] = dist[u] + 1
    bfs = rt.graph.bfs(int(ids[start]))
    got = {int(i) - 1: int(dd) for i, dd in zip(bfs.index, bfs["depth"])}
    assert got == dist
    hops = rt.graph.shortest_path_lengths(int(ids[start]), weight="hops")
    assert {int(i) - 1: int(v) for i, v in hops.items()} == dist


def test_layout_separates_components(rng):
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((60, 8, 3), np.float32))
    left, right = ids[:30], ids[30:]
    for part in (left, right):
        a = rng.choice(part, 150)
        b = rng.choice(part, 150)
        rt.connections.create_many(a, b)
    pos = rt.graph.layout(iterations=200, seed=1)
    assert pos.shape == (60, 2) and pos.dtype == np.float32
    assert np.all(np.abs(pos) <= 1.0 + 1e-6)
    np.testing.assert_array_equal(pos, rt.graph.layout(iterations=200, seed=1))
    spread = max(pos[:30].std(axis=0).mean(), pos[30:].std(axis=0).mean())
    gap = np.linalg.norm(pos[:30].mean(axis=0) - pos[30:].mean(axis=0))
    assert gap > spread
    sub = rt.graph.layout(ids[:10], iterations=10)
    assert sub.shape == (10, 2)
    with pytest.raises(ng.ValidationError, match="more than once"):
        rt.graph.layout([int(ids[0]), int(ids[0])])
    with pytest.raises(ng.ValidationError):
        rt.graph.layout(iterations=-1)


def test_bad_graph_input(g):
    rt, (a, *_rest) = g
    with pytest.raises(ng.NotFoundError, match="no token with id 999"):
        rt.graph.bfs(999)
    with pytest.raises(ng.ValidationError, match="depth must be"):
        rt.graph.bfs(a, depth=-1)
    with pytest.raises(ng.ValidationError, match="integer"):
        rt.graph.bfs("a")
    assert isinstance(rt.graph.degrees(), pd.DataFrame)


def test_ctrl_c_stops_the_layout(rng, interrupt_at):
    # S2-4: the layout checks for Ctrl-C between iterations
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((200, 8, 3), np.float32))
    rt.connections.create_many(rng.choice(ids, 400), rng.choice(ids, 400))
    before = rt._core.data_version()
    fired = interrupt_at(3)
    with pytest.raises(KeyboardInterrupt):
        rt.graph.layout(iterations=10_000)
    assert fired == [3] and rt._core.data_version() == before
    assert rt.graph.layout(iterations=5).shape == (200, 2)


def test_one_neighbourhood_rule_for_graph_explore_and_the_graph_explorer():
    # M4: rt.graph.neighbourhood, %%ng_explore's expand and GraphExplorer's growth all ask
    # the core's one neighbourhood function (they used to be three scans with three rules)
    from neurograph_lab._explore_lang import ExploreResult, run_explore

    rt = ng.Runtime()
    t = [int(i) for i in rt.tokens.create_many(np.zeros((8, 8, 3), np.float32), labels=[f"n{i}" for i in range(8)])]
    rt.connections.create(t[0], t[1])
    rt.connections.create(t[1], t[2], kind="cause")
    rt.connections.create(t[3], t[0])
    rt.connections.create(t[4], t[0], bidirectional=True)
    rt.connections.create(t[2], t[5], kind="before")
    hood = rt.graph.neighbourhood([t[0]], depth=2)
    assert list(zip(hood.index, hood["depth"])) == [(t[0], 0), (t[1], 1), (t[4], 1), (t[2], 2)]
    assert hood["label"].tolist() == ["n0", "n1", "n4", "n2"]
    # %%ng_explore expand: out-edges and bidirectional ones back, seeds first
    ns = {"seed": ExploreResult(rt, np.asarray([t[0]], np.uint32), [])}
    got = run_explore(rt, "path n0 -> n1\nintersect seed\nexpand depth=2", ns)
    assert got.ids.tolist() == hood.index.tolist()
    causal = run_explore(rt, "path n0 -> n1\nintersect seed\nexpand depth=3 kinds=associative,causal", ns)
    assert causal.ids.tolist() == rt.graph.neighbourhood([t[0]], 3, kinds=["associative", "causal"]).index.tolist()
    assert t[5] not in causal.ids.tolist()
    # GraphExplorer: both directions
    both = rt.graph.neighbourhood([t[0]], depth=1, direction="both")
    g = ng.GraphExplorer(rt, ids=[t[0]], depth=1)
    try:
        assert g._nodes.tolist() == sorted(both.index.tolist()) == sorted([t[0], t[1], t[3], t[4]])
        g.expand([t[1]])
        grown = set(both.index) | set(rt.graph.neighbourhood([t[1]], depth=1, direction="both").index)
        assert set(g._nodes.tolist()) == grown
    finally:
        g.close()
    with pytest.raises(ng.NotFoundError):
        rt.graph.neighbourhood([999])
    with pytest.raises(ng.ValidationError, match="nope"):
        rt.graph.neighbourhood([t[0]], kinds=["nope"])
