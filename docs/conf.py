"""Sphinx configuration of the neurograph_lab documentation (``make docs``).

The reference pages are generated at build time from the code itself: the magics from their
argparse parsers, the ``%%ng_explore`` steps from the language's step table, the REST API from
the server's OpenAPI document and the Python API from the docstrings (``_ext/ng_docs/``). The
tutorials (and the notebooks in ``notebooks/``) are rendered from their stored outputs, the
ones nbval checks, never executed here.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))

from ng_docs import offline_plotly_outputs  # noqa: E402  (docs/_ext, put on the path above)

import neurograph_lab  # noqa: E402  (the installed package, with its compiled core)

project = "neurograph_lab"
author = "neurograph_lab contributors"
copyright = "neurograph_lab contributors, MIT licence"
release = neurograph_lab.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "ng_docs",
]

# -- the notebooks: copied next to the pages at each build (sources of truth stay in
# tutorials/ and notebooks/; the copies are ignored by git)
_GENERATED = HERE / "_generated"


def _copy_notebooks() -> None:
    for folder in ("tutorials", "notebooks"):
        target = _GENERATED / folder
        _GENERATED.mkdir(exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        src = ROOT / folder
        if not src.is_dir():
            continue
        target.mkdir(parents=True)
        for nb in sorted(src.glob("*.ipynb")):
            data = json.loads(nb.read_text(encoding="utf-8"))
            offline_plotly_outputs(data)  # figures drawn by the site's own plotly.js, no CDN
            # the live widgets' saved state (their code and data) is not used: the page shows
            # each explorer's stored summary instead
            data.get("metadata", {}).pop("widgets", None)
            (target / nb.name).write_text(json.dumps(data, indent=1), encoding="utf-8")
    # the notebooks page lists notebooks/ when the folder has any
    found = sorted((_GENERATED / "notebooks").glob("*.ipynb")) if (_GENERATED / "notebooks").is_dir() else []
    lines = [
        "# Notebooks",
        "",
        "Use cases on real data and the performance profiling notebook, from the repository's",
        "`notebooks/` folder, shown with their stored outputs.",
        "",
    ]
    if found:
        lines += ["```{toctree}", ":maxdepth: 1", ""] + [f"notebooks/{nb.stem}" for nb in found] + ["```", ""]
    else:
        lines += ["This checkout has no `notebooks/` folder.", ""]
    (_GENERATED / "notebooks.md").write_text("\n".join(lines), encoding="utf-8")


_copy_notebooks()

exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}

# myst-nb: render the stored outputs (the ones nbval compares), never execute
nb_execution_mode = "off"
# No page may need a CDN: the widgets' stored static fallback (text/html) is shown instead of
# the live widget view, and no ipywidgets/require.js loader is added to the page.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# autodoc: numpy-style docstrings through napoleon; type hints in the signatures
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
autodoc_preserve_defaults = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# an Attributes section as fields, so it does not clash with the properties autodoc documents
napoleon_use_ivar = True

intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

html_theme = "pydata_sphinx_theme"
html_title = f"neurograph_lab {release}"
html_static_path = ["_static"]
html_css_files = ["ng.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
# pages without sub-pages have no section navigation: no left sidebar there
html_sidebars: dict[str, list[str]] = {
    page: []
    for page in ("index", "getting-started", "concepts", "widgets", "magics", "explore", "rest-api", "changelog")
}
html_show_sourcelink = False
