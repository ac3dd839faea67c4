"""Long core work with a progress bar and Ctrl-C.

Long core calls (bootstrap, layout, batched queries, loads) run on a core worker thread
while the calling thread waits with the GIL released and, about every 50 ms, runs Python's
signal handlers and an optional ``progress(done, total)`` callback. On Ctrl-C / Interrupt
Kernel the work stops at its next check without changing the runtime and
``KeyboardInterrupt`` reaches the caller; a write past its commit point finishes instead and
returns its result. The worker is always joined before the call returns.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")

#: a bar appears when the work has run this long (seconds)
BAR_AFTER = 1.0


class ProgressBar:
    """``progress(done, total)`` callback drawing a ``tqdm.auto`` bar: after ``BAR_AFTER``
    seconds (``enabled=None``), at once (``True``) or never (``False``)."""

    def __init__(self, desc: str, unit: str = "block", enabled: Optional[bool] = None) -> None:
        self.desc, self.unit, self.enabled = desc, unit, enabled
        self.start = time.monotonic()
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and self.enabled is not False and total:
            if self.enabled or time.monotonic() - self.start >= BAR_AFTER:
                from tqdm.auto import tqdm  # lazy: tqdm.auto looks for ipywidgets

                self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, leave=False)
        if self.bar is not None:
            self.bar.total = total
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_with_progress(
    work: Callable[[ProgressBar], T],
    desc: str,
    *,
    unit: str = "block",
    enabled: Optional[bool] = None,
) -> T:
    """Run ``work(progress)`` (a core call taking a ``progress`` callback) with a bar shown
    after ``BAR_AFTER`` seconds (``enabled=None``), always (``True``) or never (``False``)."""
    bar = ProgressBar(desc, unit, enabled)
    try:
        return work(bar)
    finally:
        bar.close()
