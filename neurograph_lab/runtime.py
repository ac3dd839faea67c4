"""``ng.Runtime``: the facade. It holds the compiled runtime (``self._core``, a
``_core.Runtime``) and composes the views that hold it too: ``rt.tokens``, ``rt.connections``,
``rt.cdna``, ``rt.grid``, ``rt.graph``, ``rt.intuition``.

All work happens in the compiled core (``neurograph_lab._core``); the views convert
arguments, check shapes and dtypes, and turn columns into DataFrames.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from . import _core, _semantic
from ._args import as_id_array, bool_arg, int_arg
from ._cdna import CDNAView
from ._connections import ConnectionView
from ._frames import events_frame
from ._graph import GraphView
from ._grid import GridView
from ._legacy import LegacyMixin
from ._names import CDNA_PROFILES, CONNECTION_GROUPS, CONNECTION_KINDS, ENTITY_TYPES, SPACES
from ._tokens import TokenView
from ._values import QueryResult, Status

__all__ = ["Runtime", "SPACES", "ENTITY_TYPES", "CONNECTION_KINDS", "CONNECTION_GROUPS", "CDNA_PROFILES"]

PathLike = Union[str, "os.PathLike[str]"]

#: why a runtime is not pickled (and what to do instead): a copy made behind the user's back
#: would take changes made on a worker to nowhere
NOT_PICKLABLE = (
    "an ng.Runtime cannot be pickled or sent to another process (a Dask or Ray worker): it lives "
    "in this process. Send rt.to_bytes() and rebuild with ng.Runtime.from_bytes(data) (an "
    "independent copy), run CDNA variants with ng.distributed.sweep(fn, grid, runtime=rt, "
    "client=client), or give distributed jobs numpy arrays (rt.bootstrap_vocabulary(), "
    "rt.connections.to_pandas())"
)


class Runtime(LegacyMixin):
    """A NeuroGraph runtime: tokens in 8 semantic spaces, typed connections, and the CDNA
    configuration guarded by the Guardian, all held by the compiled Rust core.

    Examples
    --------
    >>> import numpy as np, neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> ids = rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (100, 8, 3)))
    >>> rt.connections.create(int(ids[0]), int(ids[1]), kind="cause") > 0
    True
    >>> rt.status().tokens
    100

    The PyRuntime operations keep their earlier names (``create_token``, ``get_token``,
    ``list_tokens``, ``get_cdna_scales``, ``export_metrics`` ...; see ``LegacyMixin``).
    """

    # The compiled runtime is held, not inherited: the class shows the API a researcher
    # uses, and the views hold the compiled object and call its bound methods.
    def __init__(self) -> None:
        self._core = _core.Runtime()

    # The views are built on access (a small object each time) and hold the compiled runtime,
    # never the facade, so no reference cycle keeps a discarded runtime's memory alive until a
    # full garbage collection. A view you keep (``toks = rt.tokens``) keeps the data
    # alive and working, as any reference does.

    @property
    def tokens(self) -> TokenView:
        """The tokens, to create, read, change, delete and export (``TokenView``)."""
        return TokenView(self._core)

    @property
    def connections(self) -> ConnectionView:
        """Typed, directed connections between tokens (``ConnectionView``)."""
        return ConnectionView(self._core)

    @property
    def cdna(self) -> CDNAView:
        """The CDNA configuration, changed through the Guardian (``CDNAView``)."""
        return CDNAView(self._core)

    @property
    def grid(self) -> GridView:
        """Exact spatial queries in the 8 spaces (``GridView``)."""
        return GridView(self._core)

    @property
    def graph(self) -> GraphView:
        """Traversals and paths over the connections (``GraphView``)."""
        return GraphView(self._core)

    @property
    def intuition(self) -> _semantic.IntuitionView:
        """The IntuitionEngine, which proposes connections from experience (``IntuitionView``)."""
        return _semantic.IntuitionView(self._core)

    def bootstrap(
        self,
        source: Any,
        words: Any = None,
        space: Any = "auto",
        k: int = 10,
        *,
        max_words: Optional[int] = None,
        dtype: Any = np.float32,
        errors: str = "raise",
        seed: int = 0,
        replace: bool = False,
        progress: Optional[bool] = None,
    ) -> _semantic.BootstrapReport:
        """Place words in the spaces from real embeddings and weave their neighbours.

        ``source``: a word2vec/GloVe/fastText text file (``.vec``/``.txt``, header optional),
        a word2vec ``.bin``, a ``.npy`` matrix (with ``words``: a list or a vocabulary file),
        a numpy array (with ``words``) or a DataFrame indexed by word. Files are streamed with a
        progress bar above a few MB; ``errors="skip"`` skips and counts bad lines.

        Each target ``space`` (one or a list) gets 3 principal axes of a real PCA of the
        normalised embeddings (the first space the top 3, the next space the next 3 ...).
        The default ``space="auto"`` fills as many spaces as the data allows (``min(words,
        dim) // 3``, at most all 8) in the order abstract, cognitive, temporal, social,
        emotional, motor, sensory, physical: each space shows a different slice of the
        variance, "abstract" the largest (the top 3 axes), so every view of the grid explorer
        shows the words. ``bootstrap_info()["spaces"]`` says which space got which axes.
        Token ids come from a seeded hash of the word (collisions are resolved and reported),
        labels are the words, entity type ``concept``. Each word's ``k`` nearest neighbours by
        cosine become ``associated_with`` connections with the similarity as strength (edges
        that would break the CDNA degree limits are dropped and counted). The embeddings stay
        in the runtime for ``query``; everything persists in snapshots.

        Ctrl-C (Interrupt Kernel) during the work stops it and leaves the runtime unchanged
        (``KeyboardInterrupt``); once the runtime is being changed, the call finishes and
        returns its report instead.

        The earlier PyRuntime order ``rt.bootstrap(words, vectors[, space[, k]])`` (a list of
        words, then their vectors) is accepted too, and also returns the report.
        """
        return _semantic.bootstrap(
            self._core,
            source,
            words,
            space=space,
            k=k,
            max_words=max_words,
            dtype=dtype,
            errors=errors,
            seed=seed,
            replace=replace,
            progress=progress,
        )

    def query(self, q: Any, k: int = 10) -> QueryResult:
        """Words most similar to ``q`` by cosine in the original embedding space.

        ``q`` is a word, several words (their vectors are averaged), an analogy such as
        ``"king - man + woman"``, or a vector. The query's own words are left out. An unknown
        word raises ``ValidationError`` with the closest known spellings.
        """
        return _semantic.query(self._core, q, k)

    def query_many(self, queries: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Batched ``query``: a list of texts or a ``(Q, dim)`` matrix -> ``(ids, scores)``,
        both ``(Q, k)``; k is capped at what every query can return."""
        return _semantic.query_many(self._core, queries, k)

    def feedback(self, source: Any, token: int, good: bool = True) -> pd.DataFrame:
        """Tell the runtime that ``token`` was a good (or bad) answer for ``source`` (a query
        text, a token id or ids). Every connection source -> token learns by the Connection V3
        rules (confidence up by its learning rate, or down by half of it; immutable kinds never
        change) and the experience feeds the IntuitionEngine. Returns the connections touched."""
        return _semantic.feedback(self._core, source, token, good)

    def labels_of(self, ids: Any) -> list[Optional[str]]:
        """The label of each token id (None where a token has none), in the order given; e.g.
        the labels of ``query_many``'s ids: ``rt.labels_of(ids.ravel())``."""
        return self._core.labels_of(as_id_array(ids))

    def bootstrap_info(self) -> Optional[dict[str, Any]]:
        """What the bootstrap placed: words, dim and the spaces (with the first principal axis
        each got); None before a bootstrap (or once every word's token is deleted)."""
        return self._core.bootstrap_info()

    def bootstrap_vocabulary(self) -> tuple[list[str], np.ndarray]:
        """The bootstrap's words and their token ids (``uint32``), in vocabulary order."""
        return self._core.bootstrap_vocabulary()

    def events(self, last: Optional[int] = None) -> pd.DataFrame:
        """What the Guardian saw, oldest first: time, kind, target, accepted, reason."""
        return events_frame(self._core.events(last))

    def status(self) -> Status:
        """Counts, CDNA profile, Guardian figures and memory, with text and HTML reprs."""
        return Status(**self._core.status_dict())

    def metrics(self) -> str:
        """Prometheus text exposition: counts, operation latency histograms, memory."""
        return self._core.export_metrics()

    def save(self, path: PathLike) -> None:
        """Save everything (tokens, labels, connections, CDNA with history, events) to one
        file. The write is atomic: a temporary file is written, fsynced and renamed. Saves to
        one path from several threads or processes each write their own temporary file (the
        last to finish wins); a symlink is followed (the link stays a link). Temporary files
        of saves that were killed are removed by the next save to the same path."""
        self._core.save(os.fspath(path))

    @classmethod
    def load(cls, path: PathLike) -> Runtime:
        """A new runtime from a snapshot file. A truncated, corrupted or foreign file, one
        whose contents break the runtime's rules (even with valid checksums), or a path that is
        not a regular file (a directory, a FIFO) raises ``SnapshotError`` naming the problem."""
        rt = cls()
        rt._core.load_from(os.fspath(path))
        return rt

    def to_bytes(self) -> bytes:
        """The runtime as snapshot bytes (what ``save`` writes): the way to send a whole
        runtime to another process, e.g. a Dask worker (``ng.distributed.sweep`` does). The
        copy is independent: changes made to it do not come back."""
        with tempfile.TemporaryDirectory(prefix="ng-snapshot-") as d:
            path = os.path.join(d, "runtime.ngs")
            self._core.save(path)
            with open(path, "rb") as f:
                return f.read()

    @classmethod
    def from_bytes(cls, data: bytes) -> Runtime:
        """A new runtime from ``to_bytes()`` output (``SnapshotError`` if they are not a
        snapshot)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"from_bytes takes the bytes of rt.to_bytes(), got {type(data).__name__}")
        with tempfile.TemporaryDirectory(prefix="ng-snapshot-") as d:
            path = os.path.join(d, "runtime.ngs")
            with open(path, "wb") as f:
                f.write(data)
            return cls.load(path)

    def __reduce__(self) -> Any:
        raise TypeError(NOT_PICKLABLE)

    def to_parquet(self, dir: PathLike, partitions: int = 16, overwrite: bool = False) -> dict[str, Any]:
        """Write everything as a partitioned Parquet dataset (the format is in the docs,
        "Parquet dataset format").

        Tokens (every space, the defined mask, weight, entity, domain, flags, field, timestamp,
        label, id), connections (every field of the record, learning state included), the CDNA
        with its history, and the bootstrap vocabulary, vectors and PCA model. The files are
        written in Rust on all cores with the GIL released, into a temporary directory next to
        ``dir`` that is fsynced and renamed: the dataset is complete or absent.
        ``Runtime.from_parquet(dir)`` gives back exactly this runtime; pandas, pyarrow,
        DuckDB, Spark and Dask read the files as they are.

        Parameters
        ----------
        dir : str or path
            The dataset directory. It must not exist, be empty, or (with ``overwrite=True``)
            hold a dataset; a directory holding anything else is never replaced.
        partitions : int, default 16
            Files per table (1 .. 100000): part ``k`` holds the ``k``-th contiguous run of
            rows in store order.
        overwrite : bool, default False
            Replace an existing dataset (swapped in atomically, the old one then removed).

        Returns
        -------
        dict
            ``path``, ``tokens``, ``connections``, ``vectors`` (rows), ``files`` and ``bytes``.

        Raises
        ------
        DatasetError
            ``dir`` holds a dataset (without ``overwrite``), something else, or is a file.
        ValidationError
            ``partitions`` is out of range.

        Examples
        --------
        >>> import numpy as np, tempfile, os, neurograph_lab as ng
        >>> rt = ng.Runtime()
        >>> ids = rt.tokens.create_many(np.zeros((5, 8, 3)), labels=list("abcde"))
        >>> d = os.path.join(tempfile.mkdtemp(), "lab")
        >>> rt.to_parquet(d, partitions=2)["tokens"]
        5
        >>> ng.Runtime.from_parquet(d).tokens.ids().tolist() == ids.tolist()
        True
        """
        return self._core.to_parquet(
            os.fspath(dir), int_arg(partitions, "partitions", lo=1, hi=100_000), bool_arg(overwrite, "overwrite")
        )

    @classmethod
    def from_parquet(cls, dir: PathLike) -> Runtime:
        """A new runtime from a Parquet dataset written by ``to_parquet`` (or by the
        distributed layer's part writers), read on all cores with the GIL released.

        Every file is checked before anything is built: its size and CRC-32 against
        ``meta.json``, its schema, its row count, then the contents as a snapshot load checks
        them (ids, entity types, kinds, references between tables, vocabulary hash).

        Parameters
        ----------
        dir : str or path
            The dataset directory.

        Raises
        ------
        DatasetError
            The dataset is incomplete or damaged: a missing or extra part, a truncated or
            corrupted file, a wrong schema, a missing or bad ``meta.json``; the message names
            the file.
        FileNotFoundError
            ``dir`` does not exist.
        """
        rt = cls()
        rt._core.load_parquet(os.fspath(dir))
        return rt

    def __repr__(self) -> str:
        return repr(self.status())

    def _repr_html_(self) -> str:
        return self.status()._repr_html_()
