"""Core benchmarks for neurograph_lab, each against a numpy reference timed in the same run.

Every benchmark measures one of our operations and a numpy operation that moves the same
data, in the same process on the same machine, and reports ``ratio = ours / reference``.
Times are the best (minimum) of several repetitions: 5 for create_many, 3 for save/load
(each of the save/load operations, ours and numpy's, first runs once untimed: on a fresh
machine the first write of a few hundred MB pays for memory the page cache never used).
N is 1,000,000 tokens (``--quick``: 100,000).

1. create_many (target ratio <= 3)
   ours: ``rt.tokens.create_many(coords)`` into a fresh ``ng.Runtime()`` per repetition,
   ``coords`` a seeded float32 ``(N, 8, 3)`` array, uniform in [-1, 1].
   reference: ``coords.copy()``.

2. memory per token (target ratio <= 2, i.e. <= 128 bytes per token)
   ours: in a fresh subprocess, the RSS (``/proc/self/statm``) after ``create_many`` of N
   tokens, with the input array and the returned ids deleted, minus the RSS before the
   input was made, divided by N.
   reference: the 64-byte token record.

3. save and load of N tokens + 4N connections (target ratio <= 2 each)
   ours: ``rt.save(path)`` (atomic: temporary file, fsync, rename) and
   ``ng.Runtime.load(path)``. Connections are ``associated_with`` between ids drawn at
   random, inside the default CDNA degree limits (out 1000 / in 1000 / total 2000).
   reference: ``numpy.save`` / ``numpy.load`` of a uint8 array of 64 * 5N bytes (the size of
   the records) in the same temporary directory under /tmp. Since our save fsyncs, the save
   is also compared with ``numpy.save`` followed by ``os.fsync``. Each file is removed before
   every timed write, so every write creates a new file.

Usage::

    python bench/bench_core.py [--quick] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from typing import Any, Callable, Optional

import numpy as np
from _harness import Result, machine_info, print_table, run_steps, timings, write_json

import neurograph_lab as ng

RECORD_BYTES = 64  # one token record, one connection record
CONNECTIONS_PER_TOKEN = 4
SEED = 20240601


def make_coords(n: int) -> np.ndarray:
    return np.random.default_rng(SEED).uniform(-1.0, 1.0, (n, 8, 3)).astype(np.float32)


def remove(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


# -- 1. create_many vs coords.copy() ---------------------------------------------------------


def bench_create(n: int, repeat: int) -> Result:
    coords = make_coords(n)
    holder: dict[str, Any] = {}

    def fresh_runtime() -> None:
        holder.clear()  # drop the previous runtime before making the next one
        holder["rt"] = ng.Runtime()

    def create() -> None:
        holder["ids"] = holder["rt"].tokens.create_many(coords)

    def copy() -> None:
        holder["copy"] = coords.copy()

    ours = timings(create, repeat, setup=fresh_runtime)
    count = len(holder["rt"].tokens)
    assert count == n, f"created {count} tokens, expected {n}"
    holder.clear()
    ref = timings(copy, repeat, setup=holder.clear)
    holder.clear()
    return Result(
        name=f"create_many {n:,} tokens",
        ours=min(ours),
        reference=min(ref),
        unit="s",
        target=3.0,
        reference_name=f"coords.copy() ({coords.nbytes / 1e6:.0f} MB)",
        ours_runs=ours,
        reference_runs=ref,
        extra={"n": n, "input_bytes": coords.nbytes},
    )


# -- 2. memory per token (clean subprocess) --------------------------------------------------

_MEMORY_CHILD = textwrap.dedent(
    """
    import gc, json, os, sys
    import numpy as np
    import neurograph_lab as ng

    PAGE = os.sysconf("SC_PAGE_SIZE")

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE

    n, seed = int(sys.argv[1]), int(sys.argv[2])
    rt = ng.Runtime()
    rt.tokens.create_many(np.zeros((1, 8, 3), np.float32))  # warm up code paths and imports
    rt.tokens.clear()
    gc.collect()
    before = rss()
    coords = np.random.default_rng(seed).uniform(-1.0, 1.0, (n, 8, 3)).astype(np.float32)
    ids = rt.tokens.create_many(coords)
    peak_with_input = rss()
    del coords, ids
    gc.collect()
    after = rss()
    store = sum(rt.status().memory.values())
    rt.grid.neighbors((0.0, 0.0, 0.0), k=1, space="cognitive")  # builds the cognitive index
    gc.collect()
    with_index = rss()
    print(json.dumps({"before": before, "after": after, "peak_with_input": peak_with_input,
                      "tokens": len(rt.tokens), "store_bytes": store, "with_index": with_index}))
    """
)


def bench_memory(n: int) -> list[Result]:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(n), str(SEED)],
        check=True,
        capture_output=True,
        text=True,
    )
    m = json.loads(out.stdout.strip().splitlines()[-1])
    assert m["tokens"] == n, f"child created {m['tokens']} tokens, expected {n}"
    per_token = (m["after"] - m["before"]) / n
    tokens = Result(
        name="memory per token (RSS)",
        ours=per_token,
        reference=float(RECORD_BYTES),
        unit="B",
        target=2.0,
        reference_name=f"{RECORD_BYTES} B token record",
        extra={
            "n": n,
            "rss_before": m["before"],
            "rss_after": m["after"],
            "rss_with_input": m["peak_with_input"],
            "store_bytes_reported": m["store_bytes"],
            "store_bytes_per_token": m["store_bytes"] / n,
        },
    )
    indexed = Result(
        name="memory per token + 1 space index",
        ours=(m["with_index"] - m["before"]) / n,
        reference=float(RECORD_BYTES),
        unit="B",
        target=2.0,
        reference_name=f"{RECORD_BYTES} B token record",
        extra={"rss_with_index": m["with_index"]},
    )
    return [tokens, indexed]


# -- 3. save / load vs numpy.save / numpy.load -----------------------------------------------


def build_graph(n: int) -> ng.Runtime:
    rt = ng.Runtime()
    ids = rt.tokens.create_many(make_coords(n))
    rng = np.random.default_rng(SEED + 1)
    m = CONNECTIONS_PER_TOKEN * n
    a, b = rng.choice(ids, m), rng.choice(ids, m)
    try:
        rt.connections.create_many(a, b, kind="associated_with")
    except ng.ValidationError as e:
        print(f"  Guardian refused the connections ({e}); retrying with the explorer profile")
        rt.cdna.profile = "explorer"
        rt.connections.create_many(a, b, kind="associated_with")
    assert len(rt.connections) == m, f"created {len(rt.connections)} connections, expected {m}"
    return rt


def bench_save_load(n: int, repeat: int, warmup: int = 1) -> list[Result]:
    rt = build_graph(n)
    m = len(rt.connections)
    nbytes = RECORD_BYTES * (n + m)
    data = np.frombuffer(np.random.default_rng(SEED + 2).bytes(nbytes), dtype=np.uint8)
    label = f"{n:,} tokens + {m:,} conns"

    with tempfile.TemporaryDirectory(prefix="ng_bench_", dir="/tmp") as tmp:
        ours_path = os.path.join(tmp, "runtime.ngs")
        npy_path = os.path.join(tmp, "reference.npy")

        def np_save_fsync() -> None:
            with open(npy_path, "wb") as f:
                np.save(f, data)
                f.flush()
                os.fsync(f.fileno())

        save_ours = timings(lambda: rt.save(ours_path), repeat, lambda: remove(ours_path), warmup)
        save_np = timings(lambda: np.save(npy_path, data), repeat, lambda: remove(npy_path), warmup)
        save_np_fsync = timings(np_save_fsync, repeat, lambda: remove(npy_path), warmup)
        file_size = os.path.getsize(ours_path)
        npy_size = os.path.getsize(npy_path)

        holder: dict[str, Any] = {}

        def load_ours() -> None:
            holder["rt"] = ng.Runtime.load(ours_path)

        def load_np() -> None:
            holder["arr"] = np.load(npy_path)

        load_ours_t = timings(load_ours, repeat, holder.clear, warmup)
        loaded = holder["rt"]
        assert (len(loaded.tokens), len(loaded.connections)) == (n, m), "load lost data"
        holder.clear()
        del loaded
        load_np_t = timings(load_np, repeat, holder.clear, warmup)
        holder.clear()

    extra = {"n": n, "connections": m, "file_bytes": file_size, "npy_bytes": npy_size}
    return [
        Result(
            name=f"save {label}",
            ours=min(save_ours),
            reference=min(save_np),
            unit="s",
            target=2.0,
            reference_name=f"numpy.save {nbytes / 1e6:,.0f} MB",
            ours_runs=save_ours,
            reference_runs=save_np,
            extra=extra,
        ),
        Result(
            name=f"save {label}",
            ours=min(save_ours),
            reference=min(save_np_fsync),
            unit="s",
            target=2.0,
            reference_name="numpy.save + os.fsync",
            ours_runs=save_ours,
            reference_runs=save_np_fsync,
            extra=extra,
        ),
        Result(
            name=f"load {label}",
            ours=min(load_ours_t),
            reference=min(load_np_t),
            unit="s",
            target=2.0,
            reference_name="numpy.load",
            ours_runs=load_ours_t,
            reference_runs=load_np_t,
            extra=extra,
        ),
    ]


# -- report ----------------------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="100k tokens / 400k connections smoke run")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = p.parse_args(argv)

    n = 100_000 if args.quick else 1_000_000
    info = machine_info()
    print("neurograph_lab core benchmarks" + (" (--quick)" if args.quick else ""))
    for k, v in info.items():
        print(f"  {k:<15} {v}")
    print(f"  {'tokens':<15} {n:,}  connections {CONNECTIONS_PER_TOKEN * n:,}")
    print()

    results: list[Result] = []
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("create_many", lambda: results.append(bench_create(n, repeat=5))),
        ("memory", lambda: results.extend(bench_memory(n))),
        ("save/load", lambda: results.extend(bench_save_load(n, repeat=3))),
    ]
    run_steps(steps, info)
    print()
    print_table(results)
    print()
    print("repetitions (ms, in order):")
    seen = set()
    for r in results:
        if r.unit != "s":
            continue
        for who, runs in (("ours", r.ours_runs), (r.reference_name, r.reference_runs)):
            key = (r.name, who)
            if key in seen:
                continue
            seen.add(key)
            print(f"  {r.name} / {who}: " + " ".join(f"{t * 1e3:.1f}" for t in runs))

    mem = next(r for r in results if r.unit == "B")
    size = results[-1].extra["file_bytes"]
    print()
    print(
        f"snapshot file: {size:,} bytes ({size / (n * (1 + CONNECTIONS_PER_TOKEN)):.1f} B per record); "
        f"numpy file: {results[-1].extra['npy_bytes']:,} bytes"
    )
    print(
        f"memory: RSS {mem.extra['rss_before']:,} -> {mem.extra['rss_after']:,} bytes; "
        f"store reports {mem.extra['store_bytes_per_token']:.1f} B per token"
    )

    if args.json:
        write_json(args.json, info, results, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
