"""Communities (``rt.graph.communities``): modularity against networkx on small graphs, the
planted clusters of a bootstrap recovered (NMI), determinism, bad input, the ``community``
column, plots and the ``%%ng_explore`` step."""

from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab import datasets
from neurograph_lab._explore_lang import ExploreError, run_explore
from neurograph_lab.errors import ValidationError


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised mutual information of two labelings (arithmetic-mean normalisation)."""
    _, ai = np.unique(np.asarray(a), return_inverse=True)
    _, bi = np.unique(np.asarray(b), return_inverse=True)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1.0)
    p = joint / len(ai)
    pa, pb = p.sum(axis=1), p.sum(axis=0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum())
    ha = float(-(pa * np.log(pa)).sum())
    hb = float(-(pb * np.log(pb)).sum())
    return 1.0 if ha + hb == 0 else mi / ((ha + hb) / 2)


def test_own_nmi_is_right_on_known_cases() -> None:
    x = np.array([0, 0, 1, 1, 2, 2])
    assert nmi(x, x) == pytest.approx(1.0)
    assert nmi(x, np.array([5, 5, 3, 3, 9, 9])) == pytest.approx(1.0)
    assert nmi(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == pytest.approx(0.0)
    # one of six in the wrong group: H(x) = ln 3, H(y) = H(1/3, 1/2, 1/6), H(x, y) =
    # H(1/3, 1/3, 1/6, 1/6); NMI = (H(x) + H(y) - H(x, y)) / ((H(x) + H(y)) / 2)
    hx, hy = np.log(3), -(np.log(1 / 3) / 3 + np.log(1 / 2) / 2 + np.log(1 / 6) / 6)
    hxy = -(2 * np.log(1 / 3) / 3 + 2 * np.log(1 / 6) / 6)
    want = (hx + hy - hxy) / ((hx + hy) / 2)
    assert nmi(x, np.array([0, 0, 1, 1, 2, 1])) == pytest.approx(want, abs=1e-12)
    assert 0.73 < want < 0.75


def runtime_of(g: nx.Graph, weight: str | None = None) -> tuple[ng.Runtime, dict[int, int]]:
    """A runtime with one token per node and one connection per edge (strength = the edge's
    ``weight`` attribute if given)."""
    rt = ng.Runtime()
    nodes = list(g.nodes)
    ids = rt.tokens.create_many(np.zeros((len(nodes), 8, 3)), labels=[str(v) for v in nodes])
    tok = {v: int(i) for v, i in zip(nodes, ids)}
    a = np.array([tok[u] for u, _ in g.edges], dtype=np.uint32)
    b = np.array([tok[v] for _, v in g.edges], dtype=np.uint32)
    kw = {}
    if weight is not None:
        kw["strength"] = np.array([g.edges[e][weight] for e in g.edges], dtype=np.float32)
    rt.connections.create_many(a, b, **kw)
    return rt, tok


def as_sets(membership, tok: dict[int, int]) -> list[set[int]]:
    node = {i: v for v, i in tok.items()}
    groups: dict[int, set[int]] = {}
    for i, c in membership.items():
        groups.setdefault(int(c), set()).add(node[int(i)])
    return list(groups.values())


def nx_best(g: nx.Graph, weight: str | None = None, seeds: int = 5) -> float:
    return max(
        nx.community.modularity(g, nx.community.louvain_communities(g, weight=weight, seed=s), weight=weight)
        for s in range(seeds)
    )


GRAPHS = {
    "karate": lambda: nx.karate_club_graph(),
    "planted": lambda: nx.planted_partition_graph(8, 25, 0.4, 0.02, seed=3),
    "les_miserables": lambda: nx.convert_node_labels_to_integers(nx.les_miserables_graph()),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("method", ["leiden", "louvain"])
def test_modularity_matches_networkx_unweighted(name: str, method: str) -> None:
    g = nx.Graph(GRAPHS[name]())  # drop attributes' meaning: every edge weighs 1
    rt, tok = runtime_of(g)
    c = rt.graph.communities(method, weight=None, seed=1)
    # our modularity is networkx's definition of our partition
    ours = nx.community.modularity(g, as_sets(c.membership, tok), weight=None)
    assert c.modularity == pytest.approx(ours, abs=1e-9)
    assert c.modularity >= nx_best(g) - 0.02, (c.modularity, nx_best(g))


@pytest.mark.parametrize("method", ["leiden", "louvain"])
def test_modularity_matches_networkx_weighted_and_with_resolution(method: str) -> None:
    g = nx.Graph(nx.les_miserables_graph())
    g = nx.convert_node_labels_to_integers(g)
    top = max(w for _, _, w in g.edges(data="weight"))
    for u, v in g.edges:
        g.edges[u, v]["s"] = g.edges[u, v]["weight"] / top  # strengths in (0, 1]
    rt, tok = runtime_of(g, weight="s")
    for gamma in (1.0, 0.5, 2.0):
        c = rt.graph.communities(method, resolution=gamma, seed=0)
        parts = as_sets(c.membership, tok)
        ref = nx.community.modularity(g, parts, weight="s", resolution=gamma)
        assert c.modularity == pytest.approx(ref, abs=1e-5)  # strengths are float32
        best = max(
            nx.community.modularity(
                g,
                nx.community.louvain_communities(g, weight="s", resolution=gamma, seed=s),
                weight="s",
                resolution=gamma,
            )
            for s in range(5)
        )
        assert c.modularity >= best - 0.02, (gamma, c.modularity, best)


def test_directed_and_parallel_connections_add_up_as_one_undirected_edge() -> None:
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((4, 8, 3)))
    # 0->1 and 1->0 weigh 2 together: {0,1} and {2,3} against one 1-2 link
    rt.connections.create_many(ids[[0, 1, 2, 1]], ids[[1, 0, 3, 2]])
    c = rt.graph.communities(weight=None)
    assert c.membership.tolist() == [0, 0, 1, 1]
    g = nx.MultiGraph([(0, 1), (1, 0), (2, 3), (1, 2)])
    assert c.modularity == pytest.approx(nx.community.modularity(g, [{0, 1}, {2, 3}]))


def planted_runtime(k: int) -> tuple[ng.Runtime, list[str]]:
    words, vecs = datasets.planted_embeddings()
    rt = ng.Runtime()
    rt.bootstrap(vecs, words=words, k=k, space="abstract")
    return rt, words


@pytest.mark.parametrize("k", [5, 10])
@pytest.mark.parametrize("method", ["leiden", "louvain"])
def test_planted_clusters_are_recovered(k: int, method: str) -> None:
    rt, words = planted_runtime(k)
    c = rt.graph.communities(method, seed=0)
    df = rt.tokens.to_pandas()[["label", "community"]]
    truth = df["label"].astype(str).str.replace(r"\d+$", "", regex=True)
    keep = truth.isin(datasets.CLUSTERS).to_numpy()  # country/capital pairs left out
    assert keep.sum() == 8 * 40
    score = nmi(truth.to_numpy()[keep], df["community"].to_numpy()[keep])
    print(f"NMI {method} k={k}: {score:.4f} ({c.count} communities, Q={c.modularity:.4f})")
    assert score >= 0.9
    assert c.count >= 8


def test_a_seed_gives_the_same_communities() -> None:
    g = nx.planted_partition_graph(10, 30, 0.3, 0.03, seed=1)
    rt, _ = runtime_of(g)
    for method in ("leiden", "louvain"):
        a = rt.graph.communities(method, seed=7)
        b = rt.graph.communities(method, seed=7)
        assert a.membership.equals(b.membership)
        assert a.modularity == b.modularity
    # numbering: 0 is the largest, ties by smallest token id
    sizes = a.sizes()
    assert sizes.is_monotonic_decreasing and sizes.sum() == len(rt.tokens)
    firsts = [a.members(i)[0] for i in range(a.count)]
    for i in range(a.count - 1):
        if sizes[i] == sizes[i + 1]:
            assert firsts[i] < firsts[i + 1]


def test_isolated_tokens_empty_runtime_and_the_value() -> None:
    rt = ng.Runtime()
    assert rt.graph.last_communities is None
    c = rt.graph.communities()
    assert (c.count, len(c.membership), c.modularity) == (0, 0, 0.0)
    ids = rt.tokens.create_many(np.zeros((5, 8, 3)))
    rt.connections.create_many(ids[[1, 2]], ids[[2, 3]])
    c = rt.graph.communities(method="louvain", resolution=0.5, seed=3)
    assert c.membership.index.tolist() == sorted(int(i) for i in ids)
    assert c.membership.dtype == np.int32 and c.membership.index.dtype == np.uint32
    assert c.membership.tolist() == [1, 0, 0, 0, 2]
    assert (c.count, c.method, c.resolution, c.seed, c.weighted) == (3, "louvain", 0.5, 3, True)
    assert c.sizes().tolist() == [3, 1, 1] and len(c) == 3
    assert "3 communities" in c._repr_html_() and "louvain" in repr(c)
    last = rt.graph.last_communities
    assert last is not None and last.membership.equals(c.membership) and last.method == "louvain"
    with pytest.raises(ValidationError, match="community must be"):
        c.members(3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "spectral"}, "method"),
        ({"method": 3}, "method"),
        ({"resolution": 0}, "resolution"),
        ({"resolution": -1.0}, "resolution"),
        ({"resolution": float("nan")}, "resolution"),
        ({"resolution": float("inf")}, "resolution"),
        ({"resolution": "high"}, "resolution"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"weight": "hops"}, "weight"),
    ],
)
def test_bad_input_names_the_argument_and_changes_nothing(kwargs: dict, match: str) -> None:
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((4, 8, 3)))
    rt.connections.create_many(ids[[0, 2]], ids[[1, 3]])
    before = rt.graph.communities(method="louvain", seed=2)
    with pytest.raises(ValidationError, match=match):
        rt.graph.communities(**kwargs)
    after = rt.graph.last_communities
    assert after is not None and after.method == "louvain" and after.membership.equals(before.membership)


def test_the_core_binding_refuses_bad_input() -> None:
    rt = ng.Runtime()
    core = rt._core
    with pytest.raises(ValidationError, match="method"):
        core.graph_communities("bogus")
    for r in (0.0, -2.0, float("nan"), float("inf")):
        with pytest.raises(ValidationError, match="resolution"):
            core.graph_communities("leiden", r)
    with pytest.raises(ValidationError, match="seed"):
        core.graph_communities("leiden", 1.0, -5)
    assert core.graph_last_communities() is None
    ids, comm, q = core.graph_communities("leiden", 1.0, 0)
    assert ids.dtype == np.uint32 and comm.dtype == np.int32 and q == 0.0
    assert core.community_of(np.array([1, 2], dtype=np.uint32)).tolist() == [-1, -1]


def test_the_community_column_of_to_pandas_and_to_arrow() -> None:
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((6, 8, 3)), labels=list("abcdef"))
    rt.connections.create_many(ids[[0, 1, 2, 3, 4, 5, 2]], ids[[1, 2, 0, 4, 5, 3, 3]])
    assert "community" not in rt.tokens.to_pandas().columns
    rt.graph.communities()
    late = rt.tokens.create(label="late")
    df = rt.tokens.to_pandas()
    assert df["community"].dtype == np.int32
    assert df["community"].tolist() == [0, 0, 0, 1, 1, 1, -1]
    assert df.loc[late, "community"] == -1
    t = rt.tokens.to_arrow()
    assert t.column("community").to_pylist() == [0, 0, 0, 1, 1, 1, -1]
    assert rt._core.community_of(np.array([ids[4], late, 999_999], dtype=np.uint32)).tolist() == [1, -1, -1]
    rt.tokens.clear()
    assert rt.graph.last_communities is None
    rt.tokens.create(label="x")
    assert "community" not in rt.tokens.to_pandas().columns


def test_communities_are_not_saved_in_snapshots(tmp_path) -> None:
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((3, 8, 3)))
    rt.connections.create_many(ids[[0]], ids[[1]])
    rt.graph.communities()
    rt.save(tmp_path / "rt.ngs")
    back = ng.Runtime.load(tmp_path / "rt.ngs")
    assert back.graph.last_communities is None
    assert "community" not in back.tokens.to_pandas().columns


def test_plots_colour_by_community() -> None:
    pytest.importorskip("plotly")
    from neurograph_lab import plots

    rt, _ = planted_runtime(5)
    fig = plots.space_scatter(rt, "abstract", color="community")  # computes leiden first
    assert rt.graph.last_communities is not None
    names = [t.name for t in fig.data]
    assert "community 0" in names and len(names) >= 8
    sub = rt.graph.neighbourhood(rt.tokens.find("fruit0"), depth=1).index.to_numpy()
    fig = plots.graph_figure(rt, sub, iterations=5, color="community")
    assert fig.data[0].name == "connections"
    # fruit0's neighbourhood is (almost) all one community
    assert max(len(t.x) for t in fig.data[1:]) >= len(sub) - 1
    with pytest.raises(ValidationError, match="color"):
        plots.graph_figure(rt, sub, color="weight")


def test_explore_communities_step() -> None:
    rt, _ = planted_runtime(5)
    ns: dict = {}
    r = run_explore(rt, "near fruit0 k=5\ncommunities leiden resolution 1.0\nshow plot", ns, space="abstract")
    assert r.color == "community" and r.view == "plot"
    assert r.steps == ["near", "communities", "show"]
    df = r.to_pandas()
    assert "community" in df.columns and df["community"].nunique() == 1
    fig = r.figure()
    assert [t.name for t in fig.data] == [f"community {df['community'].iloc[0]}"]
    r = run_explore(
        rt, "communities louvain resolution=2 seed=4\nnear tool1 k=3 in abstract\nfilter community >= 0", ns
    )
    last = rt.graph.last_communities
    assert last is not None and (last.method, last.resolution, last.seed) == ("louvain", 2.0, 4)
    assert len(r) == 3 and r.color == "community"
    # without the step, nothing is coloured by community
    assert run_explore(rt, "near tool1 k=3 in abstract\nshow plot", ns).color is None
    for script, where in [
        ("communities spectral", "unknown method"),
        ("communities resolution=0", "bad value for resolution"),
        ("communities leiden k=3", "unknown option"),
    ]:
        with pytest.raises(ExploreError, match=re.escape(where)):
            run_explore(rt, script, ns)


def ring_runtime(n: int) -> ng.Runtime:
    """``n`` tokens, each joined to the next 3 (a ring lattice)."""
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((n, 8, 3), np.float32))
    a = np.repeat(np.arange(n), 3)
    b = (a + np.tile([1, 2, 3], n)) % n
    rt.connections.create_many(ids[a], ids[b])
    return rt


def test_ctrl_c_stops_the_detection_and_keeps_the_last_result(interrupt_at) -> None:
    rt = ring_runtime(40_000)  # more node visits than one progress step (16,384)
    before = rt.graph.communities("louvain", resolution=4.0)
    fired = interrupt_at(1)
    with pytest.raises(KeyboardInterrupt):
        rt.graph.communities("leiden", seed=5)
    assert fired == [1]
    last = rt.graph.last_communities
    assert last is not None and last.method == "louvain" and last.membership.equals(before.membership)


def test_ctrl_c_at_the_commit_point_returns_the_result(interrupt_at) -> None:
    rt = ring_runtime(1_000)
    fired = interrupt_at("commit")
    c = rt.graph.communities("leiden", seed=5)
    assert fired == ["commit"]
    last = rt.graph.last_communities
    assert last is not None and last.membership.equals(c.membership) and c.count > 1
