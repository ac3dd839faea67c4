"""The built wheel and sdist carry what a user needs (a missing include is silently dropped)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _maturin(*args: str, out: Path) -> Path:
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not available")
    cmd = [sys.executable, "-m", "maturin", *args, "--out", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=900)
    (built,) = list(out.iterdir())
    return built


def test_wheel_contents(tmp_path):
    wheel = _maturin("build", "--release", out=tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("neurograph_lab/_core") and n.endswith(".so") for n in names), names
    for required in [
        "neurograph_lab/__init__.py",
        "neurograph_lab/py.typed",
        "neurograph_lab/_core.pyi",
        "neurograph_lab/runtime.py",
        "neurograph_lab/errors.py",
        "neurograph_lab/static/grid.js",
        "neurograph_lab/static/graph.js",
        "neurograph_lab/widgets/__init__.py",
        "neurograph_lab/widgets/standalone.html",
    ]:
        assert required in names
    assert not any("tests/" in n or "target/" in n or "node_modules" in n for n in names)


def test_sdist_contents(tmp_path):
    sdist = _maturin("sdist", out=tmp_path)
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    for suffix in [
        "pyproject.toml",
        "Cargo.toml",
        "core_rs/Cargo.toml",
        "core_rs/src/lib.rs",
        "core_rs/src/python/mod.rs",
        "neurograph_lab/py.typed",
        "neurograph_lab/__init__.py",
        "neurograph_lab/static/grid.js",
        "neurograph_lab/static/dashboard/app.js",
        "neurograph_lab/static/dashboard/index.html",
        "neurograph_lab/widgets/standalone.html",
    ]:
        assert any(n.endswith(suffix) for n in names), suffix
