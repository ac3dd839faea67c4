"""Helpers that drive JupyterLab (4.6) in Playwright's sync API, for the browser tests.

The server is started by ``conftest.py`` with ``--LabApp.expose_app_in_browser=True``, so
``window.jupyterapp`` (the JupyterFrontEnd) is available: cells are run through the command
registry and awaited inside the page (``notebook:run-all-cells`` resolves when every cell
finished), outputs are read from the notebook model (not the DOM, so windowing never hides
them), and kernel code runs through ``kernel.requestExecute``. A DOM fallback is used only
where the app is not exposed.

Everything here takes a Playwright ``Page`` as first argument. Typical use::

    open_notebook(page, server, "smoke.ipynb")
    run_all_cells(page)
    text = cell_output_text(page, marker="SEEN=")
    value = run_in_kernel(page, "print(w.seen)")
    stats = pixel_stats(element_png(page.locator("canvas.smoke2d")))
"""

from __future__ import annotations

import io
import json
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

# Generous but finite: a cold kernel start plus a first widget render takes ~3-5 s here.
DEFAULT_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class LabServer:
    """What the ``jupyter_server`` fixture yields."""

    url: str  # "http://127.0.0.1:PORT/" (trailing slash)
    token: str
    root_dir: Path  # a tmp copy of tutorials/; write extra notebooks here

    def __iter__(self):  # allows ``url, token, root_dir = jupyter_server``
        return iter((self.url, self.token, self.root_dir))

    def api(self, path: str) -> str:
        return f"{self.url}{path.lstrip('/')}"


@dataclass
class PageLog:
    """What the ``page`` fixture records (the ``page_log`` fixture)."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page
    blocked_requests: list[str] = field(default_factory=list)  # non-local requests, aborted
    external_succeeded: list[str] = field(default_factory=list)  # non-local requests that finished: must stay empty


# ----------------------------------------------------------------------------- notebooks on disk


def write_notebook(root_dir: Union[str, Path], name: str, cells: Sequence[Union[str, tuple[str, str]]]) -> Path:
    """Write a notebook into the server's root. ``cells`` are code strings or ("markdown", text).

    The notebook gets the ``python3`` kernelspec in its metadata, so JupyterLab starts the kernel
    without asking.
    """
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for c in cells:
        if isinstance(c, tuple):
            kind, src = c
            nb.cells.append(
                nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
            )
        else:
            nb.cells.append(nbformat.v4.new_code_cell(c))
    path = Path(root_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# ----------------------------------------------------------------------------- JS snippets

# Evaluated in the page: returns the current NotebookPanel or throws.
_PANEL = (
    "const app = window.jupyterapp;"
    "if (!app) throw new Error('window.jupyterapp missing: start lab with --LabApp.expose_app_in_browser=True');"
    "const panel = app.shell.currentWidget;"
    "if (!panel || !panel.content || !panel.sessionContext) throw new Error('current widget is not a notebook');"
)


def _has_app(page) -> bool:
    return bool(page.evaluate("() => !!window.jupyterapp"))


# ----------------------------------------------------------------------------- opening


def accept_kernel_dialog(page, timeout_ms: int = 0) -> bool:
    """Click the accept button of a JupyterLab dialog (e.g. "Select Kernel") if one is shown."""
    dlg = page.locator(".jp-Dialog .jp-mod-accept")
    try:
        if timeout_ms:
            dlg.first.wait_for(state="visible", timeout=timeout_ms)
        if dlg.count():
            dlg.first.click()
            return True
    except Exception:
        pass
    return False


def open_notebook(page, server: LabServer, name: str, timeout_ms: int = DEFAULT_TIMEOUT_MS, app: str = "lab") -> None:
    """Open ``name`` (relative to the server root) in a fresh workspace and wait for an idle kernel.
    ``app="notebook"`` opens it in Notebook 7 instead of JupyterLab."""
    if app == "notebook":
        url = f"{server.url}notebooks/{quote(name)}?token={server.token}"
    else:
        url = f"{server.url}lab/tree/{quote(name)}?reset&token={server.token}"
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined", timeout=timeout_ms)
    # The app is started once its shell exists; the notebook opens shortly after.
    page.wait_for_function(
        "(name) => { const w = window.jupyterapp.shell.currentWidget;"
        " return !!(w && w.context && w.context.path && w.context.path.endsWith(name)); }",
        arg=name.split("/")[-1],
        timeout=timeout_ms,
    )
    accept_kernel_dialog(page)
    wait_for_kernel_idle(page, timeout_ms=timeout_ms)


def wait_for_kernel_idle(page, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Wait until the current notebook has a connected kernel whose status is idle."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        accept_kernel_dialog(page)  # a dialog would block the session forever
        remaining = max(1, int((deadline - time.monotonic()) * 1000))
        try:
            page.wait_for_function(
                "() => { const w = window.jupyterapp.shell.currentWidget;"
                " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
                " return !!(k && k.status === 'idle' && k.connectionStatus === 'connected'); }",
                timeout=min(remaining, 2000),
            )
            return
        except Exception:
            if time.monotonic() > deadline:
                raise TimeoutError("kernel did not become idle") from None


# ----------------------------------------------------------------------------- running cells


def run_all_cells(page, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Run every cell (``notebook:run-all-cells``) and wait until all finished and the kernel is idle."""
    if _has_app(page):
        page.evaluate(
            "async () => {" + _PANEL + " await panel.sessionContext.ready;"
            " await app.commands.execute('notebook:run-all-cells'); }",
        )
    else:  # menu fallback
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
    wait_for_cells_done(page, timeout_ms=timeout_ms)


