"""Small docutils node helpers shared by the generated references."""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

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
