"""``GraphExplorer``: a subgraph of the runtime drawn with WebGL, positioned by the Rust
force-directed layout; click selects, double-click expands a node through the kernel."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import numpy as np
import traitlets

from .._args import as_id_array
from .._names import CONNECTION_GROUPS
from .._values import QueryResult
from ..errors import ValidationError
from ..runtime import Runtime
from ._base import MAX_MESSAGE, Message, buf, esm_bundle
from ._focus import Focusable, communities_of, community_categories
from ._labels import (
    Labels,
    check_label_by,
    extra_columns,
    priority,
    request_id,
    scores_of,
    viewport_box,
)
from ._neighbours import top_neighbours

#: the tested maximum; larger subgraphs are refused with a hint
MAX_NODES = 50_000
EDGE_BYTES = 10  # two uint32 ends, colour, width


class GraphExplorer(Focusable):
    """Nodes and connections of a subgraph: from ``ids`` (all tokens if None) plus their
    neighbours up to ``depth`` hops (along out- and in-connections), or the words of a
    semantic ``query``. A whole-graph view (``ids=None``) of more than ``max_nodes`` tokens
    (default and most: 50,000) shows a sample (random tokens with their direct neighbours) and
    says so, on the canvas and in its summary. Colour by connection group, width by
    ``width_by`` (``strength`` or ``confidence``). ``explorer.selected`` holds the ids clicked
    in the browser; double-click adds a node's neighbours. ``expand(ids)`` does the same from
    Python.

    ``label_by`` orders the labels drawn (collisions are avoided, more appear when zooming
    in): ``"degree"`` (the default), ``"score"`` (with ``query`` or a query result as
    ``ids``), a numeric token column such as ``"weight"``, or None for no labels. Hover shows
    a node's label and its top neighbours by connection strength.

    ``color``: node colour, ``"entity"`` (entity type) or ``"community"``
    (``rt.graph.last_communities``, computed with the defaults first if there are none; the
    11 largest coloured). ``focus``: a label, id, list of ids or query result to open focused
    on (``focus()``; a graph made from a ``query``, or with ``ids`` a query result, opens
    focused on its results). The search box completes the labels of all tokens: focusing one
    outside the subgraph adds it and its neighbours."""

    _esm = esm_bundle("graph")
    _kind = "graph"

    n_nodes = traitlets.Int(0).tag(sync=True)
    n_edges = traitlets.Int(0).tag(sync=True)
    legend: traitlets.List[Any] = traitlets.List().tag(sync=True)
    width_by = traitlets.Unicode("strength").tag(sync=True)
    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    color = traitlets.Unicode("entity").tag(sync=True)
    # 0, or the number of tokens a sampled whole-graph view was drawn from (the browser says so)
    sampled_from = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        rt: Runtime,
        ids: Any = None,
        depth: int = 1,
        *,
        query: Optional[str] = None,
        k: int = 20,
        width_by: str = "strength",
        iterations: int = 100,
        seed: int = 0,
        live: bool = False,
        color: str = "entity",
        focus: Any = None,
        max_nodes: Optional[int] = None,
        label_by: Optional[str] = "degree",
    ) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValidationError(f"depth must be an integer >= 0, got {depth!r}")
        cap = MAX_NODES if max_nodes is None else max_nodes
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_NODES:
            raise ValidationError(f"max_nodes must be an integer in 1..{MAX_NODES:,}, got {max_nodes!r}")
        if width_by not in ("strength", "confidence"):
            raise ValidationError(f"width_by must be 'strength' or 'confidence', got {width_by!r}")
        if isinstance(ids, QueryResult) and focus is None:  # a query's tokens, opened focused on them
            focus = ids
        if color not in ("entity", "community"):
            raise ValidationError(f"color must be 'entity' or 'community', got {color!r}")
        found = rt.query(query, k=k) if query is not None else None
        if found is not None and focus is None:
            focus = found
        self._scores = scores_of(found if found is not None else ids)
        self._label_by = check_label_by(label_by, self._scores is not None, extra_columns(rt, label_by))
        self._label_set = Labels.empty()
        if found is None and self._scores is not None:  # a query result as ids: its ids
            ids = self._scores[0]
        super().__init__(rt, live=live, width_by=width_by, color=color)
        if found is not None:
            seeds = found.ids
        elif ids is None:
            seeds = rt.tokens.ids()
            depth = 0
            if seeds.size > cap:
                self.sampled_from = int(seeds.size)
                seeds = self._sample(seeds, cap, int(seed))
        else:
            seeds = as_id_array(ids)
            known = np.isin(seeds, rt.tokens.ids())
            if not known.all():
                raise ValidationError(f"{int((~known).sum())} of the ids are not tokens, e.g. {int(seeds[~known][0])}")
        self._iterations, self._seed = int(iterations), int(seed)
        self._nodes = self._grow(np.unique(np.asarray(seeds, dtype=np.uint32)), depth)
        self._rebuild()
        if focus is not None and len(np.atleast_1d(getattr(focus, "ids", focus))):
            self.focus(focus)

    def _sample(self, ids: np.ndarray, cap: int, seed: int) -> np.ndarray:
        """``cap`` of ``ids`` for a whole-graph view too large to draw: random seed tokens with
        their direct neighbours (so the sample keeps edges to look at), topped up with random
        tokens when the neighbourhoods are small; deterministic for ``seed``."""
        order = ids[np.random.default_rng(seed).permutation(ids.size)]
        degree = 2.0 * self._rt._core.count_connections() / max(ids.size, 1)
        seeds = np.ascontiguousarray(order[: max(1, int(cap / (1.0 + degree)))], dtype=np.uint32)
        got, _ = self._rt._core.graph_neighbourhood(seeds, 1, "both", None, cap)
        got = np.unique(got)
        if got.size < cap:
            rest = order[~np.isin(order, got)]
            got = np.union1d(got, rest[: cap - got.size])
        return got[:cap] if got.size > cap else got

    def _grow(self, nodes: np.ndarray, depth: int) -> np.ndarray:
        """``nodes`` and their neighbours up to ``depth`` hops along out- and in-connections,
        sorted; by the core's one neighbourhood rule, stopped past ``MAX_NODES``."""
        if depth == 0 or nodes.size == 0:
            return nodes
        ids, _ = self._rt._core.graph_neighbourhood(nodes, depth, "both", None, MAX_NODES + 1)
        return np.unique(ids)

    def _rebuild(self) -> None:
        nodes = self._nodes
        if nodes.size > MAX_NODES:
            raise ValidationError(
                f"{nodes.size:,} nodes is more than the graph explorer's {MAX_NODES:,}; "
                "pass ids (or a query) and a smaller depth"
            )
        alive = np.isin(nodes, self._rt.tokens.ids())
        nodes = self._nodes = nodes[alive]
        self._pos = (
            self._rt.graph.layout(nodes, iterations=self._iterations, seed=self._seed)
            if nodes.size
            else np.empty((0, 2), np.float32)
        )
        edges = self._rt.graph.subgraph(nodes)
        index = {int(t): i for i, t in enumerate(nodes)}
        src = np.fromiter((index[int(t)] for t in edges["token_a"]), np.uint32, len(edges))
        dst = np.fromiter((index[int(t)] for t in edges["token_b"]), np.uint32, len(edges))
        self._ends = np.ascontiguousarray(np.stack([src, dst], axis=1)) if len(edges) else np.empty((0, 2), np.uint32)
        groups = list(CONNECTION_GROUPS)
        self._edge_color = (
            np.array([groups.index(str(g)) % 12 for g in edges["group"]], np.uint8)
            if len(edges)
            else np.empty(0, np.uint8)
        )
        w = edges["strength" if self.width_by == "strength" else "confidence"].to_numpy(np.float64)
        self._edge_width = np.clip(np.nan_to_num(w) * 255.0, 1, 255).astype(np.uint8)
        degree = np.bincount(src, minlength=nodes.size) + np.bincount(dst, minlength=nodes.size)
        self._degree = degree
        top = max(int(degree.max()) if degree.size else 1, 1)
        self._size_code = np.clip(1 + np.sqrt(degree / top) * 254, 1, 255).astype(np.uint8)
        self._labels = self._rt._core.labels_of(np.ascontiguousarray(nodes, dtype=np.uint32)) if nodes.size else []
        self._label_set = self._make_labels()
        legend = [{"name": g, "color": i % 12} for i, g in enumerate(groups)]
        if self.color == "community":
            of, sizes = communities_of(self._rt, nodes)
            cats, names = community_categories(of, sizes)
            self._node_color = cats.astype(np.uint8)
            counts = np.bincount(cats, minlength=12)
            nodes_legend = [{"name": f"nodes: {names[i]} ({counts[i]:,})", "color": i} for i in range(12) if counts[i]]
            used = set(self._edge_color.tolist())  # only the connection groups drawn
            edges_legend = [{"name": f"edges: {g}", "color": i % 12} for i, g in enumerate(groups) if i % 12 in used]
            legend = nodes_legend + edges_legend
        else:
            self._node_color = _entities_of(self._rt, nodes) % 12
        self.legend = legend
        self.n_nodes, self.n_edges = int(nodes.size), int(len(edges))
        self.loaded = 0
        self.selected = [i for i in self.selected if i in index]

    @traitlets.observe("width_by", "color")
    def _width_changed(self, change: Any) -> None:
        allowed = ("strength", "confidence") if change["name"] == "width_by" else ("entity", "community")
        if change["new"] not in allowed:
            setattr(self, change["name"], change["old"])
        elif self.n_nodes:
            self.refresh()

    # -- search and focus (_focus.py) --
    def _search_ids(self) -> np.ndarray:
        return np.asarray(self._rt.tokens.ids(), dtype=np.uint32)

    def _shown(self) -> np.ndarray:
        return self._nodes

    def _make_shown(self, ids: np.ndarray) -> None:
        """A token outside the subgraph: add it and its neighbours (one hop), redraw."""
        missing = ids[~np.isin(ids, self._nodes)]
        if missing.size:
            self._nodes = np.union1d(self._nodes, self._grow(missing, 1))
            self.refresh()

    def _neighbourhood(self, ids: np.ndarray, k: int) -> np.ndarray:
        """The nodes joined to ``ids`` by a drawn edge (``k`` does not apply here)."""
        at = np.flatnonzero(np.isin(self._nodes, ids))
        if not at.size or not len(self._ends):
            return np.empty(0, np.uint32)
        a, b = self._ends[:, 0], self._ends[:, 1]
        touch = np.isin(a, at) | np.isin(b, at)
        other = np.unique(np.concatenate([a[touch], b[touch]]))
        near: np.ndarray = self._nodes[other[~np.isin(other, at)]].astype(np.uint32)
        return near

    def _size(self) -> int:
        return int(self.n_nodes)

    def _release(self) -> None:
        self._pos = np.empty((0, 2), np.float32)
        self._ends = np.empty((0, 2), np.uint32)
        self._label_set = Labels.empty()

    def _messages(self) -> Iterator[Message]:
        v, n = self.version, int(self.n_nodes)
        yield (
            {"type": "nodes", "version": v, "n": n},
            [
                buf(self._pos.astype(np.float32, copy=False)),
                buf(self._nodes.astype(np.uint32, copy=False)),
                buf(self._node_color),
                buf(self._size_code),
            ],
        )
        m = int(self.n_edges)
        per = max(1, MAX_MESSAGE // EDGE_BYTES)
        for o in range(0, m, per):
            c = min(per, m - o)
            yield (
                {"type": "edges", "version": v, "offset": o, "count": c},
                [
                    buf(self._ends[o : o + c]),
                    buf(self._edge_color[o : o + c]),
                    buf(self._edge_width[o : o + c]),
                ],
            )

    def _hover(self, index: int, neighbours: bool = True) -> dict[str, Any]:
        tid = int(self._nodes[index])
        near = top_neighbours(self._rt, tid) if neighbours and self._rt._core.has_token(tid) else []
        return {"id": tid, "label": self._labels[index] or "", "degree": int(self._degree[index]), "neighbours": near}

    # -- labels --
    def _make_labels(self) -> Labels:
        if self._label_by is None or not self._nodes.size:
            return Labels.empty()
        if self._label_by == "degree":  # the degree within the subgraph shown (node sizes)
            key = self._degree.astype(np.float64)
        else:
            key = priority(self._rt, self._nodes, self._label_by, scores=self._scores)
        return Labels.from_texts(self._labels, self._nodes, key)

    @property
    def label_by(self) -> Optional[str]:
        """What orders the labels drawn (``"degree"``, ``"score"``, a numeric column, or None
        for no labels); setting it sends the new labels to open views."""
        return self._label_by

    @label_by.setter
    def label_by(self, value: Optional[str]) -> None:
        self._label_by = check_label_by(value, self._scores is not None, extra_columns(self._rt, value))
        self._label_set = self._make_labels()
        self.send(*self._label_set.message(np.empty(0, np.uint32), self.version, "view"))  # drop the old view set
        if self._label_by is None:  # no labels: drop the global set too
            self.send(*self._label_set.message(np.empty(0, np.uint32), self.version, "global"))
        for msg in self._label_messages():
            self.send(*msg)

    def _label_messages(self) -> Iterator[Message]:
        if self._label_by is not None:
            yield self._label_set.top(self.version)

    def _viewport(self, content: dict[str, Any]) -> None:
        """The best labels inside ``box`` [x0, y0, x1, y1] in layout coordinates."""
        box = viewport_box(content)
        if self._label_by is None or box is None or len(self._pos) != len(self._label_set.rank):
            return
        x, y = self._pos[:, 0], self._pos[:, 1]
        mask = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
        self.send(*self._label_set.best_of(mask, self.version, request_id(content)))

    def _on_custom(self, content: dict[str, Any]) -> None:
        if content.get("type") == "expand":
            index = content.get("index")
            if isinstance(index, int) and 0 <= index < self.n_nodes:
                self.expand([int(self._nodes[index])])

    def expand(self, ids: Any, depth: int = 1) -> None:
        """Add the neighbours of ``ids`` (up to ``depth`` hops) and redraw."""
        grown = self._grow(as_id_array(ids), depth)
        self._nodes = np.union1d(self._nodes, grown)
        self.refresh()

    def _summary(self) -> str:
        sampled = f" (sampled from {int(self.sampled_from):,})" if self.sampled_from else ""
        return (
            f"GraphExplorer: {int(self.n_nodes):,} tokens{sampled}, {int(self.n_edges):,} connections, "
            f"width by {self.width_by}, {len(self.selected)} selected"
        )


def _entities_of(rt: Runtime, ids: np.ndarray) -> np.ndarray:
    """Entity type codes of ``ids`` (all of them tokens), from the core's numpy columns."""
    c = rt._core.token_columns(None, 0, True)
    order = np.argsort(c["id"])
    rows = order[np.searchsorted(c["id"], ids, sorter=order)]
    return np.asarray(c["entity"][rows], dtype=np.uint8)