def wait_for_cells_done(page, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """No cell shows ``[*]`` (queued/running) and the kernel is idle."""
    page.wait_for_function(
        "() => { const prompts = [...document.querySelectorAll('.jp-Notebook .jp-InputArea-prompt')];"
        " if (prompts.some(p => p.textContent.includes('*'))) return false;"
        " const w = window.jupyterapp ? window.jupyterapp.shell.currentWidget : null;"
        " if (!w) return !!document.querySelector('.jp-Notebook');"
        " const k = w.sessionContext.session && w.sessionContext.session.kernel;"
        " return !!(k && k.status === 'idle'); }",
        timeout=timeout_ms,
    )


def run_cell(page, index: int, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Select cell ``index`` and run it (``notebook:run-cell``); waits until it finished."""
    page.evaluate(
        "async (i) => {" + _PANEL + " await panel.sessionContext.ready;"
        " panel.content.activeCellIndex = i; panel.content.deselectAll();"
        " await app.commands.execute('notebook:run-cell'); }",
        index,
    )
    wait_for_cells_done(page, timeout_ms=timeout_ms)


def append_and_run_cell(page, code: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> int:
    """Append a code cell at the end of the open notebook, run it, return its index.

    Use this when the output must be *displayed* in the notebook (e.g. a widget view); for
    plain values, :func:`run_in_kernel` is faster and leaves the notebook alone.
    """
    index = page.evaluate(
        "(code) => {" + _PANEL + " const m = panel.content.model.sharedModel;"
        " const i = m.cells.length; m.insertCell(i, {cell_type: 'code', source: code}); return i; }",
        code,
    )
    run_cell(page, index, timeout_ms=timeout_ms)
    return index


def type_and_run_cell(page, code: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> int:
    """Like :func:`append_and_run_cell` but through the UI: new cell at the end, type, Shift+Enter."""
    n = cell_count(page)
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # command mode: insert below
    page.wait_for_function("(n) => document.querySelectorAll('.jp-Notebook .jp-Cell').length > n", arg=n)
    page.keyboard.press("Enter")  # edit mode
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    wait_for_cells_done(page, timeout_ms=timeout_ms)
    return n


def cell_count(page) -> int:
    if _has_app(page):
        return int(page.evaluate("() => {" + _PANEL + " return panel.content.model.sharedModel.cells.length; }"))
    return page.locator(".jp-Notebook .jp-Cell").count()


# ----------------------------------------------------------------------------- reading outputs


def cell_outputs(page, index: int) -> list[dict[str, Any]]:
    """The nbformat outputs of cell ``index`` (from the model, so scrolled-away cells work too)."""
    return page.evaluate(
        "(i) => {" + _PANEL + " const c = panel.content.widgets[i];"
        " if (!c) throw new Error('no cell ' + i);"
        " return c.model.type === 'code' ? c.model.outputs.toJSON() : []; }",
        index,
    )


def _outputs_text(outputs: Iterable[dict[str, Any]]) -> str:
    parts: list[str] = []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream":
            t = o.get("text", "")
            parts.append("".join(t) if isinstance(t, list) else t)
        elif kind in ("execute_result", "display_data"):
            t = o.get("data", {}).get("text/plain", "")
            parts.append(("".join(t) if isinstance(t, list) else t) + "\n")
        elif kind == "error":
            parts.append(f"{o.get('ename')}: {o.get('evalue')}\n")
    return "".join(parts)


def cell_output_text(page, index: Optional[int] = None, marker: Optional[str] = None) -> str:
    """Text output (stdout, text/plain results, errors) of a cell, by ``index`` or by a ``marker``.

    With ``marker``, the first cell whose *source* contains it is used, or failing that the first
    cell whose output contains it.
    """
    if (index is None) == (marker is None):
        raise ValueError("give exactly one of index, marker")
    if marker is not None:
        index = find_cell(page, marker)
    assert index is not None
    return _outputs_text(cell_outputs(page, index))


def find_cell(page, marker: str) -> int:
    """Index of the first cell whose source (else: output text) contains ``marker``."""
    sources: list[str] = page.evaluate(
        "() => {" + _PANEL + " return panel.content.model.sharedModel.cells.map(c => c.getSource()); }"
    )
    for i, src in enumerate(sources):
        if marker in src:
            return i
    for i in range(len(sources)):
        if marker in _outputs_text(cell_outputs(page, i)):
            return i
    raise LookupError(f"no cell contains {marker!r}")


def cell_errors(page) -> list[tuple[int, str]]:
    """(index, "Ename: value") for every cell whose outputs contain an error."""
    n = cell_count(page)
    out = []
    for i in range(n):
        for o in cell_outputs(page, i):
            if o.get("output_type") == "error":
                out.append((i, f"{o.get('ename')}: {o.get('evalue')}"))
    return out


def cell_locator(page, index: int):
    """Locator of the DOM node of cell ``index`` (use ``.locator('canvas')`` etc. on it)."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


# ----------------------------------------------------------------------------- kernel


@dataclass
class KernelResult:
    stdout: str
    stderr: str
    result: Optional[str]  # text/plain of the execute_result, if any
    error: Optional[str]  # "Ename: evalue", if it raised

    @property
    def text(self) -> str:
        return self.stdout + (self.result or "")


_JS_EXECUTE = (
    "async (code) => {" + _PANEL + " await panel.sessionContext.ready;"
    " const kernel = panel.sessionContext.session.kernel;"
    " const out = {stdout: '', stderr: '', result: null, error: null};"
    " const fut = kernel.requestExecute({code, store_history: false, silent: false});"
    " fut.onIOPub = (msg) => { const t = msg.header.msg_type, c = msg.content;"
    "   if (t === 'stream') out[c.name === 'stderr' ? 'stderr' : 'stdout'] += c.text;"
    "   else if (t === 'execute_result') out.result = (c.data || {})['text/plain'] ?? null;"
    "   else if (t === 'error') out.error = c.ename + ': ' + c.evalue; };"
    " await fut.done; return out; }"
)


def run_in_kernel(page, code: str, check: bool = True) -> KernelResult:
    """Execute ``code`` in the open notebook's kernel (same namespace as the cells); return its output.

    Runs through ``kernel.requestExecute`` from the page, so nothing is added to the notebook.
    Raises ``AssertionError`` if the code raised and ``check`` is true.
    """
    r = page.evaluate(_JS_EXECUTE, code)
    res = KernelResult(**r)
    if check and res.error:
        raise AssertionError(f"kernel code failed: {res.error}\n--- code ---\n{code}\nstderr: {res.stderr}")
    return res


def kernel_value(page, expr: str) -> Any:
    """Evaluate a Python expression in the kernel and return it, JSON round-tripped."""
    r = run_in_kernel(page, f"import json as _j; print(_j.dumps({expr}))")
    return json.loads(r.stdout.strip().splitlines()[-1])


def wait_for_kernel_value(page, expr: str, predicate=bool, timeout_s: float = 20.0, interval_s: float = 0.2) -> Any:
    """Poll ``kernel_value(expr)`` until ``predicate(value)`` is true; return the value."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = kernel_value(page, expr)
        if predicate(value):
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"{expr!r} did not satisfy the predicate within {timeout_s}s (last: {value!r})")


# ----------------------------------------------------------------------------- theme

LIGHT = "JupyterLab Light"
DARK = "JupyterLab Dark"


def set_theme(page, theme: str, timeout_ms: int = 15_000) -> None:
    """Switch the theme ("JupyterLab Dark" / "JupyterLab Light") and wait until it is applied."""
    if _has_app(page):
        page.evaluate("(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme)
    else:
        page.get_by_role("menuitem", name="Settings", exact=True).click()
        page.get_by_role("menuitem", name="Theme", exact=True).click()
        page.get_by_role("menuitem", name=theme, exact=True).click()
    page.wait_for_function(
        "(theme) => document.body.dataset.jpThemeName === theme"
        " && !!getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()",
        arg=theme,
        timeout=timeout_ms,
    )
    page.wait_for_timeout(200)  # let widgets react to the CSS-variable change


def current_theme(page) -> str:
    return page.evaluate("() => document.body.dataset.jpThemeName || ''")


def css_var(page, name: str, selector: str = "body") -> str:
    """Computed value of a CSS custom property (e.g. ``--jp-layout-color0``)."""
    return page.evaluate(
        "([sel, name]) => getComputedStyle(document.querySelector(sel)).getPropertyValue(name).trim()", [selector, name]
    )


# ----------------------------------------------------------------------------- screenshots & pixels


def artifact_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    return ARTIFACTS / (safe if safe.endswith(".png") else safe + ".png")


def screenshot(page, name: str, full_page: bool = False) -> Path:
    """Save a page screenshot into ``<repo>/test-artifacts/NAME.png``; returns the path."""
    path = artifact_path(name)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def element_png(locator, name: Optional[str] = None) -> bytes:
    """PNG bytes of an element's screenshot (scrolled into view); also saved if ``name`` is given."""
    locator.scroll_into_view_if_needed()
    kw = {"path": str(artifact_path(name))} if name else {}
    return locator.screenshot(animations="disabled", **kw)


@dataclass(frozen=True)
class PixelStats:
    width: int
    height: int
    distinct_colors: int
    background: tuple[int, int, int]
    non_background_fraction: float  # pixels farther than ``tolerance`` from the background

    @property
    def blank(self) -> bool:
        return self.distinct_colors <= 1 or self.non_background_fraction == 0.0


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(width, height, RGB pixels) of a PNG. Uses Pillow if installed, else a small zlib decoder
    (8-bit gray/RGB/RGBA/gray+alpha, non-interlaced: what Chromium writes)."""
    try:
        from PIL import Image

        im = Image.open(io.BytesIO(data)).convert("RGB")
        raw = im.tobytes()
        return im.width, im.height, [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]  # type: ignore[misc]
    except ImportError:
        pass
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, b""
    w = h = depth = ctype = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if depth != 8 or interlace or ctype not in (0, 2, 4, 6):
        raise ValueError(f"unsupported PNG (depth={depth}, color type={ctype}, interlace={interlace})")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    i = 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        for x in range(0, stride, bpp):
            if ctype in (0, 4):
                pixels.append((line[x], line[x], line[x]))
            else:
                pixels.append((line[x], line[x + 1], line[x + 2]))
    return w, h, pixels


def pixel_stats(
    png: Union[bytes, str, Path], background: Optional[tuple[int, int, int]] = None, tolerance: int = 8
) -> PixelStats:
    """Colour statistics of a PNG (bytes or path): distinct colours and the fraction of pixels that
    differ from ``background`` by more than ``tolerance`` in some channel (background defaults to
    the most common colour)."""
    if not isinstance(png, (bytes, bytearray)):
        png = Path(png).read_bytes()
    w, h, px = decode_png(bytes(png))
    counts: dict[tuple[int, int, int], int] = {}
    for p in px:
        counts[p] = counts.get(p, 0) + 1
    bg = background or max(counts.items(), key=lambda kv: kv[1])[0]
    differing = sum(
        n
        for col, n in counts.items()
        if abs(col[0] - bg[0]) > tolerance or abs(col[1] - bg[1]) > tolerance or abs(col[2] - bg[2]) > tolerance
    )
    return PixelStats(w, h, len(counts), tuple(bg), differing / max(1, len(px)))


def dominant_color(png: Union[bytes, str, Path]) -> tuple[int, int, int]:
    return pixel_stats(png).background
