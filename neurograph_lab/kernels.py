"""Pure block kernels: module-level functions over numpy/Arrow blocks, from the compiled core.

Each runs in Rust with the GIL released, keeps no hidden state and is picklable by reference,
so Dask workers can call them (``neurograph_lab.distributed`` does). Nothing here takes or
returns a ``Runtime``.
"""

from __future__ import annotations

__all__: list[str] = []

# ---------------------------------------------------------------------------------------------
# Parquet dataset parts (docs/dataset-format.md). Write the parts of a dataset from workers
# into a temporary directory, then install it with ``finish_dataset``:
#
#     tmp = K.dataset_tempdir("lab/")
#     K.write_tokens_part(tmp, 0, {"id": ids, "coords": coords})      # on any worker
#     K.finish_dataset(tmp, "lab/")                                    # on the client
#
# ``ng.Runtime.from_parquet("lab/")`` opens the result.
# ---------------------------------------------------------------------------------------------
from ._core import (  # noqa: E402
    DATASET_FORMAT_VERSION,
    dataset_tempdir,
    finish_dataset,
    write_connections_part,
    write_tokens_part,
    write_vectors_part,
)

__all__ += [
    "DATASET_FORMAT_VERSION",
    "dataset_tempdir",
    "write_tokens_part",
    "write_connections_part",
    "write_vectors_part",
    "finish_dataset",
]
# ---- end of the Parquet dataset block ------------------------------------------------------
