"""Jobs on a Dask cluster (``pip install 'neurograph_lab[dask]'``): the bootstrap of large
embedding files, batched semantic queries, connected components and CDNA sweeps, each giving
exactly what one process gives on the same data.

No runtime object crosses a process boundary: tasks run the pure block kernels of
:mod:`neurograph_lab.kernels` on numpy blocks, and a whole runtime travels only as snapshot
bytes (``rt.to_bytes()``), copied into each task (:func:`sweep`). Errors raised on a worker
reach the notebook with their own class (a ``ValidationError`` stays a ``ValidationError``).
Progress bars follow the Dask futures; Ctrl-C (Interrupt Kernel) cancels the job's futures.

>>> from dask.distributed import Client, LocalCluster          # doctest: +SKIP
>>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
>>> ng.distributed.check(client)                             # doctest: +SKIP
>>> boot = ng.distributed.bootstrap("glove.6B.300d.txt", client, k=10)  # doctest: +SKIP

Any cluster Dask reaches works (``dask_jobqueue.SLURMCluster``, Kubernetes, Coiled); every
worker needs the same ``neurograph_lab`` build (:func:`check` compares them).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
from typing import Any, Callable, Mapping, Optional

import numpy as np
import pandas as pd

from . import _core
from . import kernels as K
from ._args import int_arg
from ._dask import Client, as_client, row_blocks, wait_all
from ._dist_bootstrap import BLOCK_ROWS, DistributedBootstrap, bootstrap, weave
from .errors import NeuroGraphError, ValidationError
from .runtime import Runtime

__all__ = ["check", "dask_config", "bootstrap", "DistributedBootstrap", "weave", "query_many", "components", "sweep"]


def _runtime(source: Any, what: str) -> Runtime:
    if not isinstance(source, Runtime):
        raise ValidationError(f"{what} takes an ng.Runtime, got {type(source).__name__}")
    return source


# --- check ----------------------------------------------------------------------------


def _build_info() -> dict[str, Any]:
    """This process's neurograph_lab build: version, a hash of the compiled core, Python."""
    path = _core.__file__ or ""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {
        "version": _core.__version__,
        "core_sha256": digest.hexdigest()[:16],
        "python": platform.python_version(),
        "rayon_threads": os.environ.get("RAYON_NUM_THREADS"),
        "malloc_trim_threshold": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
    }


def dask_config() -> dict[str, Any]:
    """Dask settings for workers that run the kernels at full speed: use them around the
    creation of a cluster (``with dask.config.set(ng.distributed.dask_config()):
    cluster = LocalCluster(...)``) or in the workers' Dask configuration.

    Dask starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which fixes glibc's mmap
    threshold at 128 KiB: every GEMM call of a kernel then maps, faults in and unmaps its
    half-megabyte packing buffer, about 20% more CPU for a weave (measured with
    ``bench/bench_distributed.py --keep-trim``). These settings keep Dask's other pre-spawn
    variables and drop that one, so glibc's adaptive thresholds (those of a single process)
    apply. They also turn off the workers' statistical profiler, which samples the task thread
    every 10 ms (about 1.5% of a core per worker, idle or busy) and sees a kernel as one opaque
    frame anyway, and slow down the three polls that keep Dask's processes busy between tasks:
    the event-loop tick (20 ms to 1 s: a blocked loop is still reported after 3 s), the
    workers' memory monitor (100 ms to 1 s: pausing, spilling and restarting a worker at its
    memory thresholds react within a second) and the system monitor behind the dashboard's
    CPU and memory plots (500 ms to 2 s). Measured on a LocalCluster of 2 workers, the CPU all
    its processes burn doing nothing goes from 0.14 to 0.02 CPU-seconds per second.

    Returns
    -------
    dict
        Settings for ``dask.config.set``.
    """
    import dask  # lazy: dask is the optional extra neurograph_lab[dask]

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {
        "distributed.nanny.pre-spawn-environ": env,
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "1s",
        "distributed.worker.memory.monitor-interval": "1s",
        "distributed.admin.system-monitor.interval": "2s",
    }


