"""The core's single implementations of shared rules, as the Python layer sees them (M4):
space spellings, the graph neighbourhood and the name tables."""

from __future__ import annotations

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab import _core


@pytest.mark.parametrize("spelling", ["cognitive", " Cognitive ", "L5", "l5", "5", 5, np.int64(5)])
def test_parse_space_accepts_every_documented_spelling(spelling: object) -> None:
    assert _core.SPACES[_core.parse_space(spelling)] == "cognitive"


@pytest.mark.parametrize("bad", [True, "L9", "cognitve", 0, 9, 1.5, None])
def test_parse_space_refuses_with_the_accepted_spellings(bad: object) -> None:
    with pytest.raises(ng.ValidationError, match="cognitive"):
        _core.parse_space(bad)


def test_mutability_names_follow_the_codes_connections_carry() -> None:
    rt = ng.Runtime()
    a, b = (int(i) for i in rt.tokens.create_many(np.zeros((2, 8, 3), np.float32)))
    rt.connections.create(a, b, kind="synonym")  # a semantic kind: immutable
    codes = rt.connections.to_pandas()["mutability"]
    assert list(codes) == [_core.MUTABILITY_NAMES[0]] == ["immutable"]


@pytest.fixture
def chain() -> tuple[ng.Runtime, list[int]]:
    """t0 -> t1 -(cause)-> t2, t3 -> t0, t4 <-> t0 (bidirectional), t5 isolated."""
    rt = ng.Runtime()
    t = [int(i) for i in rt.tokens.create_many(np.zeros((6, 8, 3), np.float32))]
    rt.connections.create(t[0], t[1])
    rt.connections.create(t[1], t[2], kind="cause")
    rt.connections.create(t[3], t[0])
    rt.connections.create(t[4], t[0], bidirectional=True)
    return rt, t


def core_of(rt: ng.Runtime) -> _core.Runtime:
    """The compiled runtime the facade holds."""
    return getattr(rt, "_core", rt)


def hood(rt: ng.Runtime, *args: object, **kw: object) -> list[tuple[int, int]]:
    ids, hops = core_of(rt).graph_neighbourhood(*args, **kw)
    return list(zip(ids.tolist(), hops.tolist()))


def test_neighbourhood_follows_directions_hops_and_kinds(chain: tuple[ng.Runtime, list[int]]) -> None:
    rt, t = chain
    assert hood(rt, [t[0]], 1) == [(t[0], 0), (t[1], 1), (t[4], 1)]
    assert hood(rt, [t[0]], None) == [(t[0], 0), (t[1], 1), (t[4], 1), (t[2], 2)]
    assert hood(rt, [t[0]], 1, "in") == [(t[0], 0), (t[3], 1), (t[4], 1)]
    assert hood(rt, [t[2]], None, "both") == [(t[2], 0), (t[1], 1), (t[0], 2), (t[3], 3), (t[4], 3)]
    assert hood(rt, [t[0]], None, "out", ["associative"]) == [(t[0], 0), (t[1], 1), (t[4], 1)]
    assert hood(rt, [t[0]], None, "out", ["associated_with", "cause"]) == hood(rt, [t[0]], None)
    assert hood(rt, [t[5], t[0], t[5]], 0) == [(t[5], 0), (t[0], 0)]
    assert hood(rt, [t[0]], None, limit=2) == [(t[0], 0), (t[1], 1)]


@pytest.mark.parametrize(
    ("args", "kw", "error", "match"),
    [
        (([999],), {}, ng.NotFoundError, "999"),
        (([1],), {"depth": -1}, ng.ValidationError, "depth"),
        (([1],), {"direction": "up"}, ng.ValidationError, "direction"),
        (([1],), {"kinds": ["nope"]}, ng.ValidationError, "nope"),
        (([1],), {"kinds": "cause"}, ng.ValidationError, "list"),
        (([1],), {"limit": -1}, ng.ValidationError, "limit"),
    ],
)
def test_neighbourhood_refuses_bad_input(
    chain: tuple[ng.Runtime, list[int]], args: tuple, kw: dict, error: type, match: str
) -> None:
    rt, _ = chain
    before = rt.connections.to_pandas()
    with pytest.raises(error, match=match):
        core_of(rt).graph_neighbourhood(*args, **kw)
    assert rt.connections.to_pandas().equals(before)


def test_cdna_fields_are_the_core_table_every_name_readable_and_settable() -> None:
    rt = ng.Runtime()
    assert len(ng.CDNA_FIELDS) == len(set(ng.CDNA_FIELDS)) == 20
    assert {"mutation_rate", "crossover_rate", "selection_pressure"} <= set(ng.CDNA_FIELDS)
    for name in ng.CDNA_FIELDS:
        value = rt.cdna[name]
        rt.cdna.update({name: value})  # the same value: accepted, nothing changes
        assert rt.cdna[name] == value
    with pytest.raises(ng.ValidationError, match="no_such_field"):
        rt.cdna.update(no_such_field=1.0)
