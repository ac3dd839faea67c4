"""``rt.graph``: traversals, paths and layout over the connections (``GraphView``), computed
in the compiled core, whose adjacency is kept in step with the connection store."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._args import Space, as_id_array, space_name, token_id
from ._communities import Communities, check_method, check_resolution, check_seed
from ._frames import connections_frame
from ._progress import run_with_progress
from ._values import PathResult
from .errors import ValidationError

__all__ = ["GraphView"]


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
        ids, d, parent = self._rt.graph_traverse(token_id(start), depth, dfs)
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

    def neighbourhood(
        self,
        ids: Any,
        depth: Optional[int] = 1,
        direction: str = "out",
        kinds: Optional[Sequence[Union[str, int]]] = None,
        limit: Optional[int] = None,
    ) -> pd.DataFrame:
        """The tokens within ``depth`` hops of ``ids`` (None: every token reachable).

        Parameters
        ----------
        ids : int or array-like of int
            The seed tokens (each must exist).
        depth : int or None
            Hops to follow; 0 gives the seeds alone.
        direction : {"out", "in", "both"}
            ``"out"`` follows connections from source to target (and bidirectional ones back,
            as ``bfs`` does), ``"in"`` the reverse, ``"both"`` either way.
        kinds : sequence of str or int, optional
            Follow only these connection kinds or groups (names or codes).
        limit : int, optional
            Stop after this many tokens.

        Returns
        -------
        pandas.DataFrame
            One row per token (index: id): the seeds first (in the order given, depth 0), then
            each hop's new tokens in ascending id order, with ``depth`` and ``label``.
            ``%%ng_explore``'s ``expand`` and the ``GraphExplorer`` grow by this same rule.

        Examples
        --------
        >>> import neurograph_lab as ng
        >>> rt = ng.Runtime()
        >>> a, b, c = (rt.tokens.create(label=w) for w in ["rain", "wet", "slip"])
        >>> _ = rt.connections.create(a, b, kind="cause"); _ = rt.connections.create(b, c, kind="cause")
        >>> rt.graph.neighbourhood(a, depth=2)["label"].tolist()
        ['rain', 'wet', 'slip']
        """
        seeds = as_id_array(ids)
        found, hops = self._rt.graph_neighbourhood(
            seeds, depth, direction, None if kinds is None else list(kinds), limit
        )
        return pd.DataFrame(
            {"depth": hops, "label": pd.array(self._rt.labels_of(found), dtype="string")},
            index=pd.Index(found, name="id"),
        )

    def shortest_path(self, a: int, b: int, weight: str = "strength", space: Space = "cognitive") -> PathResult:
        """Cheapest path from ``a`` to ``b`` along connections.

        ``weight``: ``"strength"`` (each connection costs 1 / strength; a strength of 0 costs
        1e6), ``"distance"`` (the scaled distance between its tokens in ``space``) or
        ``"hops"``. Among paths of equal cost one is returned, the same one on every call.
        """
        a, b = token_id(a), token_id(b)
        r = self._rt.graph_shortest_path(a, b, weight, space_name(space))
        if r is None:
            return PathResult(self._rt, a, b, np.empty(0, np.uint32), float("inf"), weight)
        ids, cost = r
        return PathResult(self._rt, a, b, ids, float(cost), weight)

    def shortest_path_lengths(self, a: int, weight: str = "strength", space: Space = "cognitive") -> pd.Series:
        """Cost from ``a`` to every token it reaches, as a Series indexed by id (ascending cost)."""
        ids, d = self._rt.graph_shortest_path_lengths(token_id(a), weight, space_name(space))
        return pd.Series(d, index=pd.Index(ids, name="id"), name="cost")

    def components(self) -> pd.Series:
        """Weakly connected component of every token (Series indexed by id; labels 0..n-1
        numbered by first appearance in store order)."""
        ids, labels, _ = self._rt.graph_components()
        return pd.Series(labels, index=pd.Index(ids, name="id"), name="component")

    def subgraph(self, ids: Any) -> pd.DataFrame:
        """Connections whose both ends are among ``ids``, like ``rt.connections.to_pandas()``."""
        return connections_frame(self._rt.graph_subgraph(as_id_array(ids)))

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
        if iterations < 0:
            raise ValidationError(f"iterations must be >= 0, got {iterations}")
        sel = None if ids is None else as_id_array(ids)
        _, pos = self._rt.graph_layout(sel, int(iterations), int(seed))
        return pos

    def communities(
        self,
        method: str = "leiden",
        resolution: float = 1.0,
        seed: int = 0,
        weight: Optional[str] = "strength",
        progress: Optional[bool] = None,
    ) -> Communities:
        """Communities of all tokens over the connections, maximising modularity.

        Computed in the compiled core with the GIL released. The graph is undirected: a
        connection joins its two tokens whatever its direction, and several connections
        between the same tokens add up. Tokens without connections are communities of their
        own. The result is kept as ``rt.graph.last_communities`` (until the next call or
        ``rt.tokens.clear()``; it is not saved in snapshots), and
        ``rt.tokens.to_pandas()`` then has a ``community`` column.

        Parameters
        ----------
        method : {"leiden", "louvain"}
            Leiden (Traag et al. 2019: every community is connected) or Louvain
            (Blondel et al. 2008).
        resolution : float
            Resolution gamma > 0 of modularity: larger values give more, smaller
            communities.
        seed : int
            Seed of the node order and of Leiden's refinement; a seed gives the same
            communities on the same graph, whatever the number of threads.
        weight : {"strength", None}
            ``"strength"``: a connection weighs its strength (negative strengths count 0);
            None: 1 per connection.
        progress : bool, optional
            Show a progress bar: after a second (None), always (True) or never (False).

        Returns
        -------
        Communities
            ``membership`` (Series of community per token id, 0 = largest), ``count``,
            ``modularity``, ``sizes()``.

        Raises
        ------
        ValidationError
            A bad method, resolution (<= 0 or not finite), seed or weight; nothing changes.

        Examples
        --------
        >>> import numpy as np
        >>> import neurograph_lab as ng
        >>> rt = ng.Runtime()
        >>> ids = rt.tokens.create_many(np.zeros((6, 8, 3)))
        >>> _ = rt.connections.create_many(ids[[0, 1, 2, 3, 4, 5, 2]], ids[[1, 2, 0, 4, 5, 3, 3]])
        >>> c = rt.graph.communities()
        >>> c.membership.tolist()
        [0, 0, 0, 1, 1, 1]
        >>> rt.tokens.to_pandas()["community"].tolist()
        [0, 0, 0, 1, 1, 1]
        """
        m = check_method(method)
        r = check_resolution(resolution)
        sd = check_seed(seed)
        if weight not in ("strength", None):
            raise ValidationError(f"weight must be 'strength' or None, got {weight!r}")
        ids, comm, q = run_with_progress(
            lambda bar: self._rt.graph_communities(m, r, sd, weight is not None, bar),
            f"{m} communities",
            unit="node",
            enabled=progress,
        )
        info = {"ids": ids, "community": comm, "modularity": q, "method": m, "resolution": r, "seed": sd}
        info.update(count=int(comm.max()) + 1 if len(comm) else 0, weighted=weight is not None)
        return Communities(info)

    @property
    def last_communities(self) -> Optional[Communities]:
        """The last result of ``communities()`` on this runtime, or None (also after
        ``rt.tokens.clear()``; communities are not saved in snapshots, so a runtime loaded
        from one has none)."""
        info = self._rt.graph_last_communities()
        return None if info is None else Communities(info)

    def __repr__(self) -> str:
        return f"<graph: {self._rt.count_tokens():,} nodes, {self._rt.count_connections():,} connections>"
