"""Value types returned by the runtime, each with a plain-text repr, an escaped HTML repr and
``to_pandas()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

import pandas as pd

from ._html import kv_table

__all__ = ["Token", "Connection", "Status"]

XYZ = Tuple[float, float, float]


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
        coords = {k: (None if v is None else tuple(round(float(c), 6) for c in v)) for k, v in d["coords"].items()}
        return cls(
            id=int(d["id"]),
            label=d["label"],
            entity=d["entity"],
            weight=round(float(d["weight"]), 7),
            field_radius=round(float(d["field_radius"]), 4),
            field_strength=round(float(d["field_strength"]), 4),
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
        return f"Token(id={self.id}{label}, entity={self.entity!r}, weight={self.weight:g}, {placed or 'no spaces'})"

    def _repr_html_(self) -> str:
        rows = [
            ("id", self.id),
            ("label", self.label if self.label is not None else "-"),
            ("entity", self.entity),
            ("weight", f"{self.weight:g}"),
            ("field", f"radius {self.field_radius:g}, strength {self.field_strength:g}"),
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
        vals = dict(d)
        for k in ("strength", "rigidity", "confidence", "preferred_distance", "learning_rate", "decay_rate"):
            vals[k] = round(float(vals[k]), 4)
        vals["flags"] = tuple(vals["flags"])
        return cls(**vals)

    def __repr__(self) -> str:
        arrow = "<->" if self.bidirectional else "->"
        return (
            f"Connection(id={self.id}, {self.token_a} {arrow} {self.token_b}, kind={self.kind!r}, "
            f"strength={self.strength:g}, confidence={self.confidence:g}, {self.mutability})"
        )

    def _repr_html_(self) -> str:
        arrow = "&lt;-&gt;" if self.bidirectional else "-&gt;"
        rows = [
            ("kind", f"{self.kind} ({self.group})"),
            ("strength", f"{self.strength:g}"),
            ("rigidity", f"{self.rigidity:g}"),
            ("confidence", f"{self.confidence:g}"),
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
