"""Magic benchmarks: ``%ng_query`` round trips and ``%ng_tokens`` to a DataFrame, in a real
IPython ``InteractiveShell``.

1. ``%ng_query`` round trip (target: p50 < 2 ms, absolute)
   A runtime bootstrapped (``k=0``) with 100,000 words x 300 dims of seeded normal vectors
   (``--quick``: 20,000). 500 queries of one random vocabulary word, ``-k 10``. One round trip
   is ``shell.run_line_magic("ng_query", "<word> -k 10")`` plus the display: formatting the
   result as Jupyter would (``shell.display_formatter.format(result)``: text/plain and
   text/html). Reported: p50 and p99 of the round trip and the share of the p50 that is display.

2. ``%ng_tokens --limit 1000000`` (target ratio <= 2)
   1,000,000 tokens (``--quick``: 200,000) from a seeded uniform (N, 8, 3) array, with labels.
   ours: ``shell.run_line_magic("ng_tokens", "--limit N")`` (the DataFrame, not its display).
   reference: ``pandas.DataFrame(columns, index=ids)`` with pandas' defaults, from the same
   columns as numpy arrays made beforehand outside the timing (labels as an object array of
   str, coordinates as 24 float32 columns). Ours also types the columns (string labels,
   categorical entity, datetime timestamps). Ids, labels and coordinates are checked equal.

Usage::

    python bench/bench_magics.py [--quick] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd
from _harness import Result, cpu_busy, git_state, machine_info, print_table, run_steps, timings

import neurograph_lab as ng  # noqa: E402


def shell_with(rt: ng.Runtime) -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.user_ns["ng_rt"] = rt
    sh.run_line_magic("load_ext", "neurograph_lab")
    return sh


def bench_query(n: int, dim: int, nq: int) -> list[Result]:
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(n)]
    rt = ng.Runtime()
    rt.bootstrap(rng.standard_normal((n, dim)).astype(np.float32), words, k=0, progress=False)
    sh = shell_with(rt)
    picks = rng.integers(0, n, nq)
    fmt = sh.display_formatter.format
    for w in picks[:20]:  # warm-up
        fmt(sh.run_line_magic("ng_query", f"w{w} -k 10"))
    total, display = [], []
    for w in picks:
        t0 = time.perf_counter()
        res = sh.run_line_magic("ng_query", f"w{w} -k 10")
        t1 = time.perf_counter()
        data, _ = fmt(res)
        t2 = time.perf_counter()
        assert res.ids.size == 10 and "text/html" in data
        total.append(t2 - t0)
        display.append(t2 - t1)
    total_a, display_a = np.array(total), np.array(display)
    p50 = float(np.median(total_a))
    share = float(np.median(display_a)) / p50
    r = Result(
        f"%ng_query round trip p50 ({n // 1000}k words)",
        p50,
        None,
        "s",
        2e-3,
        f"absolute; display is {share:.0%} of it",
        absolute=True,
        ours_runs=total,
        extra={"p99": float(np.quantile(total_a, 0.99)), "display_share_p50": share},
    )
    p99 = Result(
        f"%ng_query round trip p99 ({n // 1000}k words)", float(np.quantile(total_a, 0.99)), None, "s", None, "-"
    )
    # context: the same ranking in numpy (one matrix-vector product + argpartition)
    emb = rt._core.bootstrap_vectors()
    words_arr, _ = rt._core.bootstrap_vocabulary()
    row = {w: i for i, w in enumerate(words_arr)}
    ref = []
    for w in picks:
        t0 = time.perf_counter()
        s = emb @ emb[row[f"w{w}"]]
        top = np.argpartition(-s, 11)[:11]
        top[np.argsort(-s[top])]
        ref.append(time.perf_counter() - t0)
    numpy_p50 = float(np.median(ref))
    core = Result(
        "  ranking alone vs numpy matvec + argpartition",
        float(np.median([t - d for t, d in zip(total, display)])),
        numpy_p50,
        "s",
        None,
        "numpy E @ q + argpartition, p50",
    )
    return [r, p99, core]


def bench_tokens(n: int, repeat: int) -> list[Result]:
    from neurograph_lab.runtime import SPACES

    rng = np.random.default_rng(11)
    rt = ng.Runtime()
    rt.tokens.create_many(rng.uniform(-1, 1, (n, 8, 3)).astype(np.float32), labels=[f"t{i}" for i in range(n)])
    sh = shell_with(rt)
    # the same columns as numpy arrays, made beforehand (labels as an object array of str)
    c = rt.tokens._columns(n)
    flat = c["coords"].reshape(n, 24)
    columns: dict[str, Any] = {"label": np.array(c["label"], dtype=object)}
    for name in ("entity", "weight", "field_radius", "field_strength", "timestamp"):
        columns[name] = c[name]
    for s, space in enumerate(SPACES):
        for a, axis in enumerate("xyz"):
            columns[f"{space}_{axis}"] = flat[:, s * 3 + a]
    index = pd.Index(c["id"], name="id")

    def reference() -> pd.DataFrame:
        return pd.DataFrame(columns, index=index)

    def ours() -> pd.DataFrame:
        return sh.run_line_magic("ng_tokens", f"--limit {n}")

    got, want = ours(), reference()
    assert got.index.equals(want.index) and list(got.columns) == list(want.columns)
    assert got["label"].tolist() == want["label"].tolist()
    assert np.array_equal(got.iloc[:, 6:].to_numpy(), want.iloc[:, 6:].to_numpy(), equal_nan=True)
    o = timings(ours, repeat, warmup=1)
    ref = timings(reference, repeat, warmup=1)
    return [
        Result(
            f"%ng_tokens --limit {n:,}",
            min(o),
            min(ref),
            "s",
            2.0,
            "pandas.DataFrame(dict of numpy columns)",
            ours_runs=o,
            reference_runs=ref,
        )
    ]


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="20k words, 200k tokens")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = p.parse_args(argv)
    n_words, dim, nq = (20_000 if args.quick else 100_000), 300, 500
    n_tokens, repeat = (200_000 if args.quick else 1_000_000), 5

    info = machine_info()
    info["git"] = git_state()
    info["cpu_busy_before"] = f"{cpu_busy():.0%} of all CPUs busy in the second before the start"
    info["pandas"] = pd.__version__
    print("neurograph_lab magic benchmarks" + (" (--quick)" if args.quick else ""))
    for k, v in info.items():
        print(f"  {k:<15} {v}")
    print(f"  {'sizes':<15} query: {nq} queries over {n_words:,} x {dim}; tokens: {n_tokens:,}")
    print()
    results: list[Result] = []
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("query", lambda: results.extend(bench_query(n_words, dim, nq))),
        ("tokens", lambda: results.extend(bench_tokens(n_tokens, repeat))),
    ]
    run_steps(steps, info)
    print()
    print_table(results)
    if args.json:
        payload = {"machine": info, "quick": args.quick, "results": [r.__dict__ for r in results]}
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
