"""The dashboard shell in headless Chromium against a real ``ng.serve`` (auth on): login with
the one-time link and with user + password, logout, every registered page in light and dark
(no console error, a screenshot each), a read-only login without write controls (and a crafted
write refused with 403), a notebook write shown without reload, and a server restart survived
(the page reconnects and resyncs)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import numpy as np
import pytest
from _dash import TIMEOUT_MS, assert_clean, new_page, password_login, screenshot, wait_shell

TOKENS_ARE = (
    "n => document.querySelector(\"[data-metric='tokens'] .metric-value\").textContent === n.toLocaleString('en-US')"
)


def registered_pages(page: Any) -> list[str]:
    """Page ids of the nav (what the registry holds for this user)."""
    return page.eval_on_selector_all("[data-page-link]", "els => els.map(e => e.dataset.pageLink)")


def metric(page: Any, name: str) -> str:
    return page.inner_text(f"[data-metric='{name}'] .metric-value")


def drop_expected(page: Any, pattern: str) -> None:
    """Forget console errors matching ``pattern`` (requests a test makes fail on purpose)."""
    page.ng_log.console_errors[:] = [m for m in page.ng_log.console_errors if not re.search(pattern, m)]


def test_login_link_opens_the_overview_with_the_runtime_figures(dash_page, dash_server):
    page = dash_page()
    assert page.url.split("#")[0] == dash_server.url + "/"  # redirected from /login?token=
    assert "notebook" in page.inner_text("header .who")
    n = len(dash_server.rt.tokens)
    page.wait_for_function(
        TOKENS_ARE,
        arg=n,
        timeout=TIMEOUT_MS,
    )
    assert metric(page, "connections").replace(",", "") == str(len(dash_server.rt.connections))
    # the one-time link is spent
    r = httpx.get(dash_server.url + "/login", params={"token": "ngl_not-a-real-one"}, follow_redirects=False)
    assert r.status_code == 401


def test_password_login_a_wrong_password_and_logout(browser, dash_server):
    pw = dash_server.add_user("alice", "user")
    page = new_page(browser)
    try:
        page.goto(dash_server.url + "/", wait_until="domcontentloaded")
        page.wait_for_selector("[data-page='login']")
        page.fill("input[name=user]", "alice")
        page.fill("input[name=password]", pw + "x")
        page.click("form:has(input[name=password]) button[type=submit]")
        page.wait_for_selector("[role=alert]")
        assert "wrong" in page.inner_text("[role=alert]")
        drop_expected(page, r"status of 401")
        password_login(page, dash_server, "alice", pw)
        assert "alice" in page.inner_text("header .who")
        assert page.locator("[data-page-link='admin']").count() == 0  # not an admin
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["ng_session"]["httpOnly"]
        page.click("[data-logout]")
        page.wait_for_selector("[data-page='login']")
        status = page.evaluate("() => fetch('/api/v1/auth/session').then(r => r.json())")
        assert status == {"authenticated": False, "me": None}
        # the revoked cookie value does not work either
        r = httpx.get(dash_server.url + "/api/v1/auth/me", cookies={"ng_session": cookies["ng_session"]["value"]})
        assert r.status_code == 401
        assert_clean(page)
    finally:
        page.context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_registered_page_renders(dash_page, theme):
    page = dash_page(theme)
    assert page.evaluate("() => document.documentElement.dataset.theme") == theme
    bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    lum = sum(int(x) for x in re.findall(r"\d+", bg)[:3]) / 3
    assert (lum > 128) == (theme == "light"), bg
    # the --jp-* variables the shared WebGL views read follow the theme
    css = "v => getComputedStyle(document.documentElement).getPropertyValue(v).trim()"
    jp = page.evaluate(css, "--jp-layout-color0")
    assert jp and jp == page.evaluate(css, "--bg")
    ids = registered_pages(page)
    assert {"overview", "logs", "admin"} <= set(ids)
    for pid in ids:
        page.evaluate("id => { location.hash = '#/' + id; }", pid)
        page.wait_for_selector(f"[data-page='{pid}']")
        page.wait_for_selector(f"[data-page-link='{pid}'][aria-current='page']")
        page.wait_for_load_state("networkidle")
        screenshot(page, pid, theme)
        assert_clean(page)


def test_theme_toggle_persists(dash_page):
    page = dash_page("light")
    page.click("[data-theme-toggle]")
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    assert page.evaluate("() => document.body.getAttribute('data-jp-theme-light')") == "false"
    page.reload()
    wait_shell(page)
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"


def test_readonly_sees_no_write_control_and_a_crafted_write_gets_403(dash_readonly_page, dash_page):
    page = dash_readonly_page()
    assert "readonly" in page.inner_text("header .who")
    ids = registered_pages(page)
    assert "admin" not in ids and "overview" in ids
    for pid in ids:
        page.evaluate("id => { location.hash = '#/' + id; }", pid)
        page.wait_for_selector(f"[data-page='{pid}']")
        page.wait_for_load_state("networkidle")
        assert page.locator("[data-write]").count() == 0, pid
    status = page.evaluate(
        """() => fetch('/api/v1/tokens', {method: 'POST', headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({cognitive: [0.1, 0.2, 0.3], label: 'sneaky'})}).then(r => r.status)"""
    )
    assert status == 403
    drop_expected(page, r"status of 403")
    # the same check finds write controls where an admin has them (so it can fail)
    admin = dash_page()
    admin.evaluate("() => { location.hash = '#/admin'; }")
    admin.wait_for_selector("[data-page='admin'] [data-write]")


def test_a_notebook_write_shows_on_the_overview_without_reload(dash_page, dash_server):
    page = dash_page()
    page.evaluate("() => { window.__no_reload = 1; }")
    rt = dash_server.rt
    before = len(rt.tokens)
    page.wait_for_function(
        TOKENS_ARE,
        arg=before,
    )
    rt.tokens.create(cognitive=(0.1, 0.2, 0.3), label="from-the-notebook")
    page.wait_for_function(
        TOKENS_ARE,
        arg=before + 1,
        timeout=10_000,
    )
    assert page.evaluate("() => window.__no_reload") == 1
    # a batch from the notebook too
    rt.tokens.create_many(np.zeros((5, 8, 3), np.float32))
    page.wait_for_function(
        TOKENS_ARE,
        arg=before + 6,
        timeout=10_000,
    )


def test_the_page_survives_a_server_restart(dash_page, dash_server):
    page = dash_page()
    page.evaluate("() => { window.__no_reload = 1; }")
    epoch = page.evaluate("() => window.ngDashboard.live.epoch")
    resyncs = page.evaluate("() => window.ngDashboard.live.resyncs")
    port = dash_server.srv.port
    dash_server.srv.stop()
    page.wait_for_selector("[data-live='closed'], [data-live='connecting']")
    # the runtime changes while nobody serves it: only a resync can tell the page
    rt = dash_server.rt
    rt.tokens.create(cognitive=(0.4, 0.4, 0.4), label="while-down")
    n = len(rt.tokens)
    dash_server.restart()
    assert dash_server.srv.port == port
    page.wait_for_selector("[data-live='open']", timeout=TIMEOUT_MS)
    page.wait_for_function("e => window.ngDashboard.live.epoch !== e", arg=epoch)
    page.wait_for_function("r => window.ngDashboard.live.resyncs > r", arg=resyncs)
    page.wait_for_function(
        TOKENS_ARE,
        arg=n,
    )
    assert page.evaluate("() => window.__no_reload") == 1
    # still logged in (the session cookie outlives the restart) and the API answers
    assert "notebook" in page.inner_text("header .who")
    assert page.evaluate("() => fetch('/api/v1/status').then(r => r.status)") == 200
    drop_expected(page, r"WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource")


def test_assets_are_public_cached_and_the_api_is_not(dash_server):
    r = httpx.get(dash_server.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    js = httpx.get(dash_server.url + "/assets/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    again = httpx.get(dash_server.url + "/assets/app.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
    assert httpx.get(dash_server.url + "/assets/nope.js").status_code == 404
    assert httpx.get(dash_server.url + "/assets/../Cargo.toml").status_code == 404
    assert httpx.get(dash_server.url + "/api/v1/status").status_code == 401


def test_keyboard_navigation_and_phone_width(dash_page):
    page = dash_page("light", width=390, height=800)
    for _ in range(30):  # Tab through the header to the Logs link, then Enter
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.dataset.pageLink") == "logs":
            break
    else:
        raise AssertionError("the Logs link cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-page='logs']")
    for pid in registered_pages(page):
        page.evaluate("id => { location.hash = '#/' + id; }", pid)
        page.wait_for_selector(f"[data-page='{pid}']")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{pid} is {overflow}px wider than a phone screen"
        screenshot(page, f"{pid}-phone", "light")
