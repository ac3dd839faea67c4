"""Pure block kernels for distributed jobs: module-level functions of the compiled core over
numpy blocks.

Every kernel is a plain function of ``neurograph_lab._core`` (so it pickles by reference, 51
bytes, and runs the same on every worker of the same build), keeps no state between calls, is
deterministic, releases the GIL while it works, reads C-contiguous numpy inputs in place
(read-only arrays too; other layouts and dtypes are converted once) and takes ``threads=``: the
number of threads of a rayon pool made for the call (None: the process-wide pool, sized by
``RAYON_NUM_THREADS``). A Dask worker with ``nthreads`` threads should pass ``threads=1`` per
task, or the tasks of one worker oversubscribe its cores.

Ids at the edge are ``uint64``: global row numbers or vertex ids. Every top-k is the unique
top-k under (score descending, id ascending), the rule of the single-process weave and query,
so the parts of a job merged with :func:`topk_merge` give exactly what one process gives. Rows
should be L2-normalised (:func:`normalize_rows`): scores are inner products, i.e. cosines.

>>> import numpy as np
>>> from neurograph_lab import kernels as K
>>> x = K.normalize_rows(np.random.default_rng(0).normal(size=(100, 16)).astype(np.float32))
>>> ids = np.arange(100, dtype=np.uint64)
>>> top_ids, top_scores = K.topk_block(x[:5], ids[:5], x, ids, k=3)
>>> top_ids.shape, bool((top_ids != ids[:5, None]).all())
((5, 3), True)

The Parquet part writers (``write_tokens_part`` ...) write a dataset from workers; ``ng.Runtime.from_parquet`` opens it.
"""

from __future__ import annotations

from . import _core

# --- compute kernels (issue 16, distributed jobs) ---------------------------------------
normalize_rows = _core.normalize_rows
topk_block = _core.topk_block
topk_self = _core.topk_self
topk_pair = _core.topk_pair
topk_merge = _core.topk_merge
gram_partial = _core.gram_partial
pca_fit = _core.pca_fit
pca_project = _core.pca_project
word_hash = _core.word_hash
resolve_ids = _core.resolve_ids
parse_embedding_text = _core.parse_embedding_text
union_find_partial = _core.union_find_partial
union_find_merge = _core.union_find_merge
weave_edges = _core.weave_edges

#: the id that pads a top-k row holding fewer hits than the result is wide (score -inf)
NO_ID: int = 2**64 - 1

_COMPUTE = [
    "normalize_rows",
    "topk_block",
    "topk_self",
    "topk_pair",
    "topk_merge",
    "gram_partial",
    "pca_fit",
    "pca_project",
    "word_hash",
    "resolve_ids",
    "parse_embedding_text",
    "union_find_partial",
    "union_find_merge",
    "weave_edges",
    "NO_ID",
]
# --- end of compute kernels -------------------------------------------------------------


__all__: list[str] = list(_COMPUTE)

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
