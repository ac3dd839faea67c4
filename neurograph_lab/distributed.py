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
import os
import platform
import re
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union

import numpy as np
import pandas as pd

from . import _core
from . import kernels as K
from ._args import int_arg
from ._progress import ProgressBar
from ._semantic import SKIP_HINT, BootstrapReport, auto_spaces
from .errors import NeuroGraphError, ValidationError

if TYPE_CHECKING:
    from dask.distributed import Client, Future

__all__ = ["check", "bootstrap", "DistributedBootstrap", "weave", "query_many", "components", "sweep"]

#: rows per block when the input is an array (a weave tile pair of 20k x 20k x 300 is ~1 core-s)
BLOCK_ROWS = 20_000
#: bytes of embedding text per parse task
BLOCK_BYTES = 64 << 20
PathLike = Union[str, "os.PathLike[str]"]


# --- running futures ------------------------------------------------------------------


def _dask() -> Any:
    """The ``distributed`` package (the optional extra), imported on first use so that this
    module imports (and documents) without it."""
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "neurograph_lab.distributed needs Dask: pip install 'neurograph_lab[dask]' "
            f"(dask[distributed]); importing it failed: {e}"
        ) from None
    return distributed


def _wait(client: Client, futures: list[Future], desc: str, progress: Optional[bool]) -> list[Any]:
    """Results of ``futures`` in order, with a bar over their completion. The first error is
    raised as the worker raised it (its own class); an error or Ctrl-C cancels the rest."""
    as_completed = _dask().as_completed
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


def _client(client: Any) -> Client:
    if not isinstance(client, _dask().Client):
        raise ValidationError(
            f"client must be a dask.distributed.Client, got {type(client).__name__}: "
            "client = Client(LocalCluster(n_workers=2)) or Client('scheduler-address:8786')"
        )
    return client


