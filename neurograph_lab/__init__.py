"""neurograph_lab: the NeuroGraph token-space runtime inside Jupyter.

>>> import numpy as np, neurograph_lab as ng
>>> rt = ng.Runtime()
>>> ids = rt.tokens.create_many(np.zeros((10, 8, 3), np.float32))
>>> len(rt.tokens)
10

In IPython or Jupyter, ``%load_ext neurograph_lab`` binds a runtime as ``ng_rt``.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import _core
from ._communities import Communities
from ._semantic import BootstrapReport, load_embeddings
from ._values import Connection, PathResult, QueryResult, Status, Token
from .errors import DatasetError, NeuroGraphError, NotFoundError, SnapshotError, ValidationError
from .runtime import (
    CDNA_PROFILES,
    CONNECTION_GROUPS,
    CONNECTION_KINDS,
    ENTITY_TYPES,
    SPACES,
    Runtime,
)
from .server import Server, serve, stop_all

__version__: str = _core.__version__
#: Fixed-point scale of each space (value = int16 / scale); the range is +-32767 / scale.
SPACE_SCALES: dict[str, float] = dict(zip(_core.SPACES, _core.SPACE_SCALES))
CDNA_FIELDS: tuple[str, ...] = tuple(_core.CDNA_FIELDS)

__all__ = [
    "Runtime",
    "serve",
    "Server",
    "connect",
    "Client",
    "Token",
    "Connection",
    "Status",
    "QueryResult",
    "BootstrapReport",
    "load_embeddings",
    "PathResult",
    "Communities",
    "NeuroGraphError",
    "ValidationError",
    "NotFoundError",
    "SnapshotError",
    "DatasetError",
    "SPACES",
    "SPACE_SCALES",
    "ENTITY_TYPES",
    "CONNECTION_KINDS",
    "CONNECTION_GROUPS",
    "CDNA_PROFILES",
    "CDNA_FIELDS",
    "GridExplorer",
    "GraphExplorer",
    "CDNAPanel",
    "explore",
    "load_ipython_extension",
    "unload_ipython_extension",
    "__version__",
]


_WIDGETS = ("GridExplorer", "GraphExplorer", "CDNAPanel", "explore")
_CLIENT = ("connect", "Client")


def __getattr__(name: str) -> Any:
    """The explorers load on first use (they import anywidget and ipywidgets), and so does the
    HTTP client (it imports httpx)."""
    if name in _WIDGETS:
        from . import widgets  # lazy: anywidget and ipywidgets load on first use

        return getattr(widgets, name)
    if name in _CLIENT:
        from . import client  # lazy: httpx loads on first use

        return getattr(client, name)
    if name in ("distributed", "kernels"):
        # submodules reached as attributes (ng.distributed.sweep) without importing them with
        # the package; importlib because `from . import x` would come back here
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'neurograph_lab' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext neurograph_lab``: register the ``%ng_*`` magics and bind a runtime as
    ``ng_rt`` (an existing ``ng_rt`` Runtime in the user namespace is adopted)."""
    from .magics import NeuroGraphMagics  # lazy: IPython loads only in a shell

    existing = ipython.user_ns.get("ng_rt")
    if not isinstance(existing, Runtime):
        ipython.push({"ng_rt": Runtime()})
    magics = NeuroGraphMagics(ipython)
    ipython.register_magics(magics)
    _offline_plotly()
    completer = getattr(ipython, "Completer", None)
    if completer is not None:
        # replace the matcher of an earlier load, so %reload_ext never stacks them
        completer.custom_matchers = [
            m for m in completer.custom_matchers if getattr(m, "__qualname__", "") != "NeuroGraphMagics.complete"
        ]
        completer.custom_matchers.append(magics.complete)


def _offline_plotly() -> None:
    """In a Jupyter kernel plotly's default renderer is the mimetype alone, which JupyterLab
    draws but an exported HTML file does not. Add plotly's offline ``notebook`` renderer (the
    library is put in the notebook once), so figures also render in exported HTML without a
    network. Other environments (VS Code, Colab, a set default) are left as they are."""
    try:
        import plotly.io as pio  # lazy: plotly loads only with the extension
    except ImportError:  # pragma: no cover - plotly is a dependency
        return
    if pio.renderers.default == "plotly_mimetype":
        pio.renderers.default = "plotly_mimetype+notebook"


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext neurograph_lab``: remove the magics and the completion matcher; the
    runtime in ``ng_rt`` stays for the user."""
    from .magics import NeuroGraphMagics  # lazy: IPython loads only in a shell

    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        for name in NeuroGraphMagics.magics[kind]:
            manager.magics[kind].pop(name, None)
    manager.registry.pop("NeuroGraphMagics", None)
    stop_all()  # the servers of this session stop with the extension
    completer = getattr(ipython, "Completer", None)
    if completer is not None:
        completer.custom_matchers = [
            m for m in completer.custom_matchers if getattr(m, "__qualname__", "") != "NeuroGraphMagics.complete"
        ]
