"""Connections: kinds, direction, Guardian checks, all-or-nothing batches, learning rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurograph_lab as ng


def test_176_kinds_in_11_groups():
    assert len(ng.CONNECTION_KINDS) == 176 and len(set(ng.CONNECTION_KINDS)) == 176
    assert len(ng.CONNECTION_GROUPS) == 11
    for name, code in [
        ("synonym", 0x00),
        ("cause", 0x10),
        ("before", 0x20),
        ("near", 0x30),
        ("associated_with", 0x50),
        ("part_of", 0x60),
        ("used_for", 0x70),
        ("likes", 0x80),
    ]:
        assert ng.CONNECTION_KINDS.index(name) == code


def test_create_keeps_direction_and_fields(filled):
    rt, ids = filled
    a, b = int(ids[30]), int(ids[31])
    cid = rt.connections.create(b, a, kind="before", strength=0.25, rigidity=0.8, bidirectional=True)
    c = rt.connections[cid]
    assert (c.token_a, c.token_b) == (b, a)
    assert (c.kind, c.group, c.mutability) == ("before", "temporal", "learnable")
    assert c.strength == 0.25 and c.rigidity == pytest.approx(0.8, abs=1 / 255)
    assert c.bidirectional and "BIDIRECTIONAL" in c.flags
    assert rt.connections[rt.connections.create(a, b, kind="synonym")].mutability == "immutable"
    assert rt.connections[rt.connections.create(a, b)].kind == "associated_with"
    assert rt.connections[rt.connections.create(a, b, kind=0x10)].kind == "cause"


def test_default_strength_comes_from_the_cdna(filled):
    rt, ids = filled
    rt.cdna.update(default_pull_strength=0.3)
    assert rt.connections[rt.connections.create(int(ids[0]), int(ids[2]))].strength == pytest.approx(0.3)


def test_bad_connections_are_refused_and_change_nothing(filled):
    rt, ids = filled
    a, b = int(ids[0]), int(ids[1])
    n = len(rt.connections)
    with pytest.raises(ng.NotFoundError, match="no token with id 99999"):
        rt.connections.create(a, 99999)
    with pytest.raises(ng.ValidationError, match="unknown connection kind"):
        rt.connections.create(a, b, kind="befriends")
    with pytest.raises(ng.ValidationError, match=r"strength = 1\.5 is outside the CDNA bounds \[0, 1\]"):
        rt.connections.create(a, b, strength=1.5)
    with pytest.raises(ng.ValidationError, match="rigidity"):
        rt.connections.create(a, b, rigidity=2.0)
    with pytest.raises(ng.ValidationError, match="confidence"):
        rt.connections.create(a, b, confidence=-0.1)
    with pytest.raises(ng.ValidationError, match="strength = NaN is not a finite number"):
        rt.connections.create(a, b, strength=float("nan"))
    assert len(rt.connections) == n
    refused = rt.events()
    assert (~refused["accepted"]).sum() >= 3


def test_create_many_is_all_or_nothing(filled):
    rt, ids = filled
    n = len(rt.connections)
    a = ids[20:30].copy()
    b = ids[30:40].copy()
    b[7] = 99999
    with pytest.raises(ng.NotFoundError, match="row 7: no token with id 99999"):
        rt.connections.create_many(a, b)
    strengths = np.full(10, 0.5)
    strengths[4] = 3.0
    with pytest.raises(ng.ValidationError, match="row 4"):
        rt.connections.create_many(ids[20:30], ids[30:40], strength=strengths)
    with pytest.raises(ng.ValidationError, match="same length"):
        rt.connections.create_many(ids[:3], ids[:4])
    with pytest.raises(ng.ValidationError, match="outside"):
        rt.connections.create_many([-1], [1])
    with pytest.raises(ng.ValidationError, match="unknown connection kind"):
        rt.connections.create_many(ids[:2], ids[2:4], kind=["cause", "nope"])
    assert len(rt.connections) == n
    cids = rt.connections.create_many(
        ids[20:30], ids[30:40], kind=["cause"] * 5 + ["effect"] * 5, strength=np.linspace(0, 1, 10)
    )
    df = rt.connections.to_pandas().loc[cids]
    assert df["kind"].tolist() == ["cause"] * 5 + ["effect"] * 5
    np.testing.assert_allclose(df["strength"], np.linspace(0, 1, 10), atol=1e-6)


def test_degree_limits(rt):
    ids = rt.tokens.create_many(np.zeros((6, 8, 3)))
    rt.cdna.update(max_out_degree=3, max_total_degree=4)
    hub = int(ids[0])
    rt.connections.create_many([hub] * 3, ids[1:4])
    with pytest.raises(ng.ValidationError, match=f"token {hub} would have out-degree 4 > max_out_degree 3"):
        rt.connections.create(hub, int(ids[4]))
    rt.connections.create(int(ids[5]), hub)
    with pytest.raises(ng.ValidationError, match="max_total_degree 4"):
        rt.connections.create(int(ids[4]), hub)
    assert len(rt.connections) == 4


def test_forbidden_kinds_and_strict_mode(filled):
    rt, ids = filled
    a, b = int(ids[40]), int(ids[41])
    # the fixture holds 10 "cause" connections: forbidding the kind breaks them
    with pytest.raises(ng.ValidationError, match="10 connections break it .e.g. connection .*: kind cause"):
        rt.cdna.forbid_kinds("cause")
    rt.cdna.forbid_kinds("cause", policy="force")
    with pytest.raises(ng.ValidationError, match="kind cause is not allowed"):
        rt.connections.create(a, b, kind="cause")
    rt.cdna.allow_kinds("cause")
    rt.connections.create(a, b, kind="cause")
    loop = rt.connections.create(a, a, kind="likes")  # self-loops are fine outside strict mode
    # the analyst profile is strict: the self-loop held already breaks it
    with pytest.raises(ng.ValidationError, match=f"1 connection breaks it .e.g. connection {loop}: token {a} connects"):
        rt.cdna.profile = "analyst"
    assert rt.cdna.profile == "default"
    rt.cdna.set_profile("analyst", policy="force")
    assert any("connects to itself" in p for p in rt.cdna.validate())
    with pytest.raises(ng.ValidationError, match="strict mode: token .* may not connect to itself"):
        rt.connections.create(b, b)
    with pytest.raises(ng.ValidationError, match="already exists"):
        rt.connections.create(a, b, kind="cause")


def test_guardian_refusals_carry_their_data(filled):
    # M8: a refusal is structured data (action, row, field, value, limit, reason) on the
    # ValidationError; the row is added by the caller, not formatted in and trimmed out again
    rt, ids = filled
    a, b = ids[20:30].copy(), ids[30:40].copy()
    before = rt.connections.to_pandas()
    strengths = np.full(10, 0.5)
    strengths[4] = 3.0
    with pytest.raises(ng.ValidationError) as batch:
        rt.connections.create_many(a, b, strength=strengths)
    e = batch.value
    assert (e.action, e.row, e.field, e.value, e.limit) == ("connection.create", 4, "strength", 3.0, 1.0)
    assert e.reason == "strength = 3 is outside the CDNA bounds [0, 1]"
    assert str(e) == f"Guardian refused connection.create: row 4 ({a[4]} -> {b[4]}): {e.reason}"
    ev = rt.events(last=1).iloc[0]  # the event log keeps the located reason
    assert (ev["kind"], ev["accepted"]) == ("connection.create_many", False)
    assert ev["reason"] == f"row 4 ({a[4]} -> {b[4]}): {e.reason}"
    with pytest.raises(ng.ValidationError) as single:
        rt.connections.create(int(a[0]), int(b[0]), strength=0.1 - 1)
    e = single.value
    assert (e.row, e.field, e.value, e.limit) == (None, "strength", -0.9, 0.0)
    assert str(e) == f"Guardian refused connection.create: {e.reason}"
    # a degree limit names the limit it crossed; the row is where the batch first crosses it
    rt.cdna.update(max_out_degree=2)
    with pytest.raises(ng.ValidationError) as degree:
        rt.connections.create_many([int(a[0])] * 3, b[:3])
    e = degree.value
    assert (e.row, e.field, e.value, e.limit) == (0, "out_degree", 3.0, 2.0)
    assert f"row 0: token {a[0]} would have out-degree 3 > max_out_degree 2" in str(e)
    # strict mode: a duplicate in the batch is refused at its row
    rt.cdna.set_profile("analyst", policy="force")
    with pytest.raises(ng.ValidationError) as dup:
        rt.connections.create_many([int(a[5]), int(a[5])], [int(b[5]), int(b[5])])
    e = dup.value
    assert (e.row, e.field, e.value, e.limit) == (1, "STRICT_MODE", None, None)
    assert e.reason.endswith("already exists")
    pd.testing.assert_frame_equal(rt.connections.to_pandas(), before)
    # bad input that no CDNA rule refused has the row, and no Guardian data
    with pytest.raises(ng.ValidationError) as other:
        rt.tokens.create_many(np.full((2, 8, 3), np.nan))
    assert (other.value.row, other.value.action, other.value.field) == (0, None, None)


def test_for_token_delete_and_cascade(filled):
    rt, ids = filled
    hub = int(ids[0])
    df = rt.connections.for_token(hub)
    assert isinstance(df, pd.DataFrame)
    assert ((df["token_a"] == hub) | (df["token_b"] == hub)).all() and len(df) == 2
    cid = int(df.index[0])
    rt.connections.delete(cid)
    with pytest.raises(ng.NotFoundError, match=f"no connection with id {cid}"):
        rt.connections[cid]
    with pytest.raises(ng.NotFoundError):
        rt.connections.delete([cid])
    n = len(rt.connections)
    touching = len(rt.connections.for_token(int(ids[1])))
    assert touching >= 1
    rt.tokens.delete(int(ids[1]))
    assert len(rt.connections) == n - touching
    remaining = rt.connections.to_pandas()
    assert not ((remaining["token_a"] == int(ids[1])) | (remaining["token_b"] == int(ids[1]))).any()
    with pytest.raises(ng.NotFoundError):
        rt.connections.for_token(int(ids[1]))


def test_feedback_rules(filled):
    rt, ids = filled
    learn = rt.connections.create(int(ids[40]), int(ids[41]), kind="associated_with", confidence=0.5, learning_rate=0.2)
    before = rt.connections[learn].confidence
    assert rt.connections.feedback(learn, good=True) == "updated"
    up = rt.connections[learn]
    assert up.confidence == pytest.approx(before + 0.2, abs=1 / 255)
    assert up.evidence_count == 1 and "REINFORCED" in up.flags
    assert rt.connections.feedback(learn, good=False) == "updated"
    assert rt.connections[learn].confidence == pytest.approx(before + 0.1, abs=2 / 255)
    fixed = rt.connections.create(int(ids[40]), int(ids[42]), kind="synonym")
    snapshot = rt.connections[fixed]
    assert rt.connections.feedback(fixed, good=True) == "unchanged"
    assert rt.connections[fixed] == snapshot
    with pytest.raises(ng.NotFoundError):
        rt.connections.feedback(99999)


def test_hypotheses_decay_and_drop_under_ten_percent(filled):
    rt, ids = filled
    hyp = rt._core.create_connections(
        ids[40:42], ids[42:44], kind="cause", confidence=0.35, decay_rate=0.1, hypothesis=True
    )
    assert rt.connections[int(hyp[0])].mutability == "hypothesis"
    n = len(rt.connections)
    assert rt.connections.decay() == 0  # 0.35 -> 0.25
    assert rt.connections.decay() == 0  # 0.25 -> 0.15
    assert rt.connections.decay() == 2  # 0.15 -> 0.04: under the 10% floor
    assert len(rt.connections) == n - 2
    assert rt.connections.decay() == 0  # learnable and immutable connections never decay


def test_list_and_repr(filled):
    rt, _ = filled
    conns = rt.connections.list(limit=2)
    assert len(conns) == 2 and all(isinstance(c, ng.Connection) for c in conns)
    assert "->" in repr(conns[0]) and "-&gt;" in conns[0]._repr_html_()
    assert conns[0].to_pandas()["kind"] == conns[0].kind


def test_connection_churn_leaves_an_empty_store_small(rt):
    # review S3-4: 20M connections created and deleted left 192 MB of id table behind
    ids = rt.tokens.create_many(np.zeros((1000, 8, 3), np.float32))
    a = np.repeat(ids[:500], 4)[:2000]
    b = np.tile(ids[500:], 4)[:2000]
    rt.cdna.update(max_out_degree=100_000, max_in_degree=100_000, max_total_degree=200_000)
    for _ in range(50):
        made = rt.connections.create_many(np.repeat(a, 10), np.repeat(b, 10))
        rt.connections.delete(made)
    assert len(rt.connections) == 0
    assert rt.status().memory["connections"] < 1 << 20
    made = rt.connections.create_many(a, b)  # ids still hand out
    assert len(np.unique(made)) == 2000


def test_kinds_ids_and_good_refuse_bools_and_out_of_range(filled):
    # S4: kind=True meant "antonym", feedback(-1) raised OverflowError, good="no" counted as good
    rt, ids = filled
    a, b = int(ids[20]), int(ids[21])
    before = rt.connections.to_pandas()
    with pytest.raises(ng.ValidationError, match="kind must be a name or a code, got the bool True"):
        rt.connections.create(a, b, kind=True)
    with pytest.raises(ng.ValidationError, match="not a bool"):
        rt.connections.create_many([a], [b], kind=[True])
    with pytest.raises(ng.ValidationError, match=r"connection id must be an integer in 0\.\.=4294967295, got -1"):
        rt.connections.feedback(-1)
    with pytest.raises(ng.ValidationError, match="connection id must be an integer in"):
        rt.connections.feedback(2**40)
    cid = int(before.index[0])
    with pytest.raises(ng.ValidationError, match="good must be True or False, got str 'no'"):
        rt.connections.feedback(cid, good="no")
    with pytest.raises(ng.ValidationError, match="a connection id must be an integer, got float"):
        rt.connections.delete(float(cid))
    pd.testing.assert_frame_equal(rt.connections.to_pandas(), before)
    assert rt.connections.feedback(cid, good=np.bool_(False)) in ("updated", "unchanged", "dropped")


def test_connection_values_keep_the_stored_numbers(filled):
    # M7: Connection values used to be rounded to 4 digits (0.1235 while to_pandas() said
    # 0.123456); only the reprs round now
    rt, ids = filled
    cid = rt.connections.create(int(ids[30]), int(ids[31]), strength=0.123456, rigidity=0.3)
    c, row = rt.connections[cid], rt.connections.to_pandas().loc[cid]
    assert c.strength == row["strength"] == np.float32(0.123456)
    assert c.confidence == row["confidence"] and c.rigidity == row["rigidity"]
    assert [x.strength for x in rt.connections.list(limit=100) if x.id == cid] == [c.strength]
    assert "strength=0.1235" in repr(c) and "0.1235" in c._repr_html_()
