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

import inspect
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

from ._explore import ExploreStepsDirective, step_doc
from ._magics import CliDirective, MagicsDirective, _argument_rows, magic_functions, magic_kind, magic_usage
from ._offline import _check_offline, _copy_plotly, _plotly_on_page, external_assets, offline_plotly_outputs, plotly_js
from ._openapi import HTTP_METHODS, OpenApiDirective, common_responses, openapi_document, operations, schema_type
from ._public import (
    PACKAGE,
    _ours,
    misread_property_docstrings,
    missing_docstrings,
    public_modules,
    public_objects,
    reachable_classes,
    undocumented_in_reference,
    unknown_parameters,
    view_classes,
)

__all__ = [
    "HTTP_METHODS",
    "PACKAGE",
    "CliDirective",
    "ExploreStepsDirective",
    "MagicsDirective",
    "OpenApiDirective",
    "common_responses",
    "external_assets",
    "magic_functions",
    "magic_kind",
    "magic_usage",
    "misread_property_docstrings",
    "missing_docstrings",
    "offline_plotly_outputs",
    "openapi_document",
    "operations",
    "plotly_js",
    "public_modules",
    "public_objects",
    "reachable_classes",
    "schema_type",
    "setup",
    "step_doc",
    "undocumented_in_reference",
    "unknown_parameters",
    "view_classes",
    "_argument_rows",
]

logger = logging.getLogger(__name__)

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


def _check_reference(app: Sphinx, env: Any) -> None:
    objects = env.get_domain("py").objects
    for name in undocumented_in_reference(objects):
        logger.warning("not in the Python API reference: %s", name, type="ng", subtype="reference")


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
