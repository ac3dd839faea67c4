"""Small helpers for the HTML reprs: escaped, themed with JupyterLab CSS variables."""

from __future__ import annotations

import html
from typing import Any, Iterable

_TABLE = "border-collapse:collapse;font-size:12px;color:var(--jp-ui-font-color1,inherit);background:transparent"
_CELL = "padding:2px 8px;border-bottom:1px solid var(--jp-border-color2,#8884);text-align:left"
_HEAD = _CELL + ";color:var(--jp-ui-font-color2,#888);font-weight:normal"


def esc(value: Any) -> str:
    """HTML-escape any value's text (labels are user data)."""
    return html.escape(str(value), quote=True)


def kv_table(title: str, rows: Iterable[tuple[str, Any]], note: str = "") -> str:
    """A two-column key/value table with a title line."""
    body = "".join(f"<tr><th style='{_HEAD}'>{esc(k)}</th><td style='{_CELL}'>{esc(v)}</td></tr>" for k, v in rows)
    extra = f"<div style='color:var(--jp-ui-font-color2,#888);font-size:11px'>{esc(note)}</div>" if note else ""
    return (
        f"<div class='ng-repr'><div style='font-weight:600;color:var(--jp-ui-font-color1,inherit)'>"
        f"{esc(title)}</div><table style='{_TABLE}'>{body}</table>{extra}</div>"
    )
