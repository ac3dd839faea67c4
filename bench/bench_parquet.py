"""Parquet dataset benchmarks: ``rt.to_parquet`` / ``ng.Runtime.from_parquet`` against pyarrow
writing and reading the same columns, in the same run on the same machine.

Data: 1,000,000 tokens (uniform coordinates in [-1, 1], a label on every other token, random
entity types) and 4,000,000 random ``associated_with`` connections; 16 partitions.

write (target <= 1.2x)
    ours: ``rt.to_parquet(dir, partitions=16)``: columns gathered from the store, 32 Parquet
    files (snappy), fsynced, ``meta.json``, rename. Reference: the same columns as Arrow
    tables, ``pq.write_table`` of 16 slices per table (snappy, same schema, dictionary
    encoding on the same columns), on a thread pool across files.
read (target <= 1.2x)
    ours: ``ng.Runtime.from_parquet(dir)``: read and check every file, rebuild the records,
    check them, index the ids. Reference: ``pyarrow.dataset.dataset(dir/<table>).to_table()``
    of both tables of our dataset (multi-threaded).

pyarrow gets the columns ready-made (the gather from the store is not in its time) and writes
no ``meta.json`` and no checksums; the write is also timed with an ``os.fsync`` of each file
(ours fsyncs every file: the dataset must survive a crash). It reads without building anything;
for context the read is also compared (no target) with ``ng.Runtime.load`` of a snapshot of the
same runtime, which builds the same runtime from one file. Its files
are written with ``pq.write_table`` per slice on a thread pool of ``os.cpu_count()`` threads
(pyarrow releases the GIL while encoding), the same partitioning as ours.

Usage::

    python bench/bench_parquet.py [--quick] [--json results.json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from _harness import Result, cpu_busy, git_state, machine_info, print_table, run_steps, timings, write_json

import neurograph_lab as ng

SEED = 20261202
PARTS = 16
# Written with dictionary encoding, by us and by pyarrow here (the same options both sides):
# the name columns; every other column is PLAIN.
DICTIONARY = ["entity", "kind", "mutability"]
# Written without min/max statistics, by us and by pyarrow here: the text columns.
UNSTATED = {"label", "entity", "kind", "mutability"}


def build(n: int, m: int) -> ng.Runtime:
    rng = np.random.default_rng(SEED)
    rt = ng.Runtime()
    rt.cdna.profile = "explorer"
    ids = rt.tokens.create_many(
        rng.uniform(-1, 1, (n, 8, 3)).astype(np.float32),
        entities=rng.integers(0, 15, n),
        labels=[f"w{i}" if i % 2 else None for i in range(n)],
    )
    rt.connections.create_many(rng.choice(ids, m), rng.choice(ids, m), kind="associated_with")
    return rt


def reference_tables(d: str) -> dict[str, pa.Table]:
    """Our dataset's columns as pyarrow tables (the same schema and values pyarrow writes)."""
    return {t: pads.dataset(os.path.join(d, t)).to_table() for t in ("tokens", "connections")}


def pyarrow_write(tables: dict[str, pa.Table], d: str, fsync: bool = False) -> None:
    os.makedirs(d)
    jobs = []
    for name, t in tables.items():
        os.makedirs(os.path.join(d, name))
        n = t.num_rows
        for k in range(PARTS):
            lo, hi = n * k // PARTS, n * (k + 1) // PARTS
            jobs.append((t.slice(lo, hi - lo), os.path.join(d, name, f"part-{k:05}.parquet")))

    def write(job: tuple[pa.Table, str]) -> None:
        t, path = job
        pq.write_table(
            t,
            path,
            compression="snappy",
            use_dictionary=[c for c in t.column_names if c in DICTIONARY],
            write_statistics=[c for c in t.column_names if c not in UNSTATED],
        )
        if fsync:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(write, jobs))


