"""``ng.distributed.bootstrap`` and ``weave``: the bootstrap of an embedding file or array on a
Dask cluster, giving the same ids, neighbours and strengths as ``rt.bootstrap``."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any, Optional

import numpy as np
import pandas as pd

from . import _core
from . import kernels as K
from ._args import int_arg, space_name
from ._dask import Client, Future, as_client, row_blocks, wait_all
from ._semantic import SKIP_HINT, BootstrapReport, auto_spaces
from .errors import ValidationError
from .runtime import Runtime

#: rows per block when the input is an array (a weave tile pair of 20k x 20k x 300 is ~1 core-s)
BLOCK_ROWS = 20_000
#: bytes of embedding text per parse task
BLOCK_BYTES = 64 << 20

Block = tuple[list[str], np.ndarray]


def _finite(words: list[str], x: np.ndarray) -> None:
    bad: Any = np.flatnonzero(~np.isfinite(x).all(axis=1)) if x.size else []
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


#: entity type code of the bootstrap's word tokens ("concept")
CONCEPT = 5


def _write_block_task(tmp: str, part: int, block: Block, ids: np.ndarray, coords: np.ndarray) -> int:
    """Write one block's tokens and vectors as dataset part ``part`` (on the worker that holds
    the block): the tokens the bootstrap makes (label = word, concept, weight 1)."""
    words, x = block
    K.write_tokens_part(
        tmp, part, {"id": ids, "coords": coords, "label": words, "entity": np.full(len(ids), CONCEPT, np.uint8)}
    )
    K.write_vectors_part(tmp, part, words, ids, x)
    return len(ids)


def _floor(own: Any, k: int) -> Optional[np.ndarray]:
    """Per row, the k-th score of the row's own block (None when the block holds fewer)."""
    scores = own[1]
    return np.ascontiguousarray(scores[:, k - 1]) if scores.shape[1] == k else None


def _pair_task(a: Block, a0: int, b: Block, b0: int, k: int, threads: int, own_a: Any, own_b: Any) -> Any:
    xa, xb = a[1], b[1]
    ra = np.arange(a0, a0 + len(xa), dtype=np.uint64)
    rb = np.arange(b0, b0 + len(xb), dtype=np.uint64)
    # a candidate below a row's own-block k-th score cannot make its merged top k: skip it
    fa, fb = _floor(own_a, k), _floor(own_b, k)
    return K.topk_pair(xa, ra, xb, rb, k, a_floor=fa, b_floor=fb, threads=threads)


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
    """Exact kNN weave of row blocks already on the cluster: each block with itself, then each
    pair of blocks once (:func:`neurograph_lab.kernels.topk_self`, ``topk_pair``, skipping the
    candidates below a row's own-block k-th score), then each block's parts merged
    (``topk_merge``). Bitwise the single-process weave.

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
        (i, j): client.submit(
            _pair_task, blocks[i], first[i], blocks[j], first[j], k, threads, selfs[i], selfs[j], pure=False
        )
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
        wait_all(client, selfs + list(pairs.values()), "weaving", progress)
        results = wait_all(client, merged, "merging", progress)
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
    path : str or None
        The Parquet dataset written with ``out=`` (:meth:`open` opens it).
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
        #: the dataset directory written (``out=``), or None
        self.path: Optional[str] = None

    def open(self) -> Any:
        """The dataset written with ``out=`` as a runtime (``ng.Runtime.from_parquet``): the
        runtime ``rt.bootstrap`` would have built, queries included."""
        if self.path is None:
            raise ValidationError("this bootstrap wrote no dataset: pass out='dir' to write one, then open it")
        return Runtime.from_parquet(self.path)

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
    out: Any = None,
    overwrite: bool = False,
    cdna: Optional[bytes] = None,
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
    out : str or path, optional
        Write the result as a Parquet dataset there (``ng.Runtime.from_parquet(out)`` or
        ``.open()`` gives the runtime): each worker writes the tokens and vectors of the blocks
        it holds (the workers and this process need a shared filesystem), this process the
        connections; the dataset appears complete (a temporary directory renamed) or not at
        all, whatever fails.
    overwrite : bool
        Replace an existing dataset at ``out``.
    cdna : bytes, optional
        The CDNA whose degree limits and strength bounds the weave keeps (``rt.cdna.to_bytes()``
        of the runtime you would bootstrap; the default CDNA when None), written into the
        dataset.
    progress : bool, optional
        Bars over each stage's tasks (None: after a second).

    Returns
    -------
    DistributedBootstrap
    """
    client = as_client(client)
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
        raw = [(wl[s:e], source[s:e]) for s, e in row_blocks(len(wl), block_rows)]
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
            got = wait_all(client, stats, "parsing", progress)
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
        model = K.pca_fit(wait_all(client, grams, "PCA", progress), 3 * len(names), shift)
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
            a, b, s, dropped = K.weave_edges(ids, rows, scores, cdna)
            edges = pd.DataFrame({"token_a": a, "token_b": b, "strength": s})
        coords = np.concatenate(wait_all(client, places, "placing", progress))
        if out is not None:
            _write_dataset(
                client, out, overwrite, blocks, ids, sizes, places, edges, seed, dim, names, model, cdna, progress
            )
        all_words = [
            w for part in client.gather([client.submit(lambda b: b[0], b, pure=False) for b in blocks]) for w in part
        ]
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
    result = DistributedBootstrap(all_words, ids, coords, edges, model, report)
    if out is not None:
        result.path = os.fspath(out)
    return result


def _write_dataset(
    client: Client,
    out: Any,
    overwrite: bool,
    blocks: list[Future],
    ids: np.ndarray,
    sizes: list[int],
    places: list[Future],
    edges: pd.DataFrame,
    seed: int,
    dim: int,
    spaces: list[str],
    model: dict[str, Any],
    cdna: Optional[bytes],
    progress: Optional[bool],
) -> None:
    """The bootstrap as a dataset at ``out``: token and vector parts written by the workers
    (one per block), connection parts here, then installed atomically; on any failure the
    temporary directory is removed and ``out`` is untouched."""
    tmp = K.dataset_tempdir(os.fspath(out))
    try:
        cuts = np.concatenate([[0], np.cumsum(sizes)])
        writes = [
            client.submit(_write_block_task, tmp, i, b, ids[cuts[i] : cuts[i + 1]], c, pure=False)
            for i, (b, c) in enumerate(zip(blocks, places))
        ]
        wait_all(client, writes, "writing", progress)
        n = len(edges)
        parts = max(1, len(blocks))
        bounds = np.linspace(0, n, parts + 1).astype(np.int64)
        for j in range(parts):
            a, b = bounds[j], bounds[j + 1]
            K.write_connections_part(
                tmp,
                j,
                {
                    "id": np.arange(a + 1, b + 1, dtype=np.uint32),
                    "token_a": edges["token_a"].to_numpy()[a:b],
                    "token_b": edges["token_b"].to_numpy()[a:b],
                    "strength": edges["strength"].to_numpy()[a:b],
                },
            )
        boot = {
            "seed": seed,
            "dim": dim,
            "spaces": [(name, 3 * j) for j, name in enumerate(spaces)],
            "pca": model,
        }
        K.finish_dataset(tmp, os.fspath(out), cdna=cdna, bootstrap=boot, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
