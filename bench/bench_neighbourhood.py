"""Neighbourhood expansion: ``rt.graph.neighbourhood`` against the numpy code it replaced.

1,000,000 tokens and 4,000,000 random ``associated_with`` connections. 100 random seed tokens
grow by 1 and by 2 hops along connections in both directions (what ``GraphExplorer`` and
``%%ng_explore expand`` do). The reference is the per-hop ``np.isin`` scan over the whole
connection table that the explorer used before (the columns are taken out of the runtime
once, untimed). Both answers are checked to hold the same tokens. The graph is built before
timing (the first graph query after a change builds it once; that cost is printed apart).

Usage::

    python bench/bench_neighbourhood.py [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Optional

import numpy as np
from _harness import Result, cpu_busy, git_state, machine_info, print_table, timings

import neurograph_lab as ng

N_TOKENS = 1_000_000
N_CONNECTIONS = 4_000_000
N_SEEDS = 100
REPEAT = 7


def numpy_grow(a: np.ndarray, b: np.ndarray, seeds: np.ndarray, depth: int) -> np.ndarray:
    """The earlier explorer code: each hop scans every connection with ``np.isin``."""
    nodes = frontier = np.unique(seeds)
    for _ in range(depth):
        hit_a, hit_b = np.isin(a, frontier), np.isin(b, frontier)
        new = np.setdiff1d(np.union1d(b[hit_a], a[hit_b]), nodes)
        if new.size == 0:
            break
        nodes = np.union1d(nodes, new)
        frontier = new
    return nodes


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = p.parse_args(argv)
    info = machine_info()
    info["git"] = git_state()
    info["cpu_busy_before"] = f"{cpu_busy():.0%} of all CPUs busy in the second before the start"
    print("neighbourhood expansion: rt.graph.neighbourhood vs the per-hop numpy scan")
    for k, v in info.items():
        print(f"  {k:<15} {v}")

    rng = np.random.default_rng(7)
    rt = ng.Runtime()
    ids = rt.tokens.create_many(rng.uniform(-1, 1, (N_TOKENS, 8, 3)).astype(np.float32))
    rt.cdna.update(max_out_degree=1000, max_in_degree=1000, max_total_degree=2000)
    src = ids[rng.integers(0, N_TOKENS, N_CONNECTIONS)]
    dst = ids[rng.integers(0, N_TOKENS, N_CONNECTIONS)]
    keep = src != dst
    rt.connections.create_many(src[keep], dst[keep], kind="associated_with")
    cols = rt.connections.to_pandas()
    a = cols["token_a"].to_numpy(np.uint32)
    b = cols["token_b"].to_numpy(np.uint32)
    seeds = ids[rng.choice(N_TOKENS, N_SEEDS, replace=False)]

    t0 = time.perf_counter()
    rt.graph.neighbourhood(seeds[:1], depth=0)
    build = time.perf_counter() - t0
    print(f"  graph build on the first query: {build * 1e3:.0f} ms\n")

    results: list[Result] = []
    for depth in (1, 2):
        ours = rt.graph.neighbourhood(seeds, depth=depth, direction="both")
        ref = numpy_grow(a, b, seeds, depth)
        assert np.array_equal(np.sort(ours.index.to_numpy()), ref), "the two answers differ"
        t_ours = timings(lambda d=depth: rt.graph.neighbourhood(seeds, depth=d, direction="both"), REPEAT, warmup=1)
        t_ref = timings(lambda d=depth: numpy_grow(a, b, seeds, d), REPEAT, warmup=1)
        results.append(
            Result(
                f"neighbourhood of {N_SEEDS} seeds, depth {depth} ({len(ours):,} tokens, DataFrame)",
                float(np.median(t_ours)),
                float(np.median(t_ref)),
                "s",
                None,
                "numpy np.isin per hop",
                ours_runs=t_ours,
                reference_runs=t_ref,
            )
        )
    print_table(results)
    if args.json:
        payload: dict[str, Any] = {"info": info, "graph_build_s": build, "results": [r.__dict__ for r in results]}
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2, default=str)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
