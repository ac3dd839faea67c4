"""Labels on screen: which tokens' labels an explorer sends to the browser and in which order
(``label_by``), packed as binary ``labels`` messages (PROTOCOL.md, "Labels"), the answers to
the browser's viewport requests, and the hover card's top neighbours.

The browser places and draws them (``extension/src/labels.ts``); the kernel only ranks them.
Priority: ``"degree"`` (graph degree, the default), ``"score"`` (the scores of a query
result) or a numeric token column (``"weight"``, ``"cognitive_x"``, ...). Ties (e.g. a
runtime without connections, where every degree is 0) are broken by a hash of the token id,
so the labels sent are a uniform sample rather than the first category of the display order.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from .._names import SPACES
from ..errors import ValidationError
from ..runtime import Runtime
from ._base import MAX_MESSAGE, Message, buf

#: labels sent up front (the global set, by priority)
MAX_LABELS = 20_000
#: labels in one answer to a viewport request (the top ones inside the visible box)
VIEW_LABELS = 2_000
#: rank of a point without a label (never sent)
NO_RANK = 0xFFFFFFFF
#: numeric columns of ``token_columns`` a label priority may come from (besides coordinates)
COLUMNS = ("weight", "field_radius", "field_strength", "timestamp")
_COORDS = tuple(f"{s}_{a}" for s in SPACES for a in "xyz")


def check_label_by(label_by: Any, has_scores: bool, extra: Sequence[str] = ()) -> Optional[str]:
    """Validate the ``label_by`` keyword of the explorers: ``None`` (no labels), ``"degree"``,
    ``"score"`` (only with query scores), a numeric token column, or one of ``extra`` (numeric
    columns of ``rt.tokens.to_pandas()`` beyond the core's)."""
    if label_by is None:
        return None
    if not isinstance(label_by, str):
        raise ValidationError(f"label_by must be a string or None, got {type(label_by).__name__} {label_by!r}")
    if label_by == "score" and not has_scores:
        raise ValidationError(
            "label_by='score' needs query scores: pass ids=rt.query(...) (a query result), "
            "or query=... to the graph explorer"
        )
    if label_by in ("degree", "score", *COLUMNS, *_COORDS, *extra):
        return label_by
    raise ValidationError(
        f"cannot label by {label_by!r}; choose 'degree', 'score' (with a query result), None (no labels) "
        f"or a numeric token column: {', '.join((*COLUMNS, *extra))}, or <space>_<x|y|z> such as 'cognitive_x'"
    )


def extra_columns(rt: Runtime, label_by: Any) -> list[str]:
    """Numeric ``to_pandas()`` columns beyond the core's (e.g. ``community``), looked up only
    for a name that is not one of the known ones."""
    if not isinstance(label_by, str) or label_by in ("degree", "score", *COLUMNS, *_COORDS):
        return []
    df = rt.tokens.to_pandas(limit=1)
    return [c for c in df.columns if c not in ("label", "entity") and pd.api.types.is_numeric_dtype(df[c])]


def scores_of(ids_arg: Any) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(ids, score) of a query result passed as ``ids`` (higher score first), else None."""
    if ids_arg is None or not all(hasattr(ids_arg, a) for a in ("ids", "distances", "metric")):
        return None
    ids = np.asarray(ids_arg.ids, dtype=np.uint32)
    d = np.asarray(ids_arg.distances, dtype=np.float64)
    return ids, (d if ids_arg.metric == "score" else -d)


def _lookup(keys: np.ndarray, values: np.ndarray, want: np.ndarray, missing: float) -> np.ndarray:
    """values[keys == want] for each of ``want`` (``missing`` where absent), as float64. Token
    ids are dense (24-bit, mostly consecutive): a table indexed by id when it is small enough,
    else sorted keys and a binary search."""
    out = np.full(len(want), missing, dtype=np.float64)
    if not len(keys) or not len(want):
        return out
    keys = np.asarray(keys, dtype=np.int64)
    want = np.asarray(want, dtype=np.int64)
    top = int(max(keys.max(), want.max())) + 1
    if top <= 8 * len(keys) + 1024:
        table = np.full(top, -1, dtype=np.int64)
        table[keys] = np.arange(len(keys))
        rows = table[want]
        hit = rows >= 0
        out[hit] = np.asarray(values)[rows[hit]]
        return out
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    pos = np.clip(np.searchsorted(sk, want), 0, len(sk) - 1)
    hit = sk[pos] == want
    out[hit] = np.asarray(values)[order[pos[hit]]]
    return out


def priority(
    rt: Runtime,
    ids: np.ndarray,
    label_by: Optional[str],
    *,
    columns: Optional[dict[str, Any]] = None,
    rows: Optional[np.ndarray] = None,
    scores: Optional[tuple[np.ndarray, np.ndarray]] = None,
) -> np.ndarray:
    """Priority of each token of ``ids`` (float64, higher first, NaN last) for ``label_by``.
    ``columns``/``rows``: the core's ``token_columns`` and the row of each of ``ids`` in them
    (the grid explorer has them; looked up otherwise)."""
    n = len(ids)
    if label_by is None or n == 0:
        return np.zeros(n)
    if label_by == "degree":
        tid, out, inn = rt._core.graph_degrees()
        return _lookup(tid, out.astype(np.float64) + inn, ids, 0.0)
    if label_by == "score":
        if scores is None:  # pragma: no cover - check_label_by refused it
            raise ValidationError("label_by='score' needs query scores")
        return _lookup(scores[0], scores[1], ids, np.nan)
    if label_by in COLUMNS or label_by in _COORDS:
        if columns is None or rows is None:
            columns = rt._core.token_columns(None, 0, False)
            rows = _lookup(columns["id"], np.arange(len(columns["id"]), dtype=np.float64), ids, 0).astype(np.int64)
        if label_by in COLUMNS:
            return np.asarray(columns[label_by][rows], dtype=np.float64)
        space, axis = label_by.rsplit("_", 1)
        return np.asarray(columns["coords"][rows, SPACES.index(space), "xyz".index(axis)], dtype=np.float64)
    df = rt.tokens.to_pandas()
    col = df[label_by]
    return _lookup(df.index.to_numpy(np.uint32), col.to_numpy(np.float64, na_value=np.nan), ids, np.nan)


class Labels:
    """The labels of the points an explorer shows (point i = display index in the grid, node
    index in the graph) and their rank by priority (0 = most important; ``NO_RANK`` for points
    without a label). Text is kept as utf-8 buffers, as the core gives it."""

    def __init__(
        self,
        offsets: np.ndarray,
        data: np.ndarray,
        valid: np.ndarray,
        rows: np.ndarray,
        ids: np.ndarray,
        key: np.ndarray,
    ) -> None:
        offsets = np.asarray(offsets, dtype=np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        self._data = np.asarray(data, dtype=np.uint8)
        self._start = offsets[rows] if rows.size else np.empty(0, np.int64)
        self._len = (offsets[rows + 1] - self._start) if rows.size else np.empty(0, np.int64)
        n = len(rows)
        labelled = np.asarray(valid, dtype=bool)[rows] & (self._len > 0) if n else np.zeros(0, bool)
        pts = np.flatnonzero(labelled)
        k = np.asarray(key, dtype=np.float64)[pts]
        k = np.where(np.isnan(k), -np.inf, k)
        tie = (np.asarray(ids, dtype=np.uint64)[pts] * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
        self.order = pts[np.lexsort((tie, -k))].astype(np.uint32)  # priority order, labelled points only
        self.rank = np.full(n, NO_RANK, dtype=np.uint32)
        self.rank[self.order] = np.arange(len(self.order), dtype=np.uint32)

    @classmethod
    def from_texts(cls, texts: Sequence[Optional[str]], ids: np.ndarray, key: np.ndarray) -> Labels:
        """From Python strings (the graph explorer's labels; at most 50,000)."""
        enc = [(t or "").encode("utf-8") for t in texts]
        offsets = np.zeros(len(enc) + 1, np.int64)
        np.cumsum([len(e) for e in enc], out=offsets[1:])
        data = np.frombuffer(b"".join(enc), dtype=np.uint8)
        valid = np.array([t is not None for t in texts], dtype=bool)
        return cls(offsets, data, valid, np.arange(len(enc)), ids, key)

    @classmethod
    def empty(cls) -> Labels:
        z = np.empty(0, np.int64)
        return cls(np.zeros(1, np.int64), np.empty(0, np.uint8), np.empty(0, bool), z, z, np.empty(0))

    def text(self, i: int) -> str:
        s = int(self._start[i])
        return bytes(self._data[s : s + int(self._len[i])]).decode("utf-8", errors="replace")

    def message(self, points: np.ndarray, version: int, scope: str, request: Optional[int] = None) -> Message:
        """A ``labels`` message for ``points`` (in priority order), cut to fit MAX_MESSAGE."""
        pts = np.asarray(points, dtype=np.uint32)
        lens = self._len[pts]
        keep = int(np.searchsorted(np.cumsum(lens + 12), MAX_MESSAGE - 64, side="right"))
        pts, lens = pts[:keep], lens[:keep]
        offsets = np.zeros(keep + 1, np.uint32)
        np.cumsum(lens, out=offsets[1:])
        total = int(offsets[-1])
        pos = np.repeat(self._start[pts] - offsets[:-1].astype(np.int64), lens) + np.arange(total)
        content: dict[str, Any] = {"type": "labels", "version": version, "scope": scope, "count": keep}
        if request is not None:
            content["request"] = request
        return content, [buf(pts), buf(self.rank[pts]), buf(offsets), buf(self._data[pos])]

    def top(self, version: int) -> Message:
        """The global set: the ``MAX_LABELS`` labels of highest priority."""
        return self.message(self.order[:MAX_LABELS], version, "global")

    def best_of(self, mask: np.ndarray, version: int, request: Optional[int]) -> Message:
        """Answer to a viewport request: the ``VIEW_LABELS`` best labelled points of ``mask``."""
        hits = np.flatnonzero(mask)
        ranks = self.rank[hits]
        hits, ranks = hits[ranks != NO_RANK], ranks[ranks != NO_RANK]
        if len(hits) > VIEW_LABELS:
            part = np.argpartition(ranks, VIEW_LABELS - 1)[:VIEW_LABELS]
            hits, ranks = hits[part], ranks[part]
        return self.message(hits[np.argsort(ranks, kind="stable")], version, "view", request)


def viewport_box(content: dict[str, Any]) -> Optional[tuple[float, float, float, float]]:
    """The ``box`` [x0, y0, x1, y1] of a viewport request, or None when malformed."""
    box = content.get("box")
    if not isinstance(box, list) or len(box) != 4:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in box):
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def request_id(content: dict[str, Any]) -> Optional[int]:
    r = content.get("request")
    return r if isinstance(r, int) and not isinstance(r, bool) and r >= 0 else None
