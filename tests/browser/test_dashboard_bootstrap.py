"""The dashboard's Bootstrap page in headless Chromium against a real ``ng.serve`` (auth on): a
small embeddings file picked in the page is uploaded (with a progress bar) and bootstrapped,
the report shows and the words are in the runtime; a cancel before the bootstrap's commit point
leaves the runtime unchanged; a bad file shows the line that is wrong.

The tests use a server of their own (a bootstrap rewrites the runtime the shared ``dash_server``
serves to other tests)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from _dash import TIMEOUT_MS, DashServer, assert_clean, link_login, make_runtime, new_page, screenshot

from neurograph_lab import _core
from neurograph_lab.datasets import planted_embeddings, write_vec


@pytest.fixture(scope="module")
def boot_server() -> Iterator[DashServer]:
    state = Path(tempfile.mkdtemp(prefix="ng-dash-boot-"))
    ds = DashServer.start(make_runtime(60, seed=2), state / "state")
    try:
        yield ds
    finally:
        _core._pause_next_bootstrap_job(None)
        ds.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def boot_page(browser: Any, boot_server: DashServer) -> Iterator[Any]:
    page = new_page(browser)
    try:
        link_login(page, boot_server)
        page.click("[data-page-link='bootstrap']")
        page.wait_for_selector("[data-page='bootstrap'] [data-bootstrap-form]", timeout=TIMEOUT_MS)
        yield page
        assert_clean(page)
    finally:
        _core._pause_next_bootstrap_job(None)
        page.context.close()


@pytest.fixture
def vec_file(tmp_path: Path) -> tuple[Path, list[str]]:
    words, vectors = planted_embeddings(words_per_cluster=30, dim=32)
    path = tmp_path / "planted.vec"
    write_vec(path, words, vectors)
    return path, words


def pick_and_start(page: Any, path: Path, replace: bool = True, skip: bool = False) -> None:
    page.set_input_files("input[data-file]", str(path))
    if replace:
        page.check("[data-bootstrap-form] input[type=checkbox] >> nth=0")
    if skip:
        page.check("[data-bootstrap-form] input[type=checkbox] >> nth=1")
    page.click("button[data-start]")


def wait_state(page: Any, state: str) -> None:
    page.wait_for_selector(f"[data-job][data-state='{state}']", timeout=TIMEOUT_MS)


def test_upload_with_progress_and_report(boot_page, boot_server, vec_file):
    page, rt = boot_page, boot_server.rt
    path, words = vec_file
    n0 = len(rt.tokens)
    pick_and_start(page, path)
    wait_state(page, "done")
    seen = page.get_attribute("[data-job]", "data-seen").split()
    assert seen[0] == "uploading" and seen[-1] == "done", seen
    # the progress bar ends full and says what was done
    bar = page.query_selector("progress[data-progress]")
    assert float(bar.get_attribute("value")) == float(bar.get_attribute("max"))
    assert f"{len(words)} words" in page.inner_text("[data-progress-label]")
    # the report
    assert page.inner_text("[data-report-words]").replace(",", "") == str(len(words))
    assert int(page.inner_text("[data-report-connections]").replace(",", "")) > 0
    info = rt.bootstrap_info()
    assert info is not None and info["words"] == len(words)
    assert len(rt.tokens) == n0 + len(words)
    # the recent jobs list shows it
    page.wait_for_selector("[data-table='bootstrap-jobs'] td:text('done')", timeout=TIMEOUT_MS)
    screenshot(page, "bootstrap-report", "light")


def test_cancel_before_the_commit_point_leaves_the_runtime_unchanged(boot_page, boot_server, vec_file):
    page, rt = boot_page, boot_server.rt
    path, _ = vec_file
    n0 = len(rt.tokens)
    info0 = rt.bootstrap_info()
    _core._pause_next_bootstrap_job(1)  # the bootstrap waits after its first unit of work
    pick_and_start(page, path)
    wait_state(page, "bootstrapping")
    page.wait_for_selector("button[data-cancel]:not([disabled])", timeout=TIMEOUT_MS)
    page.click("button[data-cancel]")
    wait_state(page, "cancelled")
    assert "unchanged" in page.inner_text("[data-job-cancelled]")
    assert len(rt.tokens) == n0
    assert rt.bootstrap_info() == info0
    screenshot(page, "bootstrap-cancelled", "light")


def test_a_bad_line_is_shown_with_its_number(boot_page, boot_server, tmp_path):
    page, rt = boot_page, boot_server.rt
    n0 = len(rt.tokens)
    path = tmp_path / "broken.vec"
    path.write_text("3 2\na 0.1 0.2\nb 0.3 nope\nc 0.5 0.6\n", encoding="utf-8")
    pick_and_start(page, path)
    wait_state(page, "failed")
    msg = page.inner_text("[data-job-error]")
    assert re.search(r"broken\.vec: line 3", msg), msg
    assert len(rt.tokens) == n0


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_page_renders_in_both_themes(browser, boot_server, theme):
    page = new_page(browser, theme)
    try:
        link_login(page, boot_server)
        page.click("[data-page-link='bootstrap']")
        page.wait_for_selector("[data-page='bootstrap'] [data-table='bootstrap-jobs']", timeout=TIMEOUT_MS)
        screenshot(page, "bootstrap", theme)
        assert_clean(page)
    finally:
        page.context.close()
