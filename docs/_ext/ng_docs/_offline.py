"""The site works offline: plotly from its own copy, and no page loading from another host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

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
