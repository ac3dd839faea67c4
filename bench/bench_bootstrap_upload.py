"""Bootstrap over HTTP (the dashboard's upload) next to the same bootstrap in the notebook.

The same word2vec text file (planted embeddings, ``--words`` x ``--dim``) is bootstrapped
``--rounds`` times each way into a fresh runtime:

- notebook: ``rt.bootstrap(path, k=K)`` (the file read by the core, then the bootstrap);
- HTTP: ``POST /api/v1/bootstrap`` + ``PUT /api/v1/bootstrap/{job}/file`` streamed in 1 MiB
  chunks over loopback, then ``GET`` polled every 5 ms until ``done``; reported: the upload
  (until the PUT's 202), and the total (until done).

Ratio = HTTP total / notebook (median of rounds); the difference is the upload to a temporary
file and re-reading it. Run: ``python bench/bench_bootstrap_upload.py [--words N --dim D]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Iterator

import httpx
from _harness import cpu_busy, git_state, machine_info

import neurograph_lab as ng
from neurograph_lab.datasets import planted_embeddings, write_vec


def chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while b := f.read(size):
            yield b


def notebook(path: Path, k: int) -> float:
    rt = ng.Runtime()
    t = time.perf_counter()
    rt.bootstrap(str(path), k=k, progress=False)
    return time.perf_counter() - t


def over_http(path: Path, k: int) -> tuple[float, float]:
    rt = ng.Runtime()
    srv = ng.serve(rt, rate_limits={r: (1e7, 1e7) for r in ("readonly", "user", "admin", "per_ip")})
    try:
        auth = {"Authorization": f"Bearer {srv.api_key}"}
        with httpx.Client(base_url=srv.url + "/api/v1", headers=auth, timeout=600) as c:
            t = time.perf_counter()
            job = c.post("/bootstrap", json={"name": path.name, "size": path.stat().st_size, "k": k}).json()["id"]
            r = c.put(f"/bootstrap/{job}/file", content=chunks(path))
            assert r.status_code == 202, r.text
            uploaded = time.perf_counter() - t
            while True:
                j = c.get(f"/bootstrap/{job}").json()
                if j["state"] in ("done", "failed", "cancelled"):
                    break
                time.sleep(0.005)
            total = time.perf_counter() - t
            assert j["state"] == "done", j
        return uploaded, total
    finally:
        srv.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    busy = cpu_busy()
    clusters = 8
    words, vectors = planted_embeddings(words_per_cluster=max(1, (a.words - 24) // clusters), dim=a.dim, pairs=12)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.vec"
        write_vec(path, words, vectors)
        size = path.stat().st_size
        nb, up, tot = [], [], []
        for _ in range(a.rounds):
            nb.append(notebook(path, a.k))
            u, t = over_http(path, a.k)
            up.append(u)
            tot.append(t)
    med = statistics.median
    print(f"machine: {machine_info()}  git: {git_state()}  cpu busy before start: {busy:.0%}")
    print(f"file: {len(words):,} words x {a.dim} dims, {size / 1e6:.1f} MB, k={a.k}, {a.rounds} rounds (median)")
    print(f"notebook rt.bootstrap(path)        {med(nb):8.3f} s")
    print(f"HTTP upload (to the PUT's 202)      {med(up):8.3f} s  ({size / 1e6 / med(up):.0f} MB/s)")
    print(f"HTTP upload + bootstrap (to done)   {med(tot):8.3f} s  ratio to notebook {med(tot) / med(nb):.2f}")


if __name__ == "__main__":
    main()
