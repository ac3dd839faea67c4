"""What the explorers share: the anywidget base with chunked binary messages, hover and
ready handling, stable text/HTML summaries, live refresh and the standalone HTML export."""

from __future__ import annotations

import base64
import html
import json
import pathlib
import re
import weakref
from typing import Any, Callable, Iterator, Optional, Union

import anywidget
import numpy as np
import traitlets

from ..runtime import Runtime
from ._neighbours import neighbour_table

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"

#: at most this many bytes of buffers in one kernel -> browser message
MAX_MESSAGE = 4 << 20

Message = tuple[dict[str, Any], list[Union[bytes, memoryview]]]


def esm_bundle(kind: str) -> Any:
    """The explorer's front-end bundle as a synced text trait (``_esm``). Not a path: for a
    path anywidget connects every instance to a file watcher that holds it for the life of
    the process, with its runtime and the data kept for streaming, even after ``close()``."""
    return traitlets.Unicode((STATIC / f"{kind}.js").read_text(encoding="utf-8")).tag(sync=True)


class Explorer(anywidget.AnyWidget):
    """Base of the explorers: the runtime, the data version, and the messages that carry the
    data (recorded so ``to_html`` can replay them)."""

    version = traitlets.Int(0).tag(sync=True)
    renderer = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    loaded = traitlets.Int(0).tag(sync=True)

    _kind = "explorer"
    _live_hook: Optional[Callable[..., None]] = None
    _views = 0  # browser views mounted (ready) and not yet torn down (closed)

    def __init__(self, rt: Runtime, *, live: bool = False, **kwargs: Any) -> None:
        if not isinstance(rt, Runtime):
            raise TypeError(f"an explorer needs a neurograph_lab Runtime, got {type(rt).__name__}")
        super().__init__(**kwargs)
        self._rt = rt
        self._seen = rt._core.data_version()
        self._live_hook: Optional[Callable[..., None]] = None
        # the widget holds its message handlers: a bound method would make a reference cycle
        # holding the runtime after close(), freed only by a full garbage collection
        ref = weakref.ref(self)

        def on_msg(widget: Any, content: Any, buffers: Any) -> None:
            me = ref()
            if me is not None:
                me._on_browser_message(widget, content, buffers)

        self.on_msg(on_msg)
        if live:
            self.live = True

    # -- data, implemented by the explorers --
    def _messages(self) -> Iterator[Message]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _hover(self, index: int, neighbours: bool = True) -> dict[str, Any]:  # pragma: no cover - abstract
        """The hover card of point ``index``; with ``neighbours``, the labels of its top
        neighbours by connection strength too."""
        raise NotImplementedError

    def _rebuild(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _on_custom(self, content: dict[str, Any]) -> None:
        """Messages other than ready and hover (the graph explorer's expand)."""

    def _label_messages(self) -> Iterator[Message]:
        """The ``labels`` message of the global set (after the data, so the first frame is
        not delayed by it)."""
        return iter(())

    def _viewport(self, content: dict[str, Any]) -> None:
        """Answer a viewport request with the best labels inside the visible box."""

    def _all_messages(self) -> Iterator[Message]:
        yield from self._messages()
        yield from self._label_messages()

    # -- messages --
    def _stream(self) -> None:
        for content, buffers in self._all_messages():
            self.send(content, buffers)

    def _on_browser_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ready":
            self._views += 1
            self._stream()
        elif kind == "closed":
            self._views = max(0, self._views - 1)
            if self._views == 0:
                # the view may go before the cell that re-binds the variable has run
                # (JupyterLab clears outputs first): check now, and again after each cell
                if not self._bound():
                    self.close()
                else:
                    _watch_unbound(self)
        elif kind == "hover":
            index = content.get("index")
            if isinstance(index, int) and 0 <= index < self._size():
                self.send({"type": "hover", "index": index, **self._hover(index)})
        elif kind == "viewport":
            if content.get("version") == self.version:  # a request of an older version is moot
                self._viewport(content)
        else:
            self._on_custom(content)

    def _bound(self) -> bool:
        """Is this explorer held by a user variable (not counting IPython's output history)?
        A view torn down (its cell re-run or cleared) closes an explorer nobody holds, which
        frees its comm and the browser's GL buffers."""
        shell = _shell()
        if shell is None:
            return True
        for name, value in list(shell.user_ns.items()):
            if name.startswith("_") or name in ("Out", "In"):
                continue
            if value is self or getattr(value, "grid", None) is self or getattr(value, "graph", None) is self:
                return True
        return False

    def _size(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- refresh --
    def refresh(self) -> None:
        """Re-read the runtime and redraw (open views get the new data at once)."""
        self._seen = self._rt._core.data_version()
        self._rebuild()
        self.version += 1
        self.send({"type": "reset", "version": self.version})
        self._stream()

    @property
    def live(self) -> bool:
        """When True, the explorer refreshes after any cell that changed the runtime."""
        return self._live_hook is not None

    @live.setter
    def live(self, on: bool) -> None:
        shell = _shell()
        if on and self._live_hook is None and shell is not None:
            ref = weakref.ref(self)

            def hook(*_args: Any) -> None:
                me = ref()
                if me is None:
                    shell.events.unregister("post_run_cell", hook)
                elif me._rt._core.data_version() != me._seen:
                    me.refresh()

            shell.events.register("post_run_cell", hook)
            self._live_hook = hook
        elif not on and self._live_hook is not None:
            if shell is not None:
                shell.events.unregister("post_run_cell", self._live_hook)
            self._live_hook = None

    def close(self) -> None:
        """Close the comm (the browser views go) and drop the data held for them."""
        self.live = False
        self._release()
        layout = getattr(self, "layout", None)
        super().close()
        if layout is not None:  # the DOM widget's Layout is a widget (and a comm) of its own
            layout.close()

    def _release(self) -> None:
        """Drop the arrays kept for streaming (an output history may still hold the object)."""

    # -- displays --
    def _summary(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._summary()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = self._summary()
            data["text/html"] = f"<pre class='ng-summary'>{html.escape(self._summary())}</pre>"
        return bundle

    # -- export --
    def to_html(self, path: Union[str, pathlib.Path], title: Optional[str] = None) -> pathlib.Path:
        """Write a standalone HTML file of this explorer: the widget code and the data are
        inlined (no network needed); hover cards come from an inlined table."""
        path = pathlib.Path(path)
        state = {k: _jsonable(v) for k, v in self.get_state().items() if not k.startswith("_")}
        messages = [
            {"content": c, "buffers": [base64.b64encode(bytes(b)).decode("ascii") for b in bufs]}
            for c, bufs in self._all_messages()
        ]
        hover = self._hover_table()
        bundle = base64.b64encode((STATIC / f"{self._kind}.js").read_bytes()).decode("ascii")
        page = (pathlib.Path(__file__).with_name("standalone.html")).read_text(encoding="utf-8")
        values = {
            "TITLE": html.escape(title or self._summary()),
            "STATE": _script_json(state),
            "MESSAGES": _script_json(messages),
            "HOVER": _script_json(hover),
            "BUNDLE": bundle,
        }
        # one pass over the template: a label holding "%%HOVER%%" is not a placeholder
        page = _PLACEHOLDER.sub(lambda m: values[m.group(1)], page)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
        return path

    def _hover_table(self) -> dict[str, Any]:
        n = self._size()
        if n > 200_000:  # keep exported files small: no hover cards past this
            return {}
        cards = [self._hover(i, neighbours=False) for i in range(n)]
        near = neighbour_table(self._rt, np.array([c["id"] for c in cards], dtype=np.int64))
        for c in cards:
            c["neighbours"] = near.get(c["id"], [])
        return {str(i): c for i, c in enumerate(cards)}


_UNSEEN: weakref.WeakSet[Explorer] = weakref.WeakSet()
_HOOKED: list[Any] = []


def _watch_unbound(explorer: Explorer) -> None:
    """After each cell, close the explorers without views that no variable holds any more."""
    _UNSEEN.add(explorer)
    shell = _shell()
    if shell is None or any(s is shell for s in _HOOKED):
        return

    def check(*_args: Any) -> None:
        for e in list(_UNSEEN):
            if e._views > 0 or e.comm is None:
                _UNSEEN.discard(e)
            elif not e._bound():
                _UNSEEN.discard(e)
                e.close()

    shell.events.register("post_run_cell", check)
    _HOOKED.append(shell)


def _shell() -> Any:
    try:
        from IPython import get_ipython  # lazy: IPython may be absent (a plain script)
    except ImportError:  # pragma: no cover
        return None
    return get_ipython()


def _jsonable(v: Any) -> Any:
    if isinstance(v, (bytes, memoryview)):
        return {"$bytes": base64.b64encode(bytes(v)).decode("ascii")}
    return v


_PLACEHOLDER = re.compile(r"%%(TITLE|STATE|MESSAGES|HOVER|BUNDLE)%%")

# JSON escapes of the characters that mean something to the HTML parser inside a <script>
# element ("</script>", "<!--" which starts the "double escaped" state and swallows the next
# script elements) and of the line separators that older JavaScript parsers reject
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _script_json(v: Any) -> str:
    """JSON to inline in a ``<script>`` element, safe for any text it holds: every ``<``,
    ``>`` and ``&`` (and U+2028/U+2029) is written as a ``\\uXXXX`` escape, which
    ``JSON.parse`` reads back as the same character."""
    return json.dumps(v, separators=(",", ":")).translate(_SCRIPT_ESCAPES)


def chunks_of(total: int, per_item: int) -> int:
    """How many strided chunks keep each message under MAX_MESSAGE (at least 1)."""
    return max(1, -(-total * per_item // MAX_MESSAGE))


def buf(a: Any) -> memoryview:
    """A C-contiguous numpy array as a message buffer (no copy when already contiguous)."""
    return np.ascontiguousarray(a).data


def packbits(mask: np.ndarray) -> bytes:
    return np.packbits(mask, bitorder="little").tobytes() if mask.any() else b""


def unpackbits(data: bytes, n: int) -> np.ndarray:
    if not data:
        return np.zeros(n, dtype=bool)
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little", count=n).astype(bool)