def check(client: Client) -> pd.DataFrame:
    """Check that every worker runs the same ``neurograph_lab`` build as this process.

    Parameters
    ----------
    client : dask.distributed.Client

    Returns
    -------
    pandas.DataFrame
        One row per worker (index: its address): version, hash of the compiled core, Python
        version, ``RAYON_NUM_THREADS``, ``MALLOC_TRIM_THRESHOLD_`` (set by Dask unless
        :func:`dask_config` was used: the kernels then run slower) and the worker's task
        threads.

    Raises
    ------
    NeuroGraphError
        When a worker has another version or build (naming the workers), or there is no
        worker.
    """
    client = as_client(client)
    here = _build_info()
    infos = client.run(_build_info)
    if not infos:
        raise NeuroGraphError("the cluster has no workers")
    threads = client.nthreads()
    df = pd.DataFrame.from_dict(infos, orient="index")
    df["nthreads"] = [threads.get(w) for w in df.index]
    df.index.name = "worker"
    bad = df[(df["version"] != here["version"]) | (df["core_sha256"] != here["core_sha256"])]
    if len(bad):
        rows = ", ".join(f"{w} ({r.version}, core {r.core_sha256})" for w, r in bad.iterrows())
        raise NeuroGraphError(
            f"workers run another neurograph_lab build than this process ({here['version']}, core "
            f"{here['core_sha256']}): {rows}; install the same wheel on every worker"
        )
    return df


# --- query_many -----------------------------------------------------------------------


def _topk_task(q: np.ndarray, block: tuple[np.ndarray, np.ndarray], k: int, threads: int) -> Any:
    x, rows = block
    ids = np.zeros(len(q), np.uint64)
    return K.topk_block(q, ids, x, rows, k, exclude_same_id=False, threads=threads)


