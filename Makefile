# neurograph_lab developer workflow. Every target sets up what it needs in .venv/.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8888
# JupyterLab refuses to run as root unless told to (containers and CI machines run as root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: dev test test-rust test-python test-notebooks lint format bench lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## dev: build the Rust extension (release) and install the package editable with its tools
dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[test,lab,dev,arrow]"

## test: everything CI runs
test: dev test-rust test-python test-notebooks

test-rust:
	cargo test --manifest-path core_rs/Cargo.toml --quiet

test-python:
	$(BIN)/python -m pytest tests

test-notebooks:
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with tutorials/sanitize.cfg tutorials -p no:randomly

lint: dev
	cargo fmt --manifest-path core_rs/Cargo.toml --check
	cargo clippy --manifest-path core_rs/Cargo.toml --all-targets --features python -- -D warnings
	$(BIN)/ruff check neurograph_lab tests bench
	$(BIN)/ruff format --check neurograph_lab tests bench
	$(BIN)/mypy neurograph_lab

format:
	cargo fmt --manifest-path core_rs/Cargo.toml
	$(BIN)/ruff format neurograph_lab tests bench

bench: dev
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[bench]"
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_grid_graph.py
	$(BIN)/python bench/bench_semantic.py

lab: dev
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --notebook-dir=tutorials $(ROOT_FLAG)

clean:
	rm -rf $(VENV) target