def _runtime(source: Any, what: str) -> Any:
    from .runtime import Runtime

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
        version, ``RAYON_NUM_THREADS`` and the worker's task threads.

    Raises
    ------
    NeuroGraphError
        When a worker has another version or build (naming the workers), or there is no
        worker.
    """
    client = _client(client)
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


def _row_blocks(n: int, block_rows: int) -> list[tuple[int, int]]:
    return [(s, min(n, s + block_rows)) for s in range(0, n, block_rows)]


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
    rt : Runtime
        A bootstrapped runtime (its vectors are sent to the workers once, in blocks).
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
    client = _client(client)
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
    vectors = rt._core.bootstrap_vectors()
    _, token_ids = rt.bootstrap_vocabulary()
    if mat.shape[1] != vectors.shape[1]:
        raise ValidationError(f"queries have {mat.shape[1]} dims, the vocabulary {vectors.shape[1]}")
    zero = np.flatnonzero(np.sqrt((mat.astype(np.float64) ** 2).sum(axis=1)) <= 1e-12)
    if len(zero):
        raise ValidationError(f"query {int(zero[0])} is a zero vector: it has no direction to rank words by")
    q = K.normalize_rows(mat)
    width = min(k, len(vectors))
    if width == 0 or len(q) == 0:
        return np.zeros((len(q), width), np.uint32), np.zeros((len(q), width), np.float32)
    blocks = [
        (np.ascontiguousarray(vectors[s:e]), np.arange(s, e, dtype=np.uint64))
        for s, e in _row_blocks(len(vectors), block_rows)
    ]
    [qf] = client.scatter([q], broadcast=True)
    futures = [
        client.submit(_topk_task, qf, bf, width, threads, pure=False) for bf in client.scatter(blocks)
    ]
    parts = _wait(client, futures, f"querying {len(q):,} x {len(vectors):,}", progress)
    rows, scores = K.topk_merge(parts, width)
    return token_ids[rows.astype(np.intp)], scores


# --- components -----------------------------------------------------------------------


def _uf_task(edges: tuple[np.ndarray, np.ndarray]) -> Any:
    return K.union_find_partial(edges[0], edges[1])


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
    source : Runtime or (src, dst)
        A runtime (its tokens and connections), or two arrays of edge end points (token ids).
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
    from .runtime import Runtime

    client = _client(client)
    partitions = int_arg(partitions, "partitions", lo=1)
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
            f"components takes an ng.Runtime or (src, dst) edge arrays, got {type(source).__name__}"
        )
    cuts = np.linspace(0, len(src), partitions + 1).astype(np.intp)
    parts = [(src[a:b], dst[a:b]) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    futures = [client.submit(_uf_task, p, pure=False) for p in client.scatter(parts)]
    forests = _wait(client, futures, f"components of {len(src):,} edges", progress)
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
    from .runtime import Runtime

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
    client = _client(client)
    rt = _runtime(runtime, "distributed.sweep")
    if not callable(fn):
        raise ValidationError(f"fn must be callable (fn(rt) -> dict), got {type(fn).__name__}")
    points = _grid_points(cdna_grid)
    if not points:
        return pd.DataFrame()
    [snap] = client.scatter([rt.to_bytes()], broadcast=True)
    futures = [client.submit(_sweep_task, snap, fn, p, pure=False) for p in points]
    rows = _wait(client, futures, f"sweeping {len(points)} CDNA variants", progress)
    return pd.DataFrame(rows)


# --- bootstrap ------------------------------------------------------------------------

Block = tuple[list[str], np.ndarray]


def _finite(words: list[str], x: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1)) if x.size else []
    if len(bad):
        r = int(bad[0])
        raise ValidationError(f"the embedding of {words[r]!r} holds a non-finite value")


def _read_block(
    path: str, start: int, end: int, dim: Optional[int], header: bool, skip: bool, threads: int
) -> tuple[Block, int, int]:
    """Parse the lines that start in bytes [start, end) of an embedding text file:
    ((words, normalised vectors), lines, skipped)."""
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            head = f.read(1)
            if head != b"\n":  # the line that straddles `start` belongs to the block before
                f.readline()
        begin = f.tell()
        data = f.read(max(0, end - begin)) if begin < end else b""
        if data and not data.endswith(b"\n"):
            data += f.readline()
    first = 1
    if start == 0 and header:
        nl = data.find(b"\n")
        data = data[nl + 1 :] if nl >= 0 else b""
        first = 2
    if not data.strip():
        return ([], np.zeros((0, dim or 0), np.float32)), data.count(b"\n") + first - 1, 0
    try:
        words, x, _, skipped, lines = K.parse_embedding_text(data, dim, first, skip)
    except ValidationError as e:
        # line numbers count from the block's start; the client makes them global
        where = "the first block" if start == 0 else f"the block from byte {start:,}"
        err = ValidationError(f"{path}: {where}: {e}")
        m = _LINE.search(str(e))
        if m is not None:
            err.block_start = start  # type: ignore[attr-defined]
            err.block_line = int(m.group(1))  # type: ignore[attr-defined]
            err.problem = str(e)[m.end() :]  # type: ignore[attr-defined]
        raise err from None
    _finite(words, x)
    return (words, K.normalize_rows(x, threads=threads)), lines + first - 1, len(skipped)


_LINE = re.compile(r"line (\d+): ")


def _global_line(client: Client, e: ValidationError, path: str, starts: list[int], counts: list[Future]) -> None:
    """Raise ``e`` (a parse error of one block) with the line number in the whole file, when
    every block before it parsed (their line counts give the offset)."""
    start = getattr(e, "block_start", None)
    if start is None or start not in starts:
        raise e
    before = counts[: starts.index(start)]
    try:
        offset = sum(c[0] for c in client.gather(before)) if before else 0
    except Exception:  # an earlier block failed too: keep the block-relative message
        raise e from None
    line = offset + e.block_line if start > 0 else e.block_line  # type: ignore[attr-defined]
    err = ValidationError(f"{path}: line {line}: {e.problem}; {SKIP_HINT}")  # type: ignore[attr-defined]
    err.bad_line = line  # type: ignore[attr-defined]
    raise err from None


def _array_block(words: list[str], x: np.ndarray, threads: int) -> Block:
    x = np.ascontiguousarray(x, dtype=np.float32)
    _finite(words, x)
    return words, K.normalize_rows(x, threads=threads)


def _stats_task(block: Block, seed: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    """(rows, dim, wanted ids, column sums) of a block."""
    words, x = block
    sums = x.sum(axis=0, dtype=np.float64) if len(x) else np.zeros(x.shape[1], np.float64)
    return len(words), x.shape[1], K.word_hash(words, seed), sums


def _words_task(block: Block, rows: np.ndarray) -> list[str]:
    return [block[0][int(r)] for r in rows]


def _gram_task(block: Block, shift: np.ndarray, threads: int) -> Any:
    return K.gram_partial(block[1], shift, threads=threads)


def _place_task(block: Block, model: dict[str, Any], spaces: list[str], threads: int) -> np.ndarray:
    return K.pca_project(block[1], model, spaces, threads=threads)


def _self_task(block: Block, first: int, k: int, threads: int) -> Any:
    x = block[1]
    return K.topk_self(x, np.arange(first, first + len(x), dtype=np.uint64), k, threads=threads)


def _pair_task(a: Block, a0: int, b: Block, b0: int, k: int, threads: int) -> Any:
    xa, xb = a[1], b[1]
    ra = np.arange(a0, a0 + len(xa), dtype=np.uint64)
    rb = np.arange(b0, b0 + len(xb), dtype=np.uint64)
    return K.topk_pair(xa, ra, xb, rb, k, threads=threads)


def _merge_task(k: int, own: Any, pairs: list[tuple[Any, int]], threads: int) -> Any:
    parts = [own] + [(p[2 * side], p[2 * side + 1]) for p, side in pairs]
    return K.topk_merge(parts, k, threads=threads)


def weave(
    client: Client,
    blocks: list[Future],
    first: list[int],
    k: int,
    *,
    threads: int = 1,
    progress: Optional[bool] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN weave of row blocks already on the cluster: each block with itself and each
    pair of blocks once (:func:`neurograph_lab.kernels.topk_self`, ``topk_pair``), then each
    block's parts merged (``topk_merge``). Bitwise the single-process weave.

    Parameters
    ----------
    client : dask.distributed.Client
    blocks : list of Future
        Futures of ``(words, normalised vectors)`` blocks, in row order.
    first : list of int
        The global row number of each block's first row.
    k : int
        Neighbours per row (at most the row count - 1).
    threads : int
        Threads per task.
    progress : bool, optional
        A bar over the tasks.

    Returns
    -------
    (rows, scores) : (numpy.ndarray, numpy.ndarray)
        ``(n, k)`` uint64 neighbour rows and float32 cosine scores, best first, ties by row.
    """
    nb = len(blocks)
    selfs = [client.submit(_self_task, blocks[i], first[i], k, threads, pure=False) for i in range(nb)]
    pairs = {
        (i, j): client.submit(_pair_task, blocks[i], first[i], blocks[j], first[j], k, threads, pure=False)
        for i in range(nb)
        for j in range(i + 1, nb)
    }
    merged = [
        client.submit(
            _merge_task,
            k,
            selfs[i],
            [(pairs[(i, j)], 0) for j in range(i + 1, nb)] + [(pairs[(j, i)], 1) for j in range(i)],
            threads,
            pure=False,
        )
        for i in range(nb)
    ]
    try:
        _wait(client, selfs + list(pairs.values()), "weaving", progress)
        results = _wait(client, merged, "merging", progress)
    except BaseException:
        client.cancel(selfs + list(pairs.values()) + merged)
        raise
    rows = np.concatenate([r[0] for r in results])
    scores = np.concatenate([r[1] for r in results])
    return rows, scores


