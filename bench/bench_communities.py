"""Community detection (``rt.graph.communities``) against python-igraph, in the same run.

Data: a planted-partition graph of N nodes (1,000,000; ``--quick`` 100,000) in groups of
``GROUP`` nodes and 4N undirected edges, each from a uniform random node to a random node of
its own group with probability ``P_IN`` and to any node otherwise (no self-loops; repeated
pairs stay as parallel connections). The runtime gets N tokens and the 4N connections
(``rt.tokens.create_many``, ``rt.connections.create_many``); igraph gets the same edge list
as an undirected ``igraph.Graph`` built outside the timings.

1. Leiden: ``rt.graph.communities("leiden", weight=None)`` (the full Python call: reading the
   connections, building the adjacency, detection, the Series) vs
   ``g.community_leiden(objective_function="modularity")`` (igraph's default 2 iterations).
2. Louvain: ``rt.graph.communities("louvain", weight=None)`` vs ``g.community_multilevel()``.

Each time is the best of ``--repeat`` runs (default 3) after one untimed warm-up (none with
``--repeat 1``), and ``ratio = ours / igraph``. The table's target is ratio <= 1; the notes give each side's
modularity (igraph's ``g.modularity(membership)``; ours as computed by the core, checked
against igraph's on our membership), community counts and the NMI of each result with the
planted groups.

Usage::

    python bench/bench_communities.py [--quick] [--json results.json]

Needs python-igraph (``pip install igraph``; the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Optional

import numpy as np
from _harness import Result, cpu_busy, git_state, machine_info, print_table, run_steps, timings, write_json

import neurograph_lab as ng

try:
    import igraph as ig
except ImportError as e:  # pragma: no cover
    sys.exit(f"bench_communities needs python-igraph ({e}); pip install igraph")

SEED = 20261201
GROUP = 1000
P_IN = 0.8
EDGES_PER_NODE = 4


def planted_edges(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b) node indices of ``EDGES_PER_NODE * n`` edges without self-loops, and the
    planted group of each node."""
    rng = np.random.default_rng(seed)
    m = EDGES_PER_NODE * n
    group = np.arange(n) // GROUP
    a = rng.integers(0, n, m)
    inside = rng.random(m) < P_IN
    start = group[a] * GROUP
    size = np.minimum(start + GROUP, n) - start
    b = np.where(inside, start + (rng.random(m) * size).astype(np.int64), rng.integers(0, n, m))
    loop = a == b
    b[loop] = (b[loop] + 1) % n  # a self-loop becomes an edge to the next node
    return a.astype(np.uint32), b.astype(np.uint32), group


def nmi(x: np.ndarray, y: np.ndarray) -> float:
    """Normalised mutual information (arithmetic mean of the entropies)."""
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    n = len(xi)
    pair = xi.astype(np.int64) * (yi.max() + 1) + yi
    _, joint = np.unique(pair, return_counts=True)
    px = np.bincount(xi) / n
    py = np.bincount(yi) / n
    pj = joint / n
    hx = -(px * np.log(px)).sum()
    hy = -(py * np.log(py)).sum()
    hj = -(pj * np.log(pj)).sum()
    mi = hx + hy - hj
    return float(mi / ((hx + hy) / 2)) if hx + hy > 0 else 1.0


def connect(rt: ng.Runtime, a: np.ndarray, b: np.ndarray) -> None:
    try:
        rt.connections.create_many(a, b, kind="associated_with")
    except ng.ValidationError as e:
        print(f"  Guardian refused the connections ({e}); retrying with the explorer profile")
        rt.cdna.profile = "explorer"
        rt.connections.create_many(a, b, kind="associated_with")
    assert len(rt.connections) == len(a), f"created {len(rt.connections)} connections, expected {len(a)}"


