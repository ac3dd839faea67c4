"""Store benchmarks: memory and id figures of issue 10, each measured in a fresh subprocess.

RSS is read from ``/proc/self/statm`` in a child process that has imported neurograph_lab and
warmed up the code paths it measures; "added" is over that. "store" is what
``rt.status().memory`` reports (the sum of its parts; the parts are printed below the table).
MB here is 10^6 bytes.

(a) bootstrap memory (target <= 5 MB)
    ``rt.bootstrap(vectors, words, k=10)`` of 1,700 words x 100 dims (seeded normal float32
    vectors, words ``word0`` ...). Reported: RSS added, less the size of the input vectors
    (which stay alive), after the bootstrap, after one semantic query, and after one graph
    query (``rt.graph.bfs(word, depth=1)``); and the store's own figure.

(b) id exhaustion (target: 0 tokens refused)
    1. after a bootstrap of 100,000 words (16 dims, k=0), ``create_many`` of 1,000,000 tokens;
    2. after 16 rounds of ``create_many(1M)`` + ``delete`` of those ids, ``create_many(1M)``.
    Reported: how many tokens the last call refused (0 or all of them), and the error.

(c) delete cost (target ratio <= 2)
    50 single ``rt.tokens.delete(id)`` calls, median per call, of bootstrapped word tokens
    (2,000 words x 32 dims, k=5: 10,000 connections) against the same on a runtime of 2,000
    tokens with sequential ids and 10,000 random connections (5 out of each token).

(d) connection churn (target < 10 MB)
    1,000,000 tokens; 20 rounds of ``connections.create_many`` of 1,000,000 random
    connections and ``connections.delete`` of them (20M created and deleted). Reported: RSS
    added and the store's connection memory, over the state before the first round, with 0
    connections left; below the table also the RSS added once glibc's ``malloc_trim(0)`` has
    returned the freed heap (memory the allocator keeps rather than the store).

(e) ``del rt`` frees the runtime (target < 10 MB)
    With the cyclic garbage collector off (``gc.disable()``): a runtime gets 1,000,000
    tokens, a grid query, updates, and a delete of 1,000 tokens; the name is rebound to a new
    such runtime 3 times, then ``del rt``. Reported: RSS left over the start, and whether any
    of the runtimes is still alive (weak references).

Usage::

    python bench/bench_store.py [--json results.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any, Callable, Optional

import numpy as np
from _harness import Result, cpu_busy, git_state, machine_info, print_table, run_steps

MB = 1e6
SEED = 20240610


# -- measured in the child ---------------------------------------------------------------------


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def trimmed_rss() -> Optional[int]:
    """RSS after asking glibc to give freed heap memory back (None where there is no glibc):
    tells memory the store holds from memory the allocator keeps."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return rss()


def store_memory(rt: Any) -> dict[str, int]:
    return {k: int(v) for k, v in rt.status().memory.items()}


def child_boot_memory() -> dict[str, Any]:
    import neurograph_lab as ng

    rng = np.random.default_rng(SEED)
    warm = ng.Runtime()  # warm up: thread pools, code paths
    warm.bootstrap(rng.normal(size=(50, 100)).astype(np.float32), [f"x{i}" for i in range(50)], k=3, progress=False)
    warm.query("x1", k=3)
    warm.graph.bfs(int(warm.tokens.ids()[0]), depth=1)
    del warm
    gc.collect()
    before = rss()
    vectors = rng.normal(size=(1700, 100)).astype(np.float32)
    words = [f"word{i}" for i in range(1700)]
    rt = ng.Runtime()
    report = rt.bootstrap(vectors, words, k=10, progress=False)
    gc.collect()
    after_boot = rss()
    mem_boot = store_memory(rt)
    rt.query("word1", k=10)
    after_query = rss()
    rt.graph.bfs(int(rt.tokens.find("word1")[0]), depth=1)
    gc.collect()
    after_graph = rss()
    return {
        "vectors_bytes": vectors.nbytes,
        "connections": report.connections,
        "rss_before": before,
        "added_boot": after_boot - before - vectors.nbytes,
        "added_query": after_query - before - vectors.nbytes,
        "added_graph": after_graph - before - vectors.nbytes,
        "store_boot": mem_boot,
        "store_graph": store_memory(rt),
    }


