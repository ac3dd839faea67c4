"""What the distributed jobs share: dask imported on first use, the client check, waiting on
futures with a progress bar, and row blocks. Dask is an optional extra (``neurograph_lab[dask]``):
nothing here imports it until a job runs."""

from __future__ import annotations

from typing import Any, Optional

from ._progress import ProgressBar
from .errors import ValidationError

# dask.distributed's Client and Future (its annotations are partial, so mypy --strict sees them
# as Any here); dask itself is imported on first use (dask_module)
Client = Any
Future = Any


def dask_module() -> Any:
    """The ``distributed`` package (the optional extra), imported on first use so that the
    package imports (and documents) without it."""
    try:
        import distributed  # lazy: dask is the optional extra neurograph_lab[dask]
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "neurograph_lab.distributed needs Dask: pip install 'neurograph_lab[dask]' "
            f"(dask[distributed]); importing it failed: {e}"
        ) from None
    return distributed


def wait_all(client: Client, futures: list[Future], desc: str, progress: Optional[bool]) -> list[Any]:
    """Results of ``futures`` in order, with a bar over their completion. The first error is
    raised as the worker raised it (its own class); an error or Ctrl-C cancels the rest."""
    as_completed = dask_module().as_completed
    bar = ProgressBar(desc, unit="task", enabled=progress)
    try:
        for done, fut in enumerate(as_completed(futures), start=1):
            if fut.status == "error":
                fut.result()  # raises the worker's exception
            bar(done, len(futures))
        return list(client.gather(futures))
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        bar.close()


def as_client(client: Any) -> Client:
    """``client`` if it is a ``dask.distributed.Client``, else a ``ValidationError`` saying how
    to make one."""
    if not isinstance(client, dask_module().Client):
        raise ValidationError(
            f"client must be a dask.distributed.Client, got {type(client).__name__}: "
            "client = Client(LocalCluster(n_workers=2)) or Client('scheduler-address:8786')"
        )
    return client


def row_blocks(n: int, block_rows: int) -> list[tuple[int, int]]:
    """``[start, end)`` of consecutive blocks of ``block_rows`` rows (the last one shorter)."""
    return [(s, min(n, s + block_rows)) for s in range(0, n, block_rows)]
