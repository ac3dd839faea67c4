"""Spatial queries against brute force: random and clustered data, duplicates, cell borders,
empty spaces, k beyond the token count, radius 0, interleaved updates and deletes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurograph_lab as ng

SPACE = "cognitive"
S = ng.SPACES.index(SPACE)


def brute_knn(rt: ng.Runtime, q: np.ndarray, k: int, exclude: int | None = None) -> tuple[list[int], np.ndarray]:
    ids = rt.tokens.ids()
    pts = rt.tokens.coords(SPACE)
    keep = ~np.isnan(pts[:, 0])
    if exclude is not None:
        keep &= ids != exclude
    ids, pts = ids[keep], pts[keep]
    d2 = ((pts - q.astype(np.float32)) ** 2).sum(axis=1, dtype=np.float32)
    order = np.lexsort((ids, d2))[:k]
    return ids[order].tolist(), np.sqrt(d2[order])


def grid_points(draw_values: list[int]) -> np.ndarray:
    return np.asarray(draw_values, dtype=np.float32).reshape(-1, 3) * 0.25


coords_strategy = st.lists(st.integers(-4, 4), min_size=0, max_size=240).map(lambda v: v[: len(v) - len(v) % 3])


def runtime_with(points: np.ndarray) -> ng.Runtime:
    rt = ng.Runtime()
    coords = np.zeros((len(points), 8, 3), np.float32)
    coords[:, S] = points
    if len(points):
        rt.tokens.create_many(coords)
    return rt


@settings(max_examples=60, deadline=None)
@given(coords_strategy, st.tuples(*[st.integers(-6, 6)] * 3), st.integers(0, 30))
def test_knn_matches_brute_force_with_ties_and_duplicates(values, q, k):
    rt = runtime_with(grid_points(values))
    qp = np.asarray(q, np.float32) * 0.25
    res = rt.grid.neighbors(tuple(qp.tolist()), k=k, space=SPACE)
    want_ids, want_d = brute_knn(rt, qp, k)
    assert res.ids.tolist() == want_ids
    np.testing.assert_allclose(res.distances, want_d, rtol=1e-6, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(coords_strategy, st.tuples(*[st.integers(-6, 6)] * 3), st.integers(0, 8))
def test_range_matches_brute_force_including_radius_zero(values, q, r4):
    rt = runtime_with(grid_points(values))
    qp = np.asarray(q, np.float32) * 0.25
    r = r4 * 0.25
    res = rt.grid.range(tuple(qp.tolist()), r, space=SPACE)
    ids, d = brute_knn(rt, qp, len(rt.tokens))
    assert res.ids.tolist() == [i for i, dd in zip(ids, d) if dd <= r]


def test_token_query_excludes_itself_and_k_beyond_count(rng):
    rt = runtime_with(rng.uniform(-1, 1, (30, 3)).astype(np.float32))
    res = rt.grid.neighbors(5, k=100)
    assert len(res) == 29 and 5 not in res.ids.tolist()
    assert res.ids.tolist() == brute_knn(rt, rt.tokens.coords(SPACE)[4], 100, exclude=5)[0]


def test_clustered_data_and_batched_forms(rng):
    centres = rng.uniform(-2, 2, (10, 3))
    pts = (centres[rng.integers(0, 10, 3000)] + rng.normal(0, 0.05, (3000, 3))).astype(np.float32)
    rt = runtime_with(pts)
    q = (centres[rng.integers(0, 10, 50)] + rng.normal(0, 0.05, (50, 3))).astype(np.float32)
    ids, dist = rt.grid.neighbors_many(q, k=7)
    assert ids.shape == (50, 7) and ids.dtype == np.uint32 and dist.dtype == np.float32
    for i in range(50):
        want, wd = brute_knn(rt, q[i], 7)
        assert ids[i].tolist() == want
        np.testing.assert_allclose(dist[i], wd, rtol=1e-6)
    r_ids, r_dist = rt.grid.range_many(q, 0.05)
    assert len(r_ids) == 50
    for i in range(50):
        want, wd = brute_knn(rt, q[i], 3000)
        assert r_ids[i].tolist() == [w for w, d in zip(want, wd) if d <= 0.05]
        assert np.all(np.diff(r_dist[i]) >= 0)


def test_k_is_capped_at_the_tokens_in_the_space(rt):
    rt.tokens.create(cognitive=(0, 0, 0))
    rt.tokens.create(cognitive=(1, 0, 0))
    rt.tokens.create(physical=(0, 0, 0))
    ids, dist = rt.grid.neighbors_many(np.zeros((2, 3)), k=3)
    assert ids.shape == dist.shape == (2, 2) and ids[0].tolist() == [1, 2]
    ids, _ = rt.grid.neighbors_many(np.zeros((1, 3)), k=10**12)
    assert ids.shape == (1, 2)
    assert len(rt.grid.neighbors((0, 0, 0), k=10**12)) == 2
    assert len(rt.grid.neighbors(1, k=2**62)) == 1


def test_index_follows_updates_and_deletes(rng):
    rt = runtime_with(rng.uniform(-1, 1, (500, 3)).astype(np.float32))
    q = (2.0, 2.0, 2.0)
    far = int(rt.grid.neighbors(q, k=1).ids[0])
    mover = 123
    rt.tokens.update(mover, cognitive=q)
    assert rt.grid.neighbors(q, k=1).ids.tolist() == [mover]
    rt.tokens.delete(mover)
    assert rt.grid.neighbors(q, k=1).ids.tolist() == [far]
    rt.tokens.update(far, cognitive=None)  # out of the space
    assert far not in rt.grid.neighbors(q, k=5).ids.tolist()
    new = rt.tokens.create(cognitive=(2.0, 2.0, 2.01))
    assert rt.grid.neighbors(q, k=1).ids.tolist() == [new]
    rt.tokens.clear()
    assert len(rt.grid.neighbors(q, k=3)) == 0


def test_empty_space_and_tokens_not_placed(rt):
    a = rt.tokens.create(physical=(1, 2, 3))
    assert len(rt.grid.neighbors((0, 0, 0), k=5, space="cognitive")) == 0
    with pytest.raises(ng.ValidationError, match="not placed in the cognitive space"):
        rt.grid.neighbors(a, k=5, space="cognitive")
    assert rt.grid.neighbors((0, 0, 0), k=5, space="physical").ids.tolist() == [a]


def test_scales_weight_distances_not_order(rng):
    rt = runtime_with(rng.uniform(-1, 1, (200, 3)).astype(np.float32))
    before = rt.grid.neighbors((0, 0, 0), k=10)
    rt.cdna.update_scales(cognitive=2.0)
    after = rt.grid.neighbors((0, 0, 0), k=10)
    assert after.ids.tolist() == before.ids.tolist()
    np.testing.assert_allclose(after.distances, 2 * before.distances, rtol=1e-6)
    # radius is in scaled units
    assert len(rt.grid.range((0, 0, 0), 2 * float(before.distances[4]))) == 5


def test_cross_space_query(rng):
    rt = ng.Runtime()
    coords = rng.uniform(-1, 1, (300, 8, 3)).astype(np.float32)
    ids = rt.tokens.create_many(coords)
    rt.cdna.update_scales(physical=0.5, temporal=3.0)
    res = rt.grid.neighbors(int(ids[0]), k=5, space="all")
    w = np.repeat(np.asarray(list(rt.cdna.scales.values()), np.float32) ** 2, 3)
    flat = np.stack([rt.tokens.coords(s) for s in ng.SPACES], axis=1).reshape(300, 24)
    d2 = ((flat - flat[0]) ** 2 * w).sum(axis=1)
    d2[0] = np.inf
    order = np.lexsort((ids, d2))[:5]
    assert res.ids.tolist() == ids[order].tolist()
    np.testing.assert_allclose(res.distances, np.sqrt(d2[order]), rtol=1e-5)
    point = flat[1].tolist()
    assert int(rt.grid.neighbors(point, k=1, space="all").ids[0]) == int(ids[1])


def test_field_influence_and_density(rt):
    rt.tokens.create(cognitive=(0, 0, 0), field_radius=1.0, field_strength=0.8)
    rt.tokens.create(cognitive=(2, 0, 0), field_radius=0.5, field_strength=1.0)
    assert rt.grid.field_influence((0.5, 0, 0)) == pytest.approx(0.8 * 0.5, abs=1e-2)
    assert rt.grid.field_influence((1.2, 0, 0)) == 0.0
    assert rt.grid.density((0, 0, 0), 1.0) == pytest.approx(1 / (4 / 3 * np.pi))
    info = rt.grid.info()
    assert info.loc["cognitive", "tokens"] == 2 and info.loc["social", "tokens"] == 0


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda rt: rt.grid.neighbors((0, 0, 0), k=-1), ng.ValidationError, "k must be"),
        (lambda rt: rt.grid.neighbors((np.nan, 0, 0)), ng.ValidationError, "finite"),
        (lambda rt: rt.grid.neighbors((0, 0)), ng.ValidationError, "3 values"),
        (lambda rt: rt.grid.neighbors((0, 0, 0), space="cognitve"), ng.ValidationError, "unknown space"),
        (lambda rt: rt.grid.neighbors(99999), ng.NotFoundError, "no token with id 99999"),
        (lambda rt: rt.grid.range((0, 0, 0), -1.0), ng.ValidationError, "radius"),
        (lambda rt: rt.grid.range((0, 0, 0), float("nan")), ng.ValidationError, "radius"),
        (lambda rt: rt.grid.neighbors_many(np.zeros((4, 2))), ng.ValidationError, r"shape \(Q, 3\)"),
        (lambda rt: rt.grid.neighbors_many(np.full((2, 3), np.inf)), ng.ValidationError, "finite"),
        (lambda rt: rt.grid.density((0, 0, 0), 0.0), ng.ValidationError, "radius > 0"),
        (lambda rt: rt.grid.neighbors((0,) * 23, space="all"), ng.ValidationError, "24 values"),
        # S4: sizes too large for 64 bits are a ValidationError naming k, not an OverflowError
        (lambda rt: rt.grid.neighbors((0, 0, 0), k=2**70), ng.ValidationError, r"k must be an integer in 0\.\.="),
        (lambda rt: rt.grid.neighbors_many(np.zeros((2, 3)), k=2**64), ng.ValidationError, "k must be"),
        (lambda rt: rt._core.grid_neighbors_many(np.zeros((2, 3), "f4"), 1.5), ng.ValidationError, "k must be"),
    ],
)
def test_bad_queries(filled, call, exc, match):
    rt, _ = filled
    before = rt.tokens.to_pandas()
    with pytest.raises(exc, match=match):
        call(rt)
    assert rt.tokens.to_pandas().equals(before)


def test_query_result_value(filled):
    rt, ids = filled
    rt.tokens.update(int(ids[1]), label="<b>bold</b>")
    res = rt.grid.neighbors(int(ids[0]), k=49)
    df = res.to_pandas()
    assert list(df.columns) == ["label", "distance", "cognitive_x", "cognitive_y", "cognitive_z"]
    assert len(df) == 49 and df.index.name == "id"
    assert "39 more" in repr(res) and "39 more" in res._repr_html_()
    assert "<b>bold" not in res._repr_html_()
    assert list(res)[0] == (int(res.ids[0]), pytest.approx(float(res.distances[0])))


def test_ctrl_c_stops_batched_and_large_neighbour_queries(rng, interrupt_at):
    # S2-4: batched kNN stops between chunks of query points, a single large-k query after it
    rt = ng.Runtime()
    rt.tokens.create_many(rng.uniform(-1, 1, (20_000, 8, 3)).astype(np.float32))
    before = rt._core.data_version()
    fired = interrupt_at(64)
    with pytest.raises(KeyboardInterrupt):
        rt.grid.neighbors_many(rng.uniform(-1, 1, (5_000, 3)), k=5)
    assert fired == [64]
    interrupt_at(1)
    with pytest.raises(KeyboardInterrupt):
        rt.grid.neighbors((0.1, 0.2, 0.3), k=20_000)
    assert fired == [64, 1] and rt._core.data_version() == before
    assert len(rt.grid.neighbors((0.1, 0.2, 0.3), k=20_000)) == 20_000


def test_large_k_neighbours_match_brute_force(rng):
    # S3-5: a large k takes the select-and-sort path; same hits and tie order as brute force
    values = rng.integers(-8, 8, (30_000, 3)) * 0.125
    rt = ng.Runtime()
    coords = np.zeros((len(values), 8, 3), np.float32)
    coords[:, 4] = values
    ids = rt.tokens.create_many(coords)
    q = np.array([0.125, -0.25, 0.375])  # on the grid: every squared distance is exact
    d = ((values - q) ** 2).sum(axis=1)
    for k in (100, 5_000, 29_999, 30_000):
        res = rt.grid.neighbors(tuple(q), k=k)
        want = np.lexsort((ids, d))[:k]
        np.testing.assert_array_equal(res.ids, ids[want])


def test_batched_queries_with_no_points_return_no_results(filled):
    # S4: range_many with 0 points returned a list holding one empty result
    rt, _ = filled
    assert rt.grid.range_many(np.zeros((0, 3)), 0.5) == ([], [])
    assert rt.grid.range_many([], 0.5) == ([], [])
    ids, dist = rt.grid.neighbors_many(np.zeros((0, 3)), k=3)
    assert ids.shape[0] == dist.shape[0] == 0


def test_k_beyond_the_token_count_is_capped_even_at_the_largest_size(filled):
    # S1-4: k is capped at the tokens placed in the space, so the largest k (2**63 - 1)
    # allocates nothing absurd; the batch form checks Q x k (see tests/test_limits.py)
    rt, _ = filled
    assert len(rt.grid.neighbors((0, 0, 0), k=2**63 - 1)) == 50
    ids, _ = rt.grid.neighbors_many(np.zeros((3, 3)), k=2**63 - 1)
    assert ids.shape == (3, 50)
