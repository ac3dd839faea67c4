"""The dashboard's tokens table over 1M tokens: the next page of 100 rows, server time p99
(issue 14's target: under 20 ms), in id order, sorted by weight and by label, and filtered.

Server time is the ``Server-Timing: table;dur=`` the route reports (query to serialised
body); the client's round trip over loopback (httpx, JSON parsed) is reported next to it.
Each case walks ``--pages`` consecutive pages from a warm start (the first page of a query,
which scans and sorts the store once per store version, is timed apart as ``first``).

    python bench/bench_dashboard_tokens.py [--tokens 1000000] [--pages 200]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import httpx
import numpy as np
from _harness import cpu_busy, git_state, machine_info

import neurograph_lab as ng

UNLIMITED = {role: (1e7, 1e7) for role in ("readonly", "user", "admin", "per_ip")}
TARGET_MS = 20.0

CASES: list[tuple[str, dict[str, str]]] = [
    ("id order", {}),
    ("sorted by weight desc", {"sort": "weight", "desc": "true"}),
    ("sorted by label", {"sort": "label"}),
    (
        "filtered (weight > 0.5 and label.str.startswith('w1'))",
        {"where": "weight > 0.5 and label.str.startswith('w1')"},
    ),
    ("filtered + sorted by cognitive_x", {"where": "entity == 'concept' or weight < 0.1", "sort": "cognitive_x"}),
]


def server_ms(r: httpx.Response) -> float:
    """The route's own time from its Server-Timing header."""
    h = r.headers["server-timing"]
    return float(h.split("dur=")[1])


def walk(client: httpx.Client, params: dict[str, str], pages: int) -> dict[str, Any]:
    """First page, then ``pages`` next pages of 100; server and round-trip times in ms."""
    q = {**params, "limit": "100"}
    t0 = time.perf_counter()
    r = client.get("/tokens/table", params=q)
    first_rt = (time.perf_counter() - t0) * 1e3
    r.raise_for_status()
    first = server_ms(r)
    body = r.json()
    count = body["count"]
    srv: list[float] = []
    rtt: list[float] = []
    cursor = body["next"]
    for _ in range(pages):
        if cursor is None:  # walked off the end: start over (the query's list stays cached)
            r = client.get("/tokens/table", params=q)
            cursor = r.json()["next"]
            continue
        t0 = time.perf_counter()
        r = client.get("/tokens/table", params={**q, "cursor": cursor})
        rtt.append((time.perf_counter() - t0) * 1e3)
        r.raise_for_status()
        srv.append(server_ms(r))
        page = r.json()
        assert len(page["items"]) <= 100
        cursor = page["next"]
    return {
        "count": count,
        "first_server_ms": first,
        "first_roundtrip_ms": first_rt,
        "next_server_p50_ms": float(np.percentile(srv, 50)),
        "next_server_p99_ms": float(np.percentile(srv, 99)),
        "next_roundtrip_p50_ms": float(np.percentile(rtt, 50)),
        "next_roundtrip_p99_ms": float(np.percentile(rtt, 99)),
        "pages": len(srv),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=1_000_000)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    print(f"machine: {machine_info()}  git: {git_state()}  cpu busy before start: {cpu_busy():.0%}")

    n = args.tokens
    rng = np.random.default_rng(14)
    rt = ng.Runtime()
    t0 = time.perf_counter()
    coords = rng.uniform(-1, 1, (n, 8, 3)).astype(np.float32)
    entities = np.array([5, 1, 2, 3], dtype=np.uint8)[rng.integers(0, 4, n)]  # concept, object, event, state
    rt.tokens.create_many(
        coords,
        weights=rng.uniform(0, 1, n).astype(np.float32),
        entities=entities,
        labels=[f"w{i}" for i in rng.permutation(n)],
    )
    del coords
    print(f"{n:,} tokens created in {time.perf_counter() - t0:.1f} s")

    srv = ng.serve(rt, rate_limits=UNLIMITED)
    results: dict[str, Any] = {}
    try:
        with httpx.Client(
            base_url=srv.url + "/api/v1", headers={"Authorization": f"Bearer {srv.api_key}"}, timeout=120
        ) as client:
            for name, params in CASES:
                results[name] = walk(client, params, args.pages)
    finally:
        srv.stop()

    print(f"\nnext page of 100 rows over {n:,} tokens ({args.pages} pages per case); target p99 < {TARGET_MS:.0f} ms")
    head = f"{'case':58} {'matches':>9} {'first':>9} {'srv p50':>8} {'srv p99':>8} {'rtt p99':>8}  ok"
    print(head)
    print("-" * len(head))
    ok_all = True
    for name, r in results.items():
        ok = r["next_server_p99_ms"] < TARGET_MS
        ok_all &= ok
        print(
            f"{name:58} {r['count']:>9,} {r['first_server_ms']:>7.1f}ms {r['next_server_p50_ms']:>6.2f}ms"
            f" {r['next_server_p99_ms']:>6.2f}ms {r['next_roundtrip_p99_ms']:>6.2f}ms  {'yes' if ok else 'NO'}"
        )
    print(f"\nall cases under {TARGET_MS:.0f} ms p99: {'yes' if ok_all else 'NO'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tokens": n, "pages": args.pages, "target_ms": TARGET_MS, "cases": results}, f, indent=2)


if __name__ == "__main__":
    main()
