"""The release wheel and the sdist: what they carry, and that they work without a toolchain.

``make test-wheel`` builds ``dist/`` first (``make wheel``) and runs this file; run alone, the
tests build ``dist/`` with ``make wheel`` when the current version's wheel is missing. The fresh
venv and the sdist build reach PyPI for their dependencies (pip's cache makes that quick).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
# The crate's version (the first `version =` of core_rs/Cargo.toml, in its [package] table)
VERSION = re.search(r'^version = "([^"]+)"$', (ROOT / "core_rs" / "Cargo.toml").read_text(), flags=re.M)[1]
WHEEL_TAG = "cp310-abi3-manylinux_2_28_x86_64"
WHEEL_NAME = f"neurograph_lab-{VERSION}-{WHEEL_TAG}.whl"
SDIST_NAME = f"neurograph_lab-{VERSION}.tar.gz"
TOOLCHAIN = ("cargo", "rustc", "node", "npm")

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.uname().machine != "x86_64",
    reason="the wheel built here is manylinux x86_64",
)


@pytest.fixture(scope="module")
def dist() -> Path:
    """``dist/`` holding this version's wheel and sdist (built by ``make wheel`` if missing)."""
    if not (DIST / WHEEL_NAME).exists() or not (DIST / SDIST_NAME).exists():
        subprocess.run(["make", "wheel"], cwd=ROOT, check=True, timeout=1800)
    return DIST


@pytest.fixture(scope="module")
def wheel_names(dist: Path) -> list[str]:
    return zipfile.ZipFile(dist / WHEEL_NAME).namelist()


def test_dist_holds_one_wheel_and_one_sdist_of_this_version(dist):
    built = sorted(p.name for p in dist.glob("neurograph_lab-*"))
    assert built == sorted([WHEEL_NAME, SDIST_NAME])


def test_wheel_tags_say_abi3_and_manylinux_2_28(dist):
    wheel_file = zipfile.ZipFile(dist / WHEEL_NAME).read(f"neurograph_lab-{VERSION}.dist-info/WHEEL").decode()
    tags = re.findall(r"^Tag: (.+)$", wheel_file, flags=re.M)
    assert tags == [WHEEL_TAG]
    assert re.search(r"^Root-Is-Purelib: false$", wheel_file, flags=re.M)


