"""What is public in neurograph_lab, and the docstring checks over it."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Iterable, Iterator
from typing import Any

from sphinx.util import logging

from ._explore import step_doc

logger = logging.getLogger(__name__)

PACKAGE = "neurograph_lab"

# ----------------------------------------------------------------------------------------------
# what is public


def _ours(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "") or "").startswith(PACKAGE)


def public_modules() -> list[Any]:
    """The package and its public modules (no ``_``-prefixed part in the dotted name)."""
    import importlib
    import pkgutil

    import neurograph_lab

    mods = [neurograph_lab]
    for info in pkgutil.walk_packages(neurograph_lab.__path__, prefix=f"{PACKAGE}."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        mods.append(importlib.import_module(info.name))
    return mods


@functools.lru_cache(maxsize=1)
def view_classes() -> tuple[type, ...]:
    """The classes of the runtime's views (``rt.tokens``, ``rt.grid`` ...), found on a real runtime."""
    import neurograph_lab as ng

    rt = ng.Runtime()
    found: list[type] = []
    for name, attr in inspect.getmembers(type(rt)):
        if name.startswith("_") or not isinstance(attr, property):
            continue
        value = getattr(rt, name)
        cls = type(value)
        if _ours(cls) and cls not in found and not isinstance(value, (int, float, str)):
            found.append(cls)
    return tuple(found)


def reachable_classes() -> tuple[type, ...]:
    """Classes a user reaches through an attribute rather than by name (``srv.users``,
    ``api.tokens``, what ``%%ng_explore`` returns): documented and checked like public ones."""
    from neurograph_lab import client, server
    from neurograph_lab._explore_lang import ExploreResult

    return (server.Users, server.Keys, client.RemoteTokens, client.RemoteCDNA, ExploreResult)


def public_objects() -> Iterator[tuple[str, Any]]:
    """(qualified name, object) of every public function and class whose docstring is required:
    ``neurograph_lab.__all__``, each public module's ``__all__`` (or its public functions and
    classes defined there) and the view classes."""
    import neurograph_lab as ng

    seen: set[int] = set()

    def emit(qual: str, obj: Any) -> Iterator[tuple[str, Any]]:
        if id(obj) in seen or not (inspect.isclass(obj) or inspect.isfunction(obj)) or not _ours(obj):
            return
        seen.add(id(obj))
        yield qual, obj

    for name in ng.__all__:
        yield from emit(f"{PACKAGE}.{name}", getattr(ng, name))
    for mod in public_modules()[1:]:
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [
                n
                for n, v in vars(mod).items()
                if not n.startswith("_") and getattr(v, "__module__", None) == mod.__name__
            ]
        for name in names:
            yield from emit(f"{mod.__name__}.{name}", getattr(mod, name))
    for cls in (*view_classes(), *reachable_classes()):
        yield from emit(f"{cls.__module__}.{cls.__qualname__}", cls)


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties a class defines itself or inherits from our own classes."""
    for klass in cls.__mro__:
        if not _ours(klass):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                yield name, value


def missing_docstrings() -> list[str]:
    """Everything public that has no docstring: functions, classes, their public methods and
    properties, the views' methods, the ``%ng_*`` magics and the explore steps."""
    from neurograph_lab._explore_lang import _STEP_HANDLERS
    from neurograph_lab.magics import NeuroGraphMagics

    missing: list[str] = []
    for qual, obj in public_objects():
        if not (obj.__doc__ or "").strip():
            missing.append(qual)
        if inspect.isclass(obj):
            seen: set[str] = set()
            for name, member in _members(obj):
                if name in seen:
                    continue
                seen.add(name)
                doc = member.fget.__doc__ if isinstance(member, property) and member.fget else member.__doc__
                if isinstance(member, property) and not doc:
                    doc = member.__doc__
                if not (doc or "").strip():
                    missing.append(f"{qual}.{name}")
    for kind in ("line", "cell"):
        for name, method in NeuroGraphMagics.magics[kind].items():  # type: ignore[attr-defined]
            func = getattr(NeuroGraphMagics, method)
            parser = getattr(func, "parser", None)
            doc = parser.description if parser is not None else func.__doc__
            if not (doc or "").strip():
                missing.append(f"%{name}")
    for step, handler in _STEP_HANDLERS.items():
        if not step_doc(step, handler)[1]:
            missing.append(f"%%ng_explore step {step!r}")
    return missing


def _documented_callables() -> Iterator[tuple[str, Any]]:
    """(qualified name, function or class) of public functions, classes and methods."""
    for qual, obj in public_objects():
        yield qual, obj
        if inspect.isclass(obj):
            for name, member in _members(obj):
                if inspect.isfunction(member):
                    yield f"{qual}.{name}", member


def unknown_parameters() -> list[str]:
    """``name: parameter`` for each entry of a NumPy ``Parameters`` section that names no
    parameter of the function (of ``__init__`` for a class): a typo, a stale name, or prose
    napoleon would read as a parameter."""
    found: list[str] = []
    for qual, obj in _documented_callables():
        doc = inspect.getdoc(obj) or ""
        if "Parameters\n---" not in doc:
            continue
        try:
            params = set(inspect.signature(obj.__init__ if inspect.isclass(obj) else obj).parameters)
        except (TypeError, ValueError):
            continue
        lines = doc.splitlines()
        section = ""
        for i, line in enumerate(lines):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if line.strip() and re.fullmatch(r"-{3,}", nxt.strip()):
                section = line.strip()
                continue
            if section not in ("Parameters", "Other Parameters") or not line or line.startswith(" "):
                continue
            if re.fullmatch(r"-{3,}", line.strip()):
                continue
            for name in line.split(" : ")[0].split(","):
                name = name.strip().lstrip("*")
                if name and name not in params:
                    found.append(f"{qual}: {name}")
    return found


def misread_property_docstrings() -> list[str]:
    """Properties whose docstring napoleon would misread: a first line ``Words: more words``
    is taken as ``type: description``, so "Words" would show as the property's type."""
    from sphinx.ext.napoleon import Config
    from sphinx.ext.napoleon.docstring import NumpyDocstring

    config = Config(napoleon_use_ivar=True)
    found: list[str] = []
    for qual, obj in public_objects():
        if not inspect.isclass(obj):
            continue
        for name, member in _members(obj):
            if not isinstance(member, property) or member.fget is None:
                continue
            doc = inspect.getdoc(member.fget) or ""
            lines = NumpyDocstring(doc, config, what="property", name=f"{qual}.{name}").lines()
            if any(line.startswith(":type:") for line in lines):
                found.append(f"{qual}.{name}")
    return sorted(set(found))


def undocumented_in_reference(documented: Iterable[str]) -> list[str]:
    """Public names no reference page documents, given the fully qualified names the Python
    domain holds: ``neurograph_lab.__all__``, the public modules' names, the view classes and
    the classes reached through attributes (an object counts under any name it is known by)."""
    import neurograph_lab as ng

    have = set(documented)
    missing = [f"{PACKAGE}.{n}" for n in ng.__all__ if f"{PACKAGE}.{n}" not in have]
    views = view_classes()
    for qual, obj in public_objects():
        names = {qual, f"{obj.__module__}.{obj.__qualname__}"}
        if obj in views:
            names.add(f"{PACKAGE}.runtime.{obj.__qualname__}")
        if not names & have and qual not in missing:
            missing.append(qual)
    return missing
