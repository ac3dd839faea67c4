"""The ``%%ng_explore`` language: one step a line, building a selection of tokens.

Grammar (``#`` starts a comment; words may be quoted; a token is a label or a bare number,
its id; a quoted number such as ``"2024"`` is a label)::

    query "text" [k=20]                   words nearest to a text query (needs a bootstrap)
    near <label|id> [k=10] [in <space>]   the token's nearest neighbours in a space
    within <label|id|x,y,z> radius=R [in <space>]
    expand depth=2 [kinds=cause,temporal] follow connections out of the selection
    filter <expr>                         keep rows matching a pandas expression over the
                                          selection's table (weight, entity, label,
                                          cognitive_x ...; and / or / not)
    path <a> -> <b>                       the cheapest path between two tokens
    union <name> | intersect <name>       combine with an earlier result bound by ``as``
    communities [leiden|louvain] [resolution=R] [seed=S]
                                          detect communities over all connections
                                          (``rt.graph.communities``): the table gains a
                                          ``community`` column and ``show`` colours by it;
                                          the selection is unchanged
    show table|plot|grid|graph            display the selection: a table (the default at the
                                          end), a plotly scatter, the GridExplorer or the
                                          GraphExplorer widget
    as <name>                             bind the selection in the user namespace

A step that starts a selection (query, near, within, path) replaces the current one; the
others transform it. Errors name the line and column with a caret and a hint.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Optional

import numpy as np
import pandas as pd

from . import plots
from ._args import space_name
from ._html import esc
from .errors import NeuroGraphError, ValidationError
from .runtime import Runtime

__all__ = ["ExploreError", "ExploreResult", "run_explore", "STEPS"]

STEPS = ("query", "near", "within", "expand", "filter", "path", "union", "intersect", "communities", "show", "as")
_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(->)|([^\s"\']+))')


class ExploreError(ValidationError):
    """A step that cannot run: names the line and column, shows a caret and a hint."""

    def __init__(self, script_line: str, line_no: int, col: int, message: str, hint: str = "") -> None:
        caret = " " * col + "^"
        text = f"line {line_no}, column {col + 1}: {message}\n    {script_line}\n    {caret}"
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)
        self.line_no, self.col = line_no, col


@dataclass
class _Word:
    text: str
    col: int
    quoted: bool = False


def _split(line: str) -> list[_Word]:
    words: list[_Word] = []
    pos = 0
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if not m or m.end() == pos:
            break
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
        if m.group(1) is not None or m.group(2) is not None:
            words.append(_Word(m.group(1) if m.group(1) is not None else m.group(2), start, True))
        else:
            words.append(_Word(m.group(3) or m.group(4), start))
        pos = m.end()
    return words


def _strip_comment(raw: str) -> str:
    """The line without a ``#`` comment (a ``#`` inside quotes is kept)."""
    quote = ""
    for i, ch in enumerate(raw):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return raw[:i].rstrip()
    return raw.rstrip()


class ExploreResult:
    """The selection an explore script ends with: token ids in order, with a table view."""

    def __init__(self, rt: Runtime, ids: np.ndarray, steps: list[str]) -> None:
        self._rt = rt
        self.ids = np.asarray(ids, dtype=np.uint32)
        self.steps = steps
        #: what ``show`` asked for: table, plot (scatter), grid (3-D scatter) or graph
        self.view = "table"
        self.space = "cognitive"
        #: what ``show`` colours by: ``"community"`` after a ``communities`` step, else None
        self.color: Optional[str] = None

    def explorer(self) -> Any:
        """The explorer widget for ``show grid`` (GridExplorer of every token in the selection's
        space, focused on the selection) or ``show graph`` (GraphExplorer of the selection,
        focused on it); coloured by community after a ``communities`` step."""
        from .widgets import GraphExplorer, GridExplorer  # lazy: anywidget loads on first use

        focus = self.ids if len(self.ids) else None
        color = "community" if self.color == "community" else "entity"
        if self.view == "graph":
            return GraphExplorer(self._rt, ids=self.ids, depth=0, focus=focus, color=color)
        return GridExplorer(self._rt, space=self.space, focus=focus, color=color)

    def figure(self) -> Any:
        """The plotly figure for ``show plot`` (2-D scatter), ``grid`` (3-D) or ``graph``."""
        if self.view == "graph":
            return plots.graph_figure(self._rt, self.ids, color=self.color)
        return plots.space_scatter(
            self._rt, self.space, ids=self.ids, dims=3 if self.view == "grid" else 2, color=self.color or "entity"
        )

    def __len__(self) -> int:
        return len(self.ids)

    def to_pandas(self) -> pd.DataFrame:
        """One row per selected token (index: id), with the columns of ``rt.tokens.to_pandas()``."""
        df = self._rt.tokens.to_pandas()
        return df.loc[[int(i) for i in self.ids if int(i) in df.index]]

    def __repr__(self) -> str:
        labels = self._rt._core.labels_of(self.ids[:10])
        shown = ", ".join(lab if lab is not None else str(int(i)) for i, lab in zip(self.ids[:10], labels))
        more = f", ... {len(self) - 10:,} more" if len(self) > 10 else ""
        return f"ExploreResult: {len(self)} tokens after {' | '.join(self.steps) or 'nothing'}: {shown}{more}"

    def _repr_html_(self) -> str:
        df = self.to_pandas().drop(columns=["timestamp"])
        more = len(df) - 10
        note = (
            f"<div style='color:var(--jp-ui-font-color2,#888);font-size:11px'>{more:,} more</div>" if more > 0 else ""
        )
        head = f"<div style='font-weight:600'>{esc(len(self))} tokens after {esc(' | '.join(self.steps))}</div>"
        return "<div class='ng-repr'>" + head + df.head(10).to_html(escape=True, max_cols=10) + note + "</div>"


