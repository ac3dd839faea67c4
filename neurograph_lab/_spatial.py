"""``rt.grid`` and ``rt.graph``: spatial queries over the 8 spaces and traversals over
connections. The indexes live in the compiled core and are rebuilt lazily after changes, so a
query never sees stale data."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from .errors import ValidationError
from .results import PathResult, QueryResult

Space = Union[str, int]
Target = Union[int, Sequence[float], np.ndarray]


_SPACE_NAMES: dict[Any, str] = {"all": "all"}
for _i, _name in enumerate(_core.SPACES):
    for _key in (_name, _name.upper(), _name.capitalize(), f"L{_i + 1}", f"l{_i + 1}", _i + 1):
        _SPACE_NAMES[_key] = _name


def _space_name(space: Space) -> str:
    try:
        return _SPACE_NAMES[space]
    except (KeyError, TypeError):
        pass
    if isinstance(space, str) and space.strip().lower() in _SPACE_NAMES:
        return _SPACE_NAMES[space.strip().lower()]
    raise ValidationError(
        f"unknown space {space!r}: expected one of {', '.join(_core.SPACES)}, L1..L8, 1..8 (or 'all' for neighbours)"
    )


def _target(x: Target) -> Any:
    if type(x) is int or type(x) is tuple:  # the common cases, passed straight to the core
        return x
    if isinstance(x, (bool, np.bool_)):
        raise ValidationError(f"query must be a token id or a point, got {x!r}")
    if isinstance(x, (int, np.integer)):
        return int(x)
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ValidationError(f"query point must be numeric, got {x!r}")
    return arr.astype(np.float64).ravel().tolist()


def _describe(x: Any, what: str) -> str:
    if isinstance(x, (int, np.integer)):
        return f"{what} token {int(x)}"
    return f"{what} point ({', '.join(f'{v:.4g}' for v in np.asarray(x, dtype=float).ravel()[:3])})"


def _points(points: Any) -> np.ndarray:
    arr = np.asarray(points)
    if arr.dtype.kind not in "fiu":
        raise ValidationError(f"points must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 1 and arr.shape[0] == 0:  # [] is no points
        arr = arr.reshape(0, 3)
    if arr.ndim == 1 and arr.shape[0] == 3:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValidationError(f"points must have shape (Q, 3), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


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
        name = _space_name(space)
        ids, dist = self._rt.grid_neighbors(_target(x), _check_k(k), name)
        return QueryResult(self._rt, ids, dist, name, (x, f"{k} nearest to"))

    def neighbors_many(self, points: Any, k: int = 10, space: Space = "cognitive") -> tuple[np.ndarray, np.ndarray]:
        """k nearest tokens of each row of a ``(Q, 3)`` array, computed in parallel.

        Returns ``(ids, distances)``, both ``(Q, k)`` (uint32, float32); k is capped at the
        number of tokens placed in the space.
        """
        name = _space_name(space)
        if name == "all":
            raise ValidationError("neighbors_many works in one space; use neighbors(..., space='all') per query")
        return self._rt.grid_neighbors_many(_points(points), _check_k(k), name)

    def range(self, center: Target, radius: float, space: Space = "cognitive") -> QueryResult:
        """Every token within ``radius`` (scaled distance) of a token (left out) or a point."""
        name = _space_name(space)
        ids, dist = self._rt.grid_range(_target(center), _check_radius(radius), name)
        return QueryResult(self._rt, ids, dist, name, (center, f"within {radius:g} of"))

    def range_many(
        self, points: Any, radius: float, space: Space = "cognitive"
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Radius queries for each row of a ``(Q, 3)`` array, in parallel.

        Returns ``(ids, distances)``: two lists of Q arrays, each sorted nearest first.
        """
        name = _space_name(space)
        off, ids, dist = self._rt.grid_range_many(_points(points), _check_radius(radius), name)
        if len(off) <= 1:  # no points: no results (np.split would give one empty array)
            return [], []
        cuts = off[1:-1].astype(np.intp)
        return np.split(ids, cuts), np.split(dist, cuts)

    def field_influence(self, point: Sequence[float], space: Space = "cognitive") -> float:
        """Sum of ``field_strength * (1 - d / field_radius)`` over tokens whose field reaches
        ``point`` (d in the space's raw coordinates)."""
        return float(self._rt.grid_field_influence(_point3(point), _space_name(space)))

    def density(self, point: Sequence[float], radius: float, space: Space = "cognitive") -> float:
        """Tokens per unit volume within ``radius`` of ``point``: count / (4/3 pi radius^3)."""
        _, dens = self._rt.grid_density(_point3(point), _check_radius(radius), _space_name(space))
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


