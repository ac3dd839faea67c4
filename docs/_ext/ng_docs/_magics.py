"""The magics and command-line references, from their own argparse parsers."""

from __future__ import annotations

import argparse
import re
from typing import Any

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from ._nodes import _docstring_nodes, _literal, _SectionMaker, _table

logger = logging.getLogger(__name__)

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