def bench(n: int, m: int, repeat: int) -> list[Result]:
    rt = build(n, m)
    label = f"{n:,} tokens + {m:,} conns"
    tmp = tempfile.mkdtemp(prefix="ng_bench_pq_", dir="/tmp")
    try:
        ours_dir, ref_dir = os.path.join(tmp, "ours"), os.path.join(tmp, "ref")

        def clean(p: str) -> Callable[[], None]:
            return lambda: shutil.rmtree(p, ignore_errors=True)

        cpu: dict[str, list[float]] = {k: [] for k in ("write", "write_ref", "write_ref_sync", "read", "read_ref")}
        write_ours = timings(
            lambda: rt.to_parquet(ours_dir, partitions=PARTS), repeat, clean(ours_dir), 1, cpu["write"]
        )
        tables = reference_tables(ours_dir)
        write_ref = timings(lambda: pyarrow_write(tables, ref_dir), repeat, clean(ref_dir), 1, cpu["write_ref"])
        write_ref_sync = timings(
            lambda: pyarrow_write(tables, ref_dir, fsync=True), repeat, clean(ref_dir), 1, cpu["write_ref_sync"]
        )
        sizes = {
            who: sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(p) for f in fs)
            for who, p in (("ours", ours_dir), ("pyarrow", ref_dir))
        }
        holder: dict[str, Any] = {}

        def read_ours() -> None:
            holder["rt"] = ng.Runtime.from_parquet(ours_dir)

        def read_ref() -> None:
            holder["t"] = reference_tables(ours_dir)

        read_ours_t = timings(read_ours, repeat, holder.clear, 1, cpu["read"])
        back = holder.pop("rt")
        assert (len(back.tokens), len(back.connections)) == (n, m)
        a, b = rt._core.connection_columns(None), back._core.connection_columns(None)
        assert all(np.array_equal(a[k], b[k]) for k in a), "round trip changed a connection"
        del back
        read_ref_t = timings(read_ref, repeat, holder.clear, 1, cpu["read_ref"])
        # context, not a target: the same runtime through the snapshot format
        snap = os.path.join(tmp, "rt.ngs")
        rt.save(snap)

        def load_snapshot() -> None:
            holder["rt"] = ng.Runtime.load(snap)

        read_snap_t = timings(load_snapshot, repeat, holder.clear, 1)
        holder.clear()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # CPU seconds (all threads), the least of the runs: steadier than wall on a shared machine
    extra = {"n": n, "connections": m, "partitions": PARTS, "bytes": sizes, "cpu": {k: min(v) for k, v in cpu.items()}}
    return [
        Result(
            name=f"to_parquet {label}",
            ours=min(write_ours),
            reference=min(write_ref),
            unit="s",
            target=1.2,
            reference_name="pa.table slices -> pq.write_table x32, threads",
            ours_runs=write_ours,
            reference_runs=write_ref,
            extra=extra,
        ),
        Result(
            name=f"to_parquet {label}",
            ours=min(write_ours),
            reference=min(write_ref_sync),
            unit="s",
            target=1.2,
            reference_name="the same + os.fsync of each file",
            ours_runs=write_ours,
            reference_runs=write_ref_sync,
            extra=extra,
        ),
        Result(
            name=f"from_parquet {label}",
            ours=min(read_ours_t),
            reference=min(read_ref_t),
            unit="s",
            target=1.2,
            reference_name="pyarrow.dataset(...).to_table() x2",
            ours_runs=read_ours_t,
            reference_runs=read_ref_t,
            extra=extra,
        ),
        Result(
            name=f"from_parquet {label}",
            ours=min(read_ours_t),
            reference=min(read_snap_t),
            unit="s",
            target=None,
            reference_name="ng.Runtime.load(snapshot) of the same runtime",
            ours_runs=read_ours_t,
            reference_runs=read_snap_t,
            extra=extra,
        ),
    ]


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="100k tokens / 400k connections smoke run")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = p.parse_args(argv)
    n = 100_000 if args.quick else 1_000_000
    m = 4 * n
    info = machine_info()
    info["git"] = git_state()
    info["pyarrow"] = pa.__version__
    info["cpu_busy_before"] = round(cpu_busy(), 2)
    print("neurograph_lab Parquet benchmarks" + (" (--quick)" if args.quick else ""))
    for k, v in info.items():
        print(f"  {k:<15} {v}")
    print()
    results: list[Result] = []
    run_steps([("to_parquet / from_parquet", lambda: results.extend(bench(n, m, repeat=3)))], info)
    print()
    print_table(results)
    print()
    for r in results:
        print(
            f"  {r.name}: ours "
            + " ".join(f"{t:.3f}" for t in r.ours_runs)
            + " s; reference "
            + " ".join(f"{t:.3f}" for t in r.reference_runs)
            + " s"
        )
    c = results[0].extra["cpu"]
    print(
        f"  CPU s (least of the runs): write {c['write']:.3f} vs pyarrow {c['write_ref']:.3f} "
        f"({c['write'] / c['write_ref']:.2f}x), + fsync {c['write_ref_sync']:.3f} "
        f"({c['write'] / c['write_ref_sync']:.2f}x); read {c['read']:.3f} vs pyarrow {c['read_ref']:.3f} "
        f"({c['read'] / c['read_ref']:.2f}x)"
    )
    sizes = results[0].extra["bytes"]
    print(f"  dataset bytes: ours {sizes['ours']:,}, pyarrow {sizes['pyarrow']:,}")
    if args.json:
        write_json(args.json, info, results, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
