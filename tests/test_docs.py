"""The documentation's generated references and checks (docs/_ext/ng_docs/): the docstring
check finds nothing missing and does find a removed docstring, every magic option and every
``%%ng_explore`` step reaches the reference, the REST reference reads the same OpenAPI document
the server serves, and a page that loads a script from another host is caught."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import httpx
import pytest

import neurograph_lab as ng
from neurograph_lab import plots
from neurograph_lab._explore_lang import _STEP_HANDLERS, STEPS
from neurograph_lab.magics import NeuroGraphMagics

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ng_docs():
    package = ROOT / "docs" / "_ext" / "ng_docs"
    spec = importlib.util.spec_from_file_location(
        "ng_docs", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ng_docs"] = module
    spec.loader.exec_module(module)
    yield module
    for name in [n for n in sys.modules if n == "ng_docs" or n.startswith("ng_docs.")]:
        del sys.modules[name]


def test_every_public_object_has_a_docstring(ng_docs):
    assert ng_docs.missing_docstrings() == []


def test_the_check_covers_all_names_views_and_magics(ng_docs):
    names = {q for q, _ in ng_docs.public_objects()}
    for n in ("Runtime", "serve", "GridExplorer", "explore", "connect", "ValidationError"):
        assert f"neurograph_lab.{n}" in names
    assert "neurograph_lab.plots.space_scatter" in names
    views = {c.__name__ for c in ng_docs.view_classes()}
    assert {"TokenView", "ConnectionView", "GridView", "GraphView", "CDNAView", "IntuitionView"} <= views
    magics = {name for name, _ in ng_docs.magic_functions(NeuroGraphMagics)}
    assert {"ng_status", "ng_tokens", "ng_query", "ng_explore", "ng_serve", "ng_use"} <= magics


def test_a_removed_docstring_is_reported(ng_docs, monkeypatch):
    monkeypatch.setattr(plots.degree_histogram, "__doc__", None)
    monkeypatch.setattr(ng.Runtime.save, "__doc__", "")
    monkeypatch.setattr(NeuroGraphMagics.ng_path.parser, "description", None)
    monkeypatch.setattr(_STEP_HANDLERS["near"], "__doc__", None)
    missing = ng_docs.missing_docstrings()
    assert "neurograph_lab.plots.degree_histogram" in missing
    assert "neurograph_lab.Runtime.save" in missing
    assert "%ng_path" in missing
    assert "%%ng_explore step 'near'" in missing


def test_every_explore_step_has_a_syntax_and_description(ng_docs):
    assert tuple(_STEP_HANDLERS) == STEPS
    for step in STEPS:
        syntax, description = ng_docs.step_doc(step, _STEP_HANDLERS[step])
        assert syntax.split()[0] == step, step
        assert len(description) > 20, step


def test_magic_rows_carry_every_option_with_help_and_default(ng_docs):
    parser = NeuroGraphMagics.ng_tokens.parser
    rows = ng_docs._argument_rows(parser)
    text = [[c if isinstance(c, str) else c.astext() for c in row] for row in rows]
    by_name = {r[0].split()[0].rstrip(","): r for r in text}
    wanted = {o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")}
    assert {o for r in text for o in r[0].replace(",", "").split() if o.startswith("-")} == wanted
    assert by_name["--limit"][2] == "20"
    assert "rows to show" in by_name["--limit"][1]
    path_rows = ng_docs._argument_rows(NeuroGraphMagics.ng_path.parser)
    weight = next(r for r in path_rows if r[0].astext().startswith("--weight"))
    assert "one of: strength, distance, hops" in weight[1]
    assert weight[2].astext() == "strength"


def test_openapi_document_is_the_one_the_server_serves(ng_docs):
    doc = ng_docs.openapi_document()
    assert doc["openapi"].startswith("3.1")
    rt = ng.Runtime()
    srv = ng.serve(rt)
    try:
        served = httpx.get(f"{srv.url}/api/v1/openapi.json", timeout=30).json()
    finally:
        srv.stop()
    assert served == doc
    ops = list(ng_docs.operations(doc))
    assert ("/api/v1/tokens/{id}", "GET") in {(p, m) for p, m, _ in ops}
    assert len(ops) == sum(1 for item in doc["paths"].values() for m in item if m in ng_docs.HTTP_METHODS)
    assert all(op.get("x-required-role") for p, _, op in ops if p.startswith("/api/v1/tokens"))


def test_schema_types_read_well(ng_docs):
    t = ng_docs.schema_type
    assert t({"$ref": "#/components/schemas/Token"}) == "Token"
    assert t({"type": "array", "items": {"type": "integer", "format": "int32"}}) == "array of integer (int32)"
    assert t({"type": ["string", "null"]}) == "string | null"
    assert t({"oneOf": [{"$ref": "#/components/schemas/A"}, {"type": "null"}]}) == "A | null"
    assert t({"type": "string", "enum": ["a", "b"]}) == 'string ("a", "b")'


def test_pages_loading_from_another_host_are_caught(ng_docs, tmp_path):
    (tmp_path / "ok.html").write_text('<script src="_static/x.js"></script><a href="https://a.org/">link</a>')
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "bad.html").write_text('<link rel="stylesheet" href="https://cdn.example/x.css"><script src="//cdn.x/y.js">')
    found = ng_docs.external_assets(tmp_path)
    assert [page for page, _ in found] == ["sub/bad.html", "sub/bad.html"]


def test_reference_coverage_names_what_is_missing(ng_docs):
    everything = [f"neurograph_lab.{n}" for n in ng.__all__] + [q for q, _ in ng_docs.public_objects()]
    assert ng_docs.undocumented_in_reference(everything) == []
    without_runtime = [q for q in everything if q != "neurograph_lab.Runtime"]
    assert ng_docs.undocumented_in_reference(without_runtime) == ["neurograph_lab.Runtime"]
    without_plots = [q for q in everything if q != "neurograph_lab.plots.graph_figure"]
    assert ng_docs.undocumented_in_reference(without_plots) == ["neurograph_lab.plots.graph_figure"]
    # a view counts under the name the reference gives it
    views = [f"neurograph_lab.runtime.{c.__qualname__}" for c in ng_docs.view_classes()]
    private = {f"{c.__module__}.{c.__qualname__}" for c in ng_docs.view_classes()}
    assert ng_docs.undocumented_in_reference([q for q in everything if q not in private] + views) == []


def test_cli_rows_expand_argparse_defaults(ng_docs):
    from neurograph_lab.cli import build_parser

    parser = build_parser()
    serve = next(a for a in parser._actions if a.choices and "serve" in a.choices).choices["serve"]
    rows = {r[0].astext().split()[0]: r for r in ng_docs._argument_rows(serve)}
    assert "--print-key" in rows and "SNAPSHOT" in rows
    assert rows["--port"][1] == "port to listen on; 0 picks a free one (default: 8765)"
    assert rows["--port"][2].astext() == "8765"
    assert rows["SNAPSHOT"][2] == "required"


def test_magic_usage_is_one_plain_line(ng_docs):
    usage = ng_docs.magic_usage(NeuroGraphMagics.ng_neighbors.parser)
    assert usage.startswith("%ng_neighbors ")
    assert "::" not in usage and "usage:" not in usage
    assert "--space SPACE" in usage and usage.rstrip().endswith("token")


def test_property_docstrings_read_as_descriptions(ng_docs, monkeypatch):
    assert ng_docs.misread_property_docstrings() == []
    monkeypatch.setattr(ng.Server.url.fget, "__doc__", "Base URL: where the server answers.")
    assert ng_docs.misread_property_docstrings() == ["neurograph_lab.Server.url"]


def test_parameters_entries_name_real_parameters(ng_docs, monkeypatch):
    assert ng_docs.unknown_parameters() == []
    doc = plots.space_scatter.__doc__ or ""
    assert "Parameters\n" in doc
    head = "Parameters\n    ----------\n"
    bad = doc.replace(head, head + "    colour : str\n        Typo.\n", 1)
    assert bad != doc
    monkeypatch.setattr(plots.space_scatter, "__doc__", bad)
    assert ng_docs.unknown_parameters() == ["neurograph_lab.plots.space_scatter: colour"]
