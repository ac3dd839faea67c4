"""The dashboard's CDNA page in headless Chromium against a real ``ng.serve`` (auth on): a change
goes through the Guardian (a refusal shows its reason and the control snaps back), an edit made
against a stale ETag (the notebook changed the CDNA meanwhile) is shown as a conflict and not
applied, history and rollback, live updates from the notebook, and a read-only view.

The tests use a server of their own (CDNA changes would leak into the shared ``dash_server``)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from _dash import TIMEOUT_MS, DashServer, assert_clean, link_login, make_runtime, new_page, password_login, screenshot


@pytest.fixture(scope="module")
def cdna_server() -> Iterator[DashServer]:
    state = Path(tempfile.mkdtemp(prefix="ng-dash-cdna-"))
    ds = DashServer.start(make_runtime(200, seed=1), state / "state")
    try:
        yield ds
    finally:
        ds.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def cdna_page(browser: Any, cdna_server: DashServer) -> Iterator[Any]:
    """A fresh admin page (one-time link) showing the CDNA page; clean at the end."""
    page = new_page(browser)
    try:
        link_login(page, cdna_server)
        open_cdna(page)
        yield page
        assert_clean(page)
    finally:
        page.context.close()


def open_cdna(page: Any) -> None:
    page.click("[data-page-link='cdna']")
    page.wait_for_selector("[data-page='cdna'] [data-revision]", timeout=TIMEOUT_MS)


def revision(page: Any) -> int:
    return int(page.inner_text("[data-revision]"))


def wait_revision(page: Any, rev: int) -> None:
    page.wait_for_function(
        "r => Number(document.querySelector('[data-revision]')?.textContent) === r", arg=rev, timeout=TIMEOUT_MS
    )


def field_value(page: Any, name: str) -> str:
    return str(page.input_value(f"input[data-field='{name}']"))


def drop_expected(page: Any, pattern: str) -> None:
    """Forget console errors of requests the test makes fail on purpose."""
    page.ng_log.console_errors[:] = [m for m in page.ng_log.console_errors if not re.search(pattern, m)]


def test_a_guardian_refusal_shows_the_reason_and_the_control_snaps_back(cdna_page, cdna_server):
    page, rt = cdna_page, cdna_server.rt
    before = rt.cdna["token_weight_min"]
    rev = revision(page)
    shown = field_value(page, "token_weight_min")
    assert float(shown) == pytest.approx(before)
    page.fill("input[data-field='token_weight_min']", "2")
    page.press("input[data-field='token_weight_min']", "Enter")
    alert = page.wait_for_selector("[data-refusal]", timeout=TIMEOUT_MS)
    text = alert.inner_text()
    assert "Guardian refused token_weight_min = 2" in text, text
    assert "token_weight_min" in text and "2" in text
    # the control shows the stored value again; nothing changed
    page.wait_for_function(
        "v => Number(document.querySelector(\"input[data-field='token_weight_min']\").value) === v",
        arg=float(shown),
        timeout=TIMEOUT_MS,
    )
    assert rt.cdna["token_weight_min"] == before
    assert revision(page) == rev
    screenshot(page, "cdna-refused", "light")
    drop_expected(page, r"status of 422")


def test_an_edit_against_a_stale_etag_is_a_conflict_not_an_overwrite(cdna_page, cdna_server):
    page, rt = cdna_page, cdna_server.rt
    rev = revision(page)
    # the user starts typing a new degree limit...
    page.fill("input[data-field='max_in_degree']", "321")
    # ...while the notebook changes the same field; the page sees it live
    rt.cdna.update(max_in_degree=777)
    wait_revision(page, rev + 1)
    assert field_value(page, "max_in_degree") == "321", "what is being typed stays"
    page.press("input[data-field='max_in_degree']", "Enter")
    box = page.wait_for_selector("[data-conflict]", timeout=TIMEOUT_MS)
    assert "max_in_degree = 321" in box.inner_text()
    assert "was not applied" in box.inner_text()
    page.wait_for_function(
        "() => document.querySelector(\"input[data-field='max_in_degree']\").value === '777'", timeout=TIMEOUT_MS
    )
    assert rt.cdna["max_in_degree"] == 777, "the notebook's change was not overwritten"
    screenshot(page, "cdna-conflict", "light")
    # re-applying on top is an explicit choice
    page.click("[data-conflict] button[data-write]")
    page.wait_for_selector("[data-conflict]", state="detached", timeout=TIMEOUT_MS)
    wait_revision(page, rev + 2)
    assert rt.cdna["max_in_degree"] == 321
    drop_expected(page, r"status of 412")


def test_changes_history_and_rollback(cdna_page, cdna_server):
    page, rt = cdna_page, cdna_server.rt
    rev = revision(page)
    page.fill("input[data-field='scale.social']", "3.5")
    page.press("input[data-field='scale.social']", "Enter")
    wait_revision(page, rev + 1)
    page.select_option("select[data-field='profile']", "explorer")
    wait_revision(page, rev + 2)
    assert rt.cdna.profile == "explorer"
    # a flag from the page
    flag = "ENABLE_MUTATION"
    was = page.is_checked(f"input[data-flag='{flag}']")
    page.click(f"input[data-flag='{flag}']")
    wait_revision(page, rev + 3)
    assert page.is_checked(f"input[data-flag='{flag}']") != was
    # history lists the earlier versions; roll back the last two changes (profile + flag)
    page.wait_for_selector("[data-table='cdna-history'] [data-rollback='2']")
    page.click("[data-table='cdna-history'] [data-rollback='2']")
    wait_revision(page, rev + 4)
    assert rt.cdna.profile != "explorer"
    assert page.is_checked(f"input[data-flag='{flag}']") == was
    assert float(field_value(page, "scale.social")) == pytest.approx(3.5)
    # live: a notebook change shows without reload
    rt.cdna.update(max_out_degree=555)
    wait_revision(page, rev + 5)
    page.wait_for_function(
        "() => document.querySelector(\"input[data-field='max_out_degree']\").value === '555'", timeout=TIMEOUT_MS
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_page_renders_in_both_themes(browser, cdna_server, theme):
    page = new_page(browser, theme)
    try:
        link_login(page, cdna_server)
        open_cdna(page)
        assert page.locator("[data-write]").count() > 20
        screenshot(page, "cdna", theme)
        assert_clean(page)
    finally:
        page.context.close()


def test_a_readonly_user_sees_values_and_no_write_control(browser, cdna_server):
    pw = cdna_server.add_user("cdna-viewer", "readonly")
    page = new_page(browser)
    try:
        password_login(page, cdna_server, "cdna-viewer", pw)
        open_cdna(page)
        assert page.locator("[data-write]").count() == 0
        assert page.inner_text("output[data-field='max_out_degree']").strip() != ""
        assert page.locator("[data-table='cdna-history']").count() == 1
        assert_clean(page)
    finally:
        page.context.close()