class GraphView:
    """``rt.graph``: tokens as nodes, connections as directed edges (both ways when
    bidirectional), kept in step with the connection store.

    Examples
    --------
    >>> import neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> a, b, c = (rt.tokens.create(label=w) for w in ["rain", "wet", "slip"])
    >>> _ = rt.connections.create(a, b, kind="cause"); _ = rt.connections.create(b, c, kind="cause")
    >>> rt.graph.shortest_path(a, c).labels
    ['rain', 'wet', 'slip']
    """

    __slots__ = ("_rt",)

    def __init__(self, rt: _core.Runtime) -> None:
        self._rt = rt

    def _traverse(self, start: int, depth: Optional[int], dfs: bool) -> pd.DataFrame:
        ids, d, parent = self._rt.graph_traverse(_id(start), depth, dfs)
        return pd.DataFrame(
            {"depth": d, "parent": parent, "label": pd.array(self._rt.labels_of(ids), dtype="string")},
            index=pd.Index(ids, name="id"),
        )

    def bfs(self, start: int, depth: Optional[int] = None) -> pd.DataFrame:
        """Breadth-first from ``start`` along out-edges, up to ``depth`` hops (None: all).
        One row per token reached, in visit order: id (index), depth, parent, label."""
        return self._traverse(start, depth, False)

    def dfs(self, start: int, depth: Optional[int] = None) -> pd.DataFrame:
        """Depth-first (preorder) from ``start``; same columns as ``bfs``."""
        return self._traverse(start, depth, True)

    def shortest_path(self, a: int, b: int, weight: str = "strength", space: Space = "cognitive") -> PathResult:
        """Cheapest path from ``a`` to ``b`` along connections.

        ``weight``: ``"strength"`` (each connection costs 1 / strength; a strength of 0 costs
        1e6), ``"distance"`` (the scaled distance between its tokens in ``space``) or
        ``"hops"``. Among paths of equal cost one is returned, the same one on every call.
        """
        a, b = _id(a), _id(b)
        r = self._rt.graph_shortest_path(a, b, weight, _space_name(space))
        if r is None:
            return PathResult(self._rt, a, b, np.empty(0, np.uint32), float("inf"), weight)
        ids, cost = r
        return PathResult(self._rt, a, b, ids, float(cost), weight)

    def shortest_path_lengths(self, a: int, weight: str = "strength", space: Space = "cognitive") -> pd.Series:
        """Cost from ``a`` to every token it reaches, as a Series indexed by id (ascending cost)."""
        ids, d = self._rt.graph_shortest_path_lengths(_id(a), weight, _space_name(space))
        return pd.Series(d, index=pd.Index(ids, name="id"), name="cost")

    def components(self) -> pd.Series:
        """Weakly connected component of every token (Series indexed by id; labels 0..n-1
        numbered by first appearance in store order)."""
        ids, labels, _ = self._rt.graph_components()
        return pd.Series(labels, index=pd.Index(ids, name="id"), name="component")

    def subgraph(self, ids: Any) -> pd.DataFrame:
        """Connections whose both ends are among ``ids``, like ``rt.connections.to_pandas()``."""
        from .runtime import ConnectionView, _as_id_array

        return ConnectionView._frame(self._rt.graph_subgraph(_as_id_array(ids)))

    def degrees(self) -> pd.DataFrame:
        """Out-, in- and total degree of every token (index: id), counting graph edges: a
        bidirectional connection is an out- and an in-edge of both its tokens. (The CDNA degree
        limits count stored connections: source out, target in.)"""
        ids, out, inn = self._rt.graph_degrees()
        return pd.DataFrame({"out": out, "in": inn, "total": out + inn}, index=pd.Index(ids, name="id"))

    def layout(self, ids: Any = None, iterations: int = 100, seed: int = 0) -> np.ndarray:
        """Force-directed (Barnes-Hut) layout of the subgraph on ``ids`` (all tokens if None),
        computed in Rust: an ``(N, 2)`` float32 array in ``[-1, 1]``, rows in the order of
        ``ids`` (or ``rt.tokens.ids()``)."""
        from .runtime import _as_id_array

        if iterations < 0:
            raise ValidationError(f"iterations must be >= 0, got {iterations}")
        sel = None if ids is None else _as_id_array(ids)
        _, pos = self._rt.graph_layout(sel, int(iterations), int(seed))
        return pos

    def __repr__(self) -> str:
        return f"<graph: {self._rt.count_tokens():,} nodes, {self._rt.count_connections():,} connections>"


def _id(x: Any) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise ValidationError(f"a token id must be an integer, got {type(x).__name__} {x!r}")
    if int(x) < 0 or int(x) > 0xFFFFFFFF:
        raise ValidationError(f"a token id must be in 0..4294967295, got {x}")
    return int(x)


def _check_k(k: Any) -> int:
    if type(k) is int and k >= 0:
        return k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 0:
        raise ValidationError(f"k must be an integer >= 0, got {k!r}")
    return int(k)


def _check_radius(r: Any) -> float:
    try:
        v = float(r)
    except (TypeError, ValueError):
        raise ValidationError(f"radius must be a number, got {r!r}") from None
    if not np.isfinite(v) or v < 0:
        raise ValidationError(f"radius must be a finite number >= 0, got {r!r}")
    return v


def _point3(p: Any) -> list[float]:
    arr = np.asarray(p, dtype=np.float64).ravel()
    if arr.shape != (3,):
        raise ValidationError(f"a point needs 3 values (x, y, z), got {arr.shape[0]}")
    return arr.tolist()
