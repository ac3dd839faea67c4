"""Browser-test fixtures: one JupyterLab server and one headless Chromium per session.

- ``jupyter_server`` (session): JupyterLab from this interpreter on 127.0.0.1:<free port> with a
  random token, rooted in a tmp copy of ``tutorials/`` (write extra notebooks there with
  ``lab.write_notebook(jupyter_server.root_dir, ...)``). Its Jupyter config/data/runtime, lab
  settings and workspaces live in tmp dirs, so the developer's ~/.jupyter is neither read nor
  written; the ``python3`` kernel is this interpreter. Yields a ``lab.LabServer``
  (``url, token, root_dir = jupyter_server`` also works).
- ``browser`` (session): Playwright driving Debian's /usr/bin/chromium (never a downloaded one),
  headless, WebGL through SwiftShader. Skipped when Chromium or playwright is missing, unless the
  environment variable ``CI`` is set: then it is an error.
- ``page`` (function): a fresh browser context/page; every request that is not to
  127.0.0.1/localhost is aborted and recorded. ``page_log`` holds console errors, page errors,
  aborted and (should be none) successful external requests. On failure a screenshot goes to
  ``test-artifacts/``; at teardown the kernels the test started are shut down.

Environment knobs: ``NG_CHROMIUM`` (browser binary, default /usr/bin/chromium),
``NG_HEADED=1`` (show the browser, needs a display), ``NG_LAB_LOG=1`` (print the server log).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _lab as lab  # noqa: E402
import labserver  # noqa: E402
from _dash import dash_page, dash_readonly_page, dash_server  # noqa: E402, F401  (dashboard fixtures)
from labserver import CHROMIUM, _http_json  # noqa: E402

IN_CI = bool(os.environ.get("CI"))


# ----------------------------------------------------------------------------- server


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory) -> Iterator[lab.LabServer]:
    with labserver.serve(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


# ----------------------------------------------------------------------------- browser


def _missing_browser_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is not installed (pip install -e '.[test]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set NG_CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _missing_browser_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = labserver.launch_chromium(pw)
        try:
            yield b
        finally:
            b.close()


def _is_local(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def _page_and_log(browser, jupyter_server, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    context.set_default_timeout(30_000)
    log = lab.PageLog()

    def route(r):
        if _is_local(r.request.url):
            r.continue_()
        else:
            log.blocked_requests.append(r.request.url)
            r.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    page.on(
        "requestfinished",
        lambda r: (not _is_local(r.url)) and log.external_succeeded.append(r.url),
    )
    try:
        yield page, log
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                lab.screenshot(page, f"FAILED-{request.node.name}", full_page=True)
            except Exception:
                pass
        context.close()
        _shutdown_sessions(jupyter_server)


def _shutdown_sessions(server: lab.LabServer) -> None:
    try:
        for s in _http_json(server.api(f"api/sessions?token={server.token}")) or []:
            _http_json(server.api(f"api/sessions/{s['id']}?token={server.token}"), method="DELETE", timeout=15)
    except Exception:
        pass


@pytest.fixture
def page(_page_and_log):
    return _page_and_log[0]


@pytest.fixture
def page_log(_page_and_log) -> lab.PageLog:
    return _page_and_log[1]


@pytest.fixture(scope="session")
def lab_root(jupyter_server) -> Path:
    """The server's root dir (a tmp copy of tutorials/); notebooks written here can be opened."""
    return jupyter_server.root_dir
