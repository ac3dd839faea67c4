"""The pure block kernels (neurograph_lab.kernels) against numpy references and against the
single-process runtime they must agree with."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab import _core
from neurograph_lab import kernels as K

NO_ID = np.uint64(K.NO_ID)


def brute_topk(q, qids, x, xids, k, exclude):
    """Reference top-k: scores in float64 (exact for small integers), ties by id."""
    s = q.astype(np.float64) @ x.astype(np.float64).T
    out_i, out_s = [], []
    width = min(k, len(x))
    for r in range(len(q)):
        keep = np.ones(len(x), bool) if not exclude else xids != qids[r]
        cand_s, cand_i = s[r, keep], xids[keep]
        order = np.lexsort((cand_i, -cand_s))[:width]
        ids = np.full(width, NO_ID, np.uint64)
        sc = np.full(width, -np.inf, np.float32)
        ids[: len(order)] = cand_i[order]
        sc[: len(order)] = cand_s[order]
        out_i.append(ids)
        out_s.append(sc)
    return np.array(out_i, np.uint64).reshape(len(q), width), np.array(out_s, np.float32).reshape(len(q), width)


def ints(rng, n, d):
    """Small integers: exact scores, many ties."""
    return rng.integers(-2, 3, (n, d)).astype(np.float32)


def test_normalize_rows_matches_numpy_and_keeps_zero_rows(rng):
    x = rng.normal(size=(37, 11)).astype(np.float32)
    x[5] = 0
    got = K.normalize_rows(x)
    norms = np.sqrt((x.astype(np.float64) ** 2).sum(axis=1, keepdims=True))
    want = np.where(norms > 0, x / np.where(norms > 0, norms, 1), 0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert (got[5] == 0).all()
    assert got is not x and not np.shares_memory(got, x)
    np.testing.assert_array_equal(K.normalize_rows(x, threads=1), K.normalize_rows(x, threads=3))


@pytest.mark.parametrize("exclude", [True, False])
def test_topk_block_equals_brute_force_with_ties_by_global_id(rng, exclude):
    x = ints(rng, 300, 5)
    q = x[::7].copy()
    # ids in no order: the kernel must rank ties by id, not by row
    xids = rng.permutation(10_000)[:300].astype(np.uint64) + 1_000_000
    qids = xids[::7].copy()
    ids, scores = K.topk_block(q, qids, x, xids, 9, exclude_same_id=exclude)
    want_i, want_s = brute_topk(q, qids, x, xids, 9, exclude)
    np.testing.assert_array_equal(ids, want_i)
    np.testing.assert_array_equal(scores, want_s)
    assert ids.dtype == np.uint64 and scores.dtype == np.float32 and ids.shape == (len(q), 9)
    if exclude:
        assert not (ids == qids[:, None]).any()


def test_topk_block_pads_short_rows_and_handles_empty_inputs(rng):
    x = ints(rng, 3, 4)
    xids = np.array([10, 20, 30], np.uint64)
    ids, scores = K.topk_block(x, xids, x, xids, 5, exclude_same_id=True)
    assert ids.shape == (3, 3)  # k capped at the block
    assert (ids[:, 2] == NO_ID).all() and np.isneginf(scores[:, 2]).all()
    ids, scores = K.topk_block(x, xids, x, xids, 0)
    assert ids.shape == (3, 0)
    ids, scores = K.topk_block(np.zeros((0, 4), np.float32), np.zeros(0, np.uint64), x, xids, 2)
    assert ids.shape == (0, 2)


def test_topk_block_reads_read_only_arrays_in_place(rng):
    x = K.normalize_rows(rng.normal(size=(50, 8)).astype(np.float32))
    ids = np.arange(50, dtype=np.uint64)
    x.setflags(write=False)
    ids.setflags(write=False)
    got = K.topk_block(x[:4], ids[:4], x, ids, 3)
    assert got[0].shape == (4, 3)


def test_topk_block_bad_arguments_name_the_problem(rng):
    x = ints(rng, 10, 4)
    ids = np.arange(10, dtype=np.uint64)
    with pytest.raises(ng.ValidationError, match="q has 3 columns, expected 4"):
        K.topk_block(x[:, :3], ids, x, ids, 2)
    with pytest.raises(ng.ValidationError, match="x_ids holds 9 ids for 10 rows"):
        K.topk_block(x, ids, x, ids[:9], 2)
    with pytest.raises(ng.ValidationError, match="appears twice"):
        K.topk_block(x, ids, x, np.array([5] * 10, np.uint64), 2)
    with pytest.raises(ng.ValidationError, match="k"):
        K.topk_block(x, ids, x, ids, -1)
    with pytest.raises(ng.ValidationError, match="threads must be at least 1"):
        K.topk_block(x, ids, x, ids, 2, threads=0)
    with pytest.raises(ng.ValidationError, match="threads"):
        K.topk_block(x, ids, x, ids, 2, threads=True)
    with pytest.raises(ng.ValidationError, match="x must be a 2-D array"):
        K.topk_block(x, ids, x.ravel(), ids, 2)


def weave_by_blocks(x, k, cuts, floors=True):
    """The distributed weave: each block with itself, each pair of blocks once (skipping, with
    floors, what scores below a row's own-block k-th score), merged."""
    bounds = list(zip([0] + cuts, cuts + [len(x)]))
    rows = [np.arange(a0, a1, dtype=np.uint64) for a0, a1 in bounds]
    own = [K.topk_self(x[a0:a1], r, k) for (a0, a1), r in zip(bounds, rows)]
    floor = [o[1][:, k - 1].copy() if floors and o[1].shape[1] == k else None for o in own]
    parts = {i: [own[i]] for i in range(len(bounds))}
    for i, (a0, a1) in enumerate(bounds):
        for j in range(i + 1, len(bounds)):
            b0, b1 = bounds[j]
            ia, sa, ib, sb = K.topk_pair(x[a0:a1], rows[i], x[b0:b1], rows[j], k, a_floor=floor[i], b_floor=floor[j])
            parts[i].append((ia, sa))
            parts[j].append((ib, sb))
    merged = [K.topk_merge(parts[i], k) for i in range(len(bounds))]
    return np.concatenate([m[0] for m in merged]), np.concatenate([m[1] for m in merged])


@pytest.mark.parametrize("floors", [True, False])
def test_block_weave_equals_brute_force_on_ties(rng, floors):
    x = ints(rng, 130, 4)
    ids = np.arange(130, dtype=np.uint64)
    got_i, got_s = weave_by_blocks(x, 6, [17, 60, 61], floors)
    want_i, want_s = brute_topk(x, ids, x, ids, 6, True)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_array_equal(got_s, want_s)


def test_topk_pair_floors_skip_candidates_and_pad(rng):
    x = ints(rng, 40, 3)
    a, b = np.arange(20, dtype=np.uint64), np.arange(20, 40, dtype=np.uint64)
    ia, sa, ib, sb = K.topk_pair(x[:20], a, x[20:], b, 5, a_floor=np.full(20, 99, np.float32))
    assert (ia == NO_ID).all() and np.isneginf(sa).all()
    full = K.topk_pair(x[:20], a, x[20:], b, 5)
    np.testing.assert_array_equal(ib, full[2])  # no floor on b's side
    with pytest.raises(ng.ValidationError, match="floors"):
        K.topk_pair(x[:20], a, x[20:], b, 5, a_floor=np.zeros(3, np.float32))


def test_block_weave_is_bitwise_the_single_process_weave(rng):
    # float data, dim > 256 (the GEMM splits the inner dimension), blocks larger than a tile
    n, dim, k = 1300, 260, 7
    x = K.normalize_rows(rng.normal(size=(n, dim)).astype(np.float32))
    words = [f"w{i}" for i in range(n)]
    rt = ng.Runtime()
    rt.bootstrap(x, words, space="cognitive", k=k)
    got_i, got_s = weave_by_blocks(x, k, [555, 1100])
    vocab, tok = rt.bootstrap_vocabulary()
    a, b, s, dropped = K.weave_edges(tok, got_i, got_s)
    assert dropped == 0
    edges = rt.connections.to_pandas()
    want = sorted(zip(edges["token_a"], edges["token_b"], edges["strength"].astype(np.float32)))
    assert sorted(zip(a.tolist(), b.tolist(), s.tolist())) == [(int(p), int(q), float(r)) for p, q, r in want]


def test_topk_pair_needs_increasing_ids(rng):
    x = ints(rng, 5, 3)
    with pytest.raises(ng.ValidationError, match="a_ids must be strictly increasing"):
        K.topk_pair(x, np.array([1, 0, 2, 3, 4], np.uint64), x, np.arange(5, dtype=np.uint64), 2)
    with pytest.raises(ng.ValidationError, match="a has 3 columns and b 2"):
        K.topk_pair(x, np.arange(5, dtype=np.uint64), x[:, :2], np.arange(5, dtype=np.uint64), 2)


def test_topk_merge_skips_padding_and_checks_shapes():
    a = (np.array([[1, NO_ID]], np.uint64), np.array([[0.5, -np.inf]], np.float32))
    b = (np.array([[7, 3]], np.uint64), np.array([[0.5, 0.9]], np.float32))
    ids, scores = K.topk_merge([a, b], 3)
    np.testing.assert_array_equal(ids, [[3, 1, 7]])
    np.testing.assert_array_equal(scores, np.array([[0.9, 0.5, 0.5]], np.float32))
    ids, _ = K.topk_merge([a, b], 10)
    assert ids.shape == (1, 4) and ids[0, 3] == NO_ID
    with pytest.raises(ng.ValidationError, match=r"parts\[1\] has 2 rows"):
        K.topk_merge([a, (np.zeros((2, 1), np.uint64), np.zeros((2, 1), np.float32))], 2)
    with pytest.raises(ng.ValidationError, match="differ in shape"):
        K.topk_merge([(np.zeros((1, 2), np.uint64), np.zeros((1, 1), np.float32))], 2)
    assert K.topk_merge([], 3)[0].shape == (0, 0)


def test_pca_by_summed_blocks_matches_numpy_and_the_bootstrap(rng):
    n, dim = 2500, 12
    x = rng.normal(size=(n, dim)).astype(np.float32) * np.linspace(3, 0.5, dim).astype(np.float32)
    x = K.normalize_rows(x)
    blocks = [x[:700], x[700:701], x[701:2100], x[2100:]]
    sums = sum(K.gram_partial(b)[1] for b in blocks)
    shift = (sums / n).astype(np.float32)
    parts = [K.gram_partial(b, shift) for b in blocks]
    assert [p[0] for p in parts] == [700, 1, 1399, 400]
    model = K.pca_fit(parts, 6, shift)
    cov = np.cov(x.astype(np.float64).T)
    vals, vecs = np.linalg.eigh(cov)
    top = vecs[:, ::-1][:, :6].T
    for got, want in zip(model["components"], top):
        assert abs(abs(float(np.dot(got, want))) - 1) < 1e-5
    np.testing.assert_allclose(model["explained_variance"], vals[::-1][:6], rtol=1e-5)
    np.testing.assert_allclose(model["mean"], x.astype(np.float64).mean(axis=0), atol=1e-6)
    # the same axes as the single-process bootstrap (up to sign), the same explained variance
    rt = ng.Runtime()
    rt.bootstrap(x, [f"w{i}" for i in range(n)], space=["abstract", "cognitive"], k=0)
    np.testing.assert_allclose(rt.bootstrap_info()["explained_variance_ratio"], model["explained_ratio"], rtol=1e-5)
    proj = K.pca_project(x, model)
    want = (x.astype(np.float64) - model["mean"]) @ model["components"].T.astype(np.float64)
    np.testing.assert_allclose(proj, want, atol=1e-5)
    coords = K.pca_project(x, model, ["abstract", "cognitive"])
    assert coords.shape == (n, 8, 3)
    assert np.isnan(coords[:, 0]).all() and np.isfinite(coords[:, 7]).all() and np.isfinite(coords[:, 4]).all()
    # the runtime stores coordinates as int16 fixed point: equal within two steps
    for space, j in [("abstract", 7), ("cognitive", 4)]:
        np.testing.assert_allclose(rt.tokens.coords(space), coords[:, j], atol=2 / ng.SPACE_SCALES[space])


def test_pca_bad_arguments():
    x = np.eye(4, dtype=np.float32)
    with pytest.raises(ng.ValidationError, match="at least one block"):
        K.pca_fit([], 2)
    with pytest.raises(ng.ValidationError, match="number of axes"):
        K.pca_fit([K.gram_partial(x)], 5)
    with pytest.raises(ng.ValidationError, match="finite"):
        K.gram_partial(np.array([[1, np.nan]], np.float32))
    with pytest.raises(ng.ValidationError, match="model has no .mean."):
        K.pca_project(x, {"components": x})
    model = K.pca_fit([K.gram_partial(x)], 2)
    with pytest.raises(ng.ValidationError, match="x has 3 columns, expected 4"):
        K.pca_project(x[:, :3], model)
    with pytest.raises(ng.ValidationError, match="at most 0 spaces"):
        K.pca_project(x, model, ["abstract"])


def test_word_hash_and_resolve_give_the_bootstrap_ids(rng):
    words = [f"word{i}" for i in range(3000)] + ["naïve", "日本"]
    wanted = K.word_hash(words, 7)
    assert wanted.dtype == np.uint32 and ((wanted >= 1) & (wanted <= 0xFFFFFF)).all()
    ids, moved = K.resolve_ids(wanted)
    rt = ng.Runtime()
    vecs = rng.normal(size=(len(words), 6)).astype(np.float32)
    rt.bootstrap(vecs, words, space="cognitive", k=0, seed=7)
    np.testing.assert_array_equal(rt.bootstrap_vocabulary()[1], ids)
    # collisions move to the next free id, in word order, wrapping at 2^24 - 1
    ids, moved = K.resolve_ids(np.array([5, 5, 5, 0xFFFFFF, 0xFFFFFF], np.uint32))
    np.testing.assert_array_equal(ids, [5, 6, 7, 0xFFFFFF, 1])
    np.testing.assert_array_equal(moved, [1, 2, 4])
    with pytest.raises(ng.ValidationError, match="token ids are 1..="):
        K.resolve_ids(np.array([0], np.uint32))


def components_ref(src, dst):
    adj: dict[int, set[int]] = {}
    for a, b in zip(src.tolist(), dst.tolist()):
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    root = {}
    for v in sorted(adj):
        if v in root:
            continue
        stack, comp = [v], []
        root[v] = v
        while stack:
            u = stack.pop()
            comp.append(u)
            for w in adj[u]:
                if w not in root:
                    root[w] = v
                    stack.append(w)
    vs = np.array(sorted(root), np.uint64)
    return vs, np.array([root[int(v)] for v in vs], np.uint64)


def test_union_find_partitions_merge_to_the_components_of_all_edges(rng):
    src = rng.integers(0, 5000, 3000).astype(np.uint64) * 1_000_003
    dst = rng.integers(0, 5000, 3000).astype(np.uint64) * 1_000_003
    parts = [K.union_find_partial(src[a:b], dst[a:b]) for a, b in [(0, 1000), (1000, 1001), (1001, 3000)]]
    v, r = K.union_find_merge(parts)
    want_v, want_r = components_ref(src, dst)
    np.testing.assert_array_equal(v, want_v)
    np.testing.assert_array_equal(r, want_r)
    with pytest.raises(ng.ValidationError, match="expected as many as src"):
        K.union_find_partial(src, dst[:5])
    with pytest.raises(ng.ValidationError, match="3 vertices but 2 roots"):
        K.union_find_merge([(src[:3], dst[:2])])
    v, r = K.union_find_merge([])
    assert len(v) == len(r) == 0


def test_weave_edges_keeps_the_cdna_degree_limits():
    rt = ng.Runtime()
    rt.cdna.update(max_in_degree=1)
    ids = np.array([10, 20, 30], np.uint32)
    nb = np.array([[2, 1], [2, 0], [1, 0]], np.uint64)
    sims = np.array([[0.9, 0.5], [0.8, 0.4], [0.7, 0.6]], np.float32)
    a, b, s, dropped = K.weave_edges(ids, nb, sims, rt.cdna.to_bytes())
    assert dropped == 3
    assert (a.tolist(), b.tolist()) == ([10, 30, 30], [30, 20, 10])
    np.testing.assert_array_equal(s, np.array([0.9, 0.7, 0.6], np.float32))
    a, *_, dropped = K.weave_edges(ids, nb, sims)
    assert (len(a), dropped) == (6, 0)
    with pytest.raises(ng.ValidationError, match="is not a row"):
        K.weave_edges(ids, nb + 5, sims)
    with pytest.raises(ng.ValidationError, match="cdna"):
        K.weave_edges(ids, nb, sims, b"nope")


def test_kernels_honour_threads_and_pickle_by_reference(rng):
    assert _core._kernel_pool_size(1) == 1
    assert _core._kernel_pool_size(3) == 3
    assert _core._kernel_pool_size(None) >= 1
    x = K.normalize_rows(rng.normal(size=(700, 16)).astype(np.float32))
    ids = np.arange(700, dtype=np.uint64)
    one = K.topk_block(x, ids, x, ids, 5, threads=1)
    four = K.topk_block(x, ids, x, ids, 5, threads=4)
    np.testing.assert_array_equal(one[0], four[0])
    np.testing.assert_array_equal(one[1], four[1])
    for name in K.__all__:
        f = getattr(K, name)
        if callable(f):
            blob = pickle.dumps(f)
            assert len(blob) < 100 and pickle.loads(blob) is f
