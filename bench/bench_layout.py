"""Graph layout benchmark: how well the explorer's layout separates planted communities, and
how long it takes, against networkx's spring layout (Fruchterman-Reingold) where installed.

Data: ``neurograph_lab.datasets.planted_embeddings`` (8 named clusters of words + country/capital
pairs, 50 dims) at a few sizes, bootstrapped with ``k`` = 5 and 10 woven neighbours, with the
default noise (0.15: the kNN graph keeps the clusters almost apart) and noise 1.5 (about 12-14%
of the woven edges join two clusters, closer to real vectors).

Measured, per case:

- separation: the mean layout distance between two words of one cluster divided by the mean
  distance between words of different clusters (cluster = the word without its digits), on
  every pair (at most 3,000 words, a fixed sample above). Lower is better; the explorer aims
  under 0.5. Also for the networkx layout of the same graph (same edges and weights).
- time: ``rt.graph.layout(ids, iterations=100)`` (what ``GraphExplorer`` calls), best of 3
  after a warm-up; networkx ``spring_layout(G, iterations=100, seed=0, weight="weight")`` once
  (reported as the reference, ratio = ours / networkx), up to 500 nodes (it is O(n^2): 40-70 s
  at 2,000 nodes).

Usage::

    python bench/bench_layout.py [--quick] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict
from typing import Any, Optional

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _harness import Result, cpu_busy, git_state, machine_info, print_table, run_steps, timings  # noqa: E402

import neurograph_lab as ng  # noqa: E402
from neurograph_lab.datasets import planted_embeddings  # noqa: E402

try:
    import networkx as nx
except ImportError:  # pragma: no cover - optional reference
    nx = None

ITERATIONS = 100
PAIRS_MAX = 3_000
NX_MAX = 500


def separation(pos: np.ndarray, clusters: np.ndarray, seed: int = 0) -> float:
    """Mean intra-cluster over mean inter-cluster pairwise distance (a fixed sample above PAIRS_MAX)."""
    if len(pos) > PAIRS_MAX:
        keep = np.sort(np.random.default_rng(seed).choice(len(pos), PAIRS_MAX, replace=False))
        pos, clusters = pos[keep], clusters[keep]
    p = pos.astype(np.float64)
    d = np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1))
    same = clusters[:, None] == clusters[None, :]
    upper = np.triu(np.ones(same.shape, bool), k=1)
    return float(d[same & upper].mean() / d[~same & upper].mean())


def bench_case(per: int, k: int, noise: float) -> tuple[Result, dict[str, Any]]:
    words, vecs = planted_embeddings(words_per_cluster=per, noise=noise)
    rt = ng.Runtime()
    rt.bootstrap(vecs, words, k=k, progress=False)
    ids = rt.tokens.ids()
    clusters = np.array([re.sub(r"\d+", "", str(w)) for w in rt.labels_of(ids)])
    holder: dict[str, Any] = {}
    runs = timings(lambda: holder.__setitem__("pos", rt.graph.layout(ids, iterations=ITERATIONS)), 3, warmup=1)
    ours_sep = separation(holder["pos"], clusters)
    conns = rt.connections.to_pandas()
    row = {"words": len(ids), "k": k, "noise": noise, "edges": len(conns), "separation": ours_sep}
    index = {int(t): i for i, t in enumerate(ids)}
    cross = np.mean([clusters[index[int(a)]] != clusters[index[int(b)]] for a, b in zip(conns.token_a, conns.token_b)])
    row["cross_cluster_edges"] = float(cross)
    ref: Optional[float] = None
    ref_runs: list[float] = []
    if nx is not None and len(ids) <= NX_MAX:
        g = nx.Graph()
        g.add_nodes_from(range(len(ids)))
        g.add_weighted_edges_from(
            (index[int(a)], index[int(b)], float(s)) for a, b, s in zip(conns.token_a, conns.token_b, conns.strength)
        )
        t0 = time.perf_counter()
        layout = nx.spring_layout(g, iterations=ITERATIONS, seed=0, weight="weight")
        ref = time.perf_counter() - t0
        ref_runs = [ref]
        row["networkx_separation"] = separation(np.array([layout[i] for i in range(len(ids))]), clusters)
    name = f"layout {len(ids):,} words k={k} noise={noise:g} ({len(conns):,} edges)"
    result = Result(
        name,
        min(runs),
        ref,
        "s",
        None,
        "networkx spring_layout" if ref is not None else "-",
        ours_runs=runs,
        reference_runs=ref_runs,
        extra=row,
    )
    return result, row


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="the two smaller sizes only")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = p.parse_args(argv)
    sizes = [40, 250] if args.quick else [40, 250, 1250]  # words per cluster: 344, 2,024, 10,024 words
    info = machine_info()
    info["git"] = git_state()
    info["cpu_busy_before"] = f"{cpu_busy():.0%} of all CPUs busy in the second before the start"
    info["networkx"] = getattr(nx, "__version__", "not installed")
    print("neurograph_lab layout benchmark" + (" (--quick)" if args.quick else ""))
    for key, v in info.items():
        print(f"  {key:<15} {v}")
    print()
    results: list[Result] = []
    rows: list[dict[str, Any]] = []

    def step(per: int, k: int, noise: float) -> None:
        r, row = bench_case(per, k, noise)
        results.append(r)
        rows.append(row)

    steps = [
        (f"{per} per cluster, k={k}, noise={noise:g}", lambda per=per, k=k, noise=noise: step(per, k, noise))
        for per in sizes
        for noise in (0.15, 1.5)
        for k in (5, 10)
    ]
    run_steps(steps, info)  # type: ignore[arg-type]
    print()
    print_table(results)
    print()
    print("separation (mean intra-cluster / mean inter-cluster layout distance; aim < 0.5):")
    print(f"  {'words':>7} {'k':>3} {'noise':>6} {'cross edges':>12} {'ours':>7} {'networkx':>9}")
    for row in rows:
        ref = row.get("networkx_separation")
        print(
            f"  {row['words']:>7,} {row['k']:>3} {row['noise']:>6g} {row['cross_cluster_edges']:>12.1%} "
            f"{row['separation']:>7.3f} {'-' if ref is None else f'{ref:.3f}':>9}"
        )
    if args.json:
        payload = {
            "machine": info,
            "quick": args.quick,
            "results": [{**asdict(r), "ratio": r.ratio} for r in results],
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
