"""Distributed weaving on a Dask LocalCluster against the single-process weave (study 6.8 G1-G3).

Data: N x D float32 (default 100,000 x 128; ``--quick``: 12,000 x 64), seeded normal around 64
centres, L2-normalised once outside the timings; k = 10; row blocks of ``--block-rows``
(default N/4 + 1: four blocks that do not divide N).

ours: ``neurograph_lab.distributed.weave`` on a ``LocalCluster(n_workers=W, threads_per_worker=1,
processes=True, env={"RAYON_NUM_THREADS": "1"})`` (W = 2): each block woven with itself and
each pair of blocks once (``kernels.topk_self`` / ``topk_pair``), parts merged per block
(``topk_merge``), results gathered. The blocks are scattered to the workers before the
timing (the data lives on the cluster in a real job).
The workers are warmed first (a small weave: imports and task machinery, as on a long-lived
cluster); that one-off CPU is reported apart.
reference: the single-process weave, ``kernels.topk_self`` over all N rows with 1 thread (the
symmetric path ``rt.bootstrap`` weaves with), in this process.

Reported:
- G1 exactness: the neighbour rows and scores of both are compared bitwise (must be equal);
- G3 CPU: total CPU seconds of the distributed run (every worker process's CPU time, from
  ``client.run(resource.getrusage)`` before and after, plus this process's, which runs the
  scheduler and the client) over the reference's CPU seconds; target <= 1.15;
- the same less Dask's idle baseline (the CPU its processes burn per second doing nothing,
  measured for 3 s before the run, times the run's wall time), reported;
- wall times, and the parallel efficiency = reference wall / (W x distributed wall)
  (1.0 = a perfect W-fold speed-up). On a shared machine the wall figures are noise; CPU is
  the reliable figure.

Usage::

    python bench/bench_distributed.py [--quick] [--workers 2] [--json results.json]
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

import numpy as np
from _harness import Result, cpu_busy, git_state, machine_info, print_table, write_json

from neurograph_lab import distributed as D
from neurograph_lab import kernels as K


def rusage_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def data(n: int, dim: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(64, dim))
    x = centres[rng.integers(0, 64, n)] + 0.7 * rng.normal(size=(n, dim))
    return K.normalize_rows(x.astype(np.float32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--block-rows", type=int, default=None, help="default: a quarter of the rows + 1")
    ap.add_argument("--json", default=None)
    ap.add_argument("--keep-trim", action="store_true", help="keep Dask's MALLOC_TRIM_THRESHOLD_=65536 on the workers")
    args = ap.parse_args()
    from dask.distributed import Client, LocalCluster

    n, dim = (12_000, 64) if args.quick else (args.rows, 128)
    block_rows = args.block_rows or (3_001 if args.quick else n // 4 + 1)
    k = 10
    info = machine_info()
    info["cpu_busy_before"] = round(cpu_busy(), 3)
    info["git"] = git_state()
    x = data(n, dim)
    rows = np.arange(n, dtype=np.uint64)

    # reference: one process, one thread
    c0, t0 = rusage_cpu(), time.perf_counter()
    ref_ids, ref_scores = K.topk_self(x, rows, k, threads=1)
    ref_wall, ref_cpu = time.perf_counter() - t0, rusage_cpu() - c0
    print(f"  ... single-process weave {n:,} x {dim}: {ref_wall:.2f} s wall, {ref_cpu:.2f} s CPU", flush=True)

    import dask

    # workers without Dask's MALLOC_TRIM_THRESHOLD_ (ng.distributed.dask_config says why)
    with dask.config.set({} if args.keep_trim else D.dask_config()):
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"RAYON_NUM_THREADS": "1"},
        )
    client = Client(cluster)
    try:
        cuts = list(range(0, n, block_rows))
        blocks = client.scatter([([], np.ascontiguousarray(x[s : s + block_rows])) for s in cuts])
        client.wait_for_workers(args.workers)
        # warm the workers (import neurograph_lab and dask's task machinery once, as a
        # long-lived cluster has): the one-off start-up is reported apart
        w0 = client.run(rusage_cpu)
        D.weave(client, client.scatter([([], x[:2_000]), ([], x[2_000:4_000])]), [0, 2_000], k, progress=False)
        w1 = client.run(rusage_cpu)
        warmup_cpu = sum(w1[w] - w0[w] for w in w1)
        # what the processes burn doing nothing (heartbeats, monitors, profiler): per second
        c0, i0 = rusage_cpu(), client.run(rusage_cpu)
        time.sleep(3.0)
        i1 = client.run(rusage_cpu)
        idle_rate = (sum(i1[w] - i0[w] for w in i1) + rusage_cpu() - c0) / 3.0
        before: dict[str, Any] = client.run(rusage_cpu)
        c0, t0 = rusage_cpu(), time.perf_counter()
        ids, scores = D.weave(client, blocks, cuts, k, threads=1, progress=False)
        wall = time.perf_counter() - t0
        client_cpu = rusage_cpu() - c0
        after: dict[str, Any] = client.run(rusage_cpu)
        worker_cpu = sum(after[w] - before[w] for w in after)
    finally:
        client.close()
        cluster.close()
    same = bool(np.array_equal(ids, ref_ids) and np.array_equal(scores, ref_scores))
    total_cpu = worker_cpu + client_cpu
    idle_cpu = idle_rate * wall
    efficiency = ref_wall / (args.workers * wall)
    tasks = len(cuts) * (len(cuts) + 1) // 2 + len(cuts)
    print(
        f"  ... distributed weave on {args.workers} workers, {len(cuts)} blocks, {tasks} tasks: {wall:.2f} s wall, "
        f"{worker_cpu:.2f} s worker CPU + {client_cpu:.2f} s client/scheduler CPU (worker warm-up before: "
        f"{warmup_cpu:.2f} s); identical: {same}",
        flush=True,
    )
    results = [
        Result(
            f"weave CPU, {args.workers} workers ({n:,} x {dim}, k={k})",
            total_cpu,
            ref_cpu,
            "s",
            1.15,
            "single-process weave CPU (1 thread)",
            extra={"identical": same, "worker_cpu": worker_cpu, "client_cpu": client_cpu, "warmup_cpu": warmup_cpu},
        ),
        Result(
            f"weave CPU less Dask's idle baseline ({idle_rate:.3f} CPU-s/s)",
            total_cpu - idle_cpu,
            ref_cpu,
            "s",
            None,
            "single-process weave CPU (1 thread)",
            extra={"idle_rate": idle_rate},
        ),
        Result(
            f"weave wall, {args.workers} workers",
            wall,
            ref_wall,
            "s",
            None,
            "single-process weave wall (1 thread)",
            extra={"parallel_efficiency": efficiency},
        ),
    ]
    print_table(results)
    print(f"identical neighbours and scores: {same}; parallel efficiency: {efficiency:.2f}")
    if args.json:
        write_json(args.json, info, results, quick=args.quick, sizes={"n": n, "dim": dim, "block_rows": block_rows})
    if not same:
        raise SystemExit("the distributed weave differs from the single-process weave")


if __name__ == "__main__":
    main()
