"""A stateful property test of the whole store against a plain Python model of it.

Hypothesis drives a ``RuleBasedStateMachine`` through random sequences of token creates
(single and ``create_many``, with labels, weights, entities, spaces left undefined with
``undefined="nan"`` and explicit ids), updates, deletes, connection creates and deletes of
several kinds, small bootstraps (10-30 words x 8 dims, ``k`` 0..3, with and without
``replace=True``, words that look like operators or repeat existing labels), feedback
(``rt.feedback`` and ``rt.connections.feedback``), semantic queries, ``tokens.clear()``, CDNA
changes (bounds that the data may already break; refused, or with ``policy="clamp"``
weights and strengths clamped into them), ``save()`` and ``load()`` (the runtime is
replaced by the loaded one, possibly from an older file). The model holds the tokens
``{id: coords, weight, entity, label, defined spaces}``, the connections
``{id: a, b, kind, strength, confidence, evidence, ...}``, the CDNA bounds it uses and the
vocabulary ``{word: token id}``.

After every step it checks that

- the runtime equals the model: ids, coordinates to fixed-point precision, weights, entities,
  labels, connection endpoints, kinds, strengths and confidences, counts, degrees, the grid
  index of one space, the CDNA bounds and the vocabulary;
- ``save()`` then ``load()`` round-trips exactly (tokens, connections, CDNA record and
  history, bootstrap vocabulary and vectors);
- every vocabulary word is found: its vector's top hit is its own token, and the query by its
  text returns exactly the other words' tokens;
- a change of the data bumps ``data_version()``;
- a refused step (an exception) changed nothing: a fingerprint of the token columns, labels,
  connection columns, CDNA bytes and bootstrap state is the same before and after. Refusals
  the model predicts (unknown ids, values outside the CDNA bounds, a second bootstrap without
  ``replace``...) must be refusals; steps the model accepts must succeed.

What the model says where the issue leaves a choice (issue 10): deleting a word's token
removes that word from the vocabulary; ``tokens.clear()`` removes the whole vocabulary; a
CDNA change that the current tokens or connections break is refused (with ``policy="clamp"``
weights and strengths are clamped, and degrees still refuse); freed ids may be reused (any id
not in use is a valid new id). Where the issue allows either of two designs, both are
accepted, but a refusal must change nothing: a bootstrap whose weave strengths cannot lie in
the CDNA bounds may be refused or clamped; once the vocabulary is empty (every word's token
deleted, or ``clear()``), the emptied bootstrap may stay (``bootstrap_info()["words"] == 0``,
and a new bootstrap needs ``replace=True``) or go (``bootstrap_info() is None``).

The number of examples is bounded for CI. Run it longer with, e.g.::

    NG_STATEFUL_EXAMPLES=2000 pytest tests/test_stateful.py
    NG_STATEFUL_EXAMPLES=500 NG_STATEFUL_STEPS=100 pytest tests/test_stateful.py

(``NG_STATEFUL_EXAMPLES``: runs, default 60; ``NG_STATEFUL_STEPS``: steps per run, default
30.) A failure prints the shortest sequence of calls that reproduces it.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import neurograph_lab as ng
from neurograph_lab import _core

settings.register_profile(
    "ng-stateful",
    max_examples=int(os.environ.get("NG_STATEFUL_EXAMPLES", "60")),
    stateful_step_count=int(os.environ.get("NG_STATEFUL_STEPS", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

ID_MAX = (1 << 24) - 1
SPACES = list(_core.SPACES)
SCALES = np.asarray(_core.SPACE_SCALES, dtype=np.float64)
ENTITIES = list(_core.ENTITY_TYPES)
KIND_CODES = {name: code for code, name in enumerate(_core.CONNECTION_KINDS)}
# a few kinds of each mutability: synonym, part_of (immutable); cause, before,
# associated_with, likes (learnable)
KINDS = ["synonym", "part_of", "cause", "before", "associated_with", "likes"]
DIM = 8
# labels and words: plain words, operator look-alikes (real GloVe vocabularies hold these),
# markup and non-ASCII text
LABELS = ["cat", "dog", "-", "+", ",", "'s", "<!--<script>", "</script>", "naïve", "\u2028", "42", "w3"]
WORDS = ["cat", "dog", "-", "+", ",", "'s", "42", "naïve", "</script>"] + [f"w{i}" for i in range(40)]
# exactly representable in float32, so bounds compare without rounding doubts
WEIGHTS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, -0.5]
STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, -0.5, -0.75]


def _mutable(kind_code: int) -> bool:
    return (kind_code >> 4) not in (0x0, 0x3, 0x4, 0x6, 0x9)


def _u8(v: float) -> int:
    return int(np.round(np.float32(min(max(v, 0.0), 1.0)) * np.float32(255.0)))


@dataclass
class MTok:
    coords: np.ndarray  # (8, 3) float64, NaN where the token is not placed
    weight: float
    entity: str
    label: Optional[str]


@dataclass
class MConn:
    a: int
    b: int
    kind: str
    strength: float
    confidence: int  # the stored byte: confidence = byte / 255
    learning_rate: int  # the stored byte
    evidence: int = 0
    bidirectional: bool = False


@dataclass
class Model:
    tokens: dict[int, MTok] = field(default_factory=dict)
    conns: dict[int, MConn] = field(default_factory=dict)
    cdna: dict[str, float] = field(
        default_factory=lambda: {
            "token_weight_min": 0.0,
            "token_weight_max": 1.0,
            "strength_min": 0.0,
            "strength_max": 1.0,
            "default_pull_strength": 0.5,
            "max_out_degree": 1000,
            "max_in_degree": 1000,
            "max_total_degree": 2000,
        }
    )
    boot: bool = False  # a bootstrap was made (its vocabulary may since have emptied)
    vocab: dict[str, int] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # raw vectors of the words

    # -- derived --
    def degrees(self) -> tuple[dict[int, int], dict[int, int]]:
        out: dict[int, int] = {}
        inn: dict[int, int] = {}
        for c in self.conns.values():
            out[c.a] = out.get(c.a, 0) + 1
            inn[c.b] = inn.get(c.b, 0) + 1
        return out, inn

    def weight_ok(self, w: float) -> bool:
        return self.cdna["token_weight_min"] <= w <= self.cdna["token_weight_max"]

    def strength_ok(self, s: float) -> bool:
        return self.cdna["strength_min"] <= s <= self.cdna["strength_max"]

    def degree_breaks(self, extra: list[tuple[int, int]], cdna: Optional[dict[str, float]] = None) -> bool:
        """Whether the connections plus ``extra`` (a, b) pairs break the degree limits at a
        token that ``extra`` touches (or at any token when ``extra`` is empty and ``cdna`` is
        a proposed configuration)."""
        c = self.cdna if cdna is None else cdna
        out, inn = self.degrees()
        for a, b in extra:
            out[a] = out.get(a, 0) + 1
            inn[b] = inn.get(b, 0) + 1
        touched = {t for pair in extra for t in pair} if extra else set(out) | set(inn)
        for t in touched:
            o, i = out.get(t, 0), inn.get(t, 0)
            if o > c["max_out_degree"] or i > c["max_in_degree"] or o + i > c["max_total_degree"]:
                return True
        return False

    def remove_tokens(self, ids: list[int]) -> None:
        gone = set(ids)
        for t in gone:
            del self.tokens[t]
        self.conns = {cid: c for cid, c in self.conns.items() if c.a not in gone and c.b not in gone}
        for w in [w for w, t in self.vocab.items() if t in gone]:
            del self.vocab[w]
            del self.vectors[w]


# -- reading the runtime ---------------------------------------------------------------------


def token_columns(rt: ng.Runtime) -> dict[str, Any]:
    return rt._core.token_columns(None, 0, False)


def connection_columns(rt: ng.Runtime) -> dict[str, Any]:
    return rt._core.connection_columns(None)


def vocabulary(rt: ng.Runtime) -> tuple[list[str], np.ndarray]:
    if rt._core.bootstrap_info() is None:
        return [], np.empty(0, np.uint32)
    words, ids = rt._core.bootstrap_vocabulary()
    return list(words), np.asarray(ids)


def _hash_value(h: Any, v: Any) -> None:
    if isinstance(v, np.ndarray):
        h.update(str(v.dtype).encode() + str(v.shape).encode())
        h.update(np.ascontiguousarray(v).tobytes())
    elif isinstance(v, dict):
        for k in sorted(v):
            h.update(repr(k).encode())
            _hash_value(h, v[k])
    else:
        h.update(repr(v).encode())


def fingerprint(rt: ng.Runtime) -> str:
    """A hash of everything a refused call must leave as it was."""
    h = hashlib.sha256()
    _hash_value(h, token_columns(rt))
    _hash_value(h, connection_columns(rt))
    h.update(rt.cdna.to_bytes())
    info = rt._core.bootstrap_info()
    _hash_value(h, info)
    if info is not None:
        words, ids = rt._core.bootstrap_vocabulary()
        _hash_value(h, list(words))
        _hash_value(h, np.asarray(ids))
        _hash_value(h, np.asarray(rt._core.bootstrap_vectors()))
    return h.hexdigest()


def _by_id(cols: dict[str, Any]) -> dict[str, Any]:
    order = np.argsort(np.asarray(cols["id"]), kind="stable")
    return {k: [v[i] for i in order] if isinstance(v, list) else np.asarray(v)[order] for k, v in cols.items()}


def assert_same_runtime(a: ng.Runtime, b: ng.Runtime) -> None:
    """``b`` (loaded from a file ``a`` saved) holds exactly what ``a`` holds."""
    for what, ca, cb in [
        ("token", token_columns(a), token_columns(b)),
        ("connection", connection_columns(a), connection_columns(b)),
    ]:
        ca, cb = _by_id(ca), _by_id(cb)
        assert sorted(ca) == sorted(cb), f"{what} columns differ: {sorted(ca)} != {sorted(cb)}"
        for k in ca:
            if isinstance(ca[k], list):
                assert ca[k] == cb[k], f"{what} column {k} changed in the round trip"
            else:
                assert np.array_equal(ca[k], cb[k], equal_nan=ca[k].dtype.kind == "f"), (
                    f"{what} column {k} changed in the round trip"
                )
    assert a.cdna.to_bytes() == b.cdna.to_bytes(), "the CDNA record changed in the round trip"
    assert a._core.cdna_history() == b._core.cdna_history(), "the CDNA history changed in the round trip"
    assert a._core.bootstrap_info() == b._core.bootstrap_info(), "bootstrap_info changed in the round trip"
    wa, ia = vocabulary(a)
    wb, ib = vocabulary(b)
    assert wa == wb and np.array_equal(ia, ib), "the vocabulary changed in the round trip"
    if a._core.bootstrap_info() is not None:
        assert np.array_equal(np.asarray(a._core.bootstrap_vectors()), np.asarray(b._core.bootstrap_vectors()))


def release(rt: ng.Runtime) -> None:
    """Give back a runtime's memory now, whoever still holds the object.

    A failing run's traceback keeps its frames, and Hypothesis keeps the exceptions of the
    failing runs it tries while shrinking, so runtimes outlive their runs; today each can
    hold a few hundred MB (id-sized tables, review item S3-1), and the views refer back to
    the runtime (a reference cycle, S3-3). So empty it, let the graph cache rebuild on the
    empty store, and cut the cycle."""
    try:
        rt.tokens.clear()
        rt.graph.degrees()
    except ng.NeuroGraphError:
        pass
    rt.__dict__.clear()


# -- the state machine -----------------------------------------------------------------------


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rt = ng.Runtime()
        self.m = Model()
        self.tmp = tempfile.mkdtemp(prefix="ng_stateful_")
        self.saved: dict[str, Model] = {}  # file -> the model when it was saved
        self.checked_fp: Optional[str] = None  # fingerprint whose round trip was checked
        self.last_fp = fingerprint(self.rt)
        self.last_dv = self.rt._core.data_version()
        self.space_turn = 0

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        release(self.rt)

    # -- helpers --
    def refused(self, call: Callable[[], Any], exc: Any = ng.NeuroGraphError, what: str = "") -> BaseException:
        """Run ``call``, which the model says must be refused with ``exc``; the data must not
        change."""
        before = fingerprint(self.rt)
        with pytest.raises(exc) as info:
            call()
        note(f"refused as expected ({what}): {type(info.value).__name__}: {info.value}")
        assert fingerprint(self.rt) == before, f"a refused call changed the data ({what}): {info.value}"
        return info.value

    def either(self, call: Callable[[], Any], what: str) -> tuple[bool, Any]:
        """Run a call the model allows to succeed or to be refused; a refusal must change
        nothing. Returns (accepted, result or exception)."""
        before = fingerprint(self.rt)
        try:
            return True, call()
        except ng.NeuroGraphError as e:
            note(f"refused ({what}): {e}")
            assert fingerprint(self.rt) == before, f"a refused call changed the data ({what}): {e}"
            return False, e

    def pick_ids(self, data: Any, n_max: int = 3, missing: bool = False) -> list[int]:
        live = sorted(self.m.tokens)
        out = data.draw(st.lists(st.sampled_from(live), max_size=n_max, unique=True)) if live else []
        if missing or not out:
            free = data.draw(st.sampled_from([0xABCDE, 77, ID_MAX, 1, 2, 3]).filter(lambda t: t not in self.m.tokens))
            if missing:
                out.append(free)
        return out

    def draw_coords(self, data: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, 8, 3) float32 coordinates on the fixed-point grid, NaN rows for spaces left
        undefined; and the (n, 8) defined masks."""
        seed = data.draw(st.integers(0, 2**32 - 1), label="coords seed")
        masks = np.array(
            data.draw(st.lists(st.integers(0, 255), min_size=n, max_size=n), label="masks"), dtype=np.int64
        ).reshape(n)
        rng = np.random.default_rng(seed)
        steps = rng.integers(-32000, 32001, (n, 8, 3))
        coords = (steps / SCALES[None, :, None]).astype(np.float32)
        defined = ((masks[:, None] >> np.arange(8)[None, :]) & 1).astype(bool)
        coords[~defined] = np.nan
        return coords, defined

    def add_tokens(
        self,
        ids: np.ndarray,
        coords: np.ndarray,
        weights: list[float],
        entities: list[str],
        labels: list[Optional[str]],
    ) -> None:
        ids = [int(i) for i in np.asarray(ids).ravel()]
        assert len(ids) == len(set(ids)) == len(weights), f"create returned ids {ids}"
        for i, tid in enumerate(ids):
            assert 1 <= tid <= ID_MAX, f"new id {tid} outside 1..{ID_MAX}"
            assert tid not in self.m.tokens, f"new id {tid} is already in use"
            self.m.tokens[tid] = MTok(coords[i].astype(np.float64), weights[i], entities[i], labels[i])

    # -- tokens --
    @rule(data=st.data())
    def create_one(self, data: Any) -> None:
        coords, defined = self.draw_coords(data, 1)
        kw: dict[str, Any] = {SPACES[s]: tuple(float(v) for v in coords[0, s]) for s in range(8) if defined[0, s]}
        weight = data.draw(st.one_of(st.none(), st.sampled_from(WEIGHTS)), label="weight")
        entity = data.draw(st.one_of(st.none(), st.sampled_from(ENTITIES)), label="entity")
        label = data.draw(st.one_of(st.none(), st.sampled_from(LABELS)), label="label")
        explicit = data.draw(
            st.one_of(
                st.none(),
                st.sampled_from([1, 2, 5, 100, 0xABCDE, 16_000_000, ID_MAX, 0, ID_MAX + 1]),
                st.sampled_from(sorted(self.m.tokens) or [1]),
            ),
            label="id",
        )
        if weight is not None:
            kw["weight"] = weight
        if entity is not None:
            kw["entity"] = entity
        if label is not None:
            kw["label"] = label
        if explicit is not None:
            kw["id"] = explicit
        w = 1.0 if weight is None else weight
        bad_id = explicit is not None and (not 1 <= explicit <= ID_MAX or explicit in self.m.tokens)
        if bad_id or not self.m.weight_ok(w):
            self.refused(lambda: self.rt.tokens.create(**kw), ng.ValidationError, "create: bad id or weight")
            return
        tid = self.rt.tokens.create(**kw)
        if explicit is not None:
            assert tid == explicit
        self.add_tokens(np.array([tid]), coords, [w], [entity or "undefined"], [label])

    @rule(data=st.data())
    def create_many(self, data: Any) -> None:
        n = data.draw(st.integers(0, 6), label="n")
        coords, _ = self.draw_coords(data, n)
        weights = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(WEIGHTS), min_size=n, max_size=n)))
        entities = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(ENTITIES), min_size=n, max_size=n)))
        labels = data.draw(
            st.one_of(st.none(), st.lists(st.one_of(st.none(), st.sampled_from(LABELS)), min_size=n, max_size=n))
        )
        ids = None
        if data.draw(st.booleans(), label="explicit ids"):
            pool = [3, 4, 9, 1000, 0xFFFFF, ID_MAX] + sorted(self.m.tokens)[:3]
            ids = data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n), label="ids")
        nan_ok = data.draw(st.booleans(), label="undefined='nan'") or not np.isnan(coords).any()
        bad_row = (
            data.draw(st.one_of(st.none(), st.integers(0, max(n - 1, 0))), label="out-of-range row") if n else None
        )
        if bad_row is not None:
            coords[bad_row, 0, 0] = 400.0  # physical holds +-327.67
        kw: dict[str, Any] = dict(weights=weights, entities=entities, labels=labels, ids=ids)
        if nan_ok:
            kw["undefined"] = "nan"
        w = [1.0] * n if weights is None else list(weights)
        refuse = (
            bad_row is not None
            or (np.isnan(coords).any() and not nan_ok)
            or any(not self.m.weight_ok(x) for x in w)
            or (ids is not None and (len(set(ids)) < n or any(i in self.m.tokens for i in ids)))
        )
        if refuse:
            self.refused(lambda: self.rt.tokens.create_many(coords, **kw), ng.ValidationError, "create_many")
            return
        out = self.rt.tokens.create_many(coords, **kw)
        assert out.dtype == np.uint32 and out.shape == (n,)
        if ids is not None:
            assert out.tolist() == ids
        ents = ["undefined"] * n if entities is None else list(entities)
        self.add_tokens(out, coords, w, ents, [None] * n if labels is None else list(labels))

    @precondition(lambda self: len(self.m.tokens) > 0)
    @rule(data=st.data())
    def update(self, data: Any) -> None:
        missing = data.draw(st.booleans(), label="missing id") and data.draw(st.booleans())
        tid = (
            self.pick_ids(data, 1, missing=missing)[-1]
            if missing
            else data.draw(st.sampled_from(sorted(self.m.tokens)))
        )
        changes: dict[str, Any] = {}
        if data.draw(st.booleans(), label="weight?"):
            changes["weight"] = data.draw(st.sampled_from(WEIGHTS))
        if data.draw(st.booleans(), label="label?"):
            changes["label"] = data.draw(st.sampled_from(LABELS + [""]))
        if data.draw(st.booleans(), label="entity?"):
            changes["entity"] = data.draw(st.sampled_from(ENTITIES))
        space = data.draw(st.integers(0, 7), label="space")
        how = data.draw(st.sampled_from(["keep", "place", "remove"]), label="space change")
        coords, _ = self.draw_coords(data, 1)
        xyz = np.nan_to_num(coords[0, space].astype(np.float64), nan=0.0)
        if how == "place":
            changes[SPACES[space]] = tuple(float(v) for v in xyz)
        elif how == "remove":
            changes[SPACES[space]] = None
        if missing:
            self.refused(lambda: self.rt.tokens.update(tid, **changes), ng.NotFoundError, "update of a missing id")
            return
        if "weight" in changes and not self.m.weight_ok(changes["weight"]):
            self.refused(lambda: self.rt.tokens.update(tid, **changes), ng.ValidationError, "update weight")
            return
        self.rt.tokens.update(tid, **changes)
        t = self.m.tokens[tid]
        t.weight = changes.get("weight", t.weight)
        t.entity = changes.get("entity", t.entity)
        if "label" in changes:
            t.label = changes["label"] or None
        if how == "place":
            t.coords[space] = xyz.astype(np.float32)
        elif how == "remove":
            t.coords[space] = np.nan

    @precondition(lambda self: len(self.m.tokens) > 0)
    @rule(data=st.data())
    def delete_tokens(self, data: Any) -> None:
        missing = data.draw(st.integers(0, 4), label="missing?") == 0
        ids = self.pick_ids(data, 4, missing=missing)
        single = len(ids) == 1 and data.draw(st.booleans(), label="single")
        call = (
            (lambda: self.rt.tokens.delete(ids[0]))
            if single
            else (lambda: self.rt.tokens.delete(np.array(ids, dtype=np.int64)))
        )
        if missing:
            self.refused(call, ng.NotFoundError, "delete of a missing id")
            return
        assert call() == len(ids)
        self.m.remove_tokens(ids)

    @rule()
    def clear(self) -> None:
        self.rt.tokens.clear()
        self.m.tokens.clear()
        self.m.conns.clear()
        self.m.vocab.clear()
        self.m.vectors.clear()

    # -- connections --
    @precondition(lambda self: len(self.m.tokens) > 0)
    @rule(data=st.data())
    def connect(self, data: Any) -> None:
        n = data.draw(st.integers(1, 4), label="n")
        live = sorted(self.m.tokens)
        missing = data.draw(st.integers(0, 5), label="missing?") == 0
        a = data.draw(st.lists(st.sampled_from(live), min_size=n, max_size=n), label="a")
        b = data.draw(st.lists(st.sampled_from(live), min_size=n, max_size=n), label="b")
        if missing:
            b[-1] = self.pick_ids(data, 0, missing=True)[-1]
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        strength = data.draw(st.one_of(st.none(), st.sampled_from(STRENGTHS)), label="strength")
        lr = data.draw(st.sampled_from([0.1, 0.2]), label="learning rate")
        bidirectional = data.draw(st.booleans(), label="bidirectional")
        single = n == 1 and data.draw(st.booleans(), label="single")
        s = self.m.cdna["default_pull_strength"] if strength is None else strength
        kw = dict(strength=strength, learning_rate=lr, bidirectional=bidirectional)
        if single:
            call: Callable[[], Any] = lambda: self.rt.connections.create(a[0], b[0], kind, **kw)  # noqa: E731
        else:
            call = lambda: self.rt.connections.create_many(a, b, kind, **kw)  # noqa: E731
        bad_value = not self.m.strength_ok(s) or self.m.degree_breaks(list(zip(a, b)))
        if missing and not bad_value:
            self.refused(call, ng.NotFoundError, "connection to a missing token")
            return
        if missing or bad_value:
            self.refused(call, ng.ValidationError if not missing else ng.NeuroGraphError, "connection refused")
            return
        out = np.atleast_1d(np.asarray(call()))
        assert out.shape == (n,) and len(set(out.tolist())) == n
        for i, cid in enumerate(out.tolist()):
            assert cid not in self.m.conns, f"connection id {cid} is already in use"
            self.m.conns[cid] = MConn(a[i], b[i], kind, s, _u8(0.5), _u8(lr), 0, bidirectional)

    @precondition(lambda self: len(self.m.conns) > 0)
    @rule(data=st.data())
    def disconnect(self, data: Any) -> None:
        live = sorted(self.m.conns)
        ids = data.draw(st.lists(st.sampled_from(live), min_size=1, max_size=3, unique=True))
        missing = data.draw(st.integers(0, 4), label="missing?") == 0
        if missing:
            ids.append(max(live) + 1000)
        single = len(ids) == 1 and data.draw(st.booleans())
        call = (lambda: self.rt.connections.delete(ids[0])) if single else (lambda: self.rt.connections.delete(ids))
        if missing:
            self.refused(call, ng.NotFoundError, "delete of a missing connection")
            return
        assert call() == len(ids)
        for cid in ids:
            del self.m.conns[cid]

    # -- learning --
    def _learn(self, cid: int, good: bool) -> str:
        c = self.m.conns[cid]
        if not _mutable(KIND_CODES[c.kind]):
            return "unchanged"
        c.confidence = min(255, c.confidence + c.learning_rate) if good else max(0, c.confidence - c.learning_rate // 2)
        c.evidence = min(0xFFFF, c.evidence + 1)
        return "updated"

    @precondition(lambda self: len(self.m.conns) > 0)
    @rule(data=st.data())
    def connection_feedback(self, data: Any) -> None:
        cid = data.draw(st.sampled_from(sorted(self.m.conns)))
        good = data.draw(st.booleans(), label="good")
        if data.draw(st.integers(0, 5), label="missing?") == 0:
            self.refused(
                lambda: self.rt.connections.feedback(max(self.m.conns) + 7, good),
                ng.NotFoundError,
                "feedback on a missing connection",
            )
            return
        got = self.rt.connections.feedback(cid, good)
        assert got == self._learn(cid, good)

    @precondition(lambda self: len(self.m.tokens) > 0)
    @rule(data=st.data())
    def feedback(self, data: Any) -> None:
        live = sorted(self.m.tokens)
        # mostly along an existing connection, so that something learns
        if self.m.conns and data.draw(st.booleans(), label="along a connection"):
            c = self.m.conns[data.draw(st.sampled_from(sorted(self.m.conns)))]
            sources, target = [c.a], c.b
        else:
            sources = data.draw(st.lists(st.sampled_from(live), min_size=1, max_size=2, unique=True), label="sources")
            target = data.draw(st.sampled_from(live), label="target")
        good = data.draw(st.booleans(), label="good")
        if data.draw(st.integers(0, 6), label="missing?") == 0:
            bad = self.pick_ids(data, 0, missing=True)[-1]
            if data.draw(st.booleans(), label="missing source"):
                self.refused(
                    lambda: self.rt.feedback(bad, target, good), ng.NotFoundError, "feedback from a missing token"
                )
            else:
                self.refused(
                    lambda: self.rt.feedback(sources, bad, good), ng.NotFoundError, "feedback to a missing token"
                )
            return
        source: Any = sources[0] if len(sources) == 1 else sources
        words = [w for w, t in self.m.vocab.items() if t in sources]
        by_text = len(words) == len(sources) and all(w not in ("+", "-") for w in words)
        if by_text and data.draw(st.booleans(), label="by text"):
            source = " ".join(words)
        note(f"feedback({source!r}, {target}, good={good})")
        expected = [cid for cid, c in self.m.conns.items() if c.a in sources and c.b == target]
        out = self.rt.feedback(source, target, good)
        got = dict(zip(out["connection"].tolist(), out["outcome"].tolist()))
        assert set(got) == set(expected), f"feedback touched {sorted(got)}, expected {sorted(expected)}"
        for cid in expected:
            assert got[cid] == self._learn(cid, good), f"connection {cid}: {got[cid]}"

    # -- bootstrap and queries --
    @rule(data=st.data())
    def bootstrap(self, data: Any) -> None:
        n = data.draw(st.integers(10, 30), label="words")
        k = data.draw(st.integers(0, 3), label="k")
        replace = data.draw(st.booleans(), label="replace")
        two_spaces = data.draw(st.booleans(), label="two spaces")
        labels = sorted(
            {
                t.label
                for t in self.m.tokens.values()
                if t.label and t.label.strip() == t.label and " " not in t.label and t.label
            }
        )
        pool = sorted(set(WORDS) | set(labels) | set(self.m.vocab))
        words = data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n, unique=True), label="word list")
        repeat = data.draw(st.integers(0, 9), label="repeat a word?") == 0
        if repeat:
            words[-1] = words[0]
        seed = data.draw(st.integers(0, 2**32 - 1), label="vector seed")
        vecs = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
        space: Any = ["abstract", "cognitive"] if two_spaces else "abstract"
        call = lambda: self.rt.bootstrap(vecs, words, k=k, replace=replace, space=space, progress=False)  # noqa: E731
        if repeat:
            self.refused(call, ng.ValidationError, "bootstrap with a repeated word")
            return
        if self.m.boot and not replace and self.m.vocab:
            self.refused(call, ng.ValidationError, "a second bootstrap without replace")
            return
        # after replace, the old words' tokens are gone: the weights of the others stay
        survivors = {t for t in self.m.tokens if not (replace and t in self.m.vocab.values())}
        c = self.m.cdna
        if not self.m.weight_ok(1.0):
            before = self.rt.status().rejections
            self.refused(call, ng.ValidationError, "bootstrap: word tokens weigh 1.0, outside the CDNA bounds")
            self._assert_bootstrap_event(before)
            return
        strength_room = c["strength_max"] >= max(0.0, c["strength_min"])
        if (k > 0 and not strength_room) or (self.m.boot and not replace and not self.m.vocab):
            # the issue allows both designs here; a refusal must change nothing (and record
            # a Guardian event when the CDNA refused the weave)
            before = self.rt.status().rejections
            ok, result = self.either(call, "bootstrap the issue lets refuse")
            if not ok:
                if k > 0 and not strength_room:
                    self._assert_bootstrap_event(before)
                return
            report = result
        else:
            report = call()
        self._adopt_bootstrap(
            report, words, vecs, k, replace, survivors, ["abstract", "cognitive"] if two_spaces else ["abstract"]
        )

    def _assert_bootstrap_event(self, rejections_before: int) -> None:
        assert self.rt.status().rejections > rejections_before, "a refused bootstrap recorded no Guardian event"
        last = self.rt.events(last=1)
        assert last["kind"].iloc[0] == "bootstrap" and not last["accepted"].iloc[0], last.to_dict("records")

    def _adopt_bootstrap(
        self,
        report: Any,
        words: list[str],
        vecs: np.ndarray,
        k: int,
        replace: bool,
        survivors: set[int],
        spaces: list[str],
    ) -> None:
        n = len(words)
        assert report.words == n
        if replace:
            self.m.remove_tokens([t for t in self.m.tokens if t not in survivors])
        got_words, got_ids = vocabulary(self.rt)
        assert got_words == words, "the vocabulary is not the bootstrap's word list"
        ids = [int(i) for i in got_ids]
        cols = token_columns(self.rt)
        row_of = {int(t): i for i, t in enumerate(cols["id"].tolist())}
        placed = np.array([SPACES.index(s) for s in spaces])
        for w, tid in zip(words, ids):
            assert tid in row_of, f"word {w!r}: token {tid} does not exist"
            xyz = cols["coords"][row_of[tid]].astype(np.float64)
            assert np.isfinite(xyz[placed]).all() and np.isnan(np.delete(xyz, placed, axis=0)).all(), (
                f"word {w!r} placed in the wrong spaces"
            )
        self.add_tokens(
            np.array(ids),
            np.stack([cols["coords"][row_of[t]] for t in ids]) if ids else np.empty((0, 8, 3)),
            [1.0] * n,
            ["concept"] * n,
            list(words),
        )
        self.m.boot = True
        self.m.vocab = dict(zip(words, ids))
        self.m.vectors = {w: vecs[i].copy() for i, w in enumerate(words)}
        # the woven connections: each word's k most similar words, by cosine
        cc = connection_columns(self.rt)
        new = [i for i, cid in enumerate(cc["id"].tolist()) if cid not in self.m.conns]
        assert len(new) == report.connections, f"{len(new)} new connections, report says {report.connections}"
        assert report.connections + report.dropped_for_degree == n * k
        x = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        sims = x @ x.T
        np.fill_diagonal(sims, -np.inf)
        expected = {
            (ids[i], ids[j]): float(sims[i, j]) for i in range(n) for j in np.argsort(-sims[i], kind="stable")[:k]
        }
        lo, hi = max(0.0, self.m.cdna["strength_min"]), self.m.cdna["strength_max"]
        got = set()
        for i in new:
            a, b = int(cc["token_a"][i]), int(cc["token_b"][i])
            assert (a, b) in expected, f"woven connection {a} -> {b} is not between a word and one of its {k} nearest"
            s = float(cc["strength"][i])
            assert self.m.strength_ok(s), f"woven strength {s} outside the CDNA bounds"
            if lo <= hi:
                assert abs(s - min(max(expected[(a, b)], lo), hi)) < 1e-4, (
                    f"woven strength {s}, similarity {expected[(a, b)]}"
                )
            assert int(cc["kind"][i]) == KIND_CODES["associated_with"]
            got.add((a, b))
            self.m.conns[int(cc["id"][i])] = MConn(
                a, b, "associated_with", s, int(round(float(cc["confidence"][i]) * 255)), _u8(0.1)
            )
        if report.dropped_for_degree == 0:
            assert got == set(expected), "the weave missed some nearest neighbours"
        assert not self.m.degree_breaks([]), "the weave broke the degree limits"

    @rule(data=st.data())
    def query(self, data: Any) -> None:
        if not self.m.boot:
            self.refused(lambda: self.rt.query("cat"), ng.ValidationError, "query without a bootstrap")
            return
        unknown = data.draw(st.sampled_from(["zzz-not-a-word", "w999"]))
        if unknown not in self.m.vocab:
            self.refused(lambda: self.rt.query(unknown), ng.ValidationError, "query of an unknown word")

    # -- CDNA --
    @rule(data=st.data())
    def cdna_change(self, data: Any) -> None:
        which = data.draw(st.sampled_from(["weight", "strength", "degree"]), label="which bounds")
        if which == "weight":
            fields = {
                "token_weight_min": data.draw(st.sampled_from([-0.5, 0.0, 0.25, 0.5])),
                "token_weight_max": data.draw(st.sampled_from([0.5, 0.75, 1.0, 1.5, 2.0])),
            }
        elif which == "strength":
            fields = data.draw(
                st.sampled_from(
                    [
                        {"strength_min": 0.0, "strength_max": 1.0, "default_pull_strength": 0.5},
                        {"strength_min": 0.25, "strength_max": 0.75, "default_pull_strength": 0.5},
                        {"strength_min": -1.0, "strength_max": -0.5, "default_pull_strength": -0.75},
                        {"strength_min": -1.0, "strength_max": 1.5, "default_pull_strength": 0.25},
                        {"strength_min": 0.5, "strength_max": 0.25, "default_pull_strength": 0.25},
                        {"default_pull_strength": 1.5},
                    ]
                )
            )
        else:
            name = data.draw(st.sampled_from(["max_out_degree", "max_in_degree", "max_total_degree"]))
            fields = {name: data.draw(st.sampled_from([0, 1, 2, 3, 5, 1000, 2000]))}
        proposed = {**self.m.cdna, **fields}
        invalid = (
            proposed["token_weight_min"] > proposed["token_weight_max"]
            or proposed["strength_min"] > proposed["strength_max"]
            or not proposed["strength_min"] <= proposed["default_pull_strength"] <= proposed["strength_max"]
            or min(proposed["max_out_degree"], proposed["max_in_degree"], proposed["max_total_degree"]) < 1
        )
        clamp = data.draw(st.booleans(), label="policy='clamp'")
        kw = {"policy": "clamp"} if clamp else {}
        lo_w, hi_w = proposed["token_weight_min"], proposed["token_weight_max"]
        lo_s, hi_s = proposed["strength_min"], proposed["strength_max"]
        weights_break = any(not lo_w <= t.weight <= hi_w for t in self.m.tokens.values())
        strengths_break = any(not lo_s <= c.strength <= hi_s for c in self.m.conns.values())
        # degrees cannot be clamped: a change they break is refused under any policy but "force"
        broken = self.m.degree_breaks([], proposed) or (not clamp and (weights_break or strengths_break))
        note(f"cdna.update({fields}, {kw}): invalid={invalid} broken by the data={broken}")
        if invalid or broken:
            self.refused(
                lambda: self.rt.cdna.update(**fields, **kw),
                ng.ValidationError,
                "a CDNA change the data breaks" if broken else "an invalid CDNA",
            )
            return
        self.rt.cdna.update(**fields, **kw)
        self.m.cdna = proposed
        if clamp:  # every weight and strength now lies in the new bounds
            for t in self.m.tokens.values():
                t.weight = min(max(t.weight, lo_w), hi_w)
            for c in self.m.conns.values():
                c.strength = min(max(c.strength, lo_s), hi_s)
        assert self.rt.cdna.validate() == []

    # -- snapshots --
    @rule(slot=st.integers(0, 2))
    def save(self, slot: int) -> None:
        path = os.path.join(self.tmp, f"saved{slot}.ngs")
        self.rt.save(path)
        self.saved[path] = copy.deepcopy(self.m)

    @precondition(lambda self: len(self.saved) > 0)
    @rule(data=st.data())
    def load(self, data: Any) -> None:
        path = data.draw(st.sampled_from(sorted(self.saved)))
        release(self.rt)
        self.rt = ng.Runtime.load(path)
        self.m = copy.deepcopy(self.saved[path])
        self.last_fp = fingerprint(self.rt)
        self.last_dv = self.rt._core.data_version()

    # -- checks after every step --
    @invariant()
    def check(self) -> None:
        """Everything, in an order that names the first thing that broke."""
        fp = fingerprint(self.rt)
        self.check_data_version(fp)
        self.check_model()
        self.check_words()
        self.check_round_trip(fp)

    def check_data_version(self, fp: str) -> None:
        dv = self.rt._core.data_version()
        if fp != self.last_fp:
            assert dv != self.last_dv, "the data changed but data_version() did not"
        self.last_fp, self.last_dv = fp, dv

    def check_model(self) -> None:
        rt, m = self.rt, self.m
        cols = token_columns(rt)
        ids = [int(i) for i in cols["id"].tolist()]
        assert len(rt.tokens) == len(ids) == len(m.tokens), f"{len(rt.tokens)} tokens, model {len(m.tokens)}"
        assert set(ids) == set(m.tokens), (
            f"token ids differ: extra {sorted(set(ids) - set(m.tokens))[:5]}, "
            f"missing {sorted(set(m.tokens) - set(ids))[:5]}"
        )
        if ids:
            want = np.stack([m.tokens[t].coords for t in ids])
            got = cols["coords"].astype(np.float64)
            assert np.array_equal(np.isnan(got), np.isnan(want)), "defined spaces differ from the model"
            tol = (0.5 / SCALES)[None, :, None] + 1e-6
            diff = np.abs(np.nan_to_num(got) - np.nan_to_num(want))
            assert (diff <= tol).all(), f"coordinates differ from the model (max {diff.max()})"
            want_w = np.array([m.tokens[t].weight for t in ids], np.float32)
            assert np.array_equal(cols["weight"], want_w), "weights differ from the model"
            assert [ENTITIES[e] for e in cols["entity"].tolist()] == [m.tokens[t].entity for t in ids], (
                "entities differ"
            )
            assert list(cols["label"]) == [m.tokens[t].label for t in ids], "labels differ from the model"
        cc = connection_columns(rt)
        cids = [int(i) for i in cc["id"].tolist()]
        assert len(rt.connections) == len(cids) == len(m.conns) and set(cids) == set(m.conns), (
            f"connections {sorted(cids)[:8]} != model {sorted(m.conns)[:8]}"
        )
        for i, cid in enumerate(cids):
            c = m.conns[cid]
            kind = _core.CONNECTION_KINDS[int(cc["kind"][i])]
            got_c = (int(cc["token_a"][i]), int(cc["token_b"][i]), kind, bool(cc["bidirectional"][i]))
            assert got_c == (c.a, c.b, c.kind, c.bidirectional), f"connection {cid}: {got_c} != model {c}"
            assert float(cc["strength"][i]) == np.float32(c.strength), f"connection {cid}: strength {cc['strength'][i]}"
            assert abs(float(cc["confidence"][i]) - c.confidence / 255) < 1e-6, (
                f"connection {cid}: confidence {cc['confidence'][i]} != {c.confidence}/255"
            )
            assert int(cc["evidence_count"][i]) == c.evidence, f"connection {cid}: evidence {cc['evidence_count'][i]}"
        s = rt.status()
        assert (s.tokens, s.connections) == (len(m.tokens), len(m.conns)), f"status counts {s.tokens}, {s.connections}"
        assert s.labels == sum(t.label is not None for t in m.tokens.values()), f"status says {s.labels} labels"
        # degrees as the graph sees them (a bidirectional connection is an edge both ways, a
        # bidirectional loop one edge)
        deg = rt.graph.degrees()
        got_deg = {int(t): (int(o), int(i)) for t, o, i in zip(deg.index, deg["out"], deg["in"]) if o or i}
        want_deg: dict[int, tuple[int, int]] = {}
        for c in m.conns.values():
            for a, b in [(c.a, c.b), (c.b, c.a)] if c.bidirectional and c.a != c.b else [(c.a, c.b)]:
                o, i = want_deg.get(a, (0, 0))
                want_deg[a] = (o + 1, i)
                o, i = want_deg.get(b, (0, 0))
                want_deg[b] = (o, i + 1)
        assert got_deg == want_deg, "graph degrees differ from the model"
        # one space's grid index, a different space each step
        self.space_turn = (self.space_turn + 1) % 8
        sp = self.space_turn
        placed = {t for t, tok in m.tokens.items() if not np.isnan(tok.coords[sp, 0])}
        if placed:
            hits = rt.grid.neighbors((0.0, 0.0, 0.0), k=len(placed) + 3, space=SPACES[sp])
            assert set(np.asarray(hits.ids).tolist()) == placed, f"the {SPACES[sp]} grid index holds other tokens"
        for name, v in m.cdna.items():
            assert rt.cdna[name] == v, f"CDNA {name} = {rt.cdna[name]}, model {v}"
        assert rt.cdna.validate() == [], rt.cdna.validate()
        # the vocabulary
        info = rt._core.bootstrap_info()
        if m.vocab:
            assert info is not None, f"bootstrap_info() is None, the model holds {len(m.vocab)} words"
        if info is not None:
            assert info["words"] == len(m.vocab), f"bootstrap_info {info}, model {len(m.vocab)} words"
        if not m.boot:
            assert info is None, f"no bootstrap in the model, but bootstrap_info() = {info}"
        words, vids = vocabulary(rt)
        assert len(words) == len(m.vocab) and dict(zip(words, vids.tolist())) == m.vocab, (
            f"vocabulary differs from the model: words {sorted(set(words) ^ set(m.vocab))[:6]}, "
            f"ids {sorted(set(vids.tolist()) ^ set(m.vocab.values()))[:6]}"
        )
        if m.vocab:
            vec = np.asarray(rt._core.bootstrap_vectors())
            want_v = np.stack([m.vectors[w] for w in words])
            want_v = want_v / np.linalg.norm(want_v, axis=1, keepdims=True)
            assert vec.shape == want_v.shape and np.allclose(vec, want_v, atol=1e-5), "bootstrap vectors differ"

    def check_words(self) -> None:
        m = self.m
        if not m.vocab:
            return
        words = list(m.vocab)
        mat = np.stack([m.vectors[w] for w in words]).astype(np.float32)
        top, _ = self.rt.query_many(mat, k=1)
        assert top[:, 0].tolist() == [m.vocab[w] for w in words], "a word's own vector does not find its token first"
        everyone = set(m.vocab.values())
        for w in words:
            got = np.asarray(self.rt.query(w, k=len(words)).ids).tolist()
            assert set(got) == everyone - {m.vocab[w]} and len(got) == len(words) - 1, (
                f"query({w!r}) returned {sorted(got)[:6]}, expected the other {len(words) - 1} words' tokens"
            )

    def check_round_trip(self, fp: str) -> None:
        if fp == self.checked_fp:
            return
        path = os.path.join(self.tmp, "roundtrip.ngs")
        self.rt.save(path)
        back = ng.Runtime.load(path)
        try:
            assert_same_runtime(self.rt, back)
        finally:
            release(back)
        self.checked_fp = fp


StoreMachine.TestCase.settings = settings.get_profile("ng-stateful")
TestStore = StoreMachine.TestCase
