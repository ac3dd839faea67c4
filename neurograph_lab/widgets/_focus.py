"""Search and focus, shared by the explorers: a sorted label index that answers the browser's
prefix completion requests, ``focus(label_or_id)`` (resolve, highlight a neighbourhood, pan
to it) and the ``community`` colour (PROTOCOL.md, "Search and focus")."""

from __future__ import annotations

import difflib
from typing import Any, Optional

import numpy as np
import pandas as pd
import traitlets

from .._args import as_id_array
from ..errors import ValidationError
from ._base import Explorer

#: completions per request at most (the browser asks for 10)
MAX_COMPLETIONS = 50
#: longest prefix a completion request may carry (characters)
MAX_PREFIX = 200
#: the index keeps this many leading characters of each lower-cased label (sorting stays
#: exact for any prefix up to this length; longer prefixes are checked on the full label)
KEY_CHARS = 32
#: tokens highlighted by one focus at most (the focused ones and their neighbourhood)
MAX_FOCUS = 500
#: palette entries: the 11 largest communities get a colour, the rest share the grey "other"
PALETTE_SIZE = 12


class LabelIndex:
    """Labels of some tokens sorted by their lower-case form, for prefix completion (binary
    search with ``numpy.searchsorted``) and exact lookup. Tokens without a label are left out."""

    def __init__(self, ids: np.ndarray, labels: list[Optional[str]]) -> None:
        keep = [i for i, lab in enumerate(labels) if lab]
        lower = [str(labels[i]).lower()[:KEY_CHARS] for i in keep]
        order = sorted(range(len(keep)), key=lower.__getitem__)  # stable, and faster than numpy here
        rows = np.asarray(keep, dtype=np.int64)[np.asarray(order, dtype=np.int64)]
        self.keys = np.array([lower[j] for j in order], dtype=str)
        self.labels = np.array([labels[i] for i in rows.tolist()], dtype=object)
        self.ids = np.asarray(ids, dtype=np.uint32)[rows]

    def __len__(self) -> int:
        return len(self.ids)

    def _range(self, prefix: str) -> tuple[int, int]:
        p = prefix.lower()[:KEY_CHARS]
        lo = int(np.searchsorted(self.keys, p, "left"))
        hi = int(np.searchsorted(self.keys, p + "\U0010ffff", "left"))
        return lo, hi

    def complete(self, prefix: str, limit: int = 10) -> list[dict[str, Any]]:
        """Up to ``limit`` labels starting with ``prefix`` (case-insensitive), shortest first
        among equal starts (sorted order), each with its token id."""
        if not prefix:
            return []
        lo, hi = self._range(prefix)
        want = prefix.lower()
        out: list[dict[str, Any]] = []
        for i in range(lo, hi):
            lab = str(self.labels[i])
            if len(want) > KEY_CHARS and not lab.lower().startswith(want):
                continue
            out.append({"label": lab, "id": int(self.ids[i])})
            if len(out) >= limit:
                break
        return out

    def exact(self, label: str) -> np.ndarray:
        """Ids of the tokens labelled exactly ``label`` (else those equal to it ignoring case)."""
        lo, hi = self._range(label)
        cand = [i for i in range(lo, hi) if str(self.labels[i]).lower() == label.lower()]
        same = [i for i in cand if self.labels[i] == label]
        return self.ids[np.asarray(same or cand, dtype=np.int64)]

    def close(self, word: str, n: int = 5) -> list[str]:
        """Up to ``n`` labels spelled like ``word`` (looked for near its place in the sorted
        order and among the labels sharing its first letter; bounded work)."""
        if not len(self):
            return []
        at = int(np.searchsorted(self.keys, word.lower()[:KEY_CHARS]))
        window = set(range(max(0, at - 200), min(len(self), at + 200)))
        lo, hi = self._range(word[:1])
        window.update(range(lo, min(hi, lo + 3000)))
        pool = sorted({str(self.labels[i]) for i in window})
        return difflib.get_close_matches(word, pool, n=n, cutoff=0.6)


