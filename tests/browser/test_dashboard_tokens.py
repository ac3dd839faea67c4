"""The dashboard's tokens page in headless Chromium against a real ``ng.serve`` (auth on): the
virtualized table pages, sorts by a header click and filters with ``%ng_tokens --where``
expressions (a bad one shows where it went wrong); label search opens a token's card with its 8
spaces and its connections (a neighbour opens its card); a writer creates, edits and deletes; a
token created in the notebook shows without reload; a read-only login sees no write control;
the grid's selection opens as exactly those rows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _dash import TIMEOUT_MS, screenshot

ROWS = ".tokens-list [data-id]"


def open_tokens(page: Any, params: str = "") -> None:
    """Go to the tokens page (through the hash route) and wait for its first rows or its
    empty note."""
    page.evaluate("p => { location.hash = '#/tokens' + p }", params)
    page.wait_for_selector("[data-page='tokens'] .tokens-count[data-count]:not([data-count=''])", timeout=TIMEOUT_MS)


def count(page: Any) -> int:
    return int(page.get_attribute(".tokens-count", "data-count") or "-1")


def wait_count(page: Any, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('.tokens-count')?.dataset.count === String(n)", arg=n, timeout=TIMEOUT_MS
    )


def row_ids(page: Any) -> list[int]:
    """Ids of the rows in the DOM, top to bottom."""
    return [int(x) for x in page.eval_on_selector_all(ROWS, "els => els.map(e => e.dataset.id)")]


def apply_filter(page: Any, text: str) -> None:
    page.fill("input[name=where]", text)
    page.press("input[name=where]", "Enter")


def test_the_table_pages_sorts_and_filters_like_pandas(dash_page, dash_server):
    page = dash_page()
    open_tokens(page)
    df = dash_server.rt.tokens.to_pandas()
    wait_count(page, len(df))
    page.wait_for_selector(ROWS)
    assert row_ids(page)[:5] == df.index[:5].tolist()
    # Scrolling to the end loads the next pages (keyset) until the last token is drawn;
    # virtualized: however many rows are loaded, only about a screenful is in the DOM.
    page.wait_for_function(
        """last => {
            const el = document.querySelector('.tokens-list');
            el.scrollTop = el.scrollHeight;
            return [...el.querySelectorAll('[data-id]')].some(e => e.dataset.id === String(last));
        }""",
        arg=int(df.index[-1]),
        timeout=TIMEOUT_MS,
    )
    assert len(row_ids(page)) < 100 < len(df)

    # Sort by label, descending (two clicks on the header).
    page.click("[data-sort='label']")
    page.wait_for_selector("[data-dir='ascending'] [data-sort='label']")
    page.click("[data-sort='label']")
    page.wait_for_selector("[data-dir='descending'] [data-sort='label']")
    want = df.reset_index().sort_values(["label", "id"], ascending=False)["id"].tolist()
    page.wait_for_function(
        "first => document.querySelector('.tokens-list [data-id]')?.dataset.id === String(first)",
        arg=want[0],
        timeout=TIMEOUT_MS,
    )
    assert row_ids(page)[:10] == want[:10]

    expr = "label.str.startswith('w1') and id > 20"
    apply_filter(page, expr)
    wait_count(page, len(df.query(expr)))
    got = row_ids(page)
    assert set(got) <= set(df.query(expr).index.tolist())

    # A bad expression: the server's 400 names the position, shown under the text.
    apply_filter(page, "weight >> 1")
    page.wait_for_selector(".tokens-filter-error")
    assert page.get_attribute(".tokens-filter-error", "data-position") == "8"
    assert "position 8" in page.inner_text(".tokens-filter-error")
    page.ng_log.console_errors[:] = [m for m in page.ng_log.console_errors if "400" not in m]
    apply_filter(page, "")
    wait_count(page, len(df))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_label_search_opens_a_card_with_spaces_and_connections(dash_page, dash_server, theme):
    page = dash_page(theme)
    open_tokens(page)
    rt = dash_server.rt
    conns = rt.connections.to_pandas()
    a, b = int(conns.iloc[0]["token_a"]), int(conns.iloc[0]["token_b"])
    label_a = rt.tokens[a].label
    page.fill("input[name=label-search]", label_a)
    page.wait_for_selector(f".label-hits [data-hit='{a}']")
    page.click(f".label-hits [data-hit='{a}']")
    page.wait_for_selector(f".token-card[aria-label^='Token {a}'] [data-space='abstract']")
    assert page.locator(".token-card [data-space]").count() == 8
    page.wait_for_selector(f".token-card [data-neighbor='{b}']")
    screenshot(page, "tokens-card", theme)
    page.click(f".token-card [data-neighbor='{b}']")
    page.wait_for_selector(f".token-card[aria-label^='Token {b}']")
    page.wait_for_selector(f".token-card [data-neighbor='{a}']")


def test_a_writer_creates_edits_and_deletes_a_token(dash_page, dash_server):
    rt = dash_server.rt
    page = dash_page()
    open_tokens(page)
    page.click("button[data-write]:has-text('New token')")
    page.fill(".token-form input[name=label]", "made-in-browser")
    page.fill(".token-form input[name=weight]", "0.25")
    page.fill(".token-form input[name=space-cognitive]", "0.1, 0.2, 0.3")
    page.click(".token-form button[type=submit]")
    page.wait_for_selector(".token-card[aria-label*='made-in-browser']")
    ids = rt.tokens.find("made-in-browser")
    assert len(ids) == 1
    tid = int(ids[0])
    t = rt.tokens[tid]
    assert abs(t.weight - 0.25) < 1e-6
    assert abs(t.coords["cognitive"][1] - 0.2) < 1e-3

    page.click(".token-card button[data-write]:has-text('Edit')")
    page.fill(".token-form input[name=weight]", "0.75")
    page.fill(".token-form input[name=space-cognitive]", "")
    page.click(".token-form button[type=submit]")
    page.wait_for_function(
        "id => { const c = document.querySelector('.token-card'); return c && !c.querySelector('form') && "
        "c.querySelector(\"[data-space='cognitive'] td.muted\") }",
        arg=tid,
        timeout=TIMEOUT_MS,
    )
    assert abs(rt.tokens[tid].weight - 0.75) < 1e-6
    page.on("dialog", lambda d: d.accept())
    page.click(".token-card button[data-write]:has-text('Delete')")
    page.wait_for_selector(".token-card", state="detached")
    assert len(rt.tokens.find("made-in-browser")) == 0


def test_a_live_refresh_during_a_delete_does_not_fetch_the_deleted_token(dash_page, dash_server):
    # The server has deleted the token and its answer to the DELETE is still on the way: the
    # delete's own live event refreshes the table meanwhile. The card must not fetch the token
    # then (a 404 that Chromium logs as a console error, and a "no longer exists" flash).
    rt = dash_server.rt
    tid = rt.tokens.create(label="deleted-while-live", cognitive=(0.3, 0.3, 0.3))
    page = dash_page()
    open_tokens(page)
    apply_filter(page, "label == 'deleted-while-live'")
    wait_count(page, 1)
    page.click(f"{ROWS}[data-id='{tid}']")
    page.wait_for_selector(".token-card [data-space]", timeout=TIMEOUT_MS)
    held: list[tuple[Any, Any]] = []

    def hold_delete(route: Any) -> None:
        if route.request.method != "DELETE":
            route.continue_()
            return
        held.append((route, route.fetch()))  # the server deletes; the page waits for the answer

    page.route(f"**/tokens/{tid}", hold_delete)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if r.method == "GET" and f"/tokens/{tid}" in r.url else None)
    page.on("dialog", lambda d: d.accept())
    page.click(".token-card button[data-write]:has-text('Delete')")
    wait_count(page, 0)  # the live refresh after the server's delete has landed
    assert len(held) == 1 and len(rt.tokens.find("deleted-while-live")) == 0
    # let the page run the effects of that refresh (preact runs them on the next frame)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
    route, response = held[0]
    route.fulfill(response=response)
    page.wait_for_selector(".token-card", state="detached", timeout=TIMEOUT_MS)
    assert fetched == []


def test_a_token_created_in_the_notebook_shows_without_reload(dash_page, dash_server):
    rt = dash_server.rt
    page = dash_page()
    open_tokens(page)
    apply_filter(page, "label == 'fresh-from-the-notebook'")
    wait_count(page, 0)
    tid = rt.tokens.create(label="fresh-from-the-notebook", cognitive=(0.1, 0.1, 0.1))
    try:
        page.wait_for_selector(f"{ROWS}[data-id='{tid}']", timeout=TIMEOUT_MS)
        wait_count(page, 1)
    finally:
        rt.tokens.delete(tid)
    page.wait_for_selector(f"{ROWS}[data-id='{tid}']", state="detached", timeout=TIMEOUT_MS)


def test_a_readonly_login_sees_no_write_control(dash_readonly_page, dash_server):
    page = dash_readonly_page()
    open_tokens(page)
    page.wait_for_selector(ROWS)
    page.click(f"{ROWS} >> nth=0")
    page.wait_for_selector(".token-card [data-space]")
    assert page.locator("[data-write]").count() == 0


def test_the_grid_selection_opens_as_exactly_those_rows(dash_page, dash_server):
    page = dash_page()
    df = dash_server.rt.tokens.to_pandas()
    pick = df.index[3:40:3].tolist()
    page.evaluate("ids => sessionStorage.setItem('ng.dashboard.selection', ids)", json.dumps(pick))
    open_tokens(page, "?selection=1")
    wait_count(page, len(pick))
    page.wait_for_selector(ROWS)
    assert row_ids(page) == sorted(pick)
    assert page.locator(".tokens-selection").count() == 1
    page.click(".tokens-selection button")
    wait_count(page, len(df))
