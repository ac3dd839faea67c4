"""Sphinx extension of the neurograph_lab documentation: reference pages generated from the code.

Directives
----------
``ng-magics``
    Every ``%ng_*`` magic from its own ``magic_arguments`` parser: usage, each argument with
    its help, default and choices, and the magic's docstring.
``ng-explore-steps``
    The ``%%ng_explore`` steps from the language's step table (``_STEP_HANDLERS``): the syntax
    and description each step's handler carries.
``ng-cli``
    The ``neurograph-lab`` command line from its argparse parser.
``ng-openapi``
    The REST API from the server's OpenAPI 3.1 document (``_core.openapi_json()``, the same
    document ``/api/v1/openapi.json`` serves): paths, methods, parameters, request bodies,
    responses and the schemas.

Checks (warnings, so ``sphinx-build -W`` fails the build)
---------------------------------------------------------
- ``missing_docstrings()``: a public function, class, method or property, a view's public
  method, a ``%ng_*`` magic or an explore step without a docstring.
- ``misread_property_docstrings()``: a property whose first line napoleon would read as its
  type (``Words: more words``).
- ``unknown_parameters()``: a ``Parameters`` entry that names no parameter of the function.
- after reading: every name of ``neurograph_lab.__all__``, every view class and every class a
  user reaches through an attribute appears in the Python API reference.
- after writing: no HTML page loads a script or stylesheet from another host (the site works
  offline, as the lab does).

The checks are plain functions too (``tests/test_docs.py`` calls them).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

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


# ----------------------------------------------------------------------------------------------
# small node helpers


def _para(text: str) -> nodes.paragraph:
    return nodes.paragraph(text, text)


# ``rst literal`` and `markdown code` (the OpenAPI descriptions are Markdown)
_INLINE = re.compile(r"``([^`]+)``|`([^`]+)`")


def _rich_para(text: str) -> nodes.paragraph:
    """A paragraph where ``double-backquoted`` words are literals and all else is plain text."""
    p = nodes.paragraph()
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            p += nodes.Text(text[pos : m.start()])
        code = m.group(1) if m.group(1) is not None else m.group(2)
        p += nodes.literal(code, code)
        pos = m.end()
    if pos < len(text):
        p += nodes.Text(text[pos:])
    return p


def _table(header: list[str], rows: list[list[nodes.Node | str]], widths: list[int] | None = None) -> nodes.table:
    table = nodes.table(classes=["ng-ref-table"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for w in widths or [1] * len(header):
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for h in header:
        row += nodes.entry("", _para(h))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for c in cells:
            entry = nodes.entry()
            if isinstance(c, str):
                entry += _rich_para(c) if c else nodes.paragraph()
            else:
                entry += c
            row += entry
        body += row
    return table


def _literal(text: str) -> nodes.paragraph:
    p = nodes.paragraph()
    p += nodes.literal(text, text)
    return p


def _docstring_nodes(doc: str) -> list[nodes.Node]:
    """A plain-text docstring as paragraphs; indented blocks become literal blocks."""
    import textwrap

    out: list[nodes.Node] = []
    for block in re.split(r"\n\s*\n", textwrap.dedent(doc).strip()):
        lines = block.splitlines()
        if lines and all(line.startswith((" ", "\t")) for line in lines):
            text = textwrap.dedent(block)
            out.append(nodes.literal_block(text, text))
        else:
            out.append(_rich_para(" ".join(line.strip() for line in lines)))
    return out


class _SectionMaker:
    """Sections with ids unique in the document, for generated headings."""

    def __init__(self, directive: SphinxDirective) -> None:
        self.document = directive.state.document

    def __call__(self, title: str, key: str) -> nodes.section:
        section = nodes.section()
        base = nodes.make_id(key)
        new_id, n = base, 1
        while new_id in self.document.ids:
            n += 1
            new_id = f"{base}-{n}"
        section["ids"].append(new_id)
        section["names"].append(nodes.fully_normalize_name(key))
        section += nodes.title(title, title)
        self.document.note_implicit_target(section, section)
        return section


# ----------------------------------------------------------------------------------------------
# magics


def magic_functions(cls: type) -> list[tuple[str, Any]]:
    """(name, function) of every magic of the class that has a ``magic_arguments`` parser."""
    out: list[tuple[str, Any]] = []
    for kind in ("line", "cell"):
        for name, method_name in cls.magics[kind].items():  # type: ignore[attr-defined]
            func = getattr(cls, method_name)
            if getattr(func, "parser", None) is not None:
                out.append((name, func))
    return out


def magic_kind(cls: type, name: str) -> str:
    """``"line"`` or ``"cell"``."""
    return "cell" if name in cls.magics["cell"] else "line"  # type: ignore[attr-defined]


def _argument_rows(parser: argparse.ArgumentParser) -> list[list[nodes.Node | str]]:
    rows: list[list[nodes.Node | str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            name = ", ".join(action.option_strings)
            if action.nargs != 0:
                meta = action.metavar or action.dest.upper()
                name += f" {meta}" + (" ..." if action.nargs in ("+", "*") else "")
        else:
            name = action.metavar or action.dest
            if action.nargs in ("+", "*"):
                name += " ..."
        if action.nargs == 0:
            default = ""
        elif action.default is None or action.default == argparse.SUPPRESS:
            default = ""
        elif isinstance(action.default, list):
            default = " ".join(str(v) for v in action.default)
        else:
            default = str(action.default)
        help_text = action.help or ""
        if "%(" in help_text:  # argparse's own expansion: %(default)s ...
            try:
                help_text = help_text % {**vars(action), "prog": parser.prog}
            except (KeyError, TypeError, ValueError):
                pass
        if action.choices:
            help_text += f" (one of: {', '.join(str(c) for c in action.choices)})"
        required = "required" if (not action.option_strings and action.nargs not in ("?", "*")) else ""
        rows.append([_literal(name), help_text, _literal(default) if default else required])
    return rows


def magic_usage(parser: argparse.ArgumentParser, prefix: str = "%") -> str:
    """The usage line of a magic (IPython's parser writes it as an RST literal block)."""
    import textwrap

    usage = re.sub(r"^usage:\s*", "", parser.format_usage().strip())
    usage = textwrap.dedent(re.sub(r"^::\s*\n", "", usage)).strip()
    return usage if usage.startswith("%") else prefix + usage


class MagicsDirective(SphinxDirective):
    """``ng-magics``: one section per magic, from its parser."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from neurograph_lab.magics import NeuroGraphMagics

        make = _SectionMaker(self)
        out: list[nodes.Node] = []
        for name, func in sorted(magic_functions(NeuroGraphMagics), key=lambda t: t[0]):
            parser: argparse.ArgumentParser = func.parser
            prefix = "%%" if magic_kind(NeuroGraphMagics, name) == "cell" else "%"
            section = make(f"{prefix}{name}", f"magic-{name}")
            usage = magic_usage(parser, prefix)
            section += nodes.literal_block(usage, usage, language="text")
            section += _docstring_nodes(parser.description or "")
            rows = _argument_rows(parser)
            if rows:
                section += _table(["argument", "meaning", "default"], rows, [3, 8, 2])
            out.append(section)
        return out


class CliDirective(SphinxDirective):
    """``ng-cli``: the ``neurograph-lab`` command line, from its argparse parser."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from neurograph_lab.cli import build_parser

        make = _SectionMaker(self)
        parser = build_parser()
        out: list[nodes.Node] = []
        usage = re.sub(r"^usage:\s*", "", parser.format_usage().strip())
        out.append(nodes.literal_block(usage, usage, language="text"))
        out.extend(_docstring_nodes(parser.description or ""))
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                continue
            for name, sub in action.choices.items():
                section = make(f"{parser.prog} {name}", f"cli-{name}")
                sub_usage = re.sub(r"^usage:\s*", "", sub.format_usage().strip())
                section += nodes.literal_block(sub_usage, sub_usage, language="text")
                section += _docstring_nodes(sub.description or "")
                section += _table(["argument", "meaning", "default"], _argument_rows(sub), [3, 8, 2])
                out.append(section)
        return out


# ----------------------------------------------------------------------------------------------
# %%ng_explore steps


def step_doc(step: str, handler: Any) -> tuple[str, str]:
    """(syntax, description) of a step from its handler's docstring: the first line is the
    syntax in double backquotes, the rest the description."""
    doc = inspect.getdoc(handler) or ""
    first, _, rest = doc.partition("\n")
    syntax = first.strip().strip("`")
    word = step if step != "as" else "as"
    if not syntax.startswith(word):
        return "", ""
    return syntax, " ".join(rest.split())


class ExploreStepsDirective(SphinxDirective):
    """``ng-explore-steps``: the steps of ``%%ng_explore``, in the order of the step table."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from neurograph_lab._explore_lang import _STEP_HANDLERS, STEPS

        rows: list[list[nodes.Node | str]] = []
        for step in STEPS:
            syntax, description = step_doc(step, _STEP_HANDLERS[step])
            if not syntax:
                logger.warning(
                    "%%%%ng_explore step %r has no syntax line in its docstring", step, location=self.get_location()
                )
            rows.append([_literal(step), _literal(syntax), description])
        return [_table(["step", "syntax", "what it does"], rows, [2, 6, 8])]


# ----------------------------------------------------------------------------------------------
# REST API


def openapi_document() -> dict[str, Any]:
    """The server's OpenAPI document, as ``/api/v1/openapi.json`` serves it (no server runs)."""
    from neurograph_lab import _core

    doc: dict[str, Any] = json.loads(_core.openapi_json())
    return doc


def schema_type(schema: Any) -> str:
    """A short readable type of a JSON schema: ``Token``, ``array of integer``, ``string | null``."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            parts = [schema_type(s) for s in schema[key]]
            return (" & " if key == "allOf" else " | ").join(p for p in parts if p) or "object"
    t = schema.get("type")
    if isinstance(t, list):
        base = " | ".join(str(x) for x in t)
    else:
        base = str(t) if t else ("object" if "properties" in schema else "any")
    if base.startswith("array") or t == "array" or (isinstance(t, list) and "array" in t):
        items = schema_type(schema.get("items", {}))
        if items:
            base = base.replace("array", f"array of {items}", 1)
    if "enum" in schema:
        base += " (" + ", ".join(json.dumps(v) for v in schema["enum"]) + ")"
    if "format" in schema:
        base += f" ({schema['format']})"
    return base


def _type_node(schema: Any) -> nodes.Node:
    """The type of a schema, with a link to the schema's section for a ``$ref``."""
    text = schema_type(schema)
    p = nodes.paragraph()
    if isinstance(schema, dict) and "$ref" in schema:
        ref = nodes.reference("", "", internal=True, refid=nodes.make_id(f"schema-{text}"))
        ref += nodes.literal(text, text)
        p += ref
    else:
        p += nodes.literal(text, text)
    return p


def _content_rows(content: dict[str, Any]) -> list[list[nodes.Node | str]]:
    return [[_literal(mime), _type_node(body.get("schema", {}))] for mime, body in content.items()]


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, METHOD, operation) for every operation of the document, in document order."""
    for path, item in doc.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method.upper(), item[method]


def common_responses(doc: dict[str, Any]) -> dict[str, Any]:
    """The responses (status -> response) that most operations carry alike: the problems any
    request can get. The reference lists them once, and each operation only what differs."""
    ops = [op for _, _, op in operations(doc)]
    counts: dict[tuple[str, str], int] = {}
    for op in ops:
        for status, resp in op.get("responses", {}).items():
            key = (status, json.dumps(resp, sort_keys=True))
            counts[key] = counts.get(key, 0) + 1
    common: dict[str, Any] = {}
    for (status, text), n in sorted(counts.items()):
        if 2 * n > len(ops):
            common[status] = json.loads(text)
    return common


def _resolve(doc: dict[str, Any], obj: Any) -> Any:
    """A ``$ref`` to ``#/components/...`` replaced by what it names (one level)."""
    if isinstance(obj, dict) and "$ref" in obj and str(obj["$ref"]).startswith("#/components/"):
        target: Any = doc
        for part in str(obj["$ref"])[2:].split("/"):
            target = target.get(part, {})
        return target
    return obj