def query_many(
    rt: Any,
    queries: Any,
    k: int = 10,
    *,
    client: Client,
    block_rows: int = BLOCK_ROWS,
    threads: int = 1,
    progress: Optional[bool] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``rt.query_many`` on a cluster: the vocabulary cut into blocks, each block's top-k on
    a worker, merged by (score descending, vocabulary order): the same ids and scores.

    Parameters
    ----------
    rt : Runtime or dataset directory
        A bootstrapped runtime (its vectors are sent to the workers once, in blocks), or a
        Parquet dataset holding a bootstrap, whose vectors parts the workers read, one per task
        (a shared filesystem and pyarrow needed).
    queries : array_like
        ``(Q, dim)`` query vectors (normalised here, as ``rt.query_many`` does).
    k : int
        Neighbours per query.
    client : dask.distributed.Client
    block_rows : int
        Vocabulary rows per task.
    threads : int
        Threads per task (1 suits workers with one task thread per core).
    progress : bool, optional
        A bar over the tasks (None: after a second).

    Returns
    -------
    (ids, scores) : (numpy.ndarray, numpy.ndarray)
        ``(Q, k)`` uint32 token ids and float32 cosine scores.
    """
    client = as_client(client)
    dataset = isinstance(rt, (str, os.PathLike))
    if not dataset:
        rt = _runtime(rt, "distributed.query_many")
    k = int_arg(k, "k", lo=0)
    block_rows = int_arg(block_rows, "block_rows", lo=1)
    if isinstance(queries, (str, list, tuple)):
        raise ValidationError(
            "distributed.query_many takes a (Q, dim) matrix of query vectors; for text queries "
            "use rt.query_many (the queries are short, the vocabulary is what is split)"
        )
    mat = np.ascontiguousarray(queries, dtype=np.float32)
    if mat.ndim != 2:
        raise ValidationError(f"a query matrix must be 2-D (queries x dims), got shape {mat.shape}")
    if not np.isfinite(mat).all():
        raise ValidationError("query vectors must be finite (the matrix holds NaN or inf)")
    if dataset:
        return _query_dataset(client, os.path.abspath(os.fspath(rt)), mat, k, threads, progress)
    vectors = rt._core.bootstrap_vectors()
    _, token_ids = rt.bootstrap_vocabulary()
    if mat.shape[1] != vectors.shape[1]:
        raise ValidationError(f"queries have {mat.shape[1]} dims, the vocabulary {vectors.shape[1]}")
    q = _normalised_queries(mat)
    width = min(k, len(vectors))
    if width == 0 or len(q) == 0:
        return np.zeros((len(q), width), np.uint32), np.zeros((len(q), width), np.float32)
    blocks = [
        (np.ascontiguousarray(vectors[s:e]), np.arange(s, e, dtype=np.uint64))
        for s, e in row_blocks(len(vectors), block_rows)
    ]
    [qf] = client.scatter([q], broadcast=True)
    futures = [client.submit(_topk_task, qf, bf, width, threads, pure=False) for bf in client.scatter(blocks)]
    parts = wait_all(client, futures, f"querying {len(q):,} x {len(vectors):,}", progress)
    rows, scores = K.topk_merge(parts, width)
    return token_ids[rows.astype(np.intp)], scores


def _normalised_queries(mat: np.ndarray) -> np.ndarray:
    zero = np.flatnonzero(np.sqrt((mat.astype(np.float64) ** 2).sum(axis=1)) <= 1e-12)
    if len(zero):
        raise ValidationError(f"query {int(zero[0])} is a zero vector: it has no direction to rank words by")
    return K.normalize_rows(mat)


def _topk_file_task(path: str, first: int, q: np.ndarray, k: int, threads: int) -> Any:
    """Top-k of the queries against one vectors part of a dataset (read on the worker):
    (global rows, scores, token ids of those rows)."""
    import pyarrow.parquet as pq  # lazy: pyarrow (the arrow extra) reads the part file

    t = pq.read_table(path, columns=["token_id", "vector"])
    tokens = t.column("token_id").to_numpy()
    col = t.column("vector").combine_chunks()
    dim = col.type.list_size
    x = np.ascontiguousarray(col.flatten().to_numpy().reshape(len(tokens), dim), dtype=np.float32)
    if q.shape[1] != dim:
        raise ValidationError(f"queries have {q.shape[1]} dims, the vocabulary {dim}")
    rows = np.arange(first, first + len(tokens), dtype=np.uint64)
    ids, scores = K.topk_block(q, np.zeros(len(q), np.uint64), x, rows, k, exclude_same_id=False, threads=threads)
    hit = ids != K.NO_ID
    tok = np.zeros(ids.shape, np.uint32)
    tok[hit] = tokens[(ids[hit] - np.uint64(first)).astype(np.intp)]
    return ids, scores, tok


def _query_dataset(
    client: Client, path: str, mat: np.ndarray, k: int, threads: int, progress: Optional[bool]
) -> tuple[np.ndarray, np.ndarray]:
    """``query_many`` over the vectors parts of a dataset, one task per part."""
    files = _dataset_parts(path, "vectors")
    with open(os.path.join(path, "meta.json"), encoding="utf-8") as f:
        rows = [int(p["rows"]) for p in json.load(f)["parts"]["vectors"]]
    if not sum(rows):
        raise ValidationError(f"{path}: the dataset holds no bootstrap vocabulary to query")
    q = _normalised_queries(mat)
    width = min(k, sum(rows))
    if width == 0 or len(q) == 0:
        return np.zeros((len(q), width), np.uint32), np.zeros((len(q), width), np.float32)
    first = np.concatenate([[0], np.cumsum(rows)[:-1]])
    [qf] = client.scatter([q], broadcast=True)
    futures = [
        client.submit(_topk_file_task, f, int(a), qf, width, threads, pure=False)
        for f, a, n in zip(files, first, rows)
        if n
    ]
    parts = wait_all(client, futures, f"querying {len(q):,} x {sum(rows):,}", progress)
    got, scores = K.topk_merge([(p[0], p[1]) for p in parts], width)
    # the token id of each global row hit, from the parts that hit it
    known_rows = np.concatenate([p[0].ravel() for p in parts])
    known_ids = np.concatenate([p[2].ravel() for p in parts])
    order = np.argsort(known_rows, kind="stable")
    known_rows, known_ids = known_rows[order], known_ids[order]
    pos = np.searchsorted(known_rows, got.ravel())
    return known_ids[pos].reshape(got.shape).astype(np.uint32), scores


# --- components -----------------------------------------------------------------------


def _uf_task(edges: tuple[np.ndarray, np.ndarray]) -> Any:
    return K.union_find_partial(edges[0], edges[1])


def _uf_file_task(path: str) -> Any:
    """Union-find of the edges of one connections part file of a dataset (read on the worker)."""
    import pyarrow.parquet as pq  # lazy: pyarrow (the arrow extra) reads the part file

    t = pq.read_table(path, columns=["token_a", "token_b"])
    src = t.column("token_a").to_numpy().astype(np.uint64)
    dst = t.column("token_b").to_numpy().astype(np.uint64)
    return K.union_find_partial(src, dst)


def _dataset_parts(path: str, table: str) -> list[str]:
    """The part files of a table of a dataset, in order, from its ``meta.json``."""
    meta_path = os.path.join(path, "meta.json")
    if not os.path.isfile(meta_path):
        raise FileNotFoundError(f"{path}: not a dataset directory (no meta.json)")
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    return [os.path.join(path, p["file"]) for p in meta["parts"][table]]


def components(
    source: Any,
    *,
    client: Client,
    ids: Any = None,
    partitions: int = 8,
    progress: Optional[bool] = None,
) -> pd.Series:
    """Weakly connected components on a cluster: union-find per edge partition on the
    workers, forests merged here; equal to ``rt.graph.components()``.

    Parameters
    ----------
    source : Runtime, dataset directory or (src, dst)
        A runtime (its tokens and connections); a Parquet dataset (``rt.to_parquet``,
        ``bootstrap(out=...)``), whose connection parts the workers read one per task (they
        need the directory on a shared filesystem, and pyarrow); or two arrays of edge end
        points (token ids).
    client : dask.distributed.Client
    ids : array_like, optional
        With edge arrays: every vertex, in the order labels are numbered (default: the
        vertices the edges touch, ascending).
    partitions : int
        Edge partitions (tasks).
    progress : bool, optional
        A bar over the tasks.

    Returns
    -------
    pandas.Series
        The component of every vertex (index ``id``), labels 0..n-1 numbered by first
        appearance in ``ids`` order (store order for a runtime), as ``rt.graph.components()``.
    """
    client = as_client(client)
    partitions = int_arg(partitions, "partitions", lo=1)
    order: Optional[np.ndarray]
    if isinstance(source, (str, os.PathLike)):
        import pyarrow.parquet as pq  # lazy: pyarrow (the arrow extra) reads the token ids

        path = os.path.abspath(os.fspath(source))
        files = _dataset_parts(path, "connections")
        token_parts = _dataset_parts(path, "tokens")
        order = np.concatenate(
            [np.zeros(0, np.uint64)]
            + [pq.read_table(f, columns=["id"]).column("id").to_numpy().astype(np.uint64) for f in token_parts]
        )
        futures = [client.submit(_uf_file_task, f, pure=False) for f in files]
        forests = wait_all(client, futures, f"components of {os.path.basename(path)}", progress)
        return _labels(forests, order)
    if isinstance(source, Runtime):
        cols = source._core.connection_columns(None)
        src = np.asarray(cols["token_a"], dtype=np.uint64)
        dst = np.asarray(cols["token_b"], dtype=np.uint64)
        order = np.asarray(source.tokens.ids(), dtype=np.uint64)
    elif isinstance(source, (tuple, list)) and len(source) == 2:
        src = np.ascontiguousarray(source[0], dtype=np.uint64)
        dst = np.ascontiguousarray(source[1], dtype=np.uint64)
        if src.shape != dst.shape or src.ndim != 1:
            raise ValidationError(f"src and dst must be 1-D of one length, got {src.shape} and {dst.shape}")
        order = None if ids is None else np.ascontiguousarray(ids, dtype=np.uint64)
    else:
        raise ValidationError(
            f"components takes an ng.Runtime, a dataset directory or (src, dst) edge arrays, "
            f"got {type(source).__name__}"
        )
    cuts = np.linspace(0, len(src), partitions + 1).astype(np.intp)
    parts = [(src[a:b], dst[a:b]) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    futures = [client.submit(_uf_task, p, pure=False) for p in client.scatter(parts)]
    forests = wait_all(client, futures, f"components of {len(src):,} edges", progress)
    return _labels(forests, order)


def _labels(forests: list[Any], order: Optional[np.ndarray]) -> pd.Series:
    """Merge the partitions' forests and label every vertex of ``order`` (default: the vertices
    touched, ascending) by first appearance of its component, as the runtime does."""
    vertex, root = K.union_find_merge(forests) if forests else (np.zeros(0, np.uint64),) * 2
    if order is None:
        order = vertex
    pos = np.searchsorted(vertex, order)
    pos_c = np.minimum(pos, max(len(vertex) - 1, 0))
    touched = (pos < len(vertex)) & (vertex[pos_c] == order) if len(vertex) else np.zeros(len(order), bool)
    roots = order.copy()
    roots[touched] = root[pos_c[touched]]
    _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    labels = rank[inverse].astype(np.uint32)
    index = pd.Index(order.astype(np.uint32) if order.max(initial=0) <= 0xFFFFFFFF else order, name="id")
    return pd.Series(labels, index=index, name="component")


# --- sweep ----------------------------------------------------------------------------


def _grid_points(cdna_grid: Any) -> list[dict[str, Any]]:
    if isinstance(cdna_grid, Mapping):
        keys = list(cdna_grid)
        values = []
        for key in keys:
            v = cdna_grid[key]
            values.append(list(v) if isinstance(v, (list, tuple, np.ndarray, range)) else [v])
        return [dict(zip(keys, combo)) for combo in itertools.product(*values)]
    points = list(cdna_grid)
    for i, p in enumerate(points):
        if not isinstance(p, Mapping):
            raise ValidationError(
                f"cdna_grid[{i}] must be a dict of CDNA changes such as {{'profile': 'explorer'}}, got {p!r:.60}"
            )
    return [dict(p) for p in points]


def _sweep_task(snapshot: bytes, fn: Callable[..., Any], point: dict[str, Any]) -> dict[str, Any]:
    rt = Runtime.from_bytes(snapshot)
    changes = dict(point)
    profile = changes.pop("profile", None)
    scales = changes.pop("scales", None)
    if profile is not None:
        rt.cdna.set_profile(profile)
    if scales is not None:
        rt.cdna.update_scales(scales)
    if changes:
        rt.cdna.update(changes)
    out = fn(rt)
    if isinstance(out, pd.DataFrame):
        if len(out) != 1:
            raise ValidationError(f"the sweep function returned a DataFrame of {len(out)} rows, expected one row")
        out = out.iloc[0].to_dict()
    elif isinstance(out, pd.Series):
        out = out.to_dict()
    elif not isinstance(out, Mapping):
        out = {"result": out}
    return {**point, **dict(out)}


def sweep(
    fn: Callable[[Any], Any],
    cdna_grid: Any,
    *,
    runtime: Any,
    client: Client,
    progress: Optional[bool] = None,
) -> pd.DataFrame:
    """Run ``fn(rt)`` on each CDNA variant of a runtime, one task per grid point.

    The runtime's snapshot bytes are sent to every worker once; each task loads its own copy,
    applies the grid point's CDNA changes through the Guardian (a refused change raises
    ``ValidationError``, as in one process), and calls ``fn``. Changes made on the workers do
    not come back.

    Parameters
    ----------
    fn : callable
        ``fn(rt) -> dict`` (or a scalar, a Series or a one-row DataFrame); a module-level
        function or a lambda (Dask pickles it with cloudpickle).
    cdna_grid : dict of lists, or list of dicts
        ``{"profile": ["default", "explorer"], "max_out_degree": [50, 100]}`` (every
        combination) or ``[{"profile": "analyst"}, {"max_out_degree": 20}]``. Keys: ``profile``,
        ``scales`` (a dict for ``rt.cdna.update_scales``) and any of ``ng.CDNA_FIELDS``.
    runtime : Runtime
        The base runtime (unchanged).
    client : dask.distributed.Client
    progress : bool, optional
        A bar over the tasks.

    Returns
    -------
    pandas.DataFrame
        One row per grid point, in grid order: the point's settings, then what ``fn``
        returned.
    """
    client = as_client(client)
    rt = _runtime(runtime, "distributed.sweep")
    if not callable(fn):
        raise ValidationError(f"fn must be callable (fn(rt) -> dict), got {type(fn).__name__}")
    points = _grid_points(cdna_grid)
    if not points:
        return pd.DataFrame()
    [snap] = client.scatter([rt.to_bytes()], broadcast=True)
    futures = [client.submit(_sweep_task, snap, fn, p, pure=False) for p in points]
    rows = wait_all(client, futures, f"sweeping {len(points)} CDNA variants", progress)
    return pd.DataFrame(rows)
