"""The web dashboard in headless Chromium against a real ``ng.serve``: how soon it paints, how
big it is, how fast it follows the notebook.

Measured:

- first paint after login: from opening a one-time login link to the overview showing the
  runtime's token count (and the browser's first-contentful-paint), fresh context each time,
  p50 and max over ``--logins`` (target < 1 s);
- bundle size: the dashboard's files raw and gzipped (target < 300 KB gzipped without the
  shared renderers), next to the notebook widgets' bundles;
- live update: a token created in the notebook's runtime to the overview's token figure
  changed and painted (the next animation frame after the DOM change), p50 / p90 / max over
  ``--writes`` writes (target p50 < 200 ms). Both clocks are this machine's wall clock.

Needs Debian's Chromium (/usr/bin/chromium or ``NG_CHROMIUM``) and Python playwright.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import time
from pathlib import Path

import numpy as np
from _harness import cpu_busy, git_state, machine_info

import neurograph_lab as ng

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "neurograph_lab" / "static"
CHROMIUM = os.environ.get("NG_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--no-proxy-server",
]
UNLIMITED: dict[str, object] = {role: (1e7, 1e7) for role in ("readonly", "user", "admin", "per_ip")}
UNLIMITED["login_per_minute"] = 1_000_000  # every measured login opens a fresh link
TOKENS_SHOWN = (
    "n => { const e = document.querySelector(\"[data-metric='tokens'] .metric-value\");"
    " return !!e && e.textContent === n.toLocaleString('en-US'); }"
)

# Installed in the page: when the token figure changes, the wall-clock time of the next frame.
WATCH = """() => {
  const el = document.querySelector("[data-metric='tokens'] .metric-value");
  window.__paints = [];
  new MutationObserver(() => {
    const text = el.textContent;
    requestAnimationFrame(() => window.__paints.push([text, performance.timeOrigin + performance.now()]));
  }).observe(el, { characterData: true, childList: true, subtree: true });
}"""


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def bundle_sizes() -> dict[str, tuple[int, int]]:
    out = {}
    for p in sorted((STATIC / "dashboard").iterdir()) + [STATIC / "grid.js", STATIC / "graph.js"]:
        b = p.read_bytes()
        out[str(p.relative_to(STATIC))] = (len(b), len(gzip.compress(b, 9)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=10_000, help="tokens in the served runtime")
    ap.add_argument("--logins", type=int, default=10)
    ap.add_argument("--writes", type=int, default=50)
    args = ap.parse_args()
    print(f"commit {git_state()}; machine {machine_info()}; CPU busy before start {cpu_busy():.0%}")

    print("\nbundle (bytes raw / gzipped)")
    dash_gz = 0
    for name, (raw, gz) in bundle_sizes().items():
        print(f"  {name:28s} {raw / 1024:8.1f} KiB  {gz / 1024:7.1f} KiB gz")
        if name.startswith("dashboard/"):
            dash_gz += gz
    print(f"  dashboard total gzipped: {dash_gz / 1024:.1f} KiB (target < 300 KB)")

    rt = ng.Runtime()
    rng = np.random.default_rng(0)
    rt.tokens.create_many(rng.uniform(-1, 1, (args.tokens, 8, 3)).astype(np.float32))
    from playwright.sync_api import sync_playwright  # lazy: only this bench needs playwright

    with ng.serve(rt, rate_limits=UNLIMITED) as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            # warm the server and the browser's caches once (not measured)
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(srv.login_url)
            page.wait_for_function(TOKENS_SHOWN, arg=len(rt.tokens), timeout=60_000)
            ctx.close()

            shown, fcp = [], []
            for _ in range(args.logins):
                ctx = browser.new_context()
                page = ctx.new_page()
                link = srv.login_url
                t0 = time.time() * 1000
                page.goto(link)
                page.wait_for_function(TOKENS_SHOWN, arg=len(rt.tokens), timeout=60_000, polling="raf")
                t1 = time.time() * 1000
                shown.append(t1 - t0)
                f = page.evaluate(
                    "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
                )
                if f is not None:
                    fcp.append(float(f))
                ctx.close()
            print(f"\nfirst paint after login ({args.logins} fresh logins, {args.tokens:,} tokens)")
            p50, worst = statistics.median(shown), max(shown)
            print(f"  link opened -> token count on screen: p50 {p50:.0f} ms, max {worst:.0f} ms (target < 1000 ms)")
            if fcp:
                print(f"  first-contentful-paint of the page:   p50 {statistics.median(fcp):.0f} ms")

            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(srv.login_url)
            page.wait_for_selector("[data-live='open']", timeout=60_000)
            page.wait_for_function(TOKENS_SHOWN, arg=len(rt.tokens), timeout=60_000)
            page.evaluate(WATCH)
            lat = []
            for _ in range(args.writes):
                n = len(rt.tokens) + 1
                t0 = time.time() * 1000
                rt.tokens.create(cognitive=(0.1, 0.2, 0.3))
                page.wait_for_function(
                    "s => window.__paints.some(p => p[0] === s)", arg=f"{n:,}", timeout=30_000, polling=5
                )
                t1 = page.evaluate("s => window.__paints.find(p => p[0] === s)[1]", f"{n:,}")
                lat.append(t1 - t0)
                time.sleep(0.05)  # spacing between writes, so each is its own update
            ctx.close()
            print(f"\nnotebook write -> dashboard paint ({args.writes} writes)")
            print(
                f"  p50 {statistics.median(lat):.0f} ms, p90 {pct(lat, 0.9):.0f} ms, max {max(lat):.0f} ms"
                " (target p50 < 200 ms)"
            )
        finally:
            browser.close()


if __name__ == "__main__":
    main()