def test_extension_needs_no_glibc_newer_than_2_28(dist, tmp_path):
    """auditwheel reads the extension's ELF symbol versions, independently of maturin's check."""
    out = subprocess.run(
        [sys.executable, "-m", "auditwheel", "show", str(dist / WHEEL_NAME)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    text = " ".join(out.split())
    found = re.search(r'consistent with the following platform tag: "manylinux_2_(\d+)_x86_64"', text)
    assert found, out
    assert int(found.group(1)) <= 28, out


def test_wheel_contents(wheel_names):
    names = set(wheel_names)
    assert "neurograph_lab/_core.abi3.so" in names, sorted(names)
    expected = {
        "neurograph_lab/__init__.py",
        "neurograph_lab/py.typed",
        "neurograph_lab/_core.pyi",
        "neurograph_lab/widgets/standalone.html",
        f"neurograph_lab-{VERSION}.dist-info/entry_points.txt",
    }
    package = ROOT / "neurograph_lab"
    for pattern in ["*.py", "widgets/*.py", "static/*.js", "static/dashboard/*"]:
        files = [p for p in package.glob(pattern) if p.is_file()]
        assert files, pattern
        expected |= {f"neurograph_lab/{p.relative_to(package).as_posix()}" for p in files}
    assert expected <= names, sorted(expected - names)
    assert any(re.fullmatch(rf"neurograph_lab-{VERSION}\.dist-info/(licenses/)?LICENSE", n) for n in names)
    assert not any(n.startswith(("tests/", "target/", "core_rs/", "extension/")) for n in names)
    assert not any("node_modules" in n or "__pycache__" in n for n in names)


def test_version_is_single_sourced(dist):
    """The crate's version is the package's: wheel metadata, sdist, ``__version__``, the changelog."""
    import neurograph_lab

    cargo = (ROOT / "core_rs" / "Cargo.toml").read_text()
    assert cargo.index("[package]") < cargo.index(f'version = "{VERSION}"') < cargo.index("[lib]")
    project = (ROOT / "pyproject.toml").read_text().split("[project]")[1].split("\n[")[0]
    assert 'dynamic = ["version"]' in project and not re.search(r"^version\s*=", project, flags=re.M)
    metadata = zipfile.ZipFile(dist / WHEEL_NAME).read(f"neurograph_lab-{VERSION}.dist-info/METADATA").decode()
    assert re.search(rf"^Version: {re.escape(VERSION)}$", metadata, flags=re.M)
    assert re.search(r"^Requires-Python: >=3\.10$", metadata, flags=re.M)
    assert neurograph_lab.__version__ == VERSION
    # the installed extension is the abi3 build (an older per-version build would shadow it)
    assert neurograph_lab._core.__file__.endswith(".abi3.so"), neurograph_lab._core.__file__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog or f"## [{VERSION}]" in changelog


def test_sdist_contents(dist):
    with tarfile.open(dist / SDIST_NAME) as tar:
        names = tar.getnames()
    prefix = f"neurograph_lab-{VERSION}/"
    assert all(n.startswith(prefix) for n in names)
    for path in [
        "pyproject.toml",
        "Cargo.toml",
        "Cargo.lock",
        "LICENSE",
        "README.md",
        "core_rs/Cargo.toml",
        "core_rs/src/lib.rs",
        "core_rs/src/python/mod.rs",
        "neurograph_lab/py.typed",
        "neurograph_lab/_core.pyi",
        "neurograph_lab/__init__.py",
        "neurograph_lab/static/grid.js",
        "neurograph_lab/static/dashboard/app.js",
        "neurograph_lab/static/dashboard/index.html",
        "neurograph_lab/widgets/standalone.html",
    ]:
        assert prefix + path in names, path
    assert not any("/target/" in n or "node_modules" in n for n in names)


def _path_without(tools: tuple[str, ...], shim: Path) -> str:
    """The current PATH without ``tools`` (and rustup, npx, corepack) or any virtualenv's ``bin``.

    Every other program stays reachable through symlinks in ``shim``, first one on PATH wins.
    """
    shim.mkdir()
    banned = {*tools, "rustup", "npx", "corepack"}
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        folder = Path(entry)
        if not folder.is_dir() or (folder.parent / "pyvenv.cfg").exists():
            continue
        for program in folder.iterdir():
            link = shim / program.name
            if program.name in banned or link.exists() or link.is_symlink():
                continue
            if program.is_file() and os.access(program, os.X_OK):
                link.symlink_to(program)
    return str(shim)


# Runs inside the fresh venv, from a folder outside the source tree.
_RUNNER = r"""
import importlib, json, pkgutil, shutil, sys
from pathlib import Path

import nbclient, nbformat

report = {"which": {t: shutil.which(t) for t in sys.argv[3].split(",")}}
import neurograph_lab

report["file"] = neurograph_lab.__file__
report["version"] = neurograph_lab.__version__
modules = ["neurograph_lab"]
for info in pkgutil.walk_packages(neurograph_lab.__path__, "neurograph_lab."):
    if info.name != "neurograph_lab.__main__":  # running it is the CLI (checked apart)
        importlib.import_module(info.name)
        modules.append(info.name)
report["modules"] = modules
report["module_files"] = sorted({str(Path(sys.modules[m].__file__).resolve()) for m in modules})

nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import sys, neurograph_lab\nprint(sys.executable)\nprint(neurograph_lab.__file__)"))
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
report["cells"] = sum(c.cell_type == "code" for c in nb.cells)
report["kernel_said"] = nb.cells[-1].outputs[0]["text"].split()
print(json.dumps(report))
"""


def test_wheel_runs_tutorial_01_in_a_fresh_venv_without_toolchain(dist, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    clean_path = os.pathsep.join([str(env_dir / "bin"), _path_without(TOOLCHAIN, tmp_path / "bin")])
    home = tmp_path / "home"
    home.mkdir()
    # Nothing of the developer's environment leaks in: no PYTHONPATH, no user site, no user
    # Jupyter kernels (HOME is empty), no cargo/rustc/node/npm.
    env = {"PATH": clean_path, "HOME": str(home), "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1"}
    # pip's cache and configuration stay the developer's, so dependencies come from the cache.
    pip_env = {**env, "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))}
    pip_env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.endswith("_PROXY")})
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--progress-bar", "off"]
    wheel = dist / WHEEL_NAME
    subprocess.run([*pip, str(wheel), "nbclient>=0.10", "ipykernel>=6.29", "nbformat>=5.9"], env=pip_env, check=True)

    work = tmp_path / "work"
    work.mkdir()
    notebook = shutil.copy(ROOT / "tutorials" / "01_quickstart.ipynb", work)
    (work / "runner.py").write_text(_RUNNER)
    run = subprocess.run(
        [str(python), "runner.py", str(notebook), str(work), ",".join(TOOLCHAIN)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])

    assert report["which"] == dict.fromkeys(TOOLCHAIN)
    site = env_dir.resolve()
    assert Path(report["file"]).resolve().is_relative_to(site), report["file"]
    assert all(Path(f).is_relative_to(site) for f in report["module_files"]), report["module_files"]
    assert report["version"] == VERSION
    source = ROOT / "neurograph_lab"
    public = {
        "neurograph_lab." + p.relative_to(source).with_suffix("").as_posix().replace("/", ".")
        for p in source.rglob("*.py")
        if p.name != "__init__.py" and not any(part.startswith("_") for part in p.relative_to(source).parts)
    }
    assert public <= set(report["modules"]), sorted(public - set(report["modules"]))
    assert report["cells"] > 10
    kernel_python, kernel_package = report["kernel_said"]
    assert Path(kernel_python).parent == env_dir / "bin"
    assert Path(kernel_package).resolve().is_relative_to(site)

    cli = subprocess.run([str(env_dir / "bin" / "neurograph-lab"), "--help"], env=env, capture_output=True, text=True)
    assert cli.returncode == 0 and "serve" in cli.stdout, cli.stdout + cli.stderr


def _other_cpythons() -> list[Path]:
    """The oldest CPython 3.10+ on this machine other than the running one (the abi3 floor is the
    likeliest to break; the release workflow also smoke-tests the newest).

    Looked for on PATH (``python3.N``) and among pyenv's versions.
    """
    found: dict[int, Path] = {}
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for minor in range(10, 20):
        if minor == sys.version_info.minor:
            continue
        candidates = [shutil.which(f"python3.{minor}"), *sorted(pyenv.glob(f"3.{minor}.*/bin/python3.{minor}"))]
        for candidate in filter(None, candidates):
            # a pyenv shim on PATH may name a version that is not selected: ask the interpreter
            asked = subprocess.run(
                [str(candidate), "-c", "import sys; print(sys.version_info[1])"], capture_output=True, text=True
            )
            if asked.returncode == 0 and asked.stdout.strip() == str(minor):
                found.setdefault(minor, Path(candidate))
                break
    return [found[min(found)]] if found else []


_ABI3_SMOKE = """
import sys, numpy as np, neurograph_lab as ng
rt = ng.Runtime()
ids = rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (300, 8, 3)))
hits = rt.grid.neighbors(int(ids[0]), k=5, space="cognitive")
assert len(hits) == 5 and len(rt.tokens.to_pandas()) == 300
print(sys.version_info[:2], ng._core.__file__)
"""


@pytest.mark.parametrize("python", _other_cpythons() or [None], ids=lambda p: p.name if p else "none")
def test_the_same_wheel_runs_on_other_cpython_versions(dist, tmp_path, python):
    """abi3: the one wheel built against CPython 3.10's stable ABI imports and works on 3.10+."""
    if python is None:
        pytest.skip("no CPython 3.10+ other than the running one on this machine")
    env_dir = tmp_path / "venv"
    subprocess.run([str(python), "-m", "venv", str(env_dir)], check=True)
    env_python = str(env_dir / "bin" / "python")
    pip = [env_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(dist / WHEEL_NAME)], check=True, cwd=tmp_path)
    run = subprocess.run([env_python, "-c", _ABI3_SMOKE], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("_core.abi3.so"), run.stdout


def test_wheel_builds_from_the_sdist(dist, tmp_path):
    """pip builds a wheel from the sdist alone, in an isolated build environment (maturin from PyPI).

    The build shares cargo's target dir with the checkout, so crates.io dependencies already
    compiled there are reused; it uses cargo's dev profile because the release profile (thin LTO)
    would compile the crate a second time at release cost (the sdist's copy of the crate lives
    at another path, so cargo cannot reuse the release build of ``make wheel``). What this test
    checks (the sdist is complete and builds) does not depend on the profile.
    """
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    env = {**os.environ, "CARGO_TARGET_DIR": target, "MATURIN_PEP517_ARGS": "--profile=dev"}
    out = tmp_path / "wheels"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out)]
    subprocess.run([*cmd, str(dist / SDIST_NAME)], cwd=tmp_path, env=env, check=True, timeout=1800)
    (built,) = out.glob("neurograph_lab-*.whl")
    assert built.name.startswith(f"neurograph_lab-{VERSION}-cp310-abi3-")
    from_sdist = {n for n in zipfile.ZipFile(built).namelist() if "dist-info" not in n}
    release = {n for n in zipfile.ZipFile(dist / WHEEL_NAME).namelist() if "dist-info" not in n}
    assert from_sdist == release