def _options(words: list[_Word], allowed: dict[str, Callable[[str], Any]], ctx: _Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for w in words:
        key, eq, value = w.text.partition("=")
        if not eq:
            ctx.fail(w.col, f"unexpected {w.text!r}", f"options look like {', '.join(k + '=...' for k in allowed)}")
        if key not in allowed:
            ctx.fail(w.col, f"unknown option {key!r}", f"this step takes {', '.join(allowed) or 'no options'}")
        try:
            out[key] = allowed[key](value)
        except (ValueError, ValidationError) as e:
            ctx.fail(w.col + len(key) + 1, f"bad value for {key}: {value!r}", str(e))
    return out


class _Ctx:
    def __init__(self, line: str, no: int) -> None:
        self.line, self.no = line, no

    def fail(self, col: int, message: str, hint: str = "") -> NoReturn:
        raise ExploreError(self.line, self.no, col, message, hint)


def _positive_int(value: str) -> int:
    v = int(value)
    if v < 0:
        raise ValueError("must be >= 0")
    return v


def _resolution(value: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError("must be a finite number > 0")
    return v


def _radius(value: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError("must be a finite number >= 0")
    return v


class _Run:
    """The state of one script run; each step is a method, looked up in ``_STEP_HANDLERS``."""

    def __init__(self, rt: Runtime, namespace: dict[str, Any], space: str) -> None:
        self.rt, self.namespace = rt, namespace
        self.sel: Optional[np.ndarray] = None
        self.steps: list[str] = []
        self.view = "table"
        self.space = space_name(space)
        self.color: Optional[str] = None

    def token(self, ctx: _Ctx, w: _Word) -> int:
        # a bare number is a token id; a quoted word is always a label ("2024" is the word)
        if not w.quoted and w.text.isascii() and w.text.isdigit():
            tid = int(w.text)
            if tid not in self.rt.tokens:
                ctx.fail(w.col, f"no token with id {tid}")
            return tid
        ids = self.rt.tokens.find(w.text)
        if len(ids) == 0:
            labels = self.rt.tokens.to_pandas(limit=100_000)["label"].dropna().astype(str).tolist()
            close = difflib.get_close_matches(w.text, labels, n=3, cutoff=0.6)
            ctx.fail(w.col, f"no token labelled {w.text!r}", f"did you mean {', '.join(close)}?" if close else "")
        return int(ids[0])

    def need(self, ctx: _Ctx, col: int) -> np.ndarray:
        if self.sel is None:
            ctx.fail(col, "there is no selection yet", "start with query, near, within or path")
        return self.sel

    def query(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``query "text" [k=10]``

        Start a selection: the k words nearest to a text query by cosine in the embedding space (``rt.query``;
        needs a bootstrap). The text may be an analogy such as ``"king - man + woman"``.
        """
        if not rest or not rest[0].quoted and "=" in rest[0].text:
            ctx.fail(verb.col + len(verb.text) + 1, "query needs a text", 'e.g. query "king - man + woman" k=10')
        opts = _options(rest[1:], {"k": _positive_int}, ctx)
        self.sel = self.rt.query(rest[0].text, k=opts.get("k", 10)).ids

    def _space_suffix(self, ctx: _Ctx, tail: list[_Word]) -> tuple[str, list[_Word]]:
        """An ``in <space>`` at the end of a step: the space, and the words before it."""
        if len(tail) >= 2 and tail[-2].text == "in":
            try:
                return space_name(tail[-1].text), tail[:-2]
            except ValidationError as e:
                ctx.fail(tail[-1].col, f"unknown space {tail[-1].text!r}", str(e))
        return self.space, tail

    def near(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``near <label|id> [k=10] [in <space>]``

        Start a selection: the token's k nearest neighbours (``rt.grid.neighbors``) in a space, by default the
        cell's ``--space``.
        """
        if not rest:
            ctx.fail(verb.col + len(verb.text) + 1, "near needs a token (label or id)")
        sp, tail = self._space_suffix(ctx, rest[1:])
        opts = _options(tail, {"k": _positive_int}, ctx)
        self.sel = self.rt.grid.neighbors(self.token(ctx, rest[0]), k=opts.get("k", 10), space=sp).ids

    def within(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``within <label|id|x,y,z> radius=R [in <space>]``

        Start a selection: every token within the scaled distance R of a token or a point (``rt.grid.range``).
        """
        if not rest:
            ctx.fail(verb.col + len(verb.text) + 1, "within needs a token (label or id)")
        sp, tail = self._space_suffix(ctx, rest[1:])
        opts = _options(tail, {"radius": _radius}, ctx)
        if "radius" not in opts:
            ctx.fail(len(ctx.line), "within needs radius=R", "e.g. within cat radius=0.5 in cognitive")
        target: Any
        if "," in rest[0].text:
            try:
                target = tuple(float(v) for v in rest[0].text.split(","))
            except ValueError:
                ctx.fail(rest[0].col, f"bad point {rest[0].text!r}", "a point is x,y,z")
        else:
            target = self.token(ctx, rest[0])
        self.sel = self.rt.grid.range(target, opts["radius"], space=sp).ids

    def path(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``path <a> -> <b>``

        Start a selection: the tokens of the cheapest path between two tokens along connections
        (``rt.graph.shortest_path``); no path is an error.
        """
        arrow = [i for i, w in enumerate(rest) if w.text == "->"]
        if len(rest) != 3 or arrow != [1]:
            ctx.fail(verb.col + len(verb.text) + 1, "path needs '<a> -> <b>'", "e.g. path rain -> flood")
        p = self.rt.graph.shortest_path(self.token(ctx, rest[0]), self.token(ctx, rest[2]))
        if not p.found:
            ctx.fail(rest[2].col, f"no path from {rest[0].text} to {rest[2].text}")
        self.sel = p.ids

    def expand(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``expand [depth=1] [kinds=cause,temporal]``

        Grow the selection by following connections out of it (``rt.graph.neighbourhood``), optionally only of
        some kinds or groups.
        """
        cur = self.need(ctx, verb.col)
        opts = _options(rest, {"depth": _positive_int, "kinds": lambda v: v.split(",")}, ctx)
        try:  # the core's one neighbourhood rule: out-edges, and bidirectional ones back
            hood = self.rt.graph.neighbourhood(cur, depth=opts.get("depth", 1), kinds=opts.get("kinds"))
        except ValidationError as e:
            if "kinds=" not in ctx.line:
                raise
            ctx.fail(ctx.line.index("kinds=") + 6, "unknown kind or group", f"{e}; see ng.CONNECTION_GROUPS")
        self.sel = hood.index.to_numpy(dtype=np.uint32)

    def filter(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``filter <pandas expression>``

        Keep the selected tokens whose row matches a pandas expression over the selection's table (``weight``,
        ``entity``, ``label``, ``cognitive_x`` ...; ``and`` / ``or`` / ``not``).
        """
        cur = self.need(ctx, verb.col)
        expr = ctx.line[rest[0].col :] if rest else ""
        if not expr:
            ctx.fail(len(ctx.line), "filter needs an expression", "e.g. filter weight > 0.5 and entity == 'concept'")
        df = ExploreResult(self.rt, cur, self.steps).to_pandas()
        try:
            kept = df.query(expr)
        except Exception as e:  # pandas raises many kinds
            ctx.fail(
                rest[0].col,
                f"cannot evaluate {expr!r}",
                f"{type(e).__name__}: {e}; columns: {', '.join(df.columns[:8])} ...",
            )
        self.sel = kept.index.to_numpy(dtype=np.uint32)

    def _earlier(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> np.ndarray:
        """The ids of the earlier result a ``union``/``intersect`` names."""
        if len(rest) != 1:
            ctx.fail(verb.col + len(verb.text) + 1, f"{verb.text} needs the name of an earlier result")
        other = self.namespace.get(rest[0].text)
        if isinstance(other, ExploreResult):
            return other.ids
        if other is not None and hasattr(other, "ids"):
            return np.asarray(other.ids)
        ctx.fail(rest[0].col, f"{rest[0].text!r} is not an earlier result", "bind one with 'as <name>'")

    def union(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``union <name>``

        Add the tokens of an earlier result bound with ``as <name>`` to the selection (order kept, no
        duplicates).
        """
        cur = self.need(ctx, verb.col)
        have = set(cur.tolist())
        extra = [int(i) for i in self._earlier(ctx, verb, rest) if int(i) not in have]
        self.sel = np.concatenate([cur, np.asarray(extra, dtype=np.uint32)])

    def intersect(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``intersect <name>``

        Keep only the selected tokens that are also in an earlier result bound with ``as <name>``.
        """
        cur = self.need(ctx, verb.col)
        keep = set(int(i) for i in self._earlier(ctx, verb, rest))
        self.sel = np.asarray([i for i in cur.tolist() if i in keep], dtype=np.uint32)

    def communities(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``communities [leiden|louvain] [resolution=1.0] [seed=0]``

        Detect communities over all connections (``rt.graph.communities``): the table gains a ``community``
        column and ``show`` colours by it; the selection is unchanged.
        """
        method = "leiden"
        if rest and "=" not in rest[0].text and rest[0].text != "resolution":
            if rest[0].text not in ("leiden", "louvain"):
                ctx.fail(rest[0].col, f"unknown method {rest[0].text!r}", "communities leiden or communities louvain")
            method, rest = rest[0].text, rest[1:]
        # "resolution R" reads as "resolution=R"
        words: list[_Word] = []
        i = 0
        while i < len(rest):
            w = rest[i]
            if w.text in ("resolution", "seed") and i + 1 < len(rest) and "=" not in rest[i + 1].text:
                words.append(_Word(f"{w.text}={rest[i + 1].text}", w.col))
                i += 2
            else:
                words.append(w)
                i += 1
        opts = _options(words, {"resolution": _resolution, "seed": _positive_int}, ctx)
        self.rt.graph.communities(method, resolution=opts.get("resolution", 1.0), seed=opts.get("seed", 0))
        self.color = "community"

    def show(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``show table|plot|grid|graph``

        Display the selection: a table (the default at the end), a plotly scatter, the GridExplorer or the
        GraphExplorer widget.
        """
        self.need(ctx, verb.col)
        what = rest[0].text if rest else "table"
        if what not in ("table", "plot", "grid", "graph"):
            ctx.fail(rest[0].col, f"cannot show {what!r}", "show table, plot, grid or graph")
        self.view = what

    def bind(self, ctx: _Ctx, verb: _Word, rest: list[_Word]) -> None:
        """``as <name>``

        Bind the selection so far in the user namespace as an ``ExploreResult`` (for ``union`` and
        ``intersect``, or later cells).
        """
        cur = self.need(ctx, verb.col)
        if len(rest) != 1 or not rest[0].text.isidentifier():
            ctx.fail(verb.col + 3, "as needs a variable name")
        self.namespace[rest[0].text] = ExploreResult(self.rt, cur, list(self.steps))


#: Step name -> handler; ``STEPS`` lists the same names for completion and hints.
_STEP_HANDLERS: dict[str, Callable[[_Run, _Ctx, _Word, list[_Word]], None]] = {
    "query": _Run.query,
    "near": _Run.near,
    "within": _Run.within,
    "expand": _Run.expand,
    "filter": _Run.filter,
    "path": _Run.path,
    "union": _Run.union,
    "intersect": _Run.intersect,
    "communities": _Run.communities,
    "show": _Run.show,
    "as": _Run.bind,
}
assert tuple(_STEP_HANDLERS) == STEPS


def run_explore(rt: Runtime, script: str, namespace: dict[str, Any], space: str = "cognitive") -> ExploreResult:
    """Run an explore script against ``rt``; names bound with ``as`` go into ``namespace``."""
    run = _Run(rt, namespace, space)
    for no, raw in enumerate(script.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        ctx = _Ctx(line, no)
        words = _split(line)
        verb, rest = words[0], words[1:]
        handler = _STEP_HANDLERS.get(verb.text)
        if handler is None:
            close = difflib.get_close_matches(verb.text, STEPS, n=1)
            hint = f"did you mean {close[0]}?" if close else f"steps: {', '.join(STEPS)}"
            ctx.fail(verb.col, f"unknown step {verb.text!r}", hint)
        try:
            handler(run, ctx, verb, rest)
        except ExploreError:
            raise
        except NeuroGraphError as e:
            raise ExploreError(line, no, verb.col, str(e).splitlines()[0]) from None
        run.steps.append(verb.text)
    result = ExploreResult(rt, run.sel if run.sel is not None else np.empty(0, np.uint32), run.steps)
    result.view, result.space, result.color = run.view, run.space, run.color
    return result
