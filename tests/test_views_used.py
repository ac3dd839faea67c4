"""Every view used: ``rt.bootstrap``'s default ``space="auto"`` fills the spaces with successive
principal-axis triples, the explorers open on the space holding the top 3 axes, a small
multiple whose space holds no token is flagged for the browser (``placed``), and a whole-graph
view too large to draw is sampled and says so."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

import neurograph_lab as ng
from neurograph_lab._names import SPACES as _SPACES
from neurograph_lab._semantic import AUTO_SPACES, auto_spaces
from neurograph_lab.datasets import planted_embeddings, write_vec
from neurograph_lab.errors import ValidationError
from neurograph_lab.widgets import GraphExplorer, GridExplorer, explore


@pytest.fixture(scope="module")
def planted():
    return planted_embeddings()  # 344 words of 50 dims


def test_auto_fills_every_space_the_data_allows(planted):
    words, vecs = planted
    rt = ng.Runtime()
    report = rt.bootstrap(vecs, words, k=5, progress=False)
    info = rt.bootstrap_info()
    assert info["spaces"] == [(s, 3 * j) for j, s in enumerate(AUTO_SPACES)]
    assert info["spaces"][0] == ("abstract", 0)  # the top 3 axes, where bootstraps always put words
    ev = report.explained_variance_ratio
    assert len(ev) == 24 and np.all(np.diff(ev) <= 1e-12) and ev[0] > ev[-1]
    assert report.spaces == list(AUTO_SPACES)
    text = repr(report)
    assert "abstract, cognitive, temporal" in text and "(24 axes," in text
    assert text.count("0.") < 12  # 6 ratios listed, the rest summed
    df = rt.tokens.to_pandas()
    for s in AUTO_SPACES:
        assert df[[f"{s}_x", f"{s}_y", f"{s}_z"]].notna().all().all(), s
    # each space holds its own slice of the variance: the abstract coordinates are the same as
    # a one-space bootstrap's, and the next space is not a copy of them
    one = ng.Runtime()
    one.bootstrap(vecs, words, k=5, space="abstract", progress=False)
    np.testing.assert_allclose(one.tokens.to_pandas().loc[df.index, "abstract_x"], df["abstract_x"])
    assert abs(np.corrcoef(df["abstract_x"], df["cognitive_x"])[0, 1]) < 0.5
    assert one.tokens.to_pandas()["cognitive_x"].isna().all()


@pytest.mark.parametrize(("n", "dim", "spaces"), [(300, 50, 8), (300, 7, 2), (4, 50, 1), (300, 3, 1), (300, 25, 8)])
def test_auto_space_count(n, dim, spaces):
    assert auto_spaces(n, dim) == list(AUTO_SPACES[:spaces])
    rng = np.random.default_rng(1)
    rt = ng.Runtime()
    rt.bootstrap(rng.normal(size=(n, dim)).astype("f4"), [f"w{i}" for i in range(n)], k=0, progress=False)
    assert [s for s, _ in rt.bootstrap_info()["spaces"]] == list(AUTO_SPACES[:spaces])


def test_auto_on_too_little_data_says_why():
    rt = ng.Runtime()
    with pytest.raises(ValidationError, match="3 principal axes"):
        rt.bootstrap(np.ones((10, 2), "f4"), [f"w{i}" for i in range(10)], k=0, progress=False)
    assert rt.bootstrap_info() is None and len(rt.tokens) == 0
    with pytest.raises(ValidationError, match="unknown space"):
        rt.bootstrap(np.ones((10, 6), "f4"), [f"w{i}" for i in range(10)], space="autumn", progress=False)


def test_magic_bootstraps_every_space_by_default(tmp_path):
    words, vecs = planted_embeddings(words_per_cluster=10, pairs=3, dim=20)
    write_vec(tmp_path / "e.vec", words, vecs)
    sh = InteractiveShell.instance()
    sh.user_ns.pop("ng_rt", None)
    sh.run_line_magic("load_ext", "neurograph_lab")
    try:
        sh.run_line_magic("ng_bootstrap", f"{tmp_path / 'e.vec'} -k 3")
        spaces = [s for s, _ in sh.user_ns["ng_rt"].bootstrap_info()["spaces"]]
        assert spaces == list(AUTO_SPACES[:6])  # 20 dims: 6 triples
        sh.run_line_magic("ng_bootstrap", f"{tmp_path / 'e.vec'} -k 3 --space social --replace")
        assert sh.user_ns["ng_rt"].bootstrap_info()["spaces"] == [("social", 0)]
    finally:
        sh.run_line_magic("unload_ext", "neurograph_lab")
        InteractiveShell.clear_instance()


def test_explorers_open_on_the_space_with_the_top_axes(planted):
    words, vecs = planted
    rt = ng.Runtime()
    rt.bootstrap(vecs, words, k=5, space=["social", "cognitive"], progress=False)
    assert GridExplorer(rt).space == "social"
    assert explore(rt).grid.space == "social"
    assert GridExplorer(rt, space="cognitive").space == "cognitive"  # an explicit space wins
    auto = ng.Runtime()
    auto.bootstrap(vecs, words, k=5, progress=False)
    g = GridExplorer(auto)
    assert g.space == "abstract" and all(c == len(words) for c in g.placed)


def only_in(rt, space: str, count: int, value: float = 0.1) -> np.ndarray:
    """``count`` tokens placed in ``space`` only."""
    coords = np.full((count, 8, 3), np.nan)
    coords[:, _SPACES.index(space)] = value
    return rt.tokens.create_many(coords, undefined="nan")


def test_without_bootstrap_the_fullest_space_is_shown():
    rt = ng.Runtime()
    only_in(rt, "temporal", 5)
    only_in(rt, "motor", 2, 0.2)
    g = GridExplorer(rt)
    assert g.space == "temporal"
    spaces = list(g.spaces)
    assert g.placed[spaces.index("temporal")] == 5 and g.placed[spaces.index("motor")] == 2
    assert sum(g.placed) == 7  # every other small multiple is flagged empty for the browser
    assert GridExplorer(ng.Runtime()).space == "cognitive"  # nothing placed anywhere


def test_placed_counts_follow_ids_and_refresh():
    rt = ng.Runtime()
    a = only_in(rt, "social", 3)
    b = only_in(rt, "physical", 4)
    spaces = list(GridExplorer(rt).spaces)
    g = GridExplorer(rt, ids=a)
    assert g.placed[spaces.index("social")] == 3 and g.placed[spaces.index("physical")] == 0
    g2 = GridExplorer(rt)
    rt.tokens.delete(b)
    g2.refresh()
    assert g2.placed[spaces.index("physical")] == 0 and g2.placed[spaces.index("social")] == 3


def test_a_large_whole_graph_view_is_sampled_and_says_so():
    rt = ng.Runtime()
    rng = np.random.default_rng(0)
    ids = rt.tokens.create_many(rng.uniform(-1, 1, (3000, 8, 3)))
    rt.connections.create_many(ids[:-1], ids[1:], kind="cause")
    g = GraphExplorer(rt, max_nodes=500)
    assert g.n_nodes == 500 and g.sampled_from == 3000
    assert g.n_edges > 250  # seeds with their neighbours: a sample with edges to look at
    assert "500 tokens (sampled from 3,000)" in repr(g)
    again = GraphExplorer(rt, max_nodes=500)
    np.testing.assert_array_equal(g._nodes, again._nodes)  # deterministic for the seed
    whole = GraphExplorer(rt)
    assert whole.n_nodes == 3000 and whole.sampled_from == 0 and "sampled" not in repr(whole)
    assert GraphExplorer(rt, ids=ids[:10], max_nodes=5).sampled_from == 0  # only whole-graph views
    with pytest.raises(ValidationError, match="max_nodes"):
        GraphExplorer(rt, max_nodes=0)


def test_explore_samples_a_large_graph():
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (6000, 8, 3)))
    rt.connections.create_many(ids[:-1], ids[1:], kind="cause")
    e = explore(rt)
    assert e.graph.n_nodes == 5000 and e.graph.sampled_from == 6000
