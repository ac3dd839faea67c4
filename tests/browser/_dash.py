"""Browser-test fixtures for the web dashboard (served by ``ng.serve`` at ``/``).

- ``dash_server`` (session): a ``ng.Runtime`` with a few hundred tokens and connections served
  by ``ng.serve(rt, state_dir=tmp)`` on 127.0.0.1:<free port> (auth on, rate limits lifted).
  Yields a ``DashServer``: ``.rt``, ``.srv``, ``.url``, ``.login_url()`` (a fresh one-time link
  for the notebook's admin), ``.admin_key``, ``.add_user(name, role)`` (-> password),
  ``.restart()`` (same port and state directory: browser sessions stay valid).
- ``dash_page(theme="light")`` (function, a factory): a new browser context logged in through a
  one-time link, showing the overview. Every request not to 127.0.0.1/localhost is aborted;
  console errors and page errors are collected (``page.ng_log``, a ``lab.PageLog``) and must be
  empty at teardown (a test that expects some clears them).
- ``dash_readonly_page(theme="light")``: the same for a read-only user, logged in through the
  user + password form.

``screenshot(page, name, theme)`` saves ``test-artifacts/dashboard-<name>-<theme>.png``.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urlsplit

import _lab as lab
import numpy as np
import pytest

import neurograph_lab as ng

FAST: dict[str, Any] = {role: (1e6, 1e6) for role in ("readonly", "user", "admin", "per_ip")}
FAST["login_per_minute"] = 100_000  # every test page logs in afresh
# Generous: a cold page with a first WebSocket round trip on a busy 2-core machine.
TIMEOUT_MS = 30_000
N_TOKENS = 300


def make_runtime(n: int = N_TOKENS, seed: int = 0) -> ng.Runtime:
    """A runtime with ``n`` labelled tokens and ``n // 2`` connections."""
    rt = ng.Runtime()
    rng = np.random.default_rng(seed)
    ids = rt.tokens.create_many(
        rng.uniform(-1, 1, (n, 8, 3)).astype(np.float32),
        labels=[f"w{i}" for i in range(n)],
        entities="concept",
    )
    half = n // 2
    rt.connections.create_many(ids[: half // 2], ids[half // 2 : half], kind="cause", strength=0.6)
    rt.connections.create_many(
        ids[half : half + half // 2], ids[half + half // 2 : 2 * half], kind="cause", strength=0.4
    )
    return rt


@dataclass
class DashServer:
    """A served runtime for dashboard tests (what ``dash_server`` yields)."""

    rt: ng.Runtime
    srv: Any
    state_dir: Path
    passwords: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, rt: ng.Runtime, state_dir: Path) -> DashServer:
        return cls(rt, ng.serve(rt, state_dir=state_dir, rate_limits=FAST), state_dir)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return str(self.srv.url)

    @property
    def admin_key(self) -> str:
        """The notebook admin's API key."""
        return str(self.srv.api_key)

    def login_url(self) -> str:
        """A fresh one-time login link (the notebook's admin)."""
        return str(self.srv.login_url)

    def add_user(self, name: str, role: str) -> str:
        """A user with a password (created once per server); returns the password."""
        if name not in self.passwords:
            pw = secrets.token_urlsafe(12)
            self.srv.users.add(name, role, password=pw)
            self.passwords[name] = pw
        return self.passwords[name]

    def restart(self) -> None:
        """Stop and serve again on the same port and state directory (users, keys and the
        JWT signing key persist there, so a browser's session cookie stays valid)."""
        port = self.srv.port
        self.srv.stop()
        self.srv = ng.serve(self.rt, port=port, state_dir=self.state_dir, rate_limits=FAST)

    def stop(self) -> None:
        self.srv.stop()


@pytest.fixture(scope="session")
def dash_server() -> Iterator[DashServer]:
    state = Path(tempfile.mkdtemp(prefix="ng-dash-"))
    ds = DashServer.start(make_runtime(), state / "state")
    try:
        yield ds
    finally:
        ds.stop()
        shutil.rmtree(state, ignore_errors=True)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


def new_page(browser: Any, theme: str = "light", width: int = 1400, height: int = 1000) -> Any:
    """A fresh context + page in ``theme`` (prefers-color-scheme), with external requests aborted
    and errors collected in ``page.ng_log``."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=1, color_scheme=theme
    )
    context.set_default_timeout(TIMEOUT_MS)
    log = lab.PageLog()

    def route(r: Any) -> None:
        if is_local(r.request.url):
            r.continue_()
        else:
            log.blocked_requests.append(r.request.url)
            r.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    page.on("requestfinished", lambda r: (not is_local(r.url)) and log.external_succeeded.append(r.url))
    page.ng_log = log
    page.ng_theme = theme
    return page


def wait_shell(page: Any, page_id: str = "overview") -> None:
    """Wait until the shell shows ``page_id`` and the live connection is open."""
    page.wait_for_selector(f"[data-page='{page_id}']", timeout=TIMEOUT_MS)
    page.wait_for_selector("[data-live='open']", timeout=TIMEOUT_MS)


def link_login(page: Any, ds: DashServer) -> None:
    """Open a fresh one-time link (the server sets the cookie and redirects to /)."""
    page.goto(ds.login_url(), wait_until="domcontentloaded")
    wait_shell(page)


def password_login(page: Any, ds: DashServer, name: str, password: str) -> None:
    """Log in through the dashboard's user + password form."""
    page.goto(ds.url + "/", wait_until="domcontentloaded")
    page.wait_for_selector("[data-page='login']")
    page.fill("input[name=user]", name)
    page.fill("input[name=password]", password)
    page.click("form:has(input[name=password]) button[type=submit]")
    wait_shell(page)


def assert_clean(page: Any) -> None:
    """No console error, no uncaught exception, no external request that succeeded."""
    log = page.ng_log
    assert not log.console_errors, log.console_errors
    assert not log.page_errors, log.page_errors
    assert not log.external_succeeded, log.external_succeeded


def screenshot(page: Any, name: str, theme: Optional[str] = None) -> Path:
    """``test-artifacts/dashboard-<name>-<theme>.png`` (the whole page)."""
    return lab.screenshot(page, f"dashboard-{name}-{theme or page.ng_theme}", full_page=True)


def _factory(browser: Any, request: Any, login: Callable[[Any], None]) -> Iterator[Callable[..., Any]]:
    pages: list[Any] = []

    def make(theme: str = "light", **kw: Any) -> Any:
        page = new_page(browser, theme, **kw)
        pages.append(page)
        login(page)
        return page

    try:
        yield make
    finally:
        rep = getattr(request.node, "rep_call", None)
        failed = rep is not None and rep.failed
        try:
            for i, page in enumerate(pages):
                if failed:
                    try:
                        lab.screenshot(page, f"FAILED-{request.node.name}-{i}", full_page=True)
                    except Exception:
                        pass
                else:
                    assert_clean(page)
        finally:
            for page in pages:
                page.context.close()


@pytest.fixture
def dash_page(browser: Any, dash_server: DashServer, request: Any) -> Iterator[Callable[..., Any]]:
    """``dash_page(theme="light")`` -> a page logged in as the notebook's admin."""
    yield from _factory(browser, request, lambda p: link_login(p, dash_server))


@pytest.fixture
def dash_readonly_page(browser: Any, dash_server: DashServer, request: Any) -> Iterator[Callable[..., Any]]:
    """``dash_readonly_page(theme="light")`` -> a page logged in as a read-only user."""
    pw = dash_server.add_user("viewer", "readonly")
    yield from _factory(browser, request, lambda p: password_login(p, dash_server, "viewer", pw))
