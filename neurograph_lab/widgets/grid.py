"""``GridExplorer``: tokens of a runtime in the 8 spaces, a main view and 8 small multiples,
rendered with WebGL in the browser, with a linked box/lasso selection synced to Python."""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence, Union

import numpy as np
import pandas as pd
import traitlets

from .. import _core
from .._args import as_id_array, space_name
from .._names import ENTITY_TYPES, SPACES
from .._values import QueryResult
from ..errors import NotFoundError, ValidationError
from ..runtime import Runtime
from ._base import Message, buf, esm_bundle, packbits, unpackbits
from ._focus import MAX_FOCUS, Focusable, communities_of, community_categories
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

__all__ = ["GridExplorer"]

#: points in the first chunk (the first frame); the rest follow in chunks of the same size
FIRST_FRAME = 65_536
PALETTE_SIZE = 12
#: the core's code of a missing value in quantised columns
MISSING = 255
NUMERIC = ("weight", "field_radius", "field_strength", "timestamp")


class GridExplorer(Focusable):
    """Tokens in the 8 semantic spaces: a main view (``space`` and two ``axes``, or 3-D with
    ``view3d``) and 8 small multiples, with a linked box/lasso selection.

    ``space``: the main view's space; by default the one holding the bootstrap's top 3
    principal axes (``rt.bootstrap_info()``), else the space where most tokens are placed.
    A small multiple whose space holds none of the tokens says so. ``ids``: the tokens to
    show (all if None). ``color``: ``"entity"`` (entity type),
    ``"cluster"`` (connected component of the graph, the 11 largest coloured), ``"community"``
    (``rt.graph.last_communities``, computed with the defaults first if there are none; the 11
    largest coloured, the legend gives their sizes), ``"weight"`` or
    any numeric column of ``rt.tokens.to_pandas()`` (e.g. ``"cognitive_z"``). ``live=True``
    refreshes after any cell that changed the runtime; ``refresh()`` does it by hand.

    ``label_by``: which tokens' labels are drawn first where they would overlap: ``"degree"``
    (graph degree, the default), ``"score"`` (when ``ids`` is a query result), a numeric column
    (``"weight"``, ``"cognitive_x"``, ...), or None for no labels. The top 20,000 go to the
    browser up front; zoomed in, the best ones inside the view are asked for when panning stops.
    Hover shows a token's label and its top neighbours by connection strength.

    ``explorer.selected`` is the selection as token ids (set it to highlight tokens in the
    browser); ``explorer.selection_df()`` is it as a DataFrame.

    ``focus``: a label, id, list of ids or query result to open focused on (see ``focus()``;
    ``ids`` given as a query result opens focused on it); the search box above the views
    completes labels and focuses the chosen token.

    Coordinates travel quantised to one byte per axis (16 bytes per token for the 8 spaces),
    as binary chunks of at most 4 MiB; the first chunk is a uniform sample, drawn at once.
    """

    _esm = esm_bundle("grid")
    _kind = "grid"

    n = traitlets.Int(0).tag(sync=True)
    spaces = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # any spelling ("L5", 5 ...) is taken and stored as the name (see _valid_space)
    space = traitlets.Union([traitlets.Unicode(), traitlets.Int()], default_value="cognitive").tag(sync=True)
    axes = traitlets.List(traitlets.Int(), default_value=[0, 1]).tag(sync=True)
    view3d = traitlets.Bool(False).tag(sync=True)
    color = traitlets.Unicode("entity").tag(sync=True)
    color_options = traitlets.List(traitlets.Unicode()).tag(sync=True)
    legend = traitlets.Dict().tag(sync=True)
    bounds: traitlets.List[Any] = traitlets.List().tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    # tokens placed in each space (8 counts): the browser says so where a space has none
    placed = traitlets.List(traitlets.Int()).tag(sync=True)
    # the browser sends a DataView, which arrives as a memoryview
    selection = traitlets.Bytes(b"").tag(sync=True, from_json=lambda v, _w: bytes(v) if v is not None else b"")

    def __init__(
        self,
        rt: Runtime,
        space: Optional[Union[str, int]] = None,
        ids: Any = None,
        color: str = "entity",
        *,
        axes: Sequence[int] = (0, 1),
        view3d: bool = False,
        live: bool = False,
        seed: int = 0,
        focus: Any = None,
        label_by: Optional[str] = "degree",
    ) -> None:
        if isinstance(ids, QueryResult) and focus is None:  # a query's tokens, opened focused on them
            focus = ids
        self._scores = scores_of(ids)
        self._label_by = check_label_by(label_by, self._scores is not None, extra_columns(rt, label_by))
        self._label_set: Optional[Labels] = Labels.empty()
        self._label_key: Optional[np.ndarray] = None
        self._label_src: Optional[tuple[np.ndarray, ...]] = None
        self._ids_arg = self._scores[0] if self._scores is not None else ids  # a query result: its ids
        self._seed = seed
        self._order = np.empty(0, np.uint32)
        self._q = np.empty((0, 8, 2), np.uint8)
        super().__init__(rt, live=live, spaces=list(SPACES))
        if space is not None:
            self.space = self._check_space(space)
        self.axes = self._check_axes(axes)
        self.view3d = bool(view3d)
        self.color = color
        self._rebuild()
        if space is None:
            self.space = default_space(rt, self.placed)
        self._check_color(color)
        if focus is not None:
            self.focus(focus)

    # -- validation --
    def _check_space(self, space: Any) -> str:
        return space_name(space)

    @staticmethod
    def _check_axes(axes: Sequence[int]) -> list[int]:
        ax = [int(a) for a in axes]
        if len(ax) != 2 or not all(0 <= a <= 2 for a in ax) or ax[0] == ax[1]:
            raise ValidationError(f"axes must be two different axes out of 0, 1, 2, got {list(axes)!r}")
        return ax

    def _check_color(self, color: str) -> None:
        if color not in self.color_options:
            raise ValidationError(f"cannot colour by {color!r}; choose one of {', '.join(self.color_options)}")

    @traitlets.validate("space")
    def _valid_space(self, proposal: Any) -> str:
        return self._check_space(proposal["value"])

    @traitlets.validate("axes")
    def _valid_axes(self, proposal: Any) -> list[int]:
        return self._check_axes(proposal["value"])

    @traitlets.observe("color")
    def _color_changed(self, change: Any) -> None:
        if not self._order.size and not self.n:
            return
        if change["new"] not in self.color_options:
            self.color = change["old"]
            return
        self.refresh()

    @traitlets.observe("space", "axes", "view3d")
    def _main_changed(self, change: Any) -> None:
        if self.n and not self._main_is_small_multiple():
            for msg in self._main_messages():
                self.send(*msg)
        if change["name"] == "space" and self._focus_arg is not None:
            self._refocus()  # the nearest tokens in the new main space

    # -- data --
    def _columns(self) -> dict[str, Any]:
        """The core's token columns of the tokens shown; the label buffers (``label_offsets``,
        ``label_data``, ``label_valid``) stay whole, ``row`` is each token's row in them."""
        c = self._rt._core.token_columns(None, 0, True)
        text = {k: c.pop(k) for k in ("label_offsets", "label_data", "label_valid")}
        c["row"] = np.arange(len(c["id"]), dtype=np.int64)
        if self._ids_arg is not None:
            want = as_id_array(self._ids_arg)
            keep = np.isin(c["id"], want)
            missing = np.setdiff1d(want, c["id"][keep])
            if missing.size:
                raise ValidationError(f"{missing.size} of the ids are not tokens, e.g. {int(missing[0])}")
            c = {k: v[keep] for k, v in c.items()}
        c.update(text)
        return c

    def _rebuild(self) -> None:
        selected = self.selected if self._order.size else np.empty(0, np.uint32)
        c = self._columns()
        n = len(c["id"])
        numeric = [k for k in NUMERIC if k in c] + [f"{s}_{a}" for s in self.spaces for a in "xyz"]
        self.color_options = ["entity", "cluster", "community", *numeric]
        color = self.color if self.color in self.color_options else "entity"
        rng = np.random.default_rng(self._seed)
        shuffle = rng.permutation(n)
        values: Optional[np.ndarray] = None
        if color in ("entity", "cluster", "community"):
            if color == "entity":
                cats = c["entity"][shuffle].astype(np.int64)
                names = list(ENTITY_TYPES)
            elif color == "community":
                of, community_sizes = communities_of(self._rt, c["id"])
                cats, names = community_categories(of[shuffle], community_sizes)
            else:
                comp = self._rt.graph.components()
                comp_of = pd.Series(comp.values, index=comp.index).reindex(c["id"]).to_numpy()
                sizes = np.bincount(comp_of) if comp_of.size else np.zeros(0, np.int64)
                top = np.argsort(-sizes, kind="stable")[: PALETTE_SIZE - 1]
                rank = np.full(max(len(sizes), 1), PALETTE_SIZE - 1)
                rank[top] = np.arange(len(top))
                cats = rank[comp_of[shuffle]] if n else np.zeros(0, np.int64)
                names = [f"component {int(t)}" for t in top] + ["other"]
            perm = shuffle[np.argsort(cats, kind="stable")]
            counts = np.bincount(cats, minlength=len(names)) if n else np.zeros(len(names), np.int64)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            items = [
                {"name": names[i], "start": int(starts[i]), "count": int(counts[i]), "color": i % PALETTE_SIZE}
                for i in range(len(names))
                if counts[i]
            ]
            self.legend = {"kind": "category", "items": items}
        else:
            perm = shuffle
            if color in c:
                raw = np.asarray(c[color], dtype=np.float64)
            else:
                space, axis = color.rsplit("_", 1)
                raw = c["coords"][:, self.spaces.index(space), "xyz".index(axis)].astype(np.float64)
            finite = np.isfinite(raw)
            lo, hi = (float(raw[finite].min()), float(raw[finite].max())) if finite.any() else (0.0, 0.0)
            # the core quantises; shifted by lo first, so float32 keeps a timestamp's seconds
            shifted = np.ascontiguousarray((raw - lo).reshape(n, 1), dtype=np.float32)
            codes, _ = _core.quantize_u8(shifted, np.ascontiguousarray(perm, dtype=np.uint32))
            codes = codes.reshape(n)
            values = np.where(codes == MISSING, 0, codes).astype(np.uint8)  # NaN at the low end, as before
            self.legend = {"kind": "numeric", "label": color, "min": lo, "max": hi}
        self._order = np.ascontiguousarray(c["id"][perm], dtype=np.uint32)
        self._label_src = (c["label_offsets"], c["label_data"], c["label_valid"], c["row"][perm])
        # the labels are made when first needed (after the coordinates are sent, so they do not
        # delay the first frame); a priority read from the columns held now is taken now
        deferred = self._label_by in (None, "degree", "score")
        self._label_key = None if deferred else priority(self._rt, self._order, self._label_by, columns=c, rows=perm)
        self._label_set = None
        self._values = values
        self._q3, bounds = _quantise(c["coords"], perm)
        self._q = np.ascontiguousarray(self._q3[:, :, :2])
        self.bounds = bounds
        self.placed = [int(v) for v in np.isfinite(c["coords"][:, :, 0]).sum(axis=0)] if n else [0] * len(SPACES)
        self.stride = max(1, -(-n // FIRST_FRAME))
        self.n = n
        self.loaded = 0
        self.selection = packbits(np.isin(self._order, selected)) if selected.size else b""

    def _size(self) -> int:
        return int(self.n)

    # -- search and focus (_focus.py) --
    def _search_ids(self) -> np.ndarray:
        return self._order

    def _shown(self) -> np.ndarray:
        return self._order

    def _make_shown(self, ids: np.ndarray) -> None:
        missing = ids[~np.isin(ids, self._order)]
        if missing.size:
            raise ValidationError(f"token {int(missing[0])} is not shown in this explorer (it was made with ids=...)")

    def _neighbourhood(self, ids: np.ndarray, k: int) -> np.ndarray:
        """Graph neighbours of ``ids`` and, for one token, its ``k`` nearest in the main space."""
        found, _ = self._rt._core.graph_neighbourhood(ids, 1, "both", None, 2 * MAX_FOCUS)
        parts = [np.asarray(found, dtype=np.uint32)]
        if k and len(ids) == 1:
            try:
                parts.append(np.asarray(self._rt.grid.neighbors(int(ids[0]), k=k, space=self.space).ids))
            except (ValidationError, NotFoundError):  # not placed in this space
                pass
        near = np.concatenate(parts).astype(np.uint32)
        _, first = np.unique(near, return_index=True)
        near = near[np.sort(first)]
        return near[np.isin(near, self._order) & ~np.isin(near, ids)]

    def _release(self) -> None:
        self._q = self._q3 = np.empty((0, 8, 3), np.uint8)
        self._values = None
        self._label_set = Labels.empty()
        self._label_key = None
        self._label_src = None

    # -- labels --
    def _labels(self) -> Labels:
        """The label set, made on first use after a rebuild."""
        if self._label_set is None:
            key = self._label_key
            if key is None:
                key = priority(self._rt, self._order, self._label_by, scores=self._scores)
            self._label_set = self._make_labels(key)
            self._label_key = None
        return self._label_set

    def _make_labels(self, key: np.ndarray) -> Labels:
        if self._label_by is None or self._label_src is None:
            return Labels.empty()
        offsets, data, valid, rows = self._label_src
        return Labels(offsets, data, valid, rows, self._order, key)

    @property
    def label_by(self) -> Optional[str]:
        """What orders the labels drawn (``"degree"``, ``"score"``, a numeric column, or None
        for no labels); setting it sends the new labels to open views."""
        return self._label_by

    @label_by.setter
    def label_by(self, value: Optional[str]) -> None:
        self._label_by = check_label_by(value, self._scores is not None, extra_columns(self._rt, value))
        labels = self._label_set = self._make_labels(
            priority(self._rt, self._order, self._label_by, scores=self._scores)
        )
        self.send(*labels.message(np.empty(0, np.uint32), self.version, "view"))  # drop the old view set
        if self._label_by is None:  # no labels: drop the global set too
            self.send(*labels.message(np.empty(0, np.uint32), self.version, "global"))
        for msg in self._label_messages():
            self.send(*msg)

    def _label_messages(self) -> Iterator[Message]:
        if self._label_by is not None:
            yield self._labels().top(self.version)

    def _viewport(self, content: dict[str, Any]) -> None:
        """The best labels inside a box of the main view: ``space`` (index), ``axes`` [a, b]
        and ``box`` [x0, y0, x1, y1] in quantised units (0..255) of those axes."""
        sp, axes, box = content.get("space"), content.get("axes"), viewport_box(content)
        ok_axes = isinstance(axes, list) and len(axes) == 2 and all(isinstance(a, int) and 0 <= a <= 2 for a in axes)
        if self._label_by is None or box is None or not ok_axes or not isinstance(sp, int) or not 0 <= sp < 8:
            return
        assert isinstance(axes, list)  # for mypy
        q = self._q3[:, sp]
        x, y = q[:, axes[0]], q[:, axes[1]]
        x0, y0, x1, y1 = box
        placed = (q[:, 0] != 255) | (q[:, 1] != 255)
        mask = placed & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        self.send(*self._labels().best_of(mask, self.version, request_id(content)))

    def _main_is_small_multiple(self) -> bool:
        return not self.view3d and list(self.axes) == [0, 1]

    def _messages(self) -> Iterator[Message]:
        s, v = self.stride, self.version
        for r in range(s):
            yield (
                {"type": "coords", "version": v, "chunk": r, "stride": s},
                [buf(self._q[r::s, sp]) for sp in range(8)],
            )
            if self._values is not None:
                yield (
                    {"type": "colors", "version": v, "chunk": r, "stride": s},
                    [buf(self._values[r::s])],
                )
        if not self._main_is_small_multiple():
            yield from self._main_messages()

    def _main_messages(self) -> Iterator[Message]:
        s, v = self.stride, self.version
        sp = self.spaces.index(self.space)
        axes = [0, 1, 2] if self.view3d else list(self.axes)
        for r in range(s):
            yield (
                {"type": "main", "version": v, "chunk": r, "stride": s, "space": self.space, "axes": axes},
                [buf(self._q3[r::s, sp][:, axes])],
            )

    def _hover(self, index: int, neighbours: bool = True) -> dict[str, Any]:
        tid = int(self._order[index])
        try:
            t = self._rt.tokens.get(tid)
        except NotFoundError:  # deleted since the last refresh
            return {"id": tid, "label": "(deleted)", "entity": "", "coords": [None] * 8, "neighbours": []}
        return {
            "id": tid,
            "label": t.label or "",
            "entity": t.entity,
            "coords": [None if t.coords.get(s) is None else list(t.coords[s]) for s in self.spaces],  # type: ignore[arg-type]
            "neighbours": top_neighbours(self._rt, tid) if neighbours else [],
        }

    # -- selection --
    @property
    def selected(self) -> np.ndarray:
        """Ids of the selected tokens (set it to select from Python)."""
        return np.sort(self._order[unpackbits(self.selection, len(self._order))])

    @selected.setter
    def selected(self, ids: Any) -> None:
        want = as_id_array([] if ids is None else ids)
        self.selection = packbits(np.isin(self._order, want))

    def selection_df(self) -> pd.DataFrame:
        """The selected tokens as a DataFrame (like ``rt.tokens.to_pandas()``)."""
        sel = self.selected
        df = self._rt.tokens.to_pandas()
        return df.loc[df.index.isin(sel)]

    def _summary(self) -> str:
        picked = int(unpackbits(self.selection, int(self.n)).sum()) if self.n else 0
        return (
            f"GridExplorer: {int(self.n):,} tokens in 8 spaces, main view {self.space}"
            f"{' (3-D)' if self.view3d else ' axes ' + str(list(self.axes))}, colour by {self.color}, "
            f"{picked:,} selected"
        )


def default_space(rt: Runtime, placed: Sequence[int]) -> str:
    """The space an explorer opens on: the one holding the bootstrap's top 3 principal axes
    when the runtime has a bootstrap, else the space where most of the ``placed`` counts (one
    per space) are, "cognitive" on ties or when nothing is placed."""
    info = rt.bootstrap_info()
    if info and info["spaces"]:
        return str(min(info["spaces"], key=lambda sf: sf[1])[0])
    best = SPACES.index("cognitive")
    for i, count in enumerate(placed):
        if count > placed[best]:
            best = i
    return SPACES[best]


def _quantise(coords: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, list[list[list[float]]]]:
    """Rows ``order`` of (n, 8, 3) float coordinates (NaN where a token is not placed) as uint8
    codes 0..254 over each axis' finite range, 255 where not placed; and bounds[space][axis] =
    [min, max] such that code q is min + q / 255 * (max - min)."""
    flat = np.ascontiguousarray(coords, dtype=np.float32).reshape(len(coords), 24)
    codes, ranges = _core.quantize_u8(flat, np.ascontiguousarray(order, dtype=np.uint32))
    bounds = [[[lo, lo + 255.0 * step] for lo, step in ranges[s * 3 : s * 3 + 3]] for s in range(8)]
    return codes.reshape(len(order), 8, 3), bounds
