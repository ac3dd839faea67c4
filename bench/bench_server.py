"""The served runtime against a FastAPI + uvicorn app over the same runtime, in one run.

Measured (service study §5 and issue 12's speed targets):

- GET and POST of one token, 64 connections, ``wrk``: ours / reference requests per second
  (target >= 5x) and POST/s on this machine (target >= 10,000).
- While the main thread runs a pure-Python loop (a notebook cell): GET p99 at 1,000 req/s
  (target <= 5 ms) and the loop's speed against the idle loop (target >= 90%), for both.
- POST/s with the journal on (standalone CLI) against journal off (target >= 0.5).
- WebSocket fan-out: 100 clients x 1,000 events/s, delivered share and p99 (target 100%,
  <= 20 ms), with the Rust load client in ``core_rs/examples/ws_load.rs``.

Needs ``wrk`` (Debian package) and ``pip install fastapi uvicorn``; ``make bench`` installs both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import cpu_busy, git_state, machine_info

import neurograph_lab as ng

HERE = Path(__file__).resolve().parent
UNLIMITED = {role: (1e7, 1e7) for role in ("readonly", "user", "admin", "per_ip")}


def wrk(url: str, script: str, key: str, tokens: int, seconds: int, connections: int = 64) -> float:
    """Requests per second from ``wrk`` (2 threads, ``connections`` keep-alive connections)."""
    env = dict(os.environ, NG_BENCH_KEY=key, NG_BENCH_TOKENS=str(tokens))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(HERE / "wrk" / script), url],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    if bad:
        raise RuntimeError(f"{bad.group(1)} failed requests against {url}:\n{out}")
    return float(m.group(1))


def spin_rate(seconds: float) -> float:
    """Iterations per second of a pure-Python loop (what a notebook cell does)."""
    n = 0
    s = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for i in range(10_000):
            s += i * i
        n += 10_000
    return n / seconds


def busy_cell(url: str, key: str, tokens: int, seconds: float) -> dict[str, float]:
    """GET latency at 1,000 req/s from another process while this thread spins, and the spin
    rate under that load relative to an idle spin."""
    idle = spin_rate(seconds)
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_rate_client.py"), url, key, "1000", str(seconds), str(tokens)],
        stdout=subprocess.PIPE,
        text=True,
    )
    loaded = spin_rate(seconds + 0.4)
    out, _ = proc.communicate()
    stats = json.loads(out)
    stats["cell_speed"] = loaded / idle
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 s runs, 20k tokens")
    args = ap.parse_args()
    if args.quick:
        args.tokens, args.seconds = 20_000, 3
    if shutil.which("wrk") is None:
        sys.exit("bench_server.py needs wrk: apt-get install wrk (make bench does)")
    from server_reference import Reference  # lazy: needs fastapi

    print("bench_server: the Rust server vs FastAPI + uvicorn, same runtime, same process")
    print(f"commit {git_state()}; machine {machine_info()}; CPU busy before start {cpu_busy():.0%}")
    rt = ng.Runtime()
    coords = np.random.default_rng(0).random((args.tokens, 8, 3), dtype=np.float32)
    rt.tokens.create_many(coords)
    # The limiter still runs on every request; its rates are only raised past what wrk sends.
    srv = ng.serve(rt, rate_limits=UNLIMITED)
    ref = Reference(rt)
    rows = []
    try:
        for what, script in (("GET token", "get_token.lua"), ("POST token", "post_token.lua")):
            ours = wrk(srv.url, script, srv.api_key, args.tokens, args.seconds)
            theirs = wrk(ref.url, script, ref.key, args.tokens, args.seconds)
            rows.append((what, ours, theirs))
            print(f"{what:<12} ours {ours:>10,.0f} req/s   FastAPI {theirs:>8,.0f} req/s   ratio {ours / theirs:5.1f}x")
        for name, url, key in (("ours", srv.url, srv.api_key), ("FastAPI", ref.url, ref.key)):
            s = busy_cell(url, key, args.tokens, max(3.0, args.seconds / 2))
            print(
                f"busy cell    {name:<8} GET p50 {s['p50_ms']:6.2f} ms  p99 {s['p99_ms']:7.2f} ms  "
                f"errors {s['errors']}  cell keeps {s['cell_speed']:.0%} of its speed"
            )
    finally:
        ref.stop()
        srv.stop()
    journal_ratio(args)
    ws_fanout(args)


def ws_fanout(args: argparse.Namespace) -> None:
    """100 WebSocket clients x 1,000 store writes per second (core_rs/examples/ws_fanout.rs)."""
    root = HERE.parent
    cmd = ["cargo", "run", "--quiet", "--release", "--manifest-path", str(root / "core_rs" / "Cargo.toml")]
    cmd += ["--features", "server", "--example", "ws_fanout", "--", "100", "1000", str(max(3, args.seconds // 2))]
    s = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    print(
        f"websocket    {s['clients']} clients x {s['rate_achieved']:,.0f} events/s: delivered {s['delivered']:.2%}, "
        f"resyncs {s['resyncs']}, p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, max {s['max_ms']:.1f} ms"
    )


def journal_ratio(args: argparse.Namespace) -> None:
    """POST/s with the write journal (fsync, group commit) against the same server without."""
    rates = {}
    with tempfile.TemporaryDirectory() as d:
        for mode in ("off", "on"):
            rt = ng.Runtime()
            kw: dict = {}
            if mode == "on":
                snap = Path(d) / "lab.ngs"
                rt.save(snap)
                kw = {"journal_dir": str(Path(d) / "journal"), "snapshot_path": str(snap)}
            srv = ng._core.serve(rt._core, rate_limits=UNLIMITED, **kw)
            try:
                rates[mode] = wrk(f"http://127.0.0.1:{srv.port}", "post_token.lua", srv.admin_key, 1, args.seconds)
            finally:
                srv.stop()
    on, off = rates["on"], rates["off"]
    print(f"journal      on {on:>10,.0f} POST/s   off {off:>10,.0f} POST/s   on/off {on / off:.2f}")


if __name__ == "__main__":
    main()
