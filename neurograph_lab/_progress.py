"""Long core work with a progress bar and Ctrl-C.

The core call runs in a worker thread (it releases the GIL) while the calling thread draws a
``tqdm.auto`` bar from a shared ``_core.Progress`` and waits in short, interruptible steps. On
Ctrl-C / Interrupt Kernel the progress is cancelled, the core stops at its next check without
changing the runtime, and ``KeyboardInterrupt`` reaches the caller.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional, TypeVar

from . import _core

T = TypeVar("T")

#: a bar appears when the work has run this long (seconds)
BAR_AFTER = 1.0


def run_with_progress(
    work: Callable[[Any], T],
    desc: str,
    *,
    unit: str = "block",
    enabled: Optional[bool] = None,
) -> T:
    """Run ``work(progress)`` in a worker thread; show a bar after ``BAR_AFTER`` seconds
    (``enabled=None``), always (``True``) or never (``False``)."""
    progress = _core.Progress()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work(progress)
        except BaseException as e:  # handed to the calling thread
            box["error"] = e

    worker = threading.Thread(target=target, name=f"neurograph: {desc}", daemon=True)
    start = time.monotonic()
    worker.start()
    bar = None
    try:
        while worker.is_alive():
            worker.join(0.05)
            if bar is None and enabled is not False and progress.total:
                if enabled or time.monotonic() - start >= BAR_AFTER:
                    bar = _bar(progress.total, desc, unit)
            if bar is not None:
                bar.total = progress.total
                bar.update(progress.done - bar.n)
    except KeyboardInterrupt:
        progress.cancel()
        worker.join()
        raise
    finally:
        if bar is not None:
            bar.close()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _bar(total: int, desc: str, unit: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False)
