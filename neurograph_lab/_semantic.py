"""Embeddings into the runtime: loaders for word-vector files, ``rt.bootstrap``,
``rt.query``, ``rt.feedback`` and the IntuitionEngine view."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._args import bool_arg, int_arg, space_name
from ._html import kv_table
from ._progress import run_with_progress
from ._values import QueryResult
from .errors import ValidationError

PROGRESS_FROM = 4 << 20  # files larger than this show a progress bar

#: the order in which ``space="auto"`` fills the spaces, 3 principal axes each: "abstract"
#: gets the top 3 (where bootstraps have always put words), "cognitive" the next 3 (the space
#: a query or an explorer without a space looks at), then the rest from L7 down to L1.
AUTO_SPACES = ("abstract", "cognitive", "temporal", "social", "emotional", "motor", "sensory", "physical")


#: explained variance ratios a bootstrap report lists (the rest are summed)
EV_SHOWN = 6


def auto_spaces(n: int, dim: int) -> list[str]:
    """The spaces ``space="auto"`` fills for ``n`` words of ``dim`` dimensions: as many as
    ``min(n, dim) // 3`` principal-axis triples allow (at least one, so that too small an input
    gets the core's message), in the order of ``AUTO_SPACES``."""
    return list(AUTO_SPACES[: max(1, min(len(AUTO_SPACES), min(n, dim) // 3))])


def _progress(total: int, desc: str, enabled: Optional[bool]) -> Any:
    show = total > PROGRESS_FROM if enabled is None else enabled
    if not show:
        return None
    try:
        from tqdm.auto import tqdm  # lazy: tqdm.auto looks for ipywidgets
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)


def load_text(
    path: Union[str, os.PathLike[str]],
    *,
    max_words: Optional[int] = None,
    errors: str = "raise",
    progress: Optional[bool] = None,
) -> tuple[list[str], np.ndarray, int]:
    """Stream a word2vec/GloVe/fastText text file (with or without the "count dim" header).

    Returns ``(words, vectors (n, dim) float32, skipped)``. The file is read in blocks and
    never held whole in memory. A bad line (a word that is not valid UTF-8, a wrong number of
    values, a value that is not a number) raises ``ValidationError`` naming the file, the line
    number and the problem, and saying how to skip such lines (``errors="raise"``); with
    ``errors="skip"`` bad lines are skipped and counted. The error's ``bad_line`` attribute
    holds the line number.
    """
    if errors not in ("raise", "skip"):
        raise ValidationError(f"errors must be 'raise' or 'skip', got {errors!r}")
    if max_words is not None:
        max_words = int_arg(max_words, "max_words", lo=1)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    bar = _progress(path.stat().st_size, path.name, progress)
    try:
        words, vectors, skipped = _core.load_embedding_text(
            str(path), max_words, errors == "skip", None if bar is None else bar.update
        )
    except ValidationError as e:
        raise _bad_line(e) from None
    finally:
        if bar is not None:
            bar.close()
    return words, vectors, skipped


_BAD_LINE = re.compile(r": line (\d+): ")
SKIP_HINT = 'to skip such lines (they are counted in the report), pass errors="skip"'


def _bad_line(e: ValidationError) -> ValidationError:
    """A parse error of one line, with the way to skip such lines; ``bad_line`` holds the
    line number and ``problem`` the message without the hint (the magic words it its way)."""
    msg = str(e)
    m = _BAD_LINE.search(msg)
    if m is None:
        return e
    err = ValidationError(f"{msg}; {SKIP_HINT}")
    err.bad_line = int(m.group(1))  # type: ignore[attr-defined]
    err.problem = msg  # type: ignore[attr-defined]
    return err


def load_embeddings(
    source: Any,
    words: Any = None,
    *,
    max_words: Optional[int] = None,
    dtype: Any = np.float32,
    errors: str = "raise",
    progress: Optional[bool] = None,
) -> tuple[list[str], np.ndarray, int]:
    """Words and vectors from any supported source.

    ``source`` may be a ``.vec``/``.txt`` text file, a word2vec ``.bin`` file, a ``.npy``
    matrix (``words``: a list or a vocabulary file, one word per line), a numpy array
    (``words``: a list), or a pandas DataFrame whose index holds the words.
    Returns ``(words, vectors (n, dim), skipped lines)``.
    """
    if max_words is not None:
        max_words = int_arg(max_words, "max_words", lo=1)
    skipped = 0
    if isinstance(source, pd.DataFrame):
        wl = [str(w) for w in source.index]
        mat = source.to_numpy(dtype=dtype)
    elif isinstance(source, np.ndarray):
        if words is None:
            raise ValidationError("a numpy array of vectors needs words=[...] (one per row)")
        wl, mat = _word_list(words), source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            if words is None:
                raise ValidationError(f"{path}: a .npy matrix needs words= (a list or a vocabulary file)")
            mat = np.load(path, mmap_mode="r")
            wl = _word_list(words)
        elif suffix == ".bin":
            try:
                wl, mat = _core.parse_word2vec_bin(path.read_bytes(), max_words)
            except ValidationError as e:
                raise ValidationError(f"{path}: {e}") from None
        else:
            wl, mat, skipped = load_text(path, max_words=max_words, errors=errors, progress=progress)
    else:
        raise ValidationError(
            f"cannot read embeddings from {type(source).__name__}: give a file path, a numpy array with words, "
            "or a DataFrame indexed by word"
        )
    mat = np.asarray(mat)
    if mat.ndim != 2:
        raise ValidationError(f"vectors must be 2-D (words x dims), got shape {mat.shape}")
    if mat.dtype.kind not in "fiu":
        raise ValidationError(f"vectors must be numeric, got dtype {mat.dtype}")
    if len(wl) != mat.shape[0]:
        raise ValidationError(f"{len(wl)} words but {mat.shape[0]} vectors")
    if max_words is not None:
        wl, mat = wl[:max_words], mat[:max_words]
    return wl, np.ascontiguousarray(mat, dtype=np.float32), skipped


def _word_list(words: Any) -> list[str]:
    if isinstance(words, (str, os.PathLike)):
        out = []
        with open(words, "rb") as f:
            for no, raw in enumerate(f, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise ValidationError(
                        f"{words}: line {no}: the word is not valid UTF-8 (bad byte at offset {e.start}); "
                        "a vocabulary file must be UTF-8, one word per line"
                    ) from None
                if line.strip():
                    out.append(line.rstrip("\r\n").split(" ")[0])
        return out
    return [str(w) for w in words]


def parse_query(text: str, rt: Optional[_core.Runtime] = None) -> list[tuple[str, float]]:
    """A text query as ``(word, sign)`` terms: ``"king - man + woman"`` -> ``[("king", 1),
    ("man", -1), ("woman", 1)]``.

    The rule, so that every vocabulary word can be found by its own text (real vocabularies
    hold ``-``, ``+``, ``,`` and ``'s``):

    1. If the whole text (without surrounding spaces) is a word of ``rt``'s vocabulary, the
       query is that word: ``"-"``, ``"a-b"``, ``"'s"``.
    2. Otherwise the text is split at whitespace. A lone ``+`` or ``-`` is an operator (the
       sign of the next word) where an operator can stand: at the start or after a word, and
       not at the end. Elsewhere (after another operator, or last) it is the word ``+`` or
       ``-`` when the vocabulary holds it (``"king + -"`` is king plus the word ``-``), and an
       error otherwise. Every other part is a word; words without an operator between them
       are added.

    Without ``rt`` no vocabulary is consulted (rule 2 alone, ``+``/``-`` always operators).
    """
    stripped = text.strip()
    in_vocab: dict[str, bool] = {}
    if rt is not None and stripped:
        probe = [stripped, "+", "-"]
        in_vocab = dict(zip(probe, rt.has_words(probe)))
        if in_vocab[stripped]:
            return [(stripped, 1.0)]
    parts = stripped.split()
    terms: list[tuple[str, float]] = []
    sign = 1.0
    pending = False
    for i, part in enumerate(parts):
        if part in ("+", "-"):
            last = i == len(parts) - 1
            if not pending and not last:
                sign, pending = (1.0 if part == "+" else -1.0), True
                continue
            if not in_vocab.get(part, False):
                if pending:
                    raise ValidationError(f"the query {text!r} has two operators in a row")
                raise ValidationError(f"the query {text!r} ends with an operator")
        terms.append((part, sign))
        sign, pending = 1.0, False
    if not terms:
        raise ValidationError(f"the query {text!r} has no words")
    return terms


class BootstrapReport:
    """What a bootstrap did: words placed, id collisions, explained variance, connections."""

    def __init__(self, d: dict[str, Any], skipped: int, spaces: Sequence[str] = ()) -> None:
        #: the spaces the words were placed in, in order (space j got principal axes 3j..3j+3)
        self.spaces: list[str] = list(spaces)
        self.words: int = d["words"]
        self.dim: int = d["dim"]
        self.collisions: list[tuple[str, int, int]] = list(d["collisions"])
        self.explained_variance_ratio: np.ndarray = np.asarray(d["explained_variance_ratio"])
        self.connections: int = d["connections"]
        self.dropped_for_degree: int = d["dropped_for_degree"]
        self.skipped_lines = skipped

    def _rows(self) -> list[tuple[str, Any]]:
        ratios = self.explained_variance_ratio
        ev = ", ".join(f"{v:.3f}" for v in ratios[:EV_SHOWN])
        if len(ratios) > EV_SHOWN:
            ev += f", … ({len(ratios)} axes, {float(ratios.sum()):.3f} in all)"
        rows = [("words", f"{self.words:,} ({self.dim} dims)")]
        if self.spaces:
            rows.append(("spaces (3 axes each)", ", ".join(self.spaces)))
        return rows + [
            ("explained variance", ev),
            ("connections woven", f"{self.connections:,}"),
            ("dropped (degree limits)", f"{self.dropped_for_degree:,}"),
            ("id collisions resolved", f"{len(self.collisions):,}"),
            ("lines skipped", f"{self.skipped_lines:,}"),
        ]

    def __repr__(self) -> str:
        width = max(len(k) for k, _ in self._rows())
        return "Bootstrap\n" + "\n".join(f"{k.ljust(width)}  {v}" for k, v in self._rows())

    def _repr_html_(self) -> str:
        return kv_table("Bootstrap", self._rows())


def bootstrap(
    rt: _core.Runtime,
    source: Any,
    words: Any = None,
    *,
    space: Union[str, int, Sequence[Union[str, int]]] = "auto",
    k: int = 10,
    max_words: Optional[int] = None,
    dtype: Any = np.float32,
    errors: str = "raise",
    seed: int = 0,
    replace: bool = False,
    progress: Optional[bool] = None,
) -> BootstrapReport:
    if errors not in ("raise", "skip"):
        raise ValidationError(f"errors must be 'raise' or 'skip', got {errors!r}")
    k = int_arg(k, "k", lo=0)
    seed = int_arg(seed, "seed", lo=0, hi=0xFFFFFFFF)
    replace = bool_arg(replace, "replace")
    if _words_first(source, words):  # the earlier PyRuntime order: bootstrap(words, vectors)
        source, words = np.asarray(words), list(source)
    if max_words is not None:
        max_words = int_arg(max_words, "max_words", lo=1)
    auto = isinstance(space, str) and space.strip().lower() == "auto"
    names: list[str] = []
    if not auto:
        spaces = [space] if isinstance(space, (str, int, np.integer)) else list(space)
        names = [space_name(s) for s in spaces]
        if len(set(names)) != len(names):
            raise ValidationError(f"each space may be named once, got {spaces!r}")
    wl, mat, skipped = load_embeddings(
        source, words, max_words=max_words, dtype=dtype, errors=errors, progress=progress
    )
    if auto:
        names = auto_spaces(len(wl), mat.shape[1])
    d = run_with_progress(
        lambda p: rt.bootstrap_embeddings(wl, mat, names, k, seed, replace, p),
        f"weaving {len(wl):,} words",
        unit="tile",
        enabled=progress,
    )
    return BootstrapReport(d, skipped, names)


def _words_first(source: Any, words: Any) -> bool:
    """Is this the earlier PyRuntime call ``bootstrap(words, vectors)``: a list of words (no
    source of the current form is a list) followed by their vectors?"""
    return (
        isinstance(source, (list, tuple))
        and all(isinstance(w, str) for w in source)
        and words is not None
        and not isinstance(words, (str, os.PathLike))
    )


def query(rt: _core.Runtime, q: Any, k: int = 10) -> QueryResult:
    k = int_arg(k, "k", lo=0)
    if isinstance(q, str):
        arg: Any = parse_query(q, rt)
        what = q
    else:
        arr = np.asarray(q) if q is not None else np.asarray([], dtype=object)
        if arr.dtype.kind not in "fiu" or arr.ndim == 0 or arr.size == 0:
            raise ValidationError(
                f"a query is a text (words, or an expression such as 'king - man + woman') or a vector of "
                f"numbers, got {type(q).__name__} {q!r:.60}"
            )
        arg, what = np.ascontiguousarray(arr.ravel(), dtype=np.float32), "vector"
    ids, scores, _ = rt.semantic_query(arg, int(k))
    return QueryResult(rt, ids, scores, "embedding", f"{k} most similar to {what!r}", metric="score")


def query_many(rt: _core.Runtime, queries: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    k = int_arg(k, "k", lo=0)
    if isinstance(queries, np.ndarray):
        mat = np.ascontiguousarray(queries, dtype=np.float32)
        if mat.ndim != 2:
            raise ValidationError(f"a query matrix must be 2-D (queries x dims), got shape {mat.shape}")
        if not np.isfinite(mat).all():
            raise ValidationError("query vectors must be finite (the matrix holds NaN or inf)")
        if k == 0:
            return np.zeros((mat.shape[0], 0), np.uint32), np.zeros((mat.shape[0], 0), np.float32)
        return rt.semantic_query_many(mat, k)
    results = [query(rt, t, k) for t in queries]
    # like the matrix form, k is capped at what every row can return (the vocabulary less
    # the query's own words), so no row is padded
    width = min([k] + [len(r) for r in results])
    ids = np.array([r.ids[:width] for r in results], dtype=np.uint32).reshape(len(results), width)
    scores = np.array([r.distances[:width] for r in results], dtype=np.float32).reshape(len(results), width)
    return ids, scores


def feedback(rt: _core.Runtime, source: Any, token: int, good: bool = True) -> pd.DataFrame:
    if isinstance(source, str):
        sources = rt.query_token_ids(parse_query(source, rt)).tolist()
    elif isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        sources = [int(source)]
    else:
        sources = [int(s) for s in source]
    if isinstance(token, bool) or not isinstance(token, (int, np.integer)):
        raise ValidationError(f"token must be a token id, got {token!r}")
    out = rt.semantic_feedback(sources, int(token), bool_arg(good, "good"))
    return pd.DataFrame(out, columns=["connection", "outcome"])


class IntuitionView:
    """``rt.intuition``: the IntuitionEngine. It watches queries, feedback and co-activations,
    proposes hypothesis connections (create), promotions, modifications and deletions, and
    puts each to the Guardian when run (the CDNA must have ENABLE_MUTATION on)."""

    __slots__ = ("_rt",)

    def __init__(self, rt: _core.Runtime) -> None:
        self._rt = rt

    def proposals(self) -> pd.DataFrame:
        """What the engine would do now (nothing changes)."""
        return pd.DataFrame(self._rt.intuition_proposals()).drop(columns=["accepted", "reason"], errors="ignore")

    def run(self) -> pd.DataFrame:
        """Put every proposal to the Guardian and apply the accepted ones."""
        return pd.DataFrame(self._rt.intuition_run())

    def observe(self, ids: Iterable[int]) -> None:
        """Record that these tokens were used together (a co-activation)."""
        self._rt.coactivate([int(i) for i in ids])

    def experiences(self) -> pd.DataFrame:
        """The experience stream: time, kind, tokens."""
        rows = self._rt.intuition_experiences()
        df = pd.DataFrame(rows, columns=["time", "kind", "tokens"])
        df["time"] = pd.to_datetime(df["time"], unit="s")
        return df

    def __repr__(self) -> str:
        return f"<intuition: {len(self._rt.intuition_experiences())} experiences>"