def bench_method(
    name: str,
    ours: Callable[[], ng._communities.Communities],
    theirs: Callable[[], Any],
    g: ig.Graph,
    ids: np.ndarray,
    group: np.ndarray,
    repeat: int,
) -> Result:
    out: dict[str, Any] = {}
    warmup = 1 if repeat > 1 else 0
    ours_runs = timings(lambda: out.__setitem__("ours", ours()), repeat, warmup=warmup)
    ref_runs = timings(lambda: out.__setitem__("ref", theirs()), repeat, warmup=warmup)
    c = out["ours"]
    ref = out["ref"]
    # our membership in node order (token id -> node index)
    pos = np.argsort(ids)
    node = pos[np.searchsorted(ids[pos], c.membership.index.to_numpy())]
    mine = np.empty(len(ids), dtype=np.int64)
    mine[node] = c.membership.to_numpy()
    return Result(
        name=name,
        ours=min(ours_runs),
        reference=min(ref_runs),
        unit="s",
        target=1.0,
        reference_name=f"igraph {name.split()[0]}",
        ours_runs=ours_runs,
        reference_runs=ref_runs,
        extra={
            "modularity_ours": c.modularity,
            "modularity_ours_by_igraph": g.modularity(mine.tolist()),
            "modularity_igraph": g.modularity(ref.membership),
            "communities_ours": c.count,
            "communities_igraph": len(ref),
            "nmi_planted_ours": nmi(mine, group),
            "nmi_planted_igraph": nmi(np.asarray(ref.membership), group),
        },
    )


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="100k nodes / 400k edges smoke run")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per side (default 3; 1: no warm-up)")
    args = p.parse_args(argv)
    n = 100_000 if args.quick else 1_000_000
    repeat = max(1, args.repeat)

    info = machine_info()
    info["git"] = git_state()
    info["cpu_busy_before"] = f"{cpu_busy():.0%} of all CPUs busy in the second before the start"
    info["igraph"] = ig.__version__
    print("neurograph_lab community benchmarks" + (" (--quick)" if args.quick else ""))
    for k, v in info.items():
        print(f"  {k:<15} {v}")
    print(f"  {'sizes':<15} {n:,} nodes, {EDGES_PER_NODE * n:,} edges, groups of {GROUP:,}, p_in {P_IN}")
    print(f"  {'repetitions':<15} best of {repeat}" + (", each after 1 warm-up" if repeat > 1 else ", no warm-up"))
    print()

    state: dict[str, Any] = {}
    results: list[Result] = []

    def data() -> None:
        a, b, group = planted_edges(n, SEED)
        rt = ng.Runtime()
        ids = rt.tokens.create_many(np.zeros((n, 8, 3), dtype=np.float32))
        connect(rt, ids[a], ids[b])
        state.update(rt=rt, ids=ids, group=group)
        state["g"] = ig.Graph(n=n, edges=np.column_stack([a, b]).tolist(), directed=False)

    def leiden() -> None:
        rt, g = state["rt"], state["g"]
        results.append(
            bench_method(
                "leiden (modularity)",
                lambda: rt.graph.communities("leiden", weight=None, progress=False),
                lambda: g.community_leiden(objective_function="modularity"),
                g,
                state["ids"],
                state["group"],
                repeat,
            )
        )

    def louvain() -> None:
        rt, g = state["rt"], state["g"]
        results.append(
            bench_method(
                "louvain (multilevel)",
                lambda: rt.graph.communities("louvain", weight=None, progress=False),
                lambda: g.community_multilevel(),
                g,
                state["ids"],
                state["group"],
                repeat,
            )
        )

    run_steps([("data", data), ("leiden", leiden), ("louvain", louvain)], info)
    print()
    print_table(results)
    print()
    print("notes:")
    for r in results:
        e = r.extra
        print(
            f"  {r.name}: modularity ours {e['modularity_ours']:.4f} (igraph on our membership "
            f"{e['modularity_ours_by_igraph']:.4f}), igraph {e['modularity_igraph']:.4f}; communities ours "
            f"{e['communities_ours']:,}, igraph {e['communities_igraph']:,}; NMI with the planted groups ours "
            f"{e['nmi_planted_ours']:.4f}, igraph {e['nmi_planted_igraph']:.4f}"
        )
    print()
    print("repetitions (in order, s):")
    for r in results:
        print(f"  {r.name} / ours: " + " ".join(f"{t:.3f}" for t in r.ours_runs))
        print(f"  {r.name} / {r.reference_name}: " + " ".join(f"{t:.3f}" for t in r.reference_runs))
    if args.json:
        write_json(
            args.json,
            info,
            results,
            quick=args.quick,
            sizes={"nodes": n, "edges": EDGES_PER_NODE * n, "group": GROUP, "p_in": P_IN},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