class Focusable(Explorer):
    """What both explorers add for search and focus: the ``focused`` trait, ``focus()``,
    completion requests from the browser and the lazily built label index."""

    # {"seq", "version", "ids", "indices", "label"}: see PROTOCOL.md; {} = nothing focused
    focused = traitlets.Dict().tag(sync=True)

    _index: Optional[LabelIndex] = None
    _focus_arg: Any = None
    _focus_k = 10
    _focus_seq = 0

    # -- implemented by the explorers --
    def _search_ids(self) -> np.ndarray:  # pragma: no cover - abstract
        """The tokens the search box completes over."""
        raise NotImplementedError

    def _shown(self) -> np.ndarray:  # pragma: no cover - abstract
        """Token ids in display order (index i of the browser's data is token ``_shown()[i]``)."""
        raise NotImplementedError

    def _neighbourhood(self, ids: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover - abstract
        """Ids to highlight around ``ids`` (among the shown ones, ``ids`` left out)."""
        raise NotImplementedError

    def _make_shown(self, ids: np.ndarray) -> None:
        """Make ``ids`` part of what is shown, if the explorer can (the graph grows)."""

    # -- label index --
    def _label_index(self) -> LabelIndex:
        if self._index is None:
            ids = np.ascontiguousarray(self._search_ids(), dtype=np.uint32)
            labels = self._rt._core.labels_of(ids) if ids.size else []
            self._index = LabelIndex(ids, labels)
        return self._index

    def refresh(self) -> None:
        """Re-read the runtime and redraw (open views get the new data at once); a focus is
        kept."""
        self._index = None
        super().refresh()
        self._refocus()

    # -- focus --
    def focus(self, target: Any = None, k: int = 10) -> None:
        """Highlight tokens and their neighbourhood and pan/zoom the main view to them.

        Parameters
        ----------
        target : str, int, array-like of int, QueryResult or None
            A label (exact; a label matching only ignoring case is taken too), a token id, a
            list of ids or a query result (its tokens). None clears the focus.
        k : int
            Besides the token's graph neighbours, its ``k`` nearest tokens in the shown space
            (grid explorer) are highlighted; for several tokens only they are.

        Raises
        ------
        ValidationError
            An unknown label (the message lists close spellings), an id that is not a token,
            or a ``k`` that is not an integer >= 0.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValidationError(f"k must be an integer >= 0, got {k!r}")
        if target is None:
            self._focus_arg = None
            self.focused = {}
            return
        ids = self._resolve(target)
        self._make_shown(ids)
        self._focus_arg, self._focus_k = ids, int(k)
        self._focus_seq += 1
        self._refocus()

    def _resolve(self, target: Any) -> np.ndarray:
        ids_attr = getattr(target, "ids", None)
        if ids_attr is not None and not isinstance(target, (str, np.ndarray)):
            target = ids_attr  # a QueryResult (or an explore result)
        if isinstance(target, str):
            if not target:
                raise ValidationError("focus needs a label or a token id, got an empty string")
            found = np.asarray(self._rt._core.find_label(target), dtype=np.uint32)
            if not found.size:  # the same label in another case
                found = self._label_index().exact(target)
            if not found.size:
                near = self._label_index().close(target)
                hint = f"; did you mean: {', '.join(near)}?" if near else ""
                raise ValidationError(f"no token is labelled {target!r}{hint}")
            return found[:1]
        ids = as_id_array(target, "focus")
        if not ids.size:
            raise ValidationError("focus needs at least one token")
        known = np.isin(ids, self._rt.tokens.ids())
        if not known.all():
            raise ValidationError(f"{int(ids[~known][0])} is not a token id")
        return ids[:MAX_FOCUS]

    def _refocus(self) -> None:
        """(Re)compute the ``focused`` trait for the current data (after a rebuild the display
        indices change; the sequence number stays, so the browser does not pan again)."""
        ids = self._focus_arg
        if ids is None:
            if self.focused:
                self.focused = {}
            return
        shown = self._shown()
        order = np.argsort(shown, kind="stable")
        pos = np.searchsorted(shown, ids, sorter=order) if shown.size else np.zeros(len(ids), np.int64)
        pos = np.minimum(pos, max(len(shown) - 1, 0))
        hit = order[pos] if shown.size else np.empty(0, np.int64)
        present = shown[hit] == ids if shown.size else np.zeros(len(ids), bool)
        focus_idx = hit[present]
        near = self._neighbourhood(ids[present], self._focus_k) if present.any() else np.empty(0, np.uint32)
        near = near[~np.isin(near, ids)][: MAX_FOCUS - len(focus_idx)]
        near_idx = order[np.searchsorted(shown, near, sorter=order)] if near.size else np.empty(0, np.int64)
        labels = self._rt._core.labels_of(np.ascontiguousarray(ids[:1], dtype=np.uint32))
        self.focused = {
            "seq": int(self._focus_seq),
            "version": int(self.version),
            "ids": [int(i) for i in ids[present]],
            "indices": [int(i) for i in focus_idx],
            "near_ids": [int(i) for i in near],
            "near": [int(i) for i in near_idx],
            "label": labels[0] or "",
        }

    @property
    def highlighted(self) -> np.ndarray:
        """Ids of the tokens the focus highlights (the focused ones, then their neighbourhood)."""
        f = self.focused or {}
        return np.asarray(list(f.get("ids", [])) + list(f.get("near_ids", [])), dtype=np.uint32)

    # -- browser messages --
    def _on_browser_message(self, widget: Any, content: Any, buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "complete":
            self._complete(content)
        elif kind == "focus":
            target = content.get("id")
            if target is None or (isinstance(target, int) and not isinstance(target, bool) and target >= 0):
                try:
                    self.focus(target)
                except ValidationError:  # deleted since the completion was sent: nothing to focus
                    pass
        else:
            super()._on_browser_message(widget, content, buffers)

    def _complete(self, content: dict[str, Any]) -> None:
        prefix, seq, limit = content.get("prefix"), content.get("seq"), content.get("limit", 10)
        if not isinstance(prefix, str) or not isinstance(seq, int) or not isinstance(limit, int):
            return  # malformed: ignored, as for hover requests
        prefix = prefix.strip()[:MAX_PREFIX]
        items = self._label_index().complete(prefix, max(1, min(limit, MAX_COMPLETIONS))) if prefix else []
        self.send({"type": "completions", "seq": seq, "prefix": prefix, "items": items})


def communities_of(rt: Any, ids: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Community number of each of ``ids`` (-1 where not covered), from the runtime's last
    communities (computed with the defaults first when there are none), and the size of every
    community (index = community number)."""
    graph = rt.graph
    comm = graph.last_communities
    if comm is None:
        comm = graph.communities()
    member = comm.membership
    of = pd.Series(member.to_numpy(), index=member.index).reindex(ids).fillna(-1).to_numpy(np.int64)
    codes = member.to_numpy().astype(np.int64)
    sizes = np.bincount(codes[codes >= 0], minlength=int(comm.count))
    return of, [int(s) for s in sizes]


def community_categories(of: np.ndarray, sizes: list[int]) -> tuple[np.ndarray, list[str]]:
    """Category per token (0..10 for the 11 largest communities, by size, then 11 "other"
    for the rest and for tokens in none) and the category names: ``community <number>``, with
    ``of <size>`` when fewer of its tokens are shown than it holds (the legend adds the count
    shown)."""
    top = np.argsort(-np.asarray(sizes, dtype=np.int64), kind="stable")[: PALETTE_SIZE - 1]
    rank = np.full(len(sizes) + 1, PALETTE_SIZE - 1, dtype=np.int64)  # last slot: -1 (none)
    rank[top] = np.arange(len(top))
    cats = rank[np.where(of < 0, len(sizes), of)]
    shown = np.bincount(cats, minlength=PALETTE_SIZE)
    names = [
        f"community {int(t)}" + ("" if shown[i] == sizes[int(t)] else f" of {sizes[int(t)]:,}")
        for i, t in enumerate(top)
    ]
    names += ["other"] * (PALETTE_SIZE - len(names))
    return cats, names