class OpenApiDirective(SphinxDirective):
    """``ng-openapi``: the REST API reference, grouped by tag."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        doc = openapi_document()
        make = _SectionMaker(self)
        out: list[nodes.Node] = []
        info = doc.get("info", {})
        out.append(
            _rich_para(
                f"{info.get('title', '')}, version {info.get('version', '')} "
                f"(OpenAPI {doc.get('openapi', '')}). {info.get('description', '')}"
            )
        )
        common = common_responses(doc)
        if common:
            out.append(
                _rich_para(
                    "Besides its own answers, an operation may answer these problems (an operation "
                    "that cannot says so):"
                )
            )
            out.append(
                _table(
                    ["status", "description", "body"],
                    [self._response_row(doc, st, r) for st, r in common.items()],
                    [2, 7, 7],
                )
            )
        self._common = common
        by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        for path, method, op in operations(doc):
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((path, method, op))
        order = [t["name"] for t in doc.get("tags", [])] + sorted(by_tag)
        done: set[str] = set()
        for tag in order:
            if tag in done or tag not in by_tag:
                continue
            done.add(tag)
            tag_section = make(tag, f"api-{tag}")
            for path, method, op in by_tag[tag]:
                tag_section += self._operation(doc, make, path, method, op)
            out.append(tag_section)
        schemas = doc.get("components", {}).get("schemas", {})
        if schemas:
            sec = make("Schemas", "api-schemas")
            for name, schema in sorted(schemas.items()):
                sec += self._schema(make, name, schema)
            out.append(sec)
        return out

    def _operation(
        self, doc: dict[str, Any], make: _SectionMaker, path: str, method: str, op: dict[str, Any]
    ) -> nodes.section:
        sec = make(f"{method} {path}", f"op-{method}-{path}")
        summary = op.get("summary") or ""
        description = op.get("description") or ""
        if summary:
            sec += _rich_para(summary)
        if description and description != summary:
            sec += _docstring_nodes(description)
        role = op.get("x-required-role")
        if role:
            sec += _rich_para(f"Required role: ``{role}``.")
        params = [_resolve(doc, p) for p in op.get("parameters", [])]
        if params:
            rows: list[list[nodes.Node | str]] = [
                [
                    _literal(p.get("name", "")),
                    p.get("in", ""),
                    "yes" if p.get("required") else "no",
                    _type_node(p.get("schema", {})),
                    " ".join((p.get("description") or "").split()),
                ]
                for p in params
            ]
            sec += nodes.rubric("Parameters", "Parameters")
            sec += _table(["name", "in", "required", "type", "description"], rows, [3, 2, 2, 3, 8])
        body = _resolve(doc, op.get("requestBody"))
        if isinstance(body, dict) and body.get("content"):
            sec += nodes.rubric("Request body", "Request body")
            if body.get("description"):
                sec += _rich_para(" ".join(body["description"].split()))
            sec += _table(["content type", "schema"], _content_rows(body["content"]), [4, 8])
        responses = op.get("responses", {})
        rrows = [self._response_row(doc, st, r) for st, r in responses.items() if self._common.get(st) != r]
        if rrows:
            sec += nodes.rubric("Responses", "Responses")
            sec += _table(["status", "description", "body"], rrows, [2, 7, 7])
        never = [st for st in self._common if st not in responses]
        if never:
            sec += _rich_para("Not among its answers: " + ", ".join(f"``{st}``" for st in never) + ".")
        return sec

    def _response_row(self, doc: dict[str, Any], status: str, resp: Any) -> list[nodes.Node | str]:
        resp = _resolve(doc, resp)
        content = resp.get("content", {}) or {}
        kinds = nodes.paragraph()
        for i, (mime, c) in enumerate(content.items()):
            if i:
                kinds += nodes.Text("; ")
            kinds += nodes.literal(mime, mime)
            schema = c.get("schema", {})
            if schema_type(schema):
                kinds += nodes.Text(" ")
                kinds += _type_node(schema).children
        return [_literal(str(status)), " ".join((resp.get("description") or "").split()), kinds]

    def _schema(self, make: _SectionMaker, name: str, schema: dict[str, Any]) -> nodes.section:
        sec = make(name, f"schema-{name}")
        if schema.get("description"):
            sec += _rich_para(" ".join(schema["description"].split()))
        props = schema.get("properties", {})
        if props:
            required = set(schema.get("required", []))
            rows: list[list[nodes.Node | str]] = [
                [
                    _literal(p),
                    _type_node(s),
                    "yes" if p in required else "no",
                    " ".join((s.get("description") or "").split()) if isinstance(s, dict) else "",
                ]
                for p, s in props.items()
            ]
            sec += _table(["field", "type", "required", "description"], rows, [3, 4, 2, 8])
        else:
            sec += _rich_para(f"Type: ``{schema_type(schema)}``.")
        return sec


# ----------------------------------------------------------------------------------------------
# plotly figures without a CDN

PLOTLY_MIME = "application/vnd.plotly.v1+json"


def offline_plotly_outputs(nb: dict[str, Any]) -> int:
    """Give each stored plotly figure of a notebook an HTML rendering that needs no network.

    A figure is stored as plotly's JSON mimetype (which Sphinx cannot show), sometimes with an
    HTML rendering that loads plotly.js from a CDN. Both are replaced by a ``<div>`` drawn by
    the plotly.js that the site serves itself (``_static/plotly.min.js``, added to the pages
    that have a figure). Returns how many figures were converted.
    """
    import plotly.io as pio

    n = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            fig = data.pop(PLOTLY_MIME, None)
            if fig is None:
                continue
            data["text/html"] = pio.to_html(fig, include_plotlyjs=False, full_html=False, validate=False)
            n += 1
    return n


def plotly_js() -> Path:
    """The plotly.js bundle that ships inside the plotly package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _plotly_on_page(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if "plotly-graph-div" in str(context.get("body", "")):
        app.add_js_file("plotly.min.js", priority=200)


def _copy_plotly(app: Sphinx, exception: BaseException | None) -> None:
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        import shutil

        shutil.copyfile(plotly_js(), static / "plotly.min.js")


# ----------------------------------------------------------------------------------------------
# checks wired into the build


def _check_docstrings(app: Sphinx) -> None:
    for qual in missing_docstrings():
        logger.warning("no docstring: %s", qual, type="ng", subtype="docstring")
    for entry in unknown_parameters():
        logger.warning("a Parameters entry names no parameter of %s", entry, type="ng", subtype="docstring")
    for qual in misread_property_docstrings():
        logger.warning(
            "the first line of %s reads as 'type: description' (rephrase without ': ')",
            qual,
            type="ng",
            subtype="docstring",
        )


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


def _check_reference(app: Sphinx, env: Any) -> None:
    objects = env.get_domain("py").objects
    for name in undocumented_in_reference(objects):
        logger.warning("not in the Python API reference: %s", name, type="ng", subtype="reference")


_EXTERNAL = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["'](?:https?:)?//[^"']+["']""", re.I)


def external_assets(html_dir: Path) -> list[tuple[str, str]]:
    """(page, tag) of every script or stylesheet an HTML page loads from another host."""
    found: list[tuple[str, str]] = []
    for page in sorted(html_dir.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for m in _EXTERNAL.finditer(text):
            tag = m.group(0)
            if re.search(r"\brel=[\"'](?:canonical|alternate)", tag):
                continue
            found.append((str(page.relative_to(html_dir)), tag[:160]))
    return found


def _check_offline(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page, tag in external_assets(Path(app.outdir)):
        logger.warning("%s loads from another host (the site must work offline): %s", page, tag, type="ng")


def _class_signature(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, signature: str | None, return_annotation: str | None
) -> tuple[str, str | None] | None:
    """A view is reached as ``rt.tokens`` ..., never constructed: its class shows no signature.
    A widget shows its ``__init__``'s signature, not traitlets' ``__new__(*args, **kwargs)``."""
    if what != "class" or not inspect.isclass(obj) or not _ours(obj):
        return None
    if obj in view_classes():
        return "", return_annotation
    if signature and signature.startswith("(*args") and _ours(obj.__init__):
        from sphinx.util.inspect import signature as sphinx_signature
        from sphinx.util.inspect import stringify_signature

        sig = sphinx_signature(obj.__init__, bound_method=True)
        return stringify_signature(sig, show_return_annotation=False), return_annotation
    return None


def _skip_foreign_members(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool | None:
    """Members a class inherits from a library (ipywidgets' ``add_class``, traitlets'
    ``observe`` ...) are that library's to document, not ours."""
    if what != "class":
        return None
    target = obj.fget if isinstance(obj, property) else getattr(obj, "__func__", obj)
    module = getattr(target, "__module__", None)
    if (inspect.isfunction(target) or inspect.ismethod(target) or isinstance(obj, property)) and module:
        return True if not module.startswith(PACKAGE) else None
    if type(obj).__module__.startswith("traitlets"):
        return True
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("ng-magics", MagicsDirective)
    app.add_directive("ng-explore-steps", ExploreStepsDirective)
    app.add_directive("ng-openapi", OpenApiDirective)
    app.add_directive("ng-cli", CliDirective)
    app.connect("builder-inited", _check_docstrings)
    app.connect("env-check-consistency", _check_reference)
    app.connect("autodoc-process-signature", _class_signature)
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("html-page-context", _plotly_on_page)
    app.connect("build-finished", _copy_plotly)
    app.connect("build-finished", _check_offline)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
