"""The ``%%ng_explore`` step reference, from the language's step table."""

from __future__ import annotations

import inspect
from typing import Any

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from ._nodes import _literal, _table

logger = logging.getLogger(__name__)

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
