"""Explorers: ``GridExplorer`` (the 8 spaces, WebGL, linked selection), ``GraphExplorer``
(a subgraph with the Rust layout), ``CDNAPanel`` (CDNA controls through the Guardian) and
``explore`` (the three in one layout, with the grid selection driving the graph)."""

from __future__ import annotations

from typing import Any, Optional

import ipywidgets as w
import numpy as np

from ..runtime import Runtime
from .cdna import CDNAPanel
from .graph import GraphExplorer
from .grid import GridExplorer

__all__ = ["GridExplorer", "GraphExplorer", "CDNAPanel", "Explore", "explore"]

#: the graph explorer follows a grid selection up to this many tokens
GRAPH_FOLLOWS = 5_000


def explore(
    rt: Runtime,
    ids: Any = None,
    space: Optional[str] = None,
    color: str = "auto",
    depth: int = 1,
    *,
    focus: Any = None,
    label_by: Optional[str] = "degree",
) -> Explore:
    """The grid explorer, the graph explorer and the CDNA panel in one layout. A selection in
    the grid (up to 5,000 tokens) redraws the graph around it; CDNA changes refresh both.

    Parameters
    ----------
    rt : Runtime
        The runtime to show.
    ids : array-like of int, optional
        The tokens to show (all if None).
    space : str, optional
        The grid's main view; by default the space holding the bootstrap's top 3 principal
        axes, else the space where most tokens are placed.
    color : str
        The grid's colour (``GridExplorer``); ``"auto"`` is ``"community"`` when the runtime
        has connections (both explorers then colour by community), else ``"entity"``.
    depth : int
        Hops of neighbours the graph adds around the grid's tokens.
    focus : str, int, array-like of int or QueryResult, optional
        Open focused on these tokens (``Explore.focus``).
    label_by : str or None
        Orders the labels drawn in both explorers (``"degree"``, ``"score"``, a numeric token
        column, or None for no labels).
    """
    return Explore(rt, ids=ids, space=space, color=color, depth=depth, focus=focus, label_by=label_by)


class Explore(w.VBox):  # type: ignore[misc]
    """What ``explore`` returns: ``.grid``, ``.graph``, ``.panel`` (arguments: ``explore``)."""

    def __init__(
        self,
        rt: Runtime,
        ids: Any = None,
        space: Optional[str] = None,
        color: str = "auto",
        depth: int = 1,
        *,
        focus: Any = None,
        label_by: Optional[str] = "degree",
    ) -> None:
        if color == "auto":
            color = "community" if len(rt.connections) else "entity"
        self.grid = GridExplorer(rt, space=space, ids=ids, color=color, label_by=label_by)
        first = self.grid.selected if ids is None else np.asarray(ids, dtype=np.uint32)
        seeds: Optional[Any] = first[:GRAPH_FOLLOWS] if len(first) else None
        graph_label_by = "degree" if label_by == "score" else label_by  # the graph's seeds carry no scores
        # with no selection the graph shows every token, or a sample of GRAPH_FOLLOWS (and says so)
        self.graph = GraphExplorer(
            rt,
            ids=seeds,
            depth=depth if seeds is not None else 0,
            color="community" if color == "community" else "entity",
            max_nodes=None if seeds is not None else GRAPH_FOLLOWS,
            label_by=graph_label_by,
        )
        self.panel = CDNAPanel(rt, explorers=[self.grid, self.graph])
        self._depth = depth
        self.grid.observe(self._follow, "selection")
        self.grid.observe(self._follow_focus, "focused")
        super().__init__([w.HBox([self.grid, self.panel]), self.graph])
        if focus is not None:
            self.focus(focus)

    def _follow(self, _change: Any) -> None:
        sel = self.grid.selected
        if 0 < len(sel) <= GRAPH_FOLLOWS:
            self.graph._nodes = self.graph._grow(sel, self._depth)
            self.graph.refresh()

    def focus(self, target: Any = None, k: int = 10) -> None:
        """Focus both explorers on a label, id, list of ids or query result (None clears): the
        grid highlights the tokens with their neighbourhood and pans to them; the graph adds
        them if they are outside its subgraph and does the same (a search in the grid's box
        focuses the graph too). Raises ``ValidationError`` for an unknown label (listing close
        spellings) or id, with nothing changed."""
        self.grid.focus(target, k=k)

    def _follow_focus(self, change: Any) -> None:
        old, new = change["old"] or {}, change["new"] or {}
        if not new:
            if old:
                self.graph.focus(None)
        elif new.get("seq") != old.get("seq") and new.get("ids"):
            self.graph.focus(new["ids"], k=self.grid._focus_k)

    def __repr__(self) -> str:
        return f"Explore\n  {self.grid!r}\n  {self.graph!r}\n  {self.panel!r}"
