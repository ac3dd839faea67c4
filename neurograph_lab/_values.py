"""Value types returned by the runtime (``ng.Token``, ``ng.Connection``, ``ng.Status``,
``ng.QueryResult``, ``ng.PathResult``), each with a plain-text repr, an escaped HTML repr and
``to_pandas()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

import numpy as np
import pandas as pd

from . import _core
from ._html import esc, kv_table
from ._names import SPACES

__all__ = ["Token", "Connection", "Status", "QueryResult", "PathResult"]

XYZ = Tuple[float, float, float]


def _num(v: float, digits: int = 4) -> str:
    """A stored number for a repr: rounded to ``digits`` decimals (float32 noise such as
    0.4000000059604645 reads 0.4); the value itself keeps every digit."""
    return f"{round(v, digits):g}"


def _fmt_xyz(v: Optional[XYZ]) -> str:
    return "-" if v is None else "(" + ", ".join(f"{c:.4g}" for c in v) + ")"


@dataclass(frozen=True)
class Token:
    """One token: its id, label, entity type, weight, field and coordinates per space.

    Examples
    --------
    >>> import neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> tid = rt.tokens.create(cognitive=(0.1, 0.2, 0.3), label="cat", entity="concept")
    >>> rt.tokens[tid].coords["cognitive"]
    (0.1, 0.2, 0.3)
    """

    id: int
    label: Optional[str]
    entity: str
    weight: float
    field_radius: float
    field_strength: float
    timestamp: int
    flags: Tuple[str, ...]
    user_flags: int
    domain: int
    coords: Mapping[str, Optional[XYZ]] = field(default_factory=dict)

    @classmethod
    def _from_dict(cls, d: Mapping[str, Any]) -> Token:
        # the stored numbers, as to_pandas() has them; only the reprs round
        coords = {k: (None if v is None else tuple(float(c) for c in v)) for k, v in d["coords"].items()}
        return cls(
            id=int(d["id"]),
            label=d["label"],
            entity=d["entity"],
            weight=float(d["weight"]),
            field_radius=float(d["field_radius"]),
            field_strength=float(d["field_strength"]),
            timestamp=int(d["timestamp"]),
            flags=tuple(d["flags"]),
            user_flags=int(d["user_flags"]),
            domain=int(d["domain"]),
            coords=coords,  # type: ignore[arg-type]
        )

    @property
    def spaces(self) -> Tuple[str, ...]:
        """Names of the spaces this token is placed in."""
        return tuple(k for k, v in self.coords.items() if v is not None)

    def __repr__(self) -> str:
        placed = ", ".join(f"{k}={_fmt_xyz(v)}" for k, v in self.coords.items() if v is not None)
        label = f", label={self.label!r}" if self.label is not None else ""
        weight = _num(self.weight, 7)
        return f"Token(id={self.id}{label}, entity={self.entity!r}, weight={weight}, {placed or 'no spaces'})"

    def _repr_html_(self) -> str:
        rows = [
            ("id", self.id),
            ("label", self.label if self.label is not None else "-"),
            ("entity", self.entity),
            ("weight", _num(self.weight, 7)),
            ("field", f"radius {_num(self.field_radius)}, strength {_num(self.field_strength)}"),
            ("flags", ", ".join(self.flags) or "-"),
        ]
        rows += [(k, _fmt_xyz(v)) for k, v in self.coords.items()]
        return kv_table(f"Token {self.id}", rows)

    def to_pandas(self) -> pd.Series:
        """The token as a Series (one entry per field and per space axis)."""
        data: dict[str, Any] = {
            "label": self.label,
            "entity": self.entity,
            "weight": self.weight,
            "field_radius": self.field_radius,
            "field_strength": self.field_strength,
            "timestamp": pd.to_datetime(self.timestamp, unit="s"),
        }
        for space, v in self.coords.items():
            for axis, c in zip("xyz", v if v is not None else (float("nan"),) * 3):
                data[f"{space}_{axis}"] = c
        return pd.Series(data, name=self.id)


@dataclass(frozen=True)
class Connection:
    """One directed connection ``token_a -> token_b`` of a kind, with its learning state."""

    id: int
    token_a: int
    token_b: int
    kind: str
    group: str
    strength: float
    rigidity: float
    confidence: float
    preferred_distance: float
    mutability: str
    evidence_count: int
    activation_count: int
    learning_rate: float
    decay_rate: float
    active_levels: int
    flags: Tuple[str, ...]
    bidirectional: bool
    created_at: int
    last_update: int
    source_id: int

    @classmethod
    def _from_dict(cls, d: Mapping[str, Any]) -> Connection:
        vals = dict(d)  # the stored numbers, as to_pandas() has them; only the reprs round
        for k in ("strength", "rigidity", "confidence", "preferred_distance", "learning_rate", "decay_rate"):
            vals[k] = float(vals[k])
        vals["flags"] = tuple(vals["flags"])
        return cls(**vals)

    def __repr__(self) -> str:
        arrow = "<->" if self.bidirectional else "->"
        return (
            f"Connection(id={self.id}, {self.token_a} {arrow} {self.token_b}, kind={self.kind!r}, "
            f"strength={_num(self.strength)}, confidence={_num(self.confidence)}, {self.mutability})"
        )

    def _repr_html_(self) -> str:
        arrow = "&lt;-&gt;" if self.bidirectional else "-&gt;"
        rows = [
            ("kind", f"{self.kind} ({self.group})"),
            ("strength", _num(self.strength)),
            ("rigidity", _num(self.rigidity)),
            ("confidence", _num(self.confidence)),
            ("mutability", self.mutability),
            ("evidence", self.evidence_count),
            ("flags", ", ".join(self.flags) or "-"),
        ]
        title = f"Connection {self.id}: {self.token_a} {{arrow}} {self.token_b}"
        return kv_table(title, rows).replace("{arrow}", arrow)

    def to_pandas(self) -> pd.Series:
        """The connection as a Series."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "id"}
        return pd.Series(d, name=self.id)