def _try_create(rt: Any, n: int) -> tuple[int, str]:
    """(tokens refused, error message) of create_many(n)."""
    import neurograph_lab as ng

    try:
        ids = rt.tokens.create_many(np.zeros((n, 8, 3), np.float32))
    except ng.NeuroGraphError as e:
        return n, f"{type(e).__name__}: {e}"
    return n - len(ids), ""


def child_ids_after_boot() -> dict[str, Any]:
    import neurograph_lab as ng

    rng = np.random.default_rng(SEED)
    rt = ng.Runtime()
    rt.bootstrap(
        rng.normal(size=(100_000, 16)).astype(np.float32), [f"w{i}" for i in range(100_000)], k=0, progress=False
    )
    refused, error = _try_create(rt, 1_000_000)
    return {"refused": refused, "error": error, "tokens": len(rt.tokens)}


def child_ids_after_churn() -> dict[str, Any]:
    import neurograph_lab as ng

    rt = ng.Runtime()
    failed_round = None
    for r in range(16):
        try:
            ids = rt.tokens.create_many(np.zeros((1_000_000, 8, 3), np.float32))
        except ng.NeuroGraphError as e:
            failed_round = f"round {r + 1}: {type(e).__name__}: {e}"
            break
        rt.tokens.delete(ids)
    refused, error = _try_create(rt, 1_000_000)
    return {"refused": refused, "error": error, "failed_round": failed_round, "tokens": len(rt.tokens)}


def _time_deletes(rt: Any, ids: np.ndarray) -> list[float]:
    times = []
    for tid in ids.tolist():
        t0 = time.perf_counter()
        rt.tokens.delete(int(tid))
        times.append(time.perf_counter() - t0)
    return times


def child_delete_cost(which: str) -> dict[str, Any]:
    import neurograph_lab as ng

    n, k, picks = 2000, 5, 50
    rng = np.random.default_rng(SEED)
    rt = ng.Runtime()
    if which == "boot":
        rt.bootstrap(rng.normal(size=(n, 32)).astype(np.float32), [f"w{i}" for i in range(n)], k=k, progress=False)
        ids = rt._core.bootstrap_vocabulary()[1]
    else:
        ids = rt.tokens.create_many(rng.uniform(-1, 1, (n, 8, 3)).astype(np.float32))
        a = np.repeat(ids, k)
        b = rng.choice(ids, a.size)
        rt.connections.create_many(a, b, kind="associated_with")
    conns = len(rt.connections)
    victims = rng.choice(np.asarray(ids), picks, replace=False)
    times = _time_deletes(rt, victims)
    return {"median": float(np.median(times)), "mean": float(np.mean(times)), "connections": conns}


def child_connection_churn() -> dict[str, Any]:
    import neurograph_lab as ng

    n, m, rounds = 1_000_000, 1_000_000, 20
    rng = np.random.default_rng(SEED)
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((n, 8, 3), np.float32))
    warm = rt.connections.create_many(ids[:10], ids[10:20])  # warm up the code path
    rt.connections.delete(warm)
    gc.collect()
    rss0, mem0 = rss(), store_memory(rt)
    t0 = time.perf_counter()
    for _ in range(rounds):
        cids = rt.connections.create_many(rng.choice(ids, m), rng.choice(ids, m))
        rt.connections.delete(cids)
        del cids
    seconds = time.perf_counter() - t0
    gc.collect()
    rss1, mem1 = rss(), store_memory(rt)
    trimmed = trimmed_rss()
    return {
        "rss_added_trimmed": None if trimmed is None else trimmed - rss0,
        "left": len(rt.connections),
        "created": rounds * m,
        "seconds": seconds,
        "rss_added": rss1 - rss0,
        "store_before": mem0,
        "store_after": mem1,
    }


