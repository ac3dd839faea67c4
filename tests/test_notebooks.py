"""The notebooks in notebooks/ are complete as stored: executed in order with their outputs (nbval
compares against those, the documentation shows them), no data fetched from the network, and
every cell whose output varies from run to run marked so nbval does not compare it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# calls that download at run time: scikit-learn's fetch_* loaders, gensim's downloader, URLs
DOWNLOADS = re.compile(r"\bfetch_\w+\(|gensim\.downloader|urlopen|urlretrieve|requests\.get|https?://")
# outputs that differ between runs: benchmark timings, machine facts (and plotly figures, below)
VARYING = re.compile(r"\b(machine_info|print_table|bench_\w+\.bench_\w+)\b")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _code(path: Path) -> list[tuple[str, dict]]:
    return [("".join(c["source"]), c) for c in _cells(path) if c["cell_type"] == "code"]


def test_there_are_use_cases_and_the_performance_notebook():
    names = {p.stem for p in NOTEBOOKS}
    assert "performance" in names
    assert len(names - {"performance"}) >= 3, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_from_one_clean_run(path):
    counts = [c.get("execution_count") for _, c in _code(path)]
    assert all(isinstance(n, int) for n in counts), f"{path.name}: a code cell was never run"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: cells ran out of order: {counts}"
    for source, cell in _code(path):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        assert not errors, f"{path.name}: stored error in\n{source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_download_at_run_time(path):
    for source, _ in _code(path):
        assert not DOWNLOADS.search(source), f"{path.name}: downloads data:\n{source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_varying_outputs_are_not_compared(path):
    for source, cell in _code(path):
        data = [k for o in cell.get("outputs", []) for k in o.get("data", {})]
        varies = VARYING.search(source) or "application/vnd.plotly.v1+json" in data
        if varies and cell.get("outputs"):
            assert "# NBVAL_IGNORE_OUTPUT" in source, f"{path.name}: output varies but is compared:\n{source}"
