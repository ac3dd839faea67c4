"""CDNA V2.1: profiles, scales, flags, bounds, validation, history and the 384-byte record."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import neurograph_lab as ng


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_default_profile_and_record(rt):
    assert rt.cdna.profile == "default"
    raw = rt.cdna.to_bytes()
    assert len(raw) == 384 and raw[:4] == b"CDNA"
    assert struct.unpack_from("<HH", raw, 4) == (2, 1)
    stored = struct.unpack_from("<Q", raw, 40)[0]
    assert fnv1a64(raw[:40] + b"\0" * 8 + raw[48:]) == stored
    assert rt.cdna.validate() == []
    cfg = rt.cdna.config()
    assert list(cfg) == [
        "header",
        "grid_physics",
        "graph_topology",
        "token_properties",
        "connection_constraints",
        "evolution",
    ]


@pytest.mark.parametrize(
    "profile, out_deg, total, mutation, strict",
    [
        ("default", 1000, 2000, 0.01, False),
        ("explorer", 2000, 4000, 0.05, False),
        ("analyst", 500, 1000, 0.01, True),
        ("creative", 1000, 2000, 0.1, False),
    ],
)
def test_profiles(rt, profile, out_deg, total, mutation, strict):
    rt.cdna.profile = profile
    assert rt.cdna.profile == profile
    assert rt.cdna["max_out_degree"] == out_deg and rt.cdna["max_total_degree"] == total
    assert rt.cdna["mutation_rate"] == pytest.approx(mutation)
    assert rt.cdna.flags["STRICT_MODE"] is strict
    if profile == "creative":
        assert rt.cdna.flags["ENABLE_MUTATION"] and rt.cdna["crossover_rate"] == pytest.approx(0.2)


def test_invalid_profile_changes_nothing(rt):
    rev = rt.cdna.revision
    with pytest.raises(ng.ValidationError, match='unknown CDNA profile "wizard"'):
        rt.cdna.profile = "wizard"
    assert rt.cdna.profile == "default" and rt.cdna.revision == rev


def test_scales(rt):
    rt.cdna.update_scales(cognitive=2.0)
    rt.cdna.update_scales({"L1": 0.5, 8: 3.0})
    s = rt.cdna.scales
    assert (s["cognitive"], s["physical"], s["abstract"]) == (2.0, 0.5, 3.0)
    rt.cdna.update_scales([1.5] * 8)
    assert set(rt.cdna.scales.values()) == {1.5}
    for bad, match in [
        ({"cognitive": -1.0}, "scale of cognitive = -1"),
        ({"cognitive": float("nan")}, "scale of cognitive"),
        ({"colour": 1.0}, "unknown space"),
        ({"social": 5000.0}, r"\(0, 1000\]"),
    ]:
        with pytest.raises(ng.ValidationError, match=match):
            rt.cdna.update_scales(bad)
    with pytest.raises(ng.ValidationError, match="8 values"):
        rt.cdna.update_scales([1.0, 2.0])
    assert set(rt.cdna.scales.values()) == {1.5}


def test_flags(rt):
    rt.cdna.set_flags(STRICT_MODE=True)
    assert rt.cdna.flags["STRICT_MODE"]
    with pytest.raises(ng.ValidationError, match='unknown CDNA flag "FAST"'):
        rt.cdna.set_flags(FAST=True)
    rt.cdna.set_flags(ENABLE_VALIDATION=False)
    heavy = rt.tokens.create(weight=5.0)  # bounds are not enforced with validation off
    # Turning validation back on would break the token just made: refused unless asked.
    with pytest.raises(ng.ValidationError, match=f"1 token breaks it .e.g. token {heavy}: weight = 5"):
        rt.cdna.set_flags(ENABLE_VALIDATION=True)
    rt.cdna.set_flags(ENABLE_VALIDATION=True, policy="force")
    with pytest.raises(ng.ValidationError):
        rt.tokens.create(weight=5.0)


def test_events_flag_silences_accepted_events_only(rt):
    rt.cdna.set_flags(ENABLE_EVENTS=False)
    n = len(rt.events())
    rt.tokens.create()
    assert len(rt.events()) == n
    with pytest.raises(ng.ValidationError):
        rt.tokens.create(weight=-1.0)
    assert len(rt.events()) == n + 1


def test_bounds_are_validated(rt):
    rt.cdna.update(token_weight_min=-1.0, token_weight_max=5.0)
    rt.tokens.create(weight=-0.5)
    for fields, match in [
        (dict(token_weight_min=3.0, token_weight_max=2.0), "token_weight_min = 3 is greater than token_weight_max = 2"),
        (dict(rigidity_max=1.5), r"rigidity bounds \[0, 1\.5\] must lie within \[0, 1\]"),
        (dict(max_out_degree=0), "max_out_degree must be >= 1"),
        (dict(max_out_degree=2.5), "whole number"),
        (dict(mutation_rate=2.0), "mutation_rate = 2 must be in"),
        (dict(wobble=1.0), "unknown field"),
    ]:
        rev = rt.cdna.revision
        with pytest.raises(ng.ValidationError, match=match):
            rt.cdna.update(**fields)
        assert rt.cdna.revision == rev
    assert rt.cdna["token_weight_max"] == 5.0


def test_history_and_rollback(rt):
    rt.cdna.profile = "explorer"
    rt.cdna.update_scales(cognitive=4.0)
    h = rt.cdna.history()
    assert h["revision"].tolist() == [0, 1] and h["profile"].tolist() == ["default", "explorer"]
    assert "cognitive=4" in rt.events()["target"].iloc[-1]
    rt.cdna.rollback()
    assert rt.cdna.scales["cognitive"] == 1.0 and rt.cdna.profile == "explorer"
    rt.cdna.rollback(3)
    assert rt.cdna.profile == "default"
    assert rt.cdna.revision == 4
    with pytest.raises(ng.ValidationError, match="history holds"):
        rt.cdna.rollback(100)
    with pytest.raises(ng.ValidationError):
        rt.cdna.rollback(0)


def test_refused_change_is_an_event(rt):
    with pytest.raises(ng.ValidationError):
        rt.cdna.update(strength_min=2.0)
    ev = rt.events().iloc[-1]
    assert ev["kind"] == "cdna.change" and not ev["accepted"] and "strength" in ev["reason"]


def test_reprs(rt):
    text = repr(rt.cdna)
    assert text.startswith("CDNA V2.1") and "explorer" not in text and "1000 / 1000 / 2000" in text
    assert "<table" in rt.cdna._repr_html_()


def test_a_change_the_data_breaks_is_refused_unless_a_policy_says_otherwise(rt):
    # review S2-5: the CDNA accepted bounds the tokens already broke, then refused harmless updates
    ids = rt.tokens.create_many(np.zeros((50, 8, 3)), weights=np.full(50, 0.9))
    rev = rt.cdna.revision
    with pytest.raises(ng.ValidationError, match=rf"50 tokens break it \(e.g. token {ids[0]}: weight = 0.9"):
        rt.cdna.update(token_weight_max=0.5)
    assert rt.cdna.revision == rev and rt.cdna["token_weight_max"] == 1.0
    assert not rt.events(last=1).iloc[0]["accepted"]
    # force: accepted, the data stays, validate() reports it, unrelated updates still work
    rt.cdna.update(token_weight_max=0.5, policy="force")
    assert rt.tokens[int(ids[3])].weight == pytest.approx(0.9)
    assert any("50 tokens break it" in p for p in rt.cdna.validate())
    rt.tokens.update(int(ids[3]), label="x")
    rt.cdna.update_scales(cognitive=2.0)  # data that already broke the rules blocks nothing else
    with pytest.raises(ng.ValidationError, match="weight"):
        rt.tokens.update(int(ids[3]), weight=0.8)
    # clamp: the data is brought into the bounds
    rt.cdna.update(token_weight_max=0.4, policy="clamp")
    assert (rt.tokens.to_pandas()["weight"] <= 0.4).all() and rt.cdna.validate() == []
    with pytest.raises(ng.ValidationError, match="policy"):
        rt.cdna.update(token_weight_max=0.3, policy="maybe")


def test_degree_limits_below_the_degrees_held_are_refused(filled):
    rt, ids = filled
    hub = int(ids[0])
    rt.connections.create_many(np.full(5, hub), ids[1:6])
    with pytest.raises(ng.ValidationError, match=f"token {hub} has out_degree"):
        rt.cdna.update(max_out_degree=2)
    with pytest.raises(ng.ValidationError, match="cannot|force"):
        rt.cdna.update(max_out_degree=2, policy="clamp")  # degrees cannot be clamped
    rt.cdna.update(max_out_degree=2, policy="force")
    assert any("out_degree" in p for p in rt.cdna.validate())


def test_an_empty_change_makes_no_revision_and_huge_names_do_not_fill_the_log(rt):
    # review S4: set_cdna_kinds([]) recorded a revision; 1 MB field names went into the log
    rev = rt.cdna.revision
    rt.cdna.forbid_kinds()
    rt.cdna.update()
    assert rt.cdna.revision == rev
    for _ in range(3):
        with pytest.raises(ng.ValidationError):
            rt.cdna.update(**{"x" * 1_000_000: 1.0})
    ev = rt.events(last=3)
    assert ev["target"].str.len().max() <= 1010 and ev["reason"].str.len().max() <= 1010


def test_tiny_scales_are_refused_not_stored_as_denormals(rt):
    # S4: 1e-45 was stored as a float32 denormal
    before = rt.cdna.scales
    for tiny in (1e-45, 1e-40, 1e-300):
        with pytest.raises(ng.ValidationError, match="scale of cognitive = .* is too small"):
            rt.cdna.update_scales(cognitive=tiny)
    with pytest.raises(ng.ValidationError, match="too small"):
        rt.update_cdna_scales({"L5": 1e-45})
    assert rt.cdna.scales == before
    rt.cdna.update_scales(cognitive=1e-30)
    assert rt.cdna.scales["cognitive"] == pytest.approx(1e-30)