def child_del_runtime() -> dict[str, Any]:
    import weakref

    import neurograph_lab as ng

    gc.disable()
    n = 1_000_000
    rng = np.random.default_rng(SEED)
    coords = rng.uniform(-1, 1, (n, 8, 3)).astype(np.float32)

    def build() -> Any:
        rt = ng.Runtime()
        ids = rt.tokens.create_many(coords)
        rt.grid.neighbors((0.0, 0.0, 0.0), k=5, space="cognitive")
        for tid in ids[:100].tolist():
            rt.tokens.update(int(tid), weight=0.5)
        rt.tokens.delete(ids[:1000])
        return rt

    warm = build()  # warm up, then free it the way the rest of the test does not rely on
    del warm
    gc.collect()
    before = rss()
    refs = []
    rt = build()
    refs.append(weakref.ref(rt))
    held = rss() - before
    for _ in range(3):
        rt = build()  # rebinding, as a re-run notebook cell does
        refs.append(weakref.ref(rt))
    del rt
    after = rss()
    alive = sum(r() is not None for r in refs)
    gc.collect()
    after_gc = rss()
    return {
        "held_one": held,
        "left": after - before,
        "alive": alive,
        "runtimes": len(refs),
        "left_after_gc": after_gc - before,
    }


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "boot_memory": child_boot_memory,
    "ids_after_boot": child_ids_after_boot,
    "ids_after_churn": child_ids_after_churn,
    "delete_cost": child_delete_cost,
    "connection_churn": child_connection_churn,
    "del_runtime": child_del_runtime,
}


