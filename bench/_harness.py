"""What every benchmark in bench/ shares: the result record, the table printer, machine and
git facts, a CPU-load probe taken before the start, and the timing loop.

Each benchmark is run as a script (``python bench/bench_x.py``), so this directory is on
``sys.path`` and ``from _harness import ...`` finds this module.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

import numpy as np

import neurograph_lab as ng


@dataclass
class Result:
    name: str
    ours: float
    reference: Optional[float]  # None: absolute target (ours must be < target seconds)
    unit: str  # "s"
    target: Optional[float]  # ratio <= target, or absolute seconds; None: reported only
    reference_name: str
    absolute: bool = False
    ours_runs: list[float] = field(default_factory=list)
    reference_runs: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> Optional[float]:
        if self.reference is None:
            return None
        return self.ours / self.reference

    @property
    def ok(self) -> Optional[bool]:
        if self.target is None:
            return None
        if self.absolute:
            return self.ours < self.target
        assert self.ratio is not None
        return self.ratio <= self.target


def fmt_value(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value:,.1f} B"
    if unit != "s":  # a count or a size in the unit named, e.g. "MB" or "tokens"
        return f"{value:,.1f} {unit}" if value != int(value) else f"{int(value):,} {unit}"
    if value < 1e-3:
        return f"{value * 1e6:,.1f} us"
    if value < 1.0:
        return f"{value * 1e3:,.1f} ms"
    return f"{value:,.3f} s"


def cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all CPUs busy (any process, any container) over ``seconds``, from
    /proc/stat; NaN where that is not available. Taken before the benchmarks start, it shows
    whether something else is using the machine."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v[:8]), idle

    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return float("nan")
    return 1.0 - (i1 - i0) / max(t1 - t0, 1)


def git_state() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def print_table(results: list[Result]) -> None:
    headers = ("benchmark", "ours", "reference", "ratio", "target", "met", "reference is")
    rows = []
    for r in results:
        if r.target is None:
            target, met = "-", "-"
        elif r.absolute:
            target, met = f"< {r.target:g} {r.unit}", "ok" if r.ok else "MISS"
        else:
            target, met = f"<= {r.target:g}x", "ok" if r.ok else "MISS"
        rows.append(
            (
                r.name,
                fmt_value(r.ours, r.unit),
                "-" if r.reference is None else fmt_value(r.reference, r.unit),
                "-" if r.ratio is None else f"{r.ratio:.2f}x",
                target,
                met,
                r.reference_name,
            )
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    right = {1, 2, 3}

    def line(cells: tuple[str, ...]) -> str:
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        return "  ".join(padded).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def run_steps(steps: list[tuple[str, Callable[[], Any]]], info: dict[str, Any]) -> None:
    """Run benchmark steps one after another, saying how long each took and the load."""
    for what, step in steps:
        t0 = time.perf_counter()
        step()
        gc.collect()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"  ... {what} done in {time.perf_counter() - t0:.1f} s (load {load:.2f})", flush=True)
    if hasattr(os, "getloadavg"):
        info["loadavg_1m_end"] = round(os.getloadavg()[0], 2)


def timings(
    fn: Callable[[], Any],
    repeat: int,
    setup: Optional[Callable[[], Any]] = None,
    warmup: int = 0,
    cpu: Optional[list[float]] = None,
) -> list[float]:
    """Wall times of ``repeat`` runs of ``fn()`` after ``warmup`` untimed runs; ``setup()`` runs
    untimed before each run. With ``cpu``, the CPU seconds of this process (all its threads) in
    each timed run are appended to it."""
    times = []
    for i in range(warmup + repeat):
        if setup is not None:
            setup()
        gc.collect()
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
            if cpu is not None:
                cpu.append(time.process_time() - c0)
    return times


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "neurograph_lab": ng.__version__,
    }
    ext = ng._core.__file__
    if ext:
        info["extension_built"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(ext)))
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    return info


def write_json(path: str, info: dict[str, Any], results: list[Result], **extra: Any) -> None:
    """Write a run's results (each with its ratio and verdict), the machine facts and any
    ``extra`` keys (``quick``, ``sizes``...) to ``path`` as JSON."""
    payload = {
        "machine": info,
        **extra,
        "results": [{**asdict(r), "ratio": r.ratio, "ok": r.ok} for r in results],
    }
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=str)
    print(f"results written to {path}")