def _human_bytes(n: Optional[int]) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


@dataclass(frozen=True)
class Status:
    """A runtime's counts, CDNA profile and memory at one moment."""

    tokens: int
    connections: int
    labels: int
    profile: str
    cdna_revision: int
    events: int
    rejections: int
    memory: Mapping[str, int]
    resident_bytes: Optional[int]

    def _rows(self) -> list[tuple[str, Any]]:
        mem = sum(self.memory.values())
        return [
            ("tokens", f"{self.tokens:,}"),
            ("connections", f"{self.connections:,}"),
            ("labels", f"{self.labels:,}"),
            ("CDNA profile", f"{self.profile} (revision {self.cdna_revision})"),
            ("Guardian", f"{self.events:,} event{'' if self.events == 1 else 's'}, {self.rejections:,} refused"),
            ("store memory", _human_bytes(mem)),
        ]

    def __repr__(self) -> str:
        width = max(len(k) for k, _ in self._rows())
        lines = [f"{k.ljust(width)}  {v}" for k, v in self._rows()]
        return "NeuroGraph runtime\n" + "\n".join(lines)

    def _repr_html_(self) -> str:
        return kv_table("NeuroGraph runtime", self._rows())

    def to_pandas(self) -> pd.Series:
        """The figures as a Series."""
        d: dict[str, Any] = {
            k: getattr(self, k)
            for k in ("tokens", "connections", "labels", "profile", "cdna_revision", "events", "rejections")
        }
        d.update({f"memory_{k}": v for k, v in self.memory.items()})
        return pd.Series(d, name="status")


_MAX_ROWS = 10


