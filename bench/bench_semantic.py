"""Semantic benchmarks: ``rt.query_many``, the embedding loader and weaving, against numpy,
pandas and faiss.

Every benchmark times one of our operations and a reference doing the same work, in the same
process on the same machine, and reports ``ratio = ours / reference``. Times are the best
(minimum) of several repetitions, each series after one untimed warm-up run (except the
weaving, which is too slow to warm up at full size).

1. query, top-10 (target ratio <= 0.5)
   E: 50,000 x 384 float32 vectors (``--quick``: 5,000), seeded normal; words ``w0 .. wN-1``;
   Q: 1,000 seeded normal query vectors. Both are L2-normalised outside the timings.
   ours: ``rt.query_many(Qn, k=10)`` on a runtime bootstrapped with ``rt.bootstrap(En, words,
   k=0)`` (no weaving, to keep the setup fast).
   reference: ``s = Qn @ En.T; top = np.argpartition(-s, 10, axis=1)[:, :10]`` then those 10
   sorted by score. Our token ids are mapped back to rows through ``rt._core.bootstrap_vocabulary()``;
   the top-10 sets must agree row by row (a row that differs only by a tie, a score within
   1e-5 of the 10th, is counted apart).

2. loading a word2vec text file (target ratio <= 0.5)
   A 100,000 x 300 file (``--quick``: 20,000) of seeded normal floats written once with
   ``neurograph_lab.datasets.write_vec`` (header line, 6 decimals) to /tmp and kept there.
   ours: ``ng.load_embeddings(path, progress=False)`` (the loader alone).
   reference: ``pandas.read_csv(path, sep=" ", header=None, skiprows=1, quoting=csv.QUOTE_NONE)``.
   Words and values are checked against each other. Also reported (no target): the whole
   ``rt.bootstrap(path, k=0)`` into a fresh runtime (loader + PCA + placing the tokens).

3. weaving k=10 neighbours (reported; no target)
   The same 100,000 x 300 vectors (``--quick``: 5,000), as an array with its words.
   ``rt.bootstrap(vectors, words, k=10)`` and ``rt.bootstrap(vectors, words, k=0)``, each into
   a fresh runtime; the weaving is the difference of the best times. The default
   ``space="auto"`` (8 spaces, PCA to 24 axes) is reported against ``space="abstract"`` (3 axes).
   reference (if ``import faiss`` works): ``faiss.IndexFlatIP`` on the normalised vectors,
   ``index.add(En)`` + ``index.search(En, 11)`` (each word finds itself, then its 10 neighbours).
   The woven connections are checked against faiss's neighbours.

Usage::

    python bench/bench_semantic.py [--quick] [--json results.json]

faiss is optional (``pip install faiss-cpu``); without it the weaving is reported in seconds.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import sys
import time
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd
from _harness import Result, cpu_busy, git_state, machine_info, print_table, run_steps, timings, write_json

import neurograph_lab as ng
from neurograph_lab.datasets import write_vec

try:
    import faiss
except ImportError:  # pragma: no cover - optional
    faiss = None  # type: ignore[assignment]

SEED = 20240601
K = 10
TIE_TOLERANCE = 1e-5
FILE_DIR = "/tmp"


# -- helpers --------------------------------------------------------------------------------


def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def normal(rows: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dim), dtype=np.float32)


def words_for(n: int) -> list[str]:
    return [f"w{i}" for i in range(n)]


def rows_of(rt: ng.Runtime, token_ids: np.ndarray) -> np.ndarray:
    """Token ids -> rows of the bootstrap vocabulary (``w<i>`` is row i)."""
    words, tids = rt._core.bootstrap_vocabulary()
    order = np.argsort(tids)
    pos = np.searchsorted(tids[order], token_ids)
    rows = order[np.clip(pos, 0, len(order) - 1)]
    assert np.all(tids[rows] == token_ids), "a returned id is not a bootstrap token"
    # the vocabulary keeps the order of the input words; check that on a sample
    assert all(words[i] == f"w{i}" for i in range(0, len(words), max(1, len(words) // 100)))
    return rows


# -- 1. query_many vs numpy ------------------------------------------------------------------


def numpy_topk(qn: np.ndarray, en: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    s = qn @ en.T
    top = np.argpartition(-s, k, axis=1)[:, :k]
    ts = np.take_along_axis(s, top, axis=1)
    order = np.argsort(-ts, axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(ts, order, axis=1)


def bench_query(n: int, dim: int, nq: int, repeat: int) -> Result:
    en = normalise(normal(n, dim, SEED))
    qn = normalise(normal(nq, dim, SEED + 1))
    words = words_for(n)
    rt = ng.Runtime()
    t0 = time.perf_counter()
    rt.bootstrap(en, words, k=0)
    setup_s = time.perf_counter() - t0
    holder: dict[str, Any] = {}
    ours = timings(lambda: holder.__setitem__("ours", rt.query_many(qn, k=K)), repeat, warmup=1)
    ref = timings(lambda: holder.__setitem__("ref", numpy_topk(qn, en, K)), repeat, warmup=1)
    o_ids, o_scores = holder.pop("ours")
    r_rows, r_scores = holder.pop("ref")
    assert o_ids.shape == (nq, K), f"query_many returned {o_ids.shape}, expected {(nq, K)}"
    o_rows = rows_of(rt, o_ids.ravel()).reshape(o_ids.shape)
    same_order = np.all(o_rows == r_rows, axis=1)
    same_set = np.all(np.sort(o_rows, axis=1) == np.sort(r_rows, axis=1), axis=1)
    # a differing row is a tie when every word we return that numpy does not has a score within
    # TIE_TOLERANCE of numpy's 10th
    full = qn @ en.T
    ties = 0
    for i in np.flatnonzero(~same_set):
        extra = np.setdiff1d(o_rows[i], r_rows[i])
        if np.all(full[i, extra] >= r_scores[i, -1] - TIE_TOLERANCE):
            ties += 1
    del full
    max_score_diff = float(np.max(np.abs(o_scores.astype(np.float64) - r_scores)))
    return Result(
        name=f"query_many top-{K}, {nq:,} q x {n:,} x {dim}",
        ours=min(ours),
        reference=min(ref),
        unit="s",
        target=0.5,
        reference_name="numpy Qn @ En.T + argpartition + sort",
        ours_runs=ours,
        reference_runs=ref,
        extra={
            "n": n,
            "dim": dim,
            "queries": nq,
            "bootstrap_k0_setup_s": setup_s,
            "rows_equal_in_order": float(same_order.mean()),
            "rows_equal_as_sets": float(same_set.mean()),
            "rows_differing_only_by_ties": ties,
            "max_abs_score_diff": max_score_diff,
        },
    )


# -- 2. load_embeddings vs pandas.read_csv ---------------------------------------------------


def vec_file(n: int, dim: int) -> tuple[str, float]:
    """The seeded ``n x dim`` .vec file under /tmp, written once (returns path, seconds spent
    writing it now, 0 when it was already there)."""
    path = os.path.join(FILE_DIR, f"ng_bench_semantic_{n}x{dim}_seed{SEED}.vec")
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.readline().split() == [str(n).encode(), str(dim).encode()]:
                return path, 0.0
    t0 = time.perf_counter()
    tmp = path + f".partial{os.getpid()}"
    write_vec(tmp, words_for(n), normal(n, dim, SEED + 2), header=True)
    os.replace(tmp, path)
    return path, time.perf_counter() - t0


def bench_load(n: int, dim: int, repeat: int) -> list[Result]:
    path, wrote_s = vec_file(n, dim)
    size = os.path.getsize(path)
    holder: dict[str, Any] = {}
    ours = timings(lambda: holder.__setitem__("ours", ng.load_embeddings(path, progress=False)), repeat, warmup=1)
    o_words, o_vecs, o_skipped = holder.pop("ours")
    ref = timings(
        lambda: holder.__setitem__("ref", pd.read_csv(path, sep=" ", header=None, skiprows=1, quoting=csv.QUOTE_NONE)),
        repeat,
        warmup=1,
    )
    df = holder.pop("ref")
    assert o_vecs.shape == (n, dim) and df.shape == (n, dim + 1), (o_vecs.shape, df.shape)
    words_equal = list(df.iloc[:, 0].astype(str)) == list(o_words)
    max_diff = float(np.max(np.abs(df.iloc[:, 1:].to_numpy(np.float64) - o_vecs)))
    del df, o_vecs, o_words

    holder.clear()

    def fresh() -> None:
        holder.clear()
        gc.collect()
        holder["rt"] = ng.Runtime()

    boot = timings(lambda: holder["rt"].bootstrap(path, k=0, progress=False), repeat, setup=fresh, warmup=1)
    tokens = len(holder["rt"].tokens)
    holder.clear()
    extra = {
        "n": n,
        "dim": dim,
        "file_bytes": size,
        "file_written_now_s": wrote_s,
        "words_equal": words_equal,
        "max_abs_value_diff": max_diff,
        "skipped": o_skipped,
        "bootstrap_tokens": tokens,
    }
    label = f"{n:,} x {dim}, {size / 1e6:,.0f} MB"
    return [
        Result(
            name=f"load .vec {label}",
            ours=min(ours),
            reference=min(ref),
            unit="s",
            target=0.5,
            reference_name="pandas.read_csv(sep=' ', QUOTE_NONE)",
            ours_runs=ours,
            reference_runs=ref,
            extra=extra,
        ),
        Result(
            name="  rt.bootstrap(path, k=0), whole",
            ours=min(boot),
            reference=min(ref),
            unit="s",
            target=None,
            reference_name="pandas.read_csv (as above)",
            ours_runs=boot,
            reference_runs=ref,
        ),
    ]


# -- 3. weaving k=10 vs faiss ----------------------------------------------------------------


def bench_weave(n: int, dim: int, repeat: int) -> list[Result]:
    vecs = normal(n, dim, SEED + 2)  # the vectors of the .vec file, as an array
    words = words_for(n)
    holder: dict[str, Any] = {}

    def fresh() -> None:
        holder.clear()
        gc.collect()
        holder["rt"] = ng.Runtime()

    k0 = timings(lambda: holder["rt"].bootstrap(vecs, words, k=0), repeat, setup=fresh)
    holder.clear()
    one = timings(lambda: holder["rt"].bootstrap(vecs, words, k=0, space="abstract"), repeat, setup=fresh)
    holder.clear()
    k10 = timings(lambda: holder.__setitem__("report", holder["rt"].bootstrap(vecs, words, k=K)), repeat, setup=fresh)
    rt, report = holder.pop("rt"), holder.pop("report")
    woven = report.connections
    conns = rt.connections.to_pandas()[["token_a", "token_b", "strength"]]
    a_rows = rows_of(rt, conns["token_a"].to_numpy(np.uint32))
    b_rows = rows_of(rt, conns["token_b"].to_numpy(np.uint32))
    del conns, rt
    gc.collect()
    weave = min(k10) - min(k0)
    extra: dict[str, Any] = {
        "n": n,
        "dim": dim,
        "connections": woven,
        "dropped_for_degree": report.dropped_for_degree,
        "bootstrap_k0_s": min(k0),
        "bootstrap_k10_s": min(k10),
    }
    results = [
        Result(f"bootstrap k=0, {n:,} x {dim} array", min(k0), None, "s", None, "-", k0),
        # the default fills 8 spaces (PCA to 24 axes): against one space (3 axes) in the same run
        Result(
            f"bootstrap k=0 space=auto ({3 * min(8, min(dim, n) // 3)} axes) / 'abstract' (3)",
            min(k0),
            min(one),
            "s",
            None,
            "space='abstract'",
            ours_runs=k0,
            reference_runs=one,
        ),
        Result(f"bootstrap k={K}, {n:,} x {dim} array", min(k10), None, "s", None, "-", k10),
    ]
    if faiss is None:
        extra["faiss"] = "not installed"
        results.append(
            Result(f"weave k={K} (k=10 minus k=0)", weave, None, "s", None, "faiss not installed", extra=extra)
        )
        return results

    en = normalise(vecs)

    def search() -> None:
        index = faiss.IndexFlatIP(dim)
        index.add(en)
        holder["ref"] = index.search(en, K + 1)

    ref = timings(search, repeat, setup=holder.clear)
    _, f_idx = holder.pop("ref")
    # faiss's neighbours without the word itself (the first column, unless a tie moved it)
    f_sets = [set(row[row != i][:K].tolist()) for i, row in enumerate(f_idx)]
    woven_sets: list[set[int]] = [set() for _ in range(n)]
    for x, y in zip(a_rows.tolist(), b_rows.tolist()):
        woven_sets[x].add(y)
    agree = float(np.mean([woven_sets[i] == f_sets[i] for i in range(n)]))
    overlap = float(np.mean([len(woven_sets[i] & f_sets[i]) / K for i in range(n)]))
    extra.update({"faiss": faiss.__version__, "rows_equal_as_sets": agree, "neighbour_overlap": overlap})
    results.append(
        Result(
            name=f"weave k={K} (k=10 minus k=0)",
            ours=weave,
            reference=min(ref),
            unit="s",
            target=None,
            reference_name=f"faiss IndexFlatIP add + search k={K + 1}",
            reference_runs=ref,
            extra=extra,
        )
    )
    return results


# -- report ---------------------------------------------------------------------------------


def print_notes(results: list[Result]) -> None:
    print("notes:")
    q = next((r for r in results if r.name.startswith("query_many")), None)
    if q is not None:
        e = q.extra
        print(
            f"  query: top-{K} rows equal in order {e['rows_equal_in_order']:.2%}, "
            f"as sets {e['rows_equal_as_sets']:.2%} (+{e['rows_differing_only_by_ties']} rows differing only by "
            f"ties within {TIE_TOLERANCE:g}); max |score diff| {e['max_abs_score_diff']:.2e}; "
            f"setup rt.bootstrap(k=0) {e['bootstrap_k0_setup_s']:.2f} s"
        )
    ld = next((r for r in results if r.name.startswith("load")), None)
    if ld is not None:
        e = ld.extra
        wrote = f"written now in {e['file_written_now_s']:.1f} s" if e["file_written_now_s"] else "reused"
        print(
            f"  load: {e['file_bytes']:,} bytes ({wrote}); words equal: {e['words_equal']}; max |value diff| vs "
            f"pandas {e['max_abs_value_diff']:.2e}; lines skipped {e['skipped']}; bootstrap placed "
            f"{e['bootstrap_tokens']:,} tokens"
        )
    w = next((r for r in results if r.name.startswith("weave")), None)
    if w is not None:
        e = w.extra
        s = (
            f"  weave: {e['connections']:,} connections ({e['dropped_for_degree']:,} dropped for degree limits); "
            f"bootstrap k=0 {e['bootstrap_k0_s']:.2f} s, k={K} {e['bootstrap_k10_s']:.2f} s"
        )
        if "rows_equal_as_sets" in e:
            s += (
                f"; woven neighbours equal to faiss's for {e['rows_equal_as_sets']:.2%} of words "
                f"(overlap {e['neighbour_overlap']:.2%}), faiss {e['faiss']}"
            )
        else:
            s += f"; faiss {e['faiss']}"
        print(s)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="5k-word query set, 20k-line file, 5k-word weaving")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = p.parse_args(argv)

    n_query, dim_query, nq = (5_000 if args.quick else 50_000), 384, 1_000
    n_file, dim_file = (20_000 if args.quick else 100_000), 300
    n_weave = 5_000 if args.quick else 100_000
    repeat_query, repeat_load, repeat_weave = 5, 3, (3 if args.quick else 2)

    info = machine_info()
    info["git"] = git_state()
    info["cpu_busy_before"] = f"{cpu_busy():.0%} of all CPUs busy in the second before the start"
    info["pandas"] = pd.__version__
    info["faiss"] = getattr(faiss, "__version__", "not installed")
    if faiss is not None:
        info["faiss_threads"] = faiss.omp_get_max_threads()
    print("neurograph_lab semantic benchmarks" + (" (--quick)" if args.quick else ""))
    for k, v in info.items():
        print(f"  {k:<15} {v}")
    print(
        f"  {'sizes':<15} query {nq:,} x {n_query:,} x {dim_query}; file {n_file:,} x {dim_file}; "
        f"weaving {n_weave:,} x {dim_file}"
    )
    print(
        f"  {'repetitions':<15} best of {repeat_query} (query), {repeat_load} (load), each after 1 warm-up; "
        f"{repeat_weave} (weaving, no warm-up)"
    )
    print()

    results: list[Result] = []
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("query", lambda: results.append(bench_query(n_query, dim_query, nq, repeat_query))),
        ("load", lambda: results.extend(bench_load(n_file, dim_file, repeat_load))),
        ("weave", lambda: results.extend(bench_weave(n_weave, dim_file, repeat_weave))),
    ]
    run_steps(steps, info)
    print()
    print_table(results)
    print()
    print_notes(results)
    print()
    print("repetitions (ms, in order):")
    for r in results:
        if r.name.startswith("  "):
            continue
        if r.ours_runs:
            print(f"  {r.name} / ours: " + " ".join(f"{t * 1e3:.1f}" for t in r.ours_runs))
        if r.reference_runs:
            print(f"  {r.name} / {r.reference_name}: " + " ".join(f"{t * 1e3:.1f}" for t in r.reference_runs))

    if args.json:
        write_json(
            args.json,
            info,
            results,
            quick=args.quick,
            sizes={
                "query_vocabulary": n_query,
                "query_dim": dim_query,
                "queries": nq,
                "file_words": n_file,
                "file_dim": dim_file,
                "weave_words": n_weave,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
