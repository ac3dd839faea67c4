"""Fixed-rate HTTP GET load for bench_server.py, run as its own process.

``python _rate_client.py URL KEY RATE SECONDS TOKENS`` sends RATE requests per second for
SECONDS to ``URL/api/v1/tokens/{id}`` over keep-alive connections from a few threads. Latency is
measured from each request's *scheduled* time (no coordinated omission). Prints one JSON line:
sent, errors, p50 and p99 in milliseconds.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


def main() -> None:
    url, key, rate, seconds, tokens = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    parts = urllib.parse.urlsplit(url)
    threads = 8
    per = rate / threads
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker(w: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {"Authorization": f"Bearer {key}"}
        mine: list[float] = []
        n = int(per * seconds)
        rng = random.Random(w)
        for i in range(n):
            due = start + (i + w / threads) / per
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            try:
                conn.request("GET", f"/api/v1/tokens/{rng.randint(1, tokens)}", headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    with lock:
                        errors[0] += 1
            except OSError:
                with lock:
                    errors[0] += 1
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            mine.append(time.perf_counter() - due)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat.sort()

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3 if lat else float("nan")

    print(json.dumps({"sent": len(lat), "errors": errors[0], "p50_ms": q(0.50), "p99_ms": q(0.99)}))


if __name__ == "__main__":
    main()
