"""``rt.grid``: exact spatial queries over the 8 spaces (``GridView``). The indexes live in the
compiled core and are rebuilt lazily after changes, so a query never sees stale data."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._args import Space, Target, check_k, check_radius, point3, point_rows, space_name, target
from ._values import QueryResult
from .errors import ValidationError

__all__ = ["GridView", "describe"]


def describe(x: Any, what: str) -> str:
    """What a query asked, e.g. "10 nearest to token 5" or "within 0.5 of point (0, 0, 0)"."""
    if isinstance(x, (int, np.integer)):
        return f"{what} token {int(x)}"
    return f"{what} point ({', '.join(f'{v:.4g}' for v in np.asarray(x, dtype=float).ravel()[:3])})"


class GridView:
    """``rt.grid``: exact spatial queries in each of the 8 spaces.

    Distances are Euclidean in the space's coordinates multiplied by the CDNA scale of that
    space (``rt.cdna.scales``); ties are broken by token id.

    Examples
    --------
    >>> import numpy as np, neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> ids = rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (1000, 8, 3)))
    >>> res = rt.grid.neighbors(int(ids[0]), k=5, space="cognitive")
    >>> len(res), bool(np.all(np.diff(res.distances) >= 0))
    (5, True)
    """

    __slots__ = ("_rt",)

    def __init__(self, rt: _core.Runtime) -> None:
        self._rt = rt

    def neighbors(self, x: Target, k: int = 10, space: Space = "cognitive") -> QueryResult:
        """The k nearest tokens to a token (which is left out) or an ``(x, y, z)`` point.

        ``space="all"`` ranks by all 24 coordinates (each space weighted by its CDNA scale)
        among tokens placed in every space; the query is then a token id or 24 values.
        """
        name = space_name(space, allow_all=True)
        ids, dist = self._rt.grid_neighbors(target(x), check_k(k), name)
        return QueryResult(self._rt, ids, dist, name, describe(x, f"{k} nearest to"))

    def neighbors_many(self, points: Any, k: int = 10, space: Space = "cognitive") -> tuple[np.ndarray, np.ndarray]:
        """k nearest tokens of each row of a ``(Q, 3)`` array, computed in parallel.

        Returns ``(ids, distances)``, both ``(Q, k)`` (uint32, float32); k is capped at the
        number of tokens placed in the space.
        """
        name = space_name(space, allow_all=True)
        if name == "all":
            raise ValidationError("neighbors_many works in one space; use neighbors(..., space='all') per query")
        return self._rt.grid_neighbors_many(point_rows(points), check_k(k), name)

    def range(self, center: Target, radius: float, space: Space = "cognitive") -> QueryResult:
        """Every token within ``radius`` (scaled distance) of a token (left out) or a point."""
        name = space_name(space, allow_all=True)
        ids, dist = self._rt.grid_range(target(center), check_radius(radius), name)
        return QueryResult(self._rt, ids, dist, name, describe(center, f"within {radius:g} of"))

    def range_many(
        self, points: Any, radius: float, space: Space = "cognitive"
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Radius queries for each row of a ``(Q, 3)`` array, in parallel.

        Returns ``(ids, distances)``: two lists of Q arrays, each sorted nearest first.
        """
        name = space_name(space)
        off, ids, dist = self._rt.grid_range_many(point_rows(points), check_radius(radius), name)
        if len(off) <= 1:  # no points: no results (np.split would give one empty array)
            return [], []
        cuts = off[1:-1].astype(np.intp)
        return np.split(ids, cuts), np.split(dist, cuts)

    def field_influence(self, point: Sequence[float], space: Space = "cognitive") -> float:
        """Sum of ``field_strength * (1 - d / field_radius)`` over tokens whose field reaches
        ``point`` (d in the space's raw coordinates)."""
        return float(self._rt.grid_field_influence(point3(point), space_name(space)))

    def density(self, point: Sequence[float], radius: float, space: Space = "cognitive") -> float:
        """Tokens per unit volume within ``radius`` of ``point``: count / (4/3 pi radius^3)."""
        _, dens = self._rt.grid_density(point3(point), check_radius(radius), space_name(space))
        return float(dens)

    def info(self) -> pd.DataFrame:
        """Per space: tokens indexed, bounding box, index memory and CDNA scale."""
        rows = self._rt.grid_info_list()
        df = pd.DataFrame(
            {
                "tokens": [r["tokens"] for r in rows],
                "min": [tuple(round(v, 4) for v in r["min"]) if r["min"] else None for r in rows],
                "max": [tuple(round(v, 4) for v in r["max"]) if r["max"] else None for r in rows],
                "memory_bytes": [r["memory_bytes"] for r in rows],
                "scale": [r["scale"] for r in rows],
            },
            index=pd.Index([r["space"] for r in rows], name="space"),
        )
        return df

    def __repr__(self) -> str:
        return f"<grid: 8 spaces over {self._rt.count_tokens():,} tokens>"
