"""The REST API reference, from the server's OpenAPI 3.1 document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from ._nodes import _docstring_nodes, _literal, _rich_para, _SectionMaker, _table

logger = logging.getLogger(__name__)

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