def _table_html(title: str, header: list[str], rows: list[list[Any]], more: int) -> str:
    cell = "padding:2px 8px;border-bottom:1px solid var(--jp-border-color2,#8884);text-align:left"
    head = "".join(
        f"<th style='{cell};color:var(--jp-ui-font-color2,#888);font-weight:normal'>{esc(h)}</th>" for h in header
    )
    body = "".join("<tr>" + "".join(f"<td style='{cell}'>{esc(v)}</td>" for v in r) + "</tr>" for r in rows)
    note = f"<div style='color:var(--jp-ui-font-color2,#888);font-size:11px'>{more:,} more</div>" if more > 0 else ""
    return (
        f"<div class='ng-repr'><div style='font-weight:600;color:var(--jp-ui-font-color1,inherit)'>{esc(title)}</div>"
        f"<table style='border-collapse:collapse;font-size:12px;color:var(--jp-ui-font-color1,inherit)'>"
        f"<tr>{head}</tr>{body}</table>{note}</div>"
    )


class QueryResult:
    """Tokens found by a neighbour or range query: ids and distances (nearest first), with
    labels and coordinates looked up on demand.

    ``len()``, iteration over ``(id, distance)`` pairs, ``ids``, ``distances``, ``labels``,
    ``to_pandas()``; text and HTML reprs show the first rows and a "N more" line.
    """

    __slots__ = ("ids", "distances", "space", "metric", "_query", "_rt", "_labels", "_coords")

    def __init__(
        self, rt: _core.Runtime, ids: Any, distances: Any, space: str, query: str, metric: str = "distance"
    ) -> None:
        self.ids = ids
        self.distances = distances
        self.space = space
        self.metric = metric  # "distance" (smaller is nearer) or "score" (cosine, larger is nearer)
        self._query = query  # what was asked, e.g. "10 nearest to token 5"
        self._rt: Optional[_core.Runtime] = rt
        self._labels: Optional[list[Optional[str]]] = None
        self._coords: Optional[np.ndarray] = None

    def __reduce__(self) -> Any:
        """Pickled without the runtime (which stays in its process): labels and coordinates
        are looked up now and travel with the ids, so the copy shows and exports the same."""
        coords = self._coords
        if coords is None and self._rt is not None and self.space in SPACES:
            coords = self._rt.coords_of(np.ascontiguousarray(self.ids, dtype=np.uint32), self.space)
        state = (self.ids, self.distances, self.space, self.metric, self._query, self.labels, coords)
        return (_detached_query_result, state)

    @property
    def query(self) -> str:
        """What was asked, e.g. "10 nearest to token 5"."""
        return self._query

    @property
    def scores(self) -> Any:
        """The values results are ranked by (cosine scores for semantic queries)."""
        return self.distances

    @property
    def labels(self) -> list[Optional[str]]:
        """Label of each token (None where it has none)."""
        if self._labels is None:
            assert self._rt is not None  # a detached result always has its labels
            self._labels = self._rt.labels_of(np.ascontiguousarray(self.ids, dtype=np.uint32))
        return self._labels

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Any:
        return iter(zip(self.ids.tolist(), self.distances.tolist()))

    def to_pandas(self) -> pd.DataFrame:
        """One row per token: id (index), label, distance and the coordinates in the space."""
        df = pd.DataFrame(
            {"label": pd.array(self.labels, dtype="string"), self.metric: self.distances},
            index=pd.Index(self.ids, name="id"),
        )
        if self.space in SPACES:
            xyz = self._coords
            if xyz is None:
                assert self._rt is not None  # a detached result carries its coordinates
                xyz = self._rt.coords_of(np.ascontiguousarray(self.ids, dtype=np.uint32), self.space)
            for a, axis in enumerate("xyz"):
                df[f"{self.space}_{axis}"] = xyz[:, a]
        return df

    def _rows(self) -> list[list[Any]]:
        n = min(len(self), _MAX_ROWS)
        labels = self.labels[:n]
        return [
            [int(i), lab if lab is not None else "-", f"{d:.4g}"]
            for i, lab, d in zip(self.ids[:n], labels, self.distances[:n])
        ]

    def __repr__(self) -> str:
        head = f"QueryResult: {len(self)} tokens, {self.query} in {self.space}"
        rows = self._rows()
        lines = [f"  {r[0]:>8}  {str(r[1])[:30]:<30}  {r[2]}" for r in rows]
        more = len(self) - len(rows)
        return "\n".join([head] + lines + ([f"  ... {more:,} more"] if more > 0 else []))

    def _repr_html_(self) -> str:
        rows = self._rows()
        title = f"{len(self)} tokens, {self.query} in {self.space}"
        return _table_html(title, ["id", "label", self.metric], rows, len(self) - len(rows))