class DistributedBootstrap:
    """What :func:`bootstrap` built: the words, their token ids and coordinates, the woven
    connections, the PCA model and a report, as numpy arrays.

    Attributes
    ----------
    words : list of str
        The vocabulary, in file (or array) order.
    ids : numpy.ndarray
        uint32 token id of each word (seeded hash, collisions resolved as one process does).
    coords : numpy.ndarray
        ``(n, 8, 3)`` float32 coordinates, NaN in the spaces not placed.
    edges : pandas.DataFrame
        The ``associated_with`` connections: ``token_a``, ``token_b``, ``strength``.
    model : dict
        The PCA model (:func:`neurograph_lab.kernels.pca_fit`).
    report : BootstrapReport
        Words, dimension, spaces, explained variance, connections, drops, collisions.
    """

    def __init__(
        self,
        words: list[str],
        ids: np.ndarray,
        coords: np.ndarray,
        edges: pd.DataFrame,
        model: dict[str, Any],
        report: BootstrapReport,
    ) -> None:
        self.words, self.ids, self.coords, self.edges = words, ids, coords, edges
        self.model, self.report = model, report

    def __repr__(self) -> str:
        return "Distributed " + repr(self.report)

    def _repr_html_(self) -> str:
        return self.report._repr_html_()


def _text_blocks(
    client: Client, path: str, blocksize: int, skip: bool, threads: int
) -> tuple[list[Future], list[Future], list[int]]:
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        first_line = f.readline()
    hdr = _core.parse_embedding_header(first_line.rstrip(b"\r\n"))
    dim = hdr[1] if hdr else None
    starts = list(range(0, max(size, 1), blocksize))
    parsed = [
        client.submit(_read_block, path, s, min(size, s + blocksize), dim, hdr is not None, skip, threads, pure=False)
        for s in starts
    ]
    blocks = [client.submit(lambda r: r[0], p, pure=False) for p in parsed]
    counts = [client.submit(lambda r: (r[1], r[2]), p, pure=False) for p in parsed]
    return blocks, counts, starts


