"""The hover card's top neighbours: a token's neighbours along its connections (either
direction) with the strongest connections, one at a time (a hover) or for every token shown at
once (the standalone export's hover table), from the core's connection columns."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..runtime import Runtime

#: neighbours on a hover card
HOVER_NEIGHBOURS = 5


def _ranked(a: np.ndarray, b: np.ndarray, strength: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(token, neighbour, strength) of every connection seen from both ends, each pair once (by
    its strongest connection), sorted by token, then strength (strongest first), then id."""
    tok = np.concatenate([a, b]).astype(np.int64)
    other = np.concatenate([b, a]).astype(np.int64)
    s = np.concatenate([strength, strength]).astype(np.float64)
    keep = tok != other
    tok, other, s = tok[keep], other[keep], s[keep]
    order = np.lexsort((other, -s, tok))
    tok, other, s = tok[order], other[order], s[order]
    pair = tok * (1 << 32) + other
    _, first = np.unique(pair, return_index=True)
    first.sort()
    return tok[first], other[first], s[first]


def _cards(rt: Runtime, other: np.ndarray, strength: np.ndarray) -> list[dict[str, Any]]:
    labels = rt._core.labels_of(np.ascontiguousarray(other, dtype=np.uint32)) if len(other) else []
    return [
        {"id": int(i), "label": lab or "", "strength": round(float(s), 4)} for i, lab, s in zip(other, labels, strength)
    ]


def top_neighbours(rt: Runtime, tid: int, k: int = HOVER_NEIGHBOURS) -> list[dict[str, Any]]:
    """The ``k`` neighbours of token ``tid`` with the strongest connections (either direction;
    a neighbour linked twice counts once, by its strongest): id, label and strength."""
    c = rt._core.connection_columns(int(tid))
    if not len(c["id"]):
        return []
    tok, other, s = _ranked(c["token_a"], c["token_b"], np.asarray(c["strength"]))
    mine = tok == int(tid)
    return _cards(rt, other[mine][:k], s[mine][:k])


def neighbour_table(rt: Runtime, ids: np.ndarray, k: int = HOVER_NEIGHBOURS) -> dict[int, list[dict[str, Any]]]:
    """``top_neighbours`` of every token of ``ids`` in one pass over the connections."""
    c = rt._core.connection_columns(None)
    if not len(c["id"]) or not len(ids):
        return {}
    tok, other, s = _ranked(c["token_a"], c["token_b"], np.asarray(c["strength"]))
    want = np.isin(tok, np.asarray(ids, dtype=np.int64))
    tok, other, s = tok[want], other[want], s[want]
    starts = np.flatnonzero(np.r_[True, tok[1:] != tok[:-1]]) if len(tok) else np.empty(0, np.int64)
    nth = np.arange(len(tok)) - np.repeat(starts, np.diff(np.r_[starts, len(tok)]))
    top = nth < k
    tok, other, s = tok[top], other[top], s[top]
    cards = _cards(rt, other, s)
    out: dict[int, list[dict[str, Any]]] = {}
    for t, card in zip(tok.tolist(), cards):
        out.setdefault(t, []).append(card)
    return out