def _detached_query_result(
    ids: Any,
    distances: Any,
    space: str,
    metric: str,
    query: str,
    labels: list[Optional[str]],
    coords: Optional[np.ndarray],
) -> QueryResult:
    """A ``QueryResult`` rebuilt from its pickle: no runtime, labels and coordinates held."""
    r = QueryResult(None, ids, distances, space, query, metric=metric)  # type: ignore[arg-type]
    r._labels, r._coords = labels, coords
    return r


class PathResult:
    """A path between two tokens along connections: the token ids in order and its cost
    (``found`` is False when the target cannot be reached)."""

    __slots__ = ("ids", "cost", "weight", "source", "target", "_rt", "_labels")

    def __init__(self, rt: _core.Runtime, source: int, target: int, ids: Any, cost: float, weight: str) -> None:
        self._rt: Optional[_core.Runtime] = rt
        self.source, self.target = source, target
        self.ids = ids
        self.cost = cost
        self.weight = weight
        self._labels: Optional[list[Optional[str]]] = None

    def __reduce__(self) -> Any:
        """Pickled without the runtime: the labels travel with the ids."""
        return (_detached_path, (self.source, self.target, self.ids, self.cost, self.weight, self.labels))

    @property
    def found(self) -> bool:
        """Whether a path exists (an empty path means the tokens are not connected)."""
        return len(self.ids) > 0

    @property
    def labels(self) -> list[Optional[str]]:
        """Label of each token on the path (None where it has none)."""
        if self._labels is None:
            assert self._rt is not None  # a detached result always has its labels
            self._labels = self._rt.labels_of(np.ascontiguousarray(self.ids, dtype=np.uint32))
        return self._labels

    def __len__(self) -> int:
        """Number of connections along the path."""
        return max(len(self.ids) - 1, 0)

    def to_pandas(self) -> pd.DataFrame:
        """One row per step: step number, id, label."""
        return pd.DataFrame(
            {"id": self.ids, "label": pd.array(self.labels, dtype="string")},
            index=pd.RangeIndex(len(self.ids), name="step"),
        )

    def _names(self) -> list[str]:
        return [lab if lab is not None else str(int(i)) for i, lab in zip(self.ids, self.labels)]

    def __repr__(self) -> str:
        if not self.found:
            return f"PathResult: no path from {self.source} to {self.target}"
        return f"PathResult: {' -> '.join(self._names())} ({len(self)} steps, {self.weight} cost {self.cost:.4g})"

    def _repr_html_(self) -> str:
        if not self.found:
            return f"<div class='ng-repr'>No path from {esc(self.source)} to {esc(self.target)}</div>"
        arrow = " <span style='color:var(--jp-ui-font-color2,#888)'>&rarr;</span> "
        path = arrow.join(f"<b>{esc(n)}</b>" for n in self._names())
        return (
            f"<div class='ng-repr' style='color:var(--jp-ui-font-color1,inherit)'>{path}"
            f"<div style='color:var(--jp-ui-font-color2,#888);font-size:11px'>{len(self)} steps, "
            f"{esc(self.weight)} cost {self.cost:.4g}</div></div>"
        )


def _detached_path(
    source: int, target: int, ids: Any, cost: float, weight: str, labels: list[Optional[str]]
) -> PathResult:
    """A ``PathResult`` rebuilt from its pickle: no runtime, labels held."""
    r = PathResult(None, source, target, ids, cost, weight)  # type: ignore[arg-type]
    r._labels = labels
    return r