def bootstrap(
    source: Any,
    client: Client,
    words: Any = None,
    *,
    space: Any = "auto",
    k: int = 10,
    seed: int = 0,
    errors: str = "raise",
    block_rows: int = BLOCK_ROWS,
    blocksize: int = BLOCK_BYTES,
    threads: int = 1,
    progress: Optional[bool] = None,
) -> DistributedBootstrap:
    """``rt.bootstrap`` on a cluster: parse, PCA from summed block statistics, hashed ids,
    exact kNN weave over block pairs (each pair once), merged: the same token ids, neighbours
    and strengths as ``rt.bootstrap`` on the same data (coordinates equal up to rounding).

    Parameters
    ----------
    source : str, path, or numpy.ndarray
        A word2vec/GloVe/fastText text file that every worker can read (header optional),
        parsed in blocks of ``blocksize`` bytes on the workers; or a ``(n, dim)`` array with
        ``words``, cut into blocks of ``block_rows``.
    client : dask.distributed.Client
    words : list of str, optional
        The words of an array source.
    space : str or list, default "auto"
        Spaces to place words in, as ``rt.bootstrap`` takes them.
    k : int
        Neighbours woven per word (0: none).
    seed : int
        Seed of the word-id hash.
    errors : {"raise", "skip"}
        Bad lines of a text file raise ``ValidationError`` (naming the block and line) or are
        skipped and counted.
    block_rows, blocksize : int
        Block sizes (rows of an array; bytes of text).
    threads : int
        Threads per task.
    progress : bool, optional
        Bars over each stage's tasks (None: after a second).

    Returns
    -------
    DistributedBootstrap
    """
    from ._args import space_name

    client = _client(client)
    if errors not in ("raise", "skip"):
        raise ValidationError(f"errors must be 'raise' or 'skip', got {errors!r}")
    k = int_arg(k, "k", lo=0)
    seed = int_arg(seed, "seed", lo=0, hi=0xFFFFFFFF)
    block_rows = int_arg(block_rows, "block_rows", lo=1)
    blocksize = int_arg(blocksize, "blocksize", lo=1)
    threads = int_arg(threads, "threads", lo=1)
    auto = isinstance(space, str) and space.strip().lower() == "auto"
    names: list[str] = []
    if not auto:
        listed = [space] if isinstance(space, (str, int, np.integer)) else list(space)
        names = [space_name(s) for s in listed]
        if len(set(names)) != len(names):
            raise ValidationError(f"each space may be named once, got {listed!r}")

    counts: list[Future] = []
    starts: list[int] = []
    path = ""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file")
        blocks, counts, starts = _text_blocks(client, os.path.abspath(path), blocksize, errors == "skip", threads)
    elif isinstance(source, np.ndarray):
        if words is None:
            raise ValidationError("a numpy array of vectors needs words=[...] (one per row)")
        wl = [str(w) for w in words]
        if source.ndim != 2 or len(wl) != len(source):
            raise ValidationError(f"{len(wl)} words for vectors of shape {source.shape}")
        if source.dtype.kind not in "fiu":
            raise ValidationError(f"vectors must be numeric, got dtype {source.dtype}")
        if "" in wl:
            raise ValidationError(f"words[{wl.index('')}] = '': words must not be empty")
        raw = [(wl[s:e], source[s:e]) for s, e in _row_blocks(len(wl), block_rows)]
        blocks = [client.submit(_array_block, w, x, threads, pure=False) for w, x in raw]
    else:
        raise ValidationError(
            f"cannot bootstrap from {type(source).__name__}: give an embedding text file or a numpy array with words"
        )

    jobs: list[Future] = []
    try:
        stats = [client.submit(_stats_task, b, seed, pure=False) for b in blocks]
        jobs = blocks + stats + counts
        try:
            got = _wait(client, stats, "parsing", progress)
        except ValidationError as e:
            if not counts:
                raise
            _global_line(client, e, path, starts, counts)
        skipped = sum(c[1] for c in client.gather(counts)) if counts else 0
        keep = [i for i, s in enumerate(got) if s[0] > 0]
        blocks, got = [blocks[i] for i in keep], [got[i] for i in keep]
        sizes = [s[0] for s in got]
        n = sum(sizes)
        dims = sorted({s[1] for s in got})
        if n == 0:
            raise ValidationError(f"{source}: no word vectors found")
        if len(dims) > 1:
            raise ValidationError(f"the blocks hold vectors of {dims} dimensions: every line needs the same count")
        dim = dims[0]
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        wanted = np.concatenate([s[2] for s in got])
        if n < 2:
            raise ValidationError("a bootstrap needs at least 2 words")
        if auto:
            names = auto_spaces(n, dim)
        if len(names) * 3 > min(n, dim):
            raise ValidationError(
                f"{n} words of {dim} dimensions fill at most {min(n, dim) // 3} spaces (3 principal axes each)"
            )

        def words_at(rows: np.ndarray) -> list[str]:
            """The words of global rows (fetched from the blocks that hold them)."""
            which = np.searchsorted(first, rows, side="right") - 1
            out: dict[int, str] = {}
            futs = []
            for b in np.unique(which):
                local = rows[which == b] - first[b]
                futs.append((rows[which == b], client.submit(_words_task, blocks[b], local, pure=False)))
            for glob, fut in futs:
                out.update(zip(glob.tolist(), fut.result()))
            return [out[int(r)] for r in rows]

        # duplicates share a wanted id: only those words are fetched and compared
        uniq, inv, cnt = np.unique(wanted, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(cnt[inv] > 1)
        if len(shared):
            seen: dict[str, int] = {}
            for r, w in zip(shared.tolist(), words_at(shared)):
                if w in seen:
                    raise ValidationError(f"words[{r}] = {w!r} repeats words[{seen[w]}]")
                seen[w] = r
        ids, moved = K.resolve_ids(wanted)
        collisions = []
        if len(moved):
            mw = words_at(moved.astype(np.int64))
            collisions = [(w, int(wanted[r]), int(ids[r])) for w, r in zip(mw, moved.tolist())]

        shift = (np.sum([s[3] for s in got], axis=0) / n).astype(np.float32)
        grams = [client.submit(_gram_task, b, shift, threads, pure=False) for b in blocks]
        jobs += grams
        model = K.pca_fit(_wait(client, grams, "PCA", progress), 3 * len(names), shift)
        places = [client.submit(_place_task, b, model, names, threads, pure=False) for b in blocks]
        jobs += places

        edges = pd.DataFrame(
            {
                "token_a": np.zeros(0, np.uint32),
                "token_b": np.zeros(0, np.uint32),
                "strength": np.zeros(0, np.float32),
            }
        )
        dropped = 0
        kk = min(k, n - 1)
        if kk > 0:
            rows, scores = weave(client, blocks, [int(f) for f in first], kk, threads=threads, progress=progress)
            a, b, s, dropped = K.weave_edges(ids, rows, scores)
            edges = pd.DataFrame({"token_a": a, "token_b": b, "strength": s})
        coords = np.concatenate(_wait(client, places, "placing", progress))
        all_words = [w for part in client.gather([client.submit(lambda b: b[0], b, pure=False) for b in blocks]) for w in part]
    except BaseException:
        client.cancel(jobs)
        raise
    report = BootstrapReport(
        {
            "words": n,
            "dim": dim,
            "collisions": collisions,
            "explained_variance_ratio": model["explained_ratio"],
            "connections": len(edges),
            "dropped_for_degree": dropped,
        },
        skipped,
        names,
    )
    return DistributedBootstrap(all_words, ids, coords, edges, model, report)
