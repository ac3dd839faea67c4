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
    color: str = "entity",
    depth: int = 1,
    *,
    label_by: Optional[str] = "degree",
) -> Explore:
    """The grid explorer, the graph explorer and the CDNA panel in one layout. A selection in
    the grid (up to 5,000 tokens) redraws the graph around it; CDNA changes refresh both.
    ``space``: the grid's main view; by default the space holding the bootstrap's top 3
    principal axes, else the space where most tokens are placed. ``label_by`` orders the labels
    drawn in both (``"degree"``, ``"score"``, a numeric token column, or None for no labels)."""
    return Explore(rt, ids=ids, space=space, color=color, depth=depth, label_by=label_by)


class Explore(w.VBox):  # type: ignore[misc]
    """What ``explore`` returns: ``.grid``, ``.graph``, ``.panel``."""

    def __init__(
        self,
        rt: Runtime,
        ids: Any = None,
        space: Optional[str] = None,
        color: str = "entity",
        depth: int = 1,
        *,
        label_by: Optional[str] = "degree",
    ) -> None:
        self.grid = GridExplorer(rt, space=space, ids=ids, color=color, label_by=label_by)
        first = self.grid.selected if ids is None else np.asarray(ids, dtype=np.uint32)
        seeds: Optional[Any] = first[:GRAPH_FOLLOWS] if len(first) else None
        graph_label_by = "degree" if label_by == "score" else label_by  # the graph's seeds carry no scores
        # with no selection the graph shows every token, or a sample of GRAPH_FOLLOWS (and says so)
        self.graph = GraphExplorer(
            rt,
            ids=seeds,
            depth=depth if seeds is not None else 0,
            max_nodes=None if seeds is not None else GRAPH_FOLLOWS,
            label_by=graph_label_by,
        )
        self.panel = CDNAPanel(rt, explorers=[self.grid, self.graph])
        self._depth = depth
        self.grid.observe(self._follow, "selection")
        super().__init__([w.HBox([self.grid, self.panel]), self.graph])

    def _follow(self, _change: Any) -> None:
        sel = self.grid.selected
        if 0 < len(sel) <= GRAPH_FOLLOWS:
            self.graph._nodes = self.graph._grow(sel, self._depth)
            self.graph.refresh()

    def __repr__(self) -> str:
        return f"Explore\n  {self.grid!r}\n  {self.graph!r}\n  {self.panel!r}"