def in_child(name: str, *args: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its last stdout line is the JSON result."""
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", name, *args],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {name} {' '.join(args)} exited with {out.returncode}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the report ------------------------------------------------------------------------------


def mb(b: float) -> float:
    return b / MB


def bench_boot_memory(details: dict[str, Any]) -> list[Result]:
    d = in_child("boot_memory")
    details["a"] = d
    ref = f"RSS added less the {d['vectors_bytes'] / MB:.2f} MB input"
    return [
        Result("(a) bootstrap 1,700 x 100, k=10: RSS added", mb(d["added_boot"]), None, "MB", 5.0, ref, absolute=True),
        Result("(a) ... after a semantic query", mb(d["added_query"]), None, "MB", 5.0, ref, absolute=True),
        Result("(a) ... after a graph query", mb(d["added_graph"]), None, "MB", 5.0, ref, absolute=True),
        Result(
            "(a) ... store reports",
            mb(sum(d["store_graph"].values())),
            None,
            "MB",
            5.0,
            "rt.status().memory",
            absolute=True,
        ),
    ]


def bench_ids(details: dict[str, Any]) -> list[Result]:
    boot = in_child("ids_after_boot")
    churn = in_child("ids_after_churn")
    details["b1"], details["b2"] = boot, churn
    return [
        Result(
            "(b) create_many(1M) after a 100k-word bootstrap",
            boot["refused"],
            None,
            "tokens",
            1,
            "tokens refused",
            absolute=True,
        ),
        Result(
            "(b) create_many(1M) after 16 x create_many(1M)+delete",
            churn["refused"],
            None,
            "tokens",
            1,
            "tokens refused",
            absolute=True,
        ),
    ]


def bench_delete(details: dict[str, Any]) -> list[Result]:
    boot = in_child("delete_cost", "boot")
    seq = in_child("delete_cost", "seq")
    details["c"] = {"boot": boot, "seq": seq}
    return [
        Result(
            "(c) tokens.delete(id) of a word token",
            boot["median"],
            seq["median"],
            "s",
            2.0,
            "a sequential id (median of 50)",
        )
    ]


def bench_connection_churn(details: dict[str, Any]) -> list[Result]:
    d = in_child("connection_churn")
    details["d"] = d
    store = d["store_after"].get("connections", 0) - d["store_before"].get("connections", 0)
    return [
        Result(
            "(d) 20M connections made+deleted: RSS added",
            mb(d["rss_added"]),
            None,
            "MB",
            10.0,
            "0 connections left",
            absolute=True,
        ),
        Result("(d) ... connection store grew by", mb(store), None, "MB", 10.0, "rt.status().memory", absolute=True),
    ]


def bench_del_runtime(details: dict[str, Any]) -> list[Result]:
    d = in_child("del_runtime")
    details["e"] = d
    return [
        Result(
            "(e) del rt, no gc.collect(): RSS left",
            mb(d["left"]),
            None,
            "MB",
            10.0,
            f"of {mb(d['held_one']):.0f} MB per runtime",
            absolute=True,
        )
    ]


def print_details(d: dict[str, Any]) -> None:
    print()
    if "a" in d:
        a = d["a"]
        print(f"(a) {a['connections']:,} connections woven; store parts after the bootstrap: {a['store_boot']}")
        print(f"    after the graph query: {a['store_graph']}")
    if "b1" in d:
        print(
            f"(b) after the bootstrap: {d['b1']['tokens']:,} tokens; {d['b1']['error'] or 'create_many(1M) succeeded'}"
        )
        b2 = d["b2"]
        print(f"    churn: {b2['failed_round'] or 'all 16 rounds succeeded'}; last call: {b2['error'] or 'succeeded'}")
    if "c" in d:
        c = d["c"]
        print(
            f"(c) word tokens: {c['boot']['median'] * 1e3:.3f} ms median, {c['boot']['mean'] * 1e3:.3f} ms mean "
            f"({c['boot']['connections']:,} connections); sequential: {c['seq']['median'] * 1e3:.3f} ms median, "
            f"{c['seq']['mean'] * 1e3:.3f} ms mean ({c['seq']['connections']:,} connections)"
        )
    if "d" in d:
        x = d["d"]
        print(
            f"(d) {x['created']:,} created and deleted in {x['seconds']:.1f} s, {x['left']} left; "
            f"store before {x['store_before']}, after {x['store_after']}"
        )
        if x.get("rss_added_trimmed") is not None:
            print(f"    RSS added after malloc_trim(0): {mb(x['rss_added_trimmed']):.1f} MB")
    if "e" in d:
        e = d["e"]
        print(
            f"(e) {e['alive']} of {e['runtimes']} runtimes still alive after del; RSS left {mb(e['left']):.1f} MB, "
            f"after gc.collect() {mb(e['left_after_gc']):.1f} MB"
        )


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        name, *rest = args.child
        print(json.dumps(CHILDREN[name](*rest)))
        return 0

    info = machine_info()
    info["git"] = git_state()
    info["cpu_busy_before"] = f"{cpu_busy():.0%} of all CPUs busy in the second before the start"
    print("neurograph_lab store benchmarks (memory and ids)")
    for k, v in info.items():
        print(f"  {k:<15} {v}")
    print()
    results: list[Result] = []
    details: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("(a) bootstrap memory", lambda: results.extend(bench_boot_memory(details))),
        ("(b) id exhaustion", lambda: results.extend(bench_ids(details))),
        ("(c) delete cost", lambda: results.extend(bench_delete(details))),
        ("(d) connection churn", lambda: results.extend(bench_connection_churn(details))),
        ("(e) del rt", lambda: results.extend(bench_del_runtime(details))),
    ]
    run_steps(steps, info)
    print()
    print_table(results)
    print_details(details)
    if args.json:
        payload = {
            "machine": info,
            "results": [{**r.__dict__, "ratio": r.ratio, "ok": r.ok} for r in results],
            "details": details,
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=1, default=str)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
