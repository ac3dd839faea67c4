"""Tokens: create, read, update, delete and export, with every kind of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neurograph_lab as ng

SCALES = np.array([100, 10000, 1000, 10000, 10000, 10000, 100, 10000], dtype=np.float64)
LIMITS = 32767 / SCALES


def assert_within_half_step(got: np.ndarray, want: np.ndarray, space: int) -> None:
    """Fixed point keeps a value to within half a step (1 / scale) of what was given."""
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    assert err.max(initial=0) <= 0.5 / SCALES[space] + 1e-6 * LIMITS[space], err.max()


def test_create_many_returns_ids_and_keeps_coordinates(rt, rng):
    coords = (rng.uniform(-1, 1, (200, 8, 3)) * LIMITS[None, :, None] * 0.99).astype(np.float32)
    ids = rt.tokens.create_many(coords)
    assert ids.dtype == np.uint32
    assert ids.tolist() == list(range(1, 201))
    assert len(rt.tokens) == 200
    for s, name in enumerate(ng.SPACES):
        assert_within_half_step(rt.tokens.coords(name), coords[:, s, :], s)


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 20), st.just(8), st.just(3)),
        elements=st.floats(-3.25, 3.25, width=32),
    )
)
def test_fixed_point_roundtrip_property(coords):
    rt = ng.Runtime()
    rt.tokens.create_many(coords)
    for s, name in enumerate(ng.SPACES):
        assert_within_half_step(rt.tokens.coords(name), coords[:, s, :], s)


def test_create_one_with_space_keywords(rt):
    tid = rt.tokens.create(cognitive=(0.1, 0.2, 0.3), L1=(10, -20, 300), entity="concept", label="cat", weight=0.5)
    t = rt.tokens[tid]
    assert t.label == "cat" and t.entity == "concept" and t.weight == 0.5
    assert t.coords["cognitive"] == (0.1, 0.2, 0.3)
    assert t.coords["physical"] == (10.0, -20.0, 300.0)
    assert t.coords["social"] is None
    assert set(t.spaces) == {"physical", "cognitive"}
    assert np.isnan(rt.tokens.coords("social")).all()
    assert "ACTIVE" in t.flags


def test_undefined_nan_marks_spaces_unplaced(rt):
    coords = np.zeros((2, 8, 3), np.float32)
    coords[0, 3] = np.nan
    ids = rt.tokens.create_many(coords, undefined="nan")
    assert rt.tokens[int(ids[0])].coords["emotional"] is None
    assert rt.tokens[int(ids[1])].coords["emotional"] == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coordinates_create_nothing(rt, bad):
    rt.tokens.create_many(np.zeros((3, 8, 3)))
    coords = np.zeros((5, 8, 3), np.float32)
    coords[3, 4, 1] = bad
    with pytest.raises(ng.ValidationError, match=r"row 3: cognitive\.y"):
        rt.tokens.create_many(coords)
    assert len(rt.tokens) == 3


def test_partial_nan_is_an_error_even_with_undefined_nan(rt):
    coords = np.zeros((1, 8, 3), np.float32)
    coords[0, 4, 0] = np.nan
    with pytest.raises(ng.ValidationError, match="cognitive.x"):
        rt.tokens.create_many(coords, undefined="nan")
    with pytest.raises(ng.ValidationError, match="finite"):
        rt.tokens.create(cognitive=(float("nan"), 0, 0))
    assert len(rt.tokens) == 0


def test_out_of_range_names_space_value_and_range_unless_clamped(rt):
    coords = np.zeros((2, 8, 3), np.float32)
    coords[1, 1, 2] = 4.0  # sensory range is +-3.2767
    with pytest.raises(ng.ValidationError, match=r"row 1: sensory\.z = 4 is outside.*3\.2767.*clamp=True"):
        rt.tokens.create_many(coords)
    assert len(rt.tokens) == 0
    ids = rt.tokens.create_many(coords, clamp=True)
    assert rt.tokens[int(ids[1])].coords["sensory"][2] == pytest.approx(3.2767)
    with pytest.raises(ng.ValidationError, match="physical.x = 400"):
        rt.tokens.create(physical=(400, 0, 0))


@pytest.mark.parametrize(
    "coords, match",
    [
        (np.zeros((4, 8, 2)), r"shape \(N, 8, 3\)"),
        (np.zeros((4, 24)), r"shape \(N, 8, 3\)"),
        (np.zeros((4, 7, 3)), r"shape \(N, 8, 3\)"),
        (np.array([[["a"] * 3] * 8]), "numeric"),
        (np.zeros((1, 8, 3), dtype=object), "numeric"),
    ],
)
def test_wrong_shape_or_dtype(rt, coords, match):
    with pytest.raises(ng.ValidationError, match=match):
        rt.tokens.create_many(coords)
    assert len(rt.tokens) == 0


def test_integer_and_float64_input_is_accepted(rt):
    ids = rt.tokens.create_many(np.ones((2, 8, 3), dtype=np.int64))
    assert rt.tokens[int(ids[0])].coords["motor"] == (1.0, 1.0, 1.0)
    rt.tokens.create_many(np.full((2, 8, 3), 0.5))
    assert len(rt.tokens) == 4


def test_column_lengths_and_entities_are_checked(rt):
    coords = np.zeros((3, 8, 3), np.float32)
    with pytest.raises(ng.ValidationError, match=r"weights must have shape \(3,\)"):
        rt.tokens.create_many(coords, weights=[0.1, 0.2])
    with pytest.raises(ng.ValidationError, match="labels must have one entry per row"):
        rt.tokens.create_many(coords, labels=["a"])
    with pytest.raises(ng.ValidationError, match="unknown entity type 'thing'"):
        rt.tokens.create_many(coords, entities="thing")
    with pytest.raises(ng.ValidationError, match="unknown entity type 15"):
        rt.tokens.create_many(coords, entities=[1, 2, 15])
    with pytest.raises(ng.ValidationError, match="unknown entity type"):
        rt.tokens.create(entity="thing")
    assert len(rt.tokens) == 0
    ids = rt.tokens.create_many(coords, entities=["event", "goal", 14], weights=0.25)
    df = rt.tokens.to_pandas()
    assert df.loc[ids, "entity"].tolist() == ["event", "goal", "buffer"]
    assert (df["weight"] == 0.25).all()


def test_weights_outside_cdna_bounds_are_refused_and_logged(rt):
    coords = np.zeros((3, 8, 3), np.float32)
    with pytest.raises(ng.ValidationError, match=r"row 2: weight = 1\.5 is outside the CDNA bounds \[0, 1\]"):
        rt.tokens.create_many(coords, weights=[0.1, 0.2, 1.5])
    assert len(rt.tokens) == 0
    ev = rt.events()
    assert not ev["accepted"].iloc[-1]
    assert "weight = 1.5" in ev["reason"].iloc[-1]
    rt.cdna.update(token_weight_max=2.0)
    rt.tokens.create_many(coords, weights=[0.1, 0.2, 1.5])
    assert len(rt.tokens) == 3


def test_field_radius_and_strength(rt):
    tid = rt.tokens.create(field_radius=1.5, field_strength=0.5)
    t = rt.tokens[tid]
    assert t.field_radius == 1.5 and t.field_strength == pytest.approx(0.5, abs=1 / 255)
    with pytest.raises(ng.ValidationError, match="field_radius"):
        rt.tokens.create(field_radius=3.0)
    with pytest.raises(ng.ValidationError, match="field_strength"):
        rt.tokens.create_many(np.zeros((2, 8, 3)), field_strength=[0.5, 1.5])
    assert len(rt.tokens) == 1


def test_explicit_ids_and_duplicates(rt):
    ids = rt.tokens.create_many(np.zeros((3, 8, 3)), ids=[10, 20, 30])
    assert ids.tolist() == [10, 20, 30]
    with pytest.raises(ng.ValidationError, match="token id 20 already exists"):
        rt.tokens.create_many(np.zeros((2, 8, 3)), ids=[40, 20])
    with pytest.raises(ng.ValidationError, match="token id 50 already exists"):
        rt.tokens.create_many(np.zeros((2, 8, 3)), ids=[50, 50])
    with pytest.raises(ng.ValidationError, match="token id 0 is invalid"):
        rt.tokens.create_many(np.zeros((1, 8, 3)), ids=[0])
    with pytest.raises(ng.ValidationError, match="outside"):
        rt.tokens.create_many(np.zeros((1, 8, 3)), ids=[1 << 24])
    with pytest.raises(ng.ValidationError, match="outside"):
        rt.tokens.create_many(np.zeros((1, 8, 3)), ids=[-1])
    with pytest.raises(ng.ValidationError, match="already exists"):
        rt.tokens.create(id=10)
    assert len(rt.tokens) == 3
    # allocation skips ids that are taken (explicit ids do not move where it starts)
    new = rt.tokens.create_many(np.zeros((12, 8, 3)))
    assert new.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13]


def test_get_unknown_id_is_not_found_and_a_key_error(rt):
    with pytest.raises(ng.NotFoundError, match="no token with id 7"):
        rt.tokens[7]
    with pytest.raises(KeyError):
        rt.tokens.get(7)
    with pytest.raises(ng.NotFoundError):
        rt.tokens[-1]
    with pytest.raises(ng.ValidationError, match="integer"):
        rt.tokens["7"]
    assert 7 not in rt.tokens


def test_update_changes_fields_and_bad_update_changes_nothing(filled):
    rt, ids = filled
    tid = int(ids[5])
    rt.tokens.update(tid, weight=0.9, label="renamed", entity="memory", cognitive=(1, 2, 3), social=None)
    t = rt.tokens[tid]
    assert (t.weight, t.label, t.entity) == (pytest.approx(0.9), "renamed", "memory")
    assert t.coords["cognitive"] == (1.0, 2.0, 3.0) and t.coords["social"] is None
    assert "DIRTY" in t.flags
    before = rt.tokens[tid]
    for bad, match in [
        (dict(weight=7.0), "weight = 7"),
        (dict(cognitive=(9, 0, 0)), "cognitive.x = 9"),
        (dict(entity="nope"), "unknown entity"),
        (dict(colour=(1, 2, 3)), "not a space name"),
        (dict(cognitive=(1, 2)), "3 values"),
        (dict(user_flags=16), "user_flags"),
    ]:
        with pytest.raises(ng.ValidationError, match=match):
            rt.tokens.update(tid, **bad)
        assert rt.tokens[tid] == before
    rt.tokens.update(tid, label="")
    assert rt.tokens[tid].label is None
    with pytest.raises(ng.NotFoundError):
        rt.tokens.update(99999, weight=0.5)


def test_delete_one_many_and_missing(filled):
    rt, ids = filled
    n = len(rt.tokens)
    assert rt.tokens.delete(int(ids[0])) == 1
    assert int(ids[0]) not in rt.tokens
    assert rt.tokens.delete(ids[1:3]) == 2
    with pytest.raises(ng.NotFoundError, match="no token with id 99999"):
        rt.tokens.delete([int(ids[10]), 99999])
    assert int(ids[10]) in rt.tokens
    assert len(rt.tokens) == n - 3
    # the store stays consistent after swap-removal
    df = rt.tokens.to_pandas()
    for tid in df.index[:10]:
        assert rt.tokens[int(tid)].label == df.loc[tid, "label"]


def test_clear(filled):
    rt, _ = filled
    rt.tokens.clear()
    assert len(rt.tokens) == 0 and len(rt.connections) == 0
    assert rt.tokens.create() == 1


def test_to_pandas_columns_and_values(filled):
    rt, ids = filled
    df = rt.tokens.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert df.index.name == "id" and df.index.tolist() == ids.tolist()
    assert list(df.columns[:6]) == ["label", "entity", "weight", "field_radius", "field_strength", "timestamp"]
    assert [c for c in df.columns if c.startswith("cognitive")] == ["cognitive_x", "cognitive_y", "cognitive_z"]
    assert len(df.columns) == 6 + 24
    np.testing.assert_array_equal(df[["cognitive_x", "cognitive_y", "cognitive_z"]].to_numpy(), rt.tokens.coords("L5"))
    assert df["label"].iloc[3] == "t3"
    assert str(df["timestamp"].dtype).startswith("datetime64")
    part = rt.tokens.to_pandas(limit=5, offset=10)
    assert part.index.tolist() == ids[10:15].tolist()


def test_to_arrow_matches_pandas(filled):
    pa = pytest.importorskip("pyarrow")
    rt, _ = filled
    table = rt.tokens.to_arrow()
    assert isinstance(table, pa.Table)
    assert table.num_rows == len(rt.tokens)
    df = rt.tokens.to_pandas()
    np.testing.assert_array_equal(table.column("abstract_z").to_numpy(), df["abstract_z"].to_numpy())
    assert table.column("label").to_pylist()[:2] == ["t0", "t1"]


def test_list_find_iter(filled):
    rt, ids = filled
    toks = rt.tokens.list(limit=3, offset=2)
    assert [t.id for t in toks] == ids[2:5].tolist()
    assert rt.tokens.find("t7").tolist() == [int(ids[7])]
    assert rt.tokens.find("missing").size == 0
    assert list(rt.tokens)[:3] == ids[:3].tolist()
    with pytest.raises(ng.ValidationError):
        rt.tokens.list(limit=-1)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda rt: rt.tokens.list(limit=2**70), r"limit must be an integer in 0\.\.=\d+, got 1180591620717411303424"),
        (lambda rt: rt.tokens.list(offset=-1), r"offset must be an integer in 0\.\.=\d+, got -1"),
        (lambda rt: rt.tokens.to_pandas(limit=-1), r"limit must be an integer in 0\.\.=\d+, got -1"),
        (lambda rt: rt.tokens.to_pandas(limit=True), "limit must be an integer, got the bool True"),
        (lambda rt: rt.connections.list(limit=2**64), r"limit must be an integer in 0\.\.="),
        (lambda rt: rt.events(last=-2), r"last must be an integer in 0\.\.=\d+, got -2"),
    ],
)
def test_size_arguments_out_of_range_name_the_argument(filled, call, match):
    # S4: sizes that do not fit used to raise OverflowError or TypeError
    rt, _ = filled
    with pytest.raises(ng.ValidationError, match=match):
        call(rt)


def test_coords_bad_space(rt):
    with pytest.raises(ng.ValidationError, match="unknown space"):
        rt.tokens.coords("cognitve")
    with pytest.raises(ng.ValidationError, match="unknown space"):
        rt.tokens.coords(9)
    assert rt.tokens.coords(5).shape == (0, 3)


def test_token_html_escapes_labels(rt):
    tid = rt.tokens.create(label="<script>alert(1)</script>")
    html = rt.tokens[tid]._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>" not in rt.tokens._repr_html_()
    assert "label='<script>" in repr(rt.tokens[tid])


def test_labels_round_trip_to_pandas_and_arrow_with_unicode_empty_and_missing():
    rt = ng.Runtime()
    labels = ["über 漢字 🙂", "", None, "plain"]
    ids = rt.tokens.create_many(np.zeros((4, 8, 3)), labels=labels)
    df = rt.tokens.to_pandas()
    assert df.loc[ids, "label"].tolist()[:2] == labels[:2]
    assert df["label"].isna().tolist() == [False, False, True, False]
    assert str(df["label"].dtype) == "string"
    table = rt.tokens.to_arrow()
    assert table.column("label").to_pylist() == labels
    assert rt.tokens.to_pandas(limit=2, offset=2)["label"].tolist()[1] == "plain"


def test_ids_are_never_exhausted_by_normal_work():
    # review S2-1: after a bootstrap of 100k hashed words only 269 more tokens could be made,
    # and 16 rounds of create/delete of 1M tokens left an empty runtime that refused 1M more
    rt = ng.Runtime()
    words = [f"w{i}" for i in range(100_000)]
    rt.bootstrap(np.random.default_rng(0).normal(size=(100_000, 8)).astype("f4"), words, k=0, progress=False)
    ids = rt.tokens.create_many(np.zeros((1_000_000, 8, 3), np.float32))
    assert len(np.unique(ids)) == 1_000_000 and len(rt.tokens) == 1_100_000
    assert rt.query("w5", k=1).ids.size == 1  # the vocabulary still finds its own tokens
    churn = ng.Runtime()
    block = np.zeros((1_000_000, 8, 3), np.float32)
    for _ in range(16):
        churn.tokens.delete(churn.tokens.create_many(block))
    assert len(churn.tokens.create_many(block)) == 1_000_000


def test_a_token_with_a_large_id_costs_what_a_token_costs():
    # review S3-1: tables indexed by id were sized by the largest id (64 MiB per table)
    rt = ng.Runtime()
    rt.tokens.create(id=16_000_000)
    rt.tokens.create(id=16_000_001)
    rt.connections.create(16_000_000, 16_000_001)
    rt.graph.bfs(16_000_000, depth=1)
    assert sum(rt.status().memory.values()) < 1 << 20
    assert rt.tokens.create() == 1


def test_deleting_a_bootstrapped_token_touches_only_its_connections():
    # review S3-2: single deletes of hashed-id tokens rebuilt 16.7M-entry tables each time
    rt = ng.Runtime()
    words = [f"w{i}" for i in range(500)]
    rt.bootstrap(np.random.default_rng(2).normal(size=(500, 16)).astype("f4"), words, k=4, progress=False)
    before = rt.connections.to_pandas()
    tid = int(rt.tokens.find("w3")[0])
    rt.tokens.delete(tid)
    after = rt.connections.to_pandas()
    touching = (before["token_a"] == tid) | (before["token_b"] == tid)
    assert set(after.index) == set(before.index[~touching])
    for t in rt.tokens.ids()[:50]:
        t = int(t)
        deg = ((after["token_a"] == t) | (after["token_b"] == t)).sum()
        assert len(rt.connections.for_token(t)) == deg


def test_ctrl_c_during_create_many_returns_the_ids(interrupt_at):
    # S2-4: a bulk write is committed as a whole: a Ctrl-C during it no longer raises after
    # the tokens were stored (which lost their ids); the call returns them
    rt = ng.Runtime()
    fired = interrupt_at("commit")
    ids = rt.tokens.create_many(np.zeros((5_000, 8, 3), np.float32))
    assert fired == ["commit"]
    assert len(ids) == 5_000 == len(rt.tokens)
    assert set(ids.tolist()) == set(rt.tokens.ids().tolist())


def _snapshot(rt: ng.Runtime) -> dict:
    c = rt._core.token_columns()
    return {k: c[k].tolist() if hasattr(c[k], "tolist") else list(c[k]) for k in ("id", "label", "entity", "coords")}


def test_labels_must_be_str_one_per_row(filled):
    # S4: a string was taken as one label per character, bytes were stored as "b'x'"
    rt, ids = filled
    before = _snapshot(rt)
    z = np.zeros((5, 8, 3))
    with pytest.raises(ng.ValidationError, match="labels must be a sequence of str .* single str 'abcde'"):
        rt.tokens.create_many(z, labels="abcde")
    with pytest.raises(ng.ValidationError, match=r"labels\[1\] must be a str or None, got bytes b'x'"):
        rt.tokens.create_many(z[:2], labels=["a", b"x"])
    with pytest.raises(ng.ValidationError, match=r"labels\[0\] must be a str or None, got int 7"):
        rt.tokens.create_many(z[:1], labels=[7])
    with pytest.raises(ng.ValidationError, match="label must be a str or None, got bytes b'x'"):
        rt.tokens.create(label=b"x")
    with pytest.raises(ng.ValidationError, match="label must be a str or None, got bytes b'x'"):
        rt.tokens.update(int(ids[0]), label=b"x")
    with pytest.raises(ng.ValidationError, match="labels must be a sequence of str"):
        rt._core.create_tokens(np.zeros((5, 8, 3), np.float32), labels="abcde")  # the low-level name too
    assert _snapshot(rt) == before
    # numpy strings, None, NA and NaN (no label) are fine
    new = rt.tokens.create_many(z, labels=list(np.array(["p", "q"])) + [None, pd.NA, float("nan")])
    assert [rt.tokens[int(i)].label for i in new] == ["p", "q", None, None, None]


def test_ids_entities_and_flags_refuse_bools_floats_and_overflow(filled):
    # S4: delete(1.0) deleted token 1, create(id=True) meant id 1, entity=True meant "object",
    # create(id=-1) said "token id 0", user_flags=256 raised OverflowError
    rt, ids = filled
    before = _snapshot(rt)
    tid = int(ids[1])
    for bad, match in (
        (lambda: rt.tokens.delete(float(tid)), "a token id must be an integer, got float"),
        (lambda: rt.tokens.delete(True), "a token id must be an integer, got bool"),
        (lambda: rt.tokens.create(id=True), "token id must be an integer, got the bool True"),
        (lambda: rt.tokens.create(id=-1), r"token id must be an integer in 1\.\.=16777215, got -1"),
        (lambda: rt.tokens.create(id=1.0), "token id must be an integer, got float 1.0"),
        (lambda: rt.tokens.create(entity=True), "entity must be a name or a number, got the bool True"),
        (lambda: rt.tokens.create_many(np.zeros((1, 8, 3)), entities=[True]), "not a bool"),
        (lambda: rt.tokens.create_many(np.zeros((1, 8, 3)), entities=True), "not a bool"),
        (lambda: rt.tokens.update(tid, user_flags=256), r"user_flags must be an integer in 0\.\.=15, got 256"),
        (lambda: rt.tokens.update(tid, user_flags=-1), r"user_flags must be an integer in 0\.\.=15, got -1"),
        (lambda: rt.tokens.update(tid, domain=2**70), r"domain must be an integer in 0\.\.=15"),
        (lambda: rt.tokens.update(tid, entity=False), "got the bool False"),
    ):
        with pytest.raises(ng.ValidationError, match=match):
            bad()
    assert _snapshot(rt) == before
    rt.tokens.update(tid, user_flags=15, domain=3)
    assert rt.tokens[tid].user_flags == 15


def test_clamp_takes_float64_values_beyond_float32(rt):
    # S4: 1e300 became inf in the cast to float32, and clamp=True then refused it as "inf"
    big = np.full((1, 8, 3), 1e300)
    big[0, 4] = -1e300
    (tid,) = rt.tokens.create_many(big, clamp=True)
    coords = rt.tokens[int(tid)].coords
    assert coords["physical"] == pytest.approx((327.67,) * 3)
    assert coords["cognitive"] == pytest.approx((-3.2767,) * 3)
    with pytest.raises(ng.ValidationError, match=r"row 0: physical\.x = 1e\+300 is out of range .*clamp=True"):
        rt.tokens.create_many(big)
    with pytest.raises(ng.ValidationError, match="inf"):  # a real inf is still refused, clamp or not
        rt.tokens.create_many(np.full((1, 8, 3), np.inf), clamp=True)
    assert len(rt.tokens) == 1


def test_token_values_keep_the_stored_numbers(rt):
    # M7: Token values used to be rounded (weight to 7 digits, field to 4, coordinates to 6);
    # they now equal what to_pandas() holds, and only the reprs round
    tid = rt.tokens.create(cognitive=(0.123456, 0.2, 0.3), weight=0.123456789, field_radius=0.123456)
    t, row = rt.tokens[tid], rt.tokens.to_pandas().loc[tid]
    assert t.weight == row["weight"] and t.field_radius == row["field_radius"]
    assert t.coords["cognitive"][0] == row["cognitive_x"]
    assert t.to_pandas()["weight"] == row["weight"]
    assert "weight=0.123457" in repr(t) and "0.123457" in t._repr_html_()
