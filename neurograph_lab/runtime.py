"""The ``Runtime`` facade and its views: ``rt.tokens``, ``rt.connections``, ``rt.cdna``.

All work happens in the compiled core (``neurograph_lab._core``); this module converts
arguments, checks shapes and dtypes, and turns columns into DataFrames.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core, _semantic
from ._args import bool_arg
from ._html import kv_table
from ._legacy import LegacyMixin
from ._spatial import GraphView, GridView
from .errors import ValidationError
from .results import Connection, QueryResult, Status, Token

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["Runtime", "SPACES", "ENTITY_TYPES", "CONNECTION_KINDS", "CONNECTION_GROUPS", "CDNA_PROFILES"]

SPACES: tuple[str, ...] = tuple(_core.SPACES)
ENTITY_TYPES: tuple[str, ...] = tuple(_core.ENTITY_TYPES)
CONNECTION_KINDS: tuple[str, ...] = tuple(_core.CONNECTION_KINDS)
CONNECTION_GROUPS: tuple[str, ...] = tuple(_core.CONNECTION_GROUPS)
CDNA_PROFILES: tuple[str, ...] = tuple(_core.CDNA_PROFILES)

_ID_MAX = (1 << 24) - 1
PathLike = Union[str, "os.PathLike[str]"]
IdsLike = Union[int, Sequence[int], np.ndarray]


def _as_id_array(ids: Any, name: str = "ids", *, upper: int = 0xFFFFFFFF) -> np.ndarray:
    """Integers -> contiguous uint32, refusing negatives, overflow and non-integers."""
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValidationError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype=np.uint32)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValidationError(f"{name} must be integers, got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi > upper:
        bad = lo if lo < 0 else hi
        raise ValidationError(f"{name} holds {bad}, outside 0..{upper}")
    return np.ascontiguousarray(arr, dtype=np.uint32)


def _float_column(values: Any, n: int, name: str) -> Optional[np.ndarray]:
    """None, a scalar (broadcast) or n numbers -> contiguous float32."""
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiu":
        raise ValidationError(f"{name} must be numbers, got dtype {arr.dtype}")
    if arr.ndim == 0:
        arr = np.full(n, arr, dtype=np.float32)
    if arr.shape != (n,):
        raise ValidationError(f"{name} must have shape ({n},), one per row, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _code_column(values: Any, n: int, name: str, names: Sequence[str]) -> Optional[np.ndarray]:
    """None, one name/code, or n names/codes -> contiguous uint8 codes."""
    if values is None:
        return None
    lookup = {v: i for i, v in enumerate(names)}

    def code(v: Any) -> int:
        if isinstance(v, (bool, np.bool_)):
            raise ValidationError(f"unknown {name} {v!r}: expected a name or a code 0..{len(names) - 1}, not a bool")
        if isinstance(v, str):
            key = v.strip().lower()
            if key not in lookup:
                raise ValidationError(f"unknown {name} {v!r}: expected one of {', '.join(names)}")
            return lookup[key]
        if isinstance(v, (int, np.integer)) and 0 <= int(v) < len(names):
            return int(v)
        raise ValidationError(f"unknown {name} {v!r}: expected a name or a code 0..{len(names) - 1}")

    if isinstance(values, (str, int, np.integer, bool, np.bool_)):
        return np.full(n, code(values), dtype=np.uint8)
    if isinstance(values, (list, tuple)):
        if len(values) != n:
            raise ValidationError(f"{name} must have one entry per row ({n}), got {len(values)}")
        return np.fromiter((code(v) for v in values), dtype=np.uint8, count=n)
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ValidationError(f"{name} must have shape ({n},), one per row, got {arr.shape}")
    if arr.dtype.kind in "iu":
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= len(names)):
            bad = int(arr.min()) if int(arr.min()) < 0 else int(arr.max())
            raise ValidationError(f"unknown {name} code {bad}: expected 0..{len(names) - 1}")
        return np.ascontiguousarray(arr, dtype=np.uint8)
    return np.fromiter((code(v) for v in arr.tolist()), dtype=np.uint8, count=n)


def _label_list(labels: Any, n: int) -> Any:
    """Labels, one per row: each a str, or None / NA / NaN for no label (the core checks each
    and names a bad row). A single str (or bytes) is refused: it is one label, not a sequence
    of them; bytes labels are refused as ``create(label=b"x")`` is, not stored as their repr."""
    if isinstance(labels, (str, bytes, bytearray)):
        raise ValidationError(
            f"labels must be a sequence of str (one per row), got a single {type(labels).__name__} {labels!r:.60}"
        )
    if not hasattr(labels, "__len__"):
        try:
            labels = list(labels)
        except TypeError:
            raise ValidationError(f"labels must be a sequence of str or None, got {type(labels).__name__}") from None
    if len(labels) != n:
        raise ValidationError(f"labels must have one entry per row ({n}), got {len(labels)}")
    return labels


def _coords_f32(arr: np.ndarray, clamp: bool) -> np.ndarray:
    """Coordinates as contiguous float32. Finite values beyond float32 (e.g. 1e300 as float64)
    are clipped to its largest value with ``clamp=True`` (the core then clamps them to the
    space's range) and refused, naming row and space, without it (a cast would turn them into
    inf, and the message would then say "inf")."""
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
        big = np.finfo(np.float32).max
        over = np.abs(arr) > big  # False for NaN
        if over.any():
            over &= np.isfinite(arr)
        if over.any():
            if not clamp:
                row, space, axis = (int(v) for v in np.argwhere(over)[0])
                raise ValidationError(
                    f"row {row}: {SPACES[space]}.{'xyz'[axis]} = {arr[row, space, axis]:g} is out of range "
                    f"(beyond float32); use clamp=True to clamp values to each space's range"
                )
            arr = np.where(over, np.sign(arr) * big, arr)
    return np.ascontiguousarray(arr, dtype=np.float32)


def _one_id(tid: Any, what: str = "token") -> int:
    if isinstance(tid, (bool, np.bool_)) or not isinstance(tid, (int, np.integer)):
        raise ValidationError(f"a {what} id must be an integer, got {type(tid).__name__} {tid!r}")
    return int(tid)


try:  # labels travel as Arrow string buffers when pyarrow is there (no Python str per token)
    import pyarrow as _pa

    _HAVE_ARROW = True
except ImportError:  # pragma: no cover - the arrow extra is optional
    _HAVE_ARROW = False


def _labels(c: Mapping[str, Any]) -> Any:
    """The label column of ``token_columns``: a pandas string array (pyarrow-backed, zero-copy
    from the core's buffers when those were asked for)."""
    if "label_data" not in c:
        return pd.array(c["label"], dtype="string")
    return pd.array(_label_arrow(c), dtype=pd.StringDtype("pyarrow"))


def _label_arrow(c: Mapping[str, Any]) -> Any:
    """The core's label buffers as a pyarrow string array (no copy of the text)."""
    n = len(c["label_valid"])
    offsets, data = c["label_offsets"], c["label_data"]
    valid = _pa.py_buffer(np.packbits(c["label_valid"], bitorder="little"))
    if len(data) < 2**31:
        arr = _pa.StringArray.from_buffers(n, _pa.py_buffer(offsets.astype(np.int32)), _pa.py_buffer(data), valid)
    else:  # pragma: no cover - over 2 GiB of label text
        arr = _pa.LargeStringArray.from_buffers(n, _pa.py_buffer(offsets), _pa.py_buffer(data), valid)
    return arr


class TokenView:
    """``rt.tokens``: create, read, change and export tokens.

    Examples
    --------
    >>> import numpy as np, neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> ids = rt.tokens.create_many(np.zeros((3, 8, 3), np.float32), labels=["a", "b", "c"])
    >>> len(rt.tokens), rt.tokens[int(ids[1])].label
    (3, 'b')
    """

    __slots__ = ("_rt",)

    def __init__(self, rt: _core.Runtime) -> None:
        self._rt = rt

    # -- create --
    def create(
        self,
        *,
        weight: float = 1.0,
        entity: Union[str, int, None] = None,
        label: Optional[str] = None,
        id: Optional[int] = None,
        field_radius: float = 0.0,
        field_strength: float = 0.0,
        clamp: bool = False,
        **spaces: Optional[Sequence[float]],
    ) -> int:
        """Create one token and return its id.

        Spaces are keywords with an ``(x, y, z)`` value (``cognitive=(0.1, 0.2, 0.3)``, also
        ``L5=...``); spaces not named are left undefined. Values outside a space's range are an
        error unless ``clamp=True``.
        """
        return int(
            self._rt.create_token(
                weight=weight,
                entity=entity,
                label=label,
                id=id,
                field_radius=field_radius,
                field_strength=field_strength,
                clamp=clamp,
                **spaces,  # type: ignore[arg-type]  # space names, never "coords"
            )
        )

    def create_many(
        self,
        coords: Any,
        *,
        weights: Any = None,
        entities: Any = None,
        labels: Optional[Sequence[Optional[str]]] = None,
        ids: Any = None,
        field_radius: Any = None,
        field_strength: Any = None,
        clamp: bool = False,
        undefined: Optional[str] = None,
    ) -> np.ndarray:
        """Create tokens from an ``(N, 8, 3)`` array of coordinates; returns ``uint32`` ids.

        Parameters
        ----------
        coords : array-like, shape (N, 8, 3)
            Float coordinates; axis 1 is L1..L8 (physical ... abstract), axis 2 is x, y, z.
        weights, field_radius, field_strength : float or array (N,), optional
        entities : str, int or sequence, optional
            Entity type names (``"concept"``) or codes, one for all or one per row.
        labels : sequence of str or None, optional
            One per row: a str, or None (also NA/NaN) for no label. A single string is refused
            (it is one label, not one per row).
        ids : array (N,) of int, optional
            Explicit ids (1 .. 16,777,215); by default ids are allocated.
        clamp : bool
            Clamp out-of-range values to the space's range instead of refusing them (also
            values too large for float32, such as 1e300 given as float64).
        undefined : {"nan"}, optional
            With ``"nan"``, an all-NaN ``(x, y, z)`` means "not placed in this space".

        If any row is bad, nothing is created and the error names the row.
        """
        arr = np.asarray(coords)
        if arr.dtype.kind not in "fiu":
            raise ValidationError(f"coords must be numeric, got dtype {arr.dtype}")
        if arr.ndim != 3 or arr.shape[1:] != (8, 3):
            raise ValidationError(f"coords must have shape (N, 8, 3), got {arr.shape}")
        if undefined not in (None, "nan"):
            raise ValidationError(f"undefined must be None or 'nan', got {undefined!r}")
        n = arr.shape[0]
        arr = _coords_f32(arr, clamp)
        label_list = None if labels is None else _label_list(labels, n)
        id_arr = None
        if ids is not None:
            id_arr = _as_id_array(ids, "ids", upper=_ID_MAX)
            if id_arr.shape != (n,):
                raise ValidationError(f"ids must have shape ({n},), got {id_arr.shape}")
        out = self._rt.create_tokens(
            arr,
            weights=_float_column(weights, n, "weights"),
            entities=_code_column(entities, n, "entity type", ENTITY_TYPES),
            labels=label_list,
            ids=id_arr,
            field_radius=_float_column(field_radius, n, "field_radius"),
            field_strength=_float_column(field_strength, n, "field_strength"),
            clamp=clamp,
            undefined_nan=undefined == "nan",
        )
        return out

    # -- read --
    def get(self, tid: int) -> Token:
        """The token with this id (``NotFoundError`` if there is none)."""
        return Token._from_dict(self._rt.get_token(_one_id(tid)))

    __getitem__ = get

    def __contains__(self, tid: object) -> bool:
        return isinstance(tid, (int, np.integer)) and self._rt.has_token(int(tid))

    def __len__(self) -> int:
        return self._rt.count_tokens()

    def count(self) -> int:
        """Number of tokens."""
        return len(self)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids().tolist())

    def ids(self) -> np.ndarray:
        """All ids (``uint32``) in store order, the row order of ``coords`` and ``to_pandas``."""
        return self._rt.token_ids()

    def list(self, limit: int = 100, offset: int = 0) -> list[Token]:
        """Up to ``limit`` tokens from ``offset`` as ``Token`` values."""
        return [Token._from_dict(d) for d in self._rt.list_tokens(limit, offset)]

    def find(self, label: str) -> np.ndarray:
        """Ids of the tokens whose label is exactly ``label``."""
        return self._rt.find_label(label)

    def coords(self, space: Union[str, int] = "cognitive") -> np.ndarray:
        """Coordinates of one space as an ``(N, 3)`` float32 array in ``ids()`` order; NaN rows
        for tokens not placed in that space."""
        return self._rt.token_coords(space)

    # -- change --
    def update(self, tid: int, **changes: Any) -> None:
        """Change fields of one token: ``weight``, ``entity``, ``label`` (``""`` removes it),
        ``field_radius``, ``field_strength``, ``user_flags``, ``domain``, ``clamp`` and spaces
        (``cognitive=(x, y, z)``, or ``None`` to take the token out of a space)."""
        self._rt.update_token(_one_id(tid), **changes)

    def delete(self, ids: IdsLike) -> int:
        """Delete one token or many (and every connection touching them); returns how many.
        Every id must exist, otherwise nothing is deleted. One id must be an integer (like
        ``rt.tokens[id]``: ``1.0`` or ``True`` are refused)."""
        if np.ndim(ids) == 0:
            self._rt.delete_token(_one_id(ids))
            return 1
        return int(self._rt.delete_tokens(_as_id_array(ids)))

    def clear(self) -> None:
        """Remove every token and connection."""
        self._rt.clear_tokens()

    # -- export --
    def _columns(self, limit: Optional[int] = None, offset: int = 0, label_buffers: bool = False) -> dict[str, Any]:
        return self._rt.token_columns(limit, offset, label_buffers)

    def to_pandas(self, limit: Optional[int] = None, offset: int = 0) -> pd.DataFrame:
        """Tokens as a DataFrame indexed by id: label, entity, weight, field, timestamp and
        ``<space>_x/_y/_z`` columns (NaN where a token is not placed in a space)."""
        return self._frame(self._columns(limit, offset, label_buffers=_HAVE_ARROW))

    @staticmethod
    def _frame(c: Mapping[str, Any]) -> pd.DataFrame:
        """The DataFrame of ``token_columns`` arrays."""
        n = len(c["id"])
        flat = c["coords"].reshape(n, 24)
        data: dict[str, Any] = {
            "label": _labels(c),
            "entity": pd.Categorical.from_codes(c["entity"].astype(np.int16), categories=list(ENTITY_TYPES)),
            "weight": c["weight"],
            "field_radius": c["field_radius"],
            "field_strength": c["field_strength"],
            "timestamp": pd.to_datetime(c["timestamp"].astype(np.int64), unit="s"),
        }
        for s, space in enumerate(SPACES):
            for a, axis in enumerate("xyz"):
                data[f"{space}_{axis}"] = flat[:, s * 3 + a]
        return pd.DataFrame(data, index=pd.Index(c["id"], name="id"), copy=False)

    def to_arrow(self, limit: Optional[int] = None, offset: int = 0) -> pa.Table:
        """Tokens as a pyarrow Table (same columns as ``to_pandas`` plus ``id``)."""
        try:
            import pyarrow as pa
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("to_arrow() needs pyarrow: pip install pyarrow") from e
        c = self._columns(limit, offset, label_buffers=True)
        n = len(c["id"])
        flat = c["coords"].reshape(n, 24)
        cols: dict[str, Any] = {
            "id": pa.array(c["id"]),
            "label": _label_arrow(c),
            "entity": pa.DictionaryArray.from_arrays(
                pa.array(c["entity"].astype(np.int8)), pa.array(list(ENTITY_TYPES))
            ),
            "weight": pa.array(c["weight"]),
            "field_radius": pa.array(c["field_radius"]),
            "field_strength": pa.array(c["field_strength"]),
            "timestamp": pa.array(c["timestamp"].astype(np.int64), type=pa.int64()).cast(pa.timestamp("s")),
        }
        for s, space in enumerate(SPACES):
            for a, axis in enumerate("xyz"):
                cols[f"{space}_{axis}"] = pa.array(np.ascontiguousarray(flat[:, s * 3 + a]))
        return pa.table(cols)

    def __repr__(self) -> str:
        return f"<tokens: {len(self):,} in {len(SPACES)} spaces>"

    def _repr_html_(self) -> str:
        df = self.to_pandas(limit=10)
        more = len(self) - len(df)
        note = f"{more:,} more" if more > 0 else ""
        return kv_table(f"{len(self):,} tokens", [], note) + df.to_html(escape=True, max_cols=12)


class ConnectionView:
    """``rt.connections``: typed, directed links between tokens.

    Examples
    --------
    >>> import neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> a, b = rt.tokens.create(label="rain"), rt.tokens.create(label="wet")
    >>> cid = rt.connections.create(a, b, kind="cause", strength=0.8)
    >>> rt.connections[cid].kind
    'cause'
    """

    __slots__ = ("_rt",)

    def __init__(self, rt: _core.Runtime) -> None:
        self._rt = rt

    def create(
        self,
        a: int,
        b: int,
        kind: Union[str, int] = "associated_with",
        *,
        strength: Optional[float] = None,
        rigidity: float = 0.5,
        confidence: float = 0.5,
        preferred_distance: float = 1.0,
        learning_rate: float = 0.1,
        decay_rate: Optional[float] = None,
        bidirectional: bool = False,
        active_levels: int = 0xFF,
    ) -> int:
        """Connect token ``a`` (the source) to ``b``; returns the connection id.

        ``kind`` is one of the 176 names in ``ng.CONNECTION_KINDS`` (or its code). ``strength``
        defaults to the CDNA's default pull strength. The Guardian checks the kind, the
        strength and rigidity bounds and the degree limits.
        """
        return int(
            self._rt.create_connection(
                _one_id(a),
                _one_id(b),
                kind,
                strength=strength,
                rigidity=rigidity,
                confidence=confidence,
                preferred_distance=preferred_distance,
                learning_rate=learning_rate,
                decay_rate=decay_rate,
                bidirectional=bidirectional,
                active_levels=active_levels,
            )
        )

    def create_many(
        self,
        a: Any,
        b: Any,
        kind: Any = "associated_with",
        *,
        strength: Any = None,
        rigidity: float = 0.5,
        confidence: float = 0.5,
        preferred_distance: float = 1.0,
        learning_rate: float = 0.1,
        decay_rate: Optional[float] = None,
        bidirectional: bool = False,
    ) -> np.ndarray:
        """Create connections ``a[i] -> b[i]``; ``kind`` and ``strength`` may be one value or
        one per row. All or nothing: a bad row creates none and the error names it."""
        aa, bb = _as_id_array(a, "a"), _as_id_array(b, "b")
        if aa.shape != bb.shape:
            raise ValidationError(f"a and b must have the same length, got {aa.shape[0]} and {bb.shape[0]}")
        n = aa.shape[0]
        kinds = _code_column(kind, n, "connection kind", CONNECTION_KINDS)
        strengths = None
        one_strength: Optional[float] = None
        if strength is not None and np.ndim(strength) == 0:
            one_strength = float(strength)
        else:
            strengths = _float_column(strength, n, "strength")
        return self._rt.create_connections(
            aa,
            bb,
            kinds,
            strengths,
            strength=one_strength,
            rigidity=rigidity,
            confidence=confidence,
            preferred_distance=preferred_distance,
            learning_rate=learning_rate,
            decay_rate=decay_rate,
            bidirectional=bidirectional,
        )

    def get(self, cid: int) -> Connection:
        """The connection with this id (``NotFoundError`` if there is none)."""
        return Connection._from_dict(self._rt.get_connection(_one_id(cid, "connection")))

    __getitem__ = get

    def delete(self, ids: IdsLike) -> int:
        """Delete one connection or many; every id must exist. Returns how many."""
        if np.ndim(ids) == 0:
            self._rt.delete_connection(_one_id(ids, "connection"))
            return 1
        return int(self._rt.delete_connections(_as_id_array(ids)))

    def list(self, limit: int = 100, offset: int = 0) -> list[Connection]:
        """Up to ``limit`` connections from ``offset`` as ``Connection`` values."""
        return [Connection._from_dict(d) for d in self._rt.list_connections(limit, offset)]

    def __len__(self) -> int:
        return self._rt.count_connections()

    def count(self) -> int:
        """Number of connections."""
        return len(self)

    def for_token(self, tid: int) -> pd.DataFrame:
        """Connections where ``tid`` is the source or the target, as a DataFrame."""
        return self._frame(self._rt.connection_columns(_one_id(tid)))

    def to_pandas(self) -> pd.DataFrame:
        """All connections as a DataFrame indexed by connection id."""
        return self._frame(self._rt.connection_columns(None))

    def feedback(self, cid: int, good: bool = True) -> str:
        """Apply feedback to one connection: confidence rises by its learning rate when
        ``good``, falls by half of it otherwise; immutable kinds never change. Returns
        ``"updated"``, ``"unchanged"`` or ``"dropped"`` (a hypothesis under 10%)."""
        return self._rt.connection_feedback(_one_id(cid, "connection"), bool_arg(good, "good"))

    def decay(self) -> int:
        """One decay step for hypothesis connections; returns how many were dropped."""
        return self._rt.decay_hypotheses()

    @staticmethod
    def _frame(c: Mapping[str, np.ndarray]) -> pd.DataFrame:
        kinds = np.asarray(CONNECTION_KINDS, dtype=object)
        groups = np.asarray(CONNECTION_GROUPS, dtype=object)
        k = c["kind"].astype(np.int64)
        mut = np.asarray(["immutable", "learnable", "hypothesis"], dtype=object)
        df = pd.DataFrame(
            {
                "token_a": c["token_a"],
                "token_b": c["token_b"],
                "kind": pd.Categorical(kinds[k], categories=list(CONNECTION_KINDS)),
                "group": pd.Categorical(groups[k >> 4], categories=list(CONNECTION_GROUPS)),
                "strength": c["strength"],
                "rigidity": c["rigidity"],
                "confidence": c["confidence"],
                "preferred_distance": c["preferred_distance"],
                "mutability": mut[np.minimum(c["mutability"], 2)],
                "evidence_count": c["evidence_count"],
                "bidirectional": c["bidirectional"],
                "created_at": pd.to_datetime(c["created_at"].astype(np.int64), unit="s"),
            },
            index=pd.Index(c["id"], name="id"),
        )
        return df

    def __repr__(self) -> str:
        return f"<connections: {len(self):,}>"


_POLICY_DOC = """
        policy : {"refuse", "clamp", "force"}
            What to do when tokens or connections the runtime already holds break the new
            rules: ``"refuse"`` (the default) refuses the change, naming how many records
            break it and one of them; ``"clamp"`` clamps weights, fields, strengths and
            rigidities into the new bounds (forbidden kinds and degrees cannot be clamped and
            still refuse); ``"force"`` accepts the change and keeps the data as it is
            (``validate()`` then lists the conflict)."""


class CDNAView:
    """``rt.cdna``: the CDNA V2.1 configuration. Every change goes through the Guardian; a
    refused change raises ``ValidationError`` and leaves the CDNA as it was. A change that
    the data already held breaks is refused unless a ``policy`` says otherwise.

    Examples
    --------
    >>> import neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> rt.cdna.profile = "explorer"
    >>> rt.cdna.update_scales(cognitive=2.0)
    >>> rt.cdna.scales["cognitive"]
    2.0
    """

    __slots__ = ("_rt",)

    def __init__(self, rt: _core.Runtime) -> None:
        self._rt = rt

    @property
    def profile(self) -> str:
        """The active profile: default, explorer, analyst or creative (settable)."""
        return self._rt.get_cdna_profile()

    @profile.setter
    def profile(self, name: str) -> None:
        self._rt.set_cdna_profile(name)

    def set_profile(self, name: str, policy: str = "refuse") -> None:
        """Switch to a profile (default, explorer, analyst or creative).

        Parameters
        ----------
        name : str
            The profile."""
        self._rt.set_cdna_profile(name, policy)

    set_profile.__doc__ = (set_profile.__doc__ or "") + _POLICY_DOC

    @property
    def scales(self) -> dict[str, float]:
        """Per-space distance scales ``{space: scale}``."""
        return dict(self._rt.get_cdna_scales())

    def update_scales(self, scales: Union[Mapping[Any, float], Sequence[float], None] = None, **by_name: float) -> None:
        """Change scales, e.g. ``update_scales(cognitive=2.0)`` or ``update_scales({"L5": 2.0})``."""
        merged: dict[Any, float] = {}
        if isinstance(scales, Mapping):
            merged.update(scales)
        elif scales is not None:
            self._rt.update_cdna_scales(list(scales))
        merged.update(by_name)
        if merged:
            self._rt.update_cdna_scales(merged)

    @property
    def flags(self) -> dict[str, bool]:
        """Header flags ``{ENABLE_VALIDATION, ENABLE_EVENTS, ENABLE_MUTATION, STRICT_MODE}``."""
        return dict(self._rt.get_cdna_flags())

    def set_flags(
        self, flags: Optional[Mapping[str, bool]] = None, /, *, policy: str = "refuse", **by_name: bool
    ) -> None:
        """Turn flags on or off, e.g. ``set_flags(STRICT_MODE=True)`` or
        ``set_flags({"STRICT_MODE": True})``.

        Parameters
        ----------
        flags, **by_name : bool
            Flag names and their new state."""
        self._rt.set_cdna_flags({**(flags or {}), **by_name}, policy)

    set_flags.__doc__ = (set_flags.__doc__ or "") + _POLICY_DOC

    def update(
        self, fields: Optional[Mapping[str, float]] = None, /, *, policy: str = "refuse", **by_name: float
    ) -> None:
        """Change numeric fields (one validated change), e.g. ``update(token_weight_max=2.0,
        max_out_degree=50)`` or ``update({"max_out_degree": 50})``.

        Parameters
        ----------
        fields, **by_name : float
            Names from ``ng.CDNA_FIELDS`` plus the evolution rates, and their new values."""
        self._rt.update_cdna({**(fields or {}), **by_name}, policy)

    update.__doc__ = (update.__doc__ or "") + _POLICY_DOC

    def __getitem__(self, field: str) -> Union[int, float]:
        """One field by name, e.g. ``rt.cdna["max_out_degree"]`` (see ``ng.CDNA_FIELDS``)."""
        return self._rt.cdna_field(field)

    def allow_kinds(self, *kinds: Union[str, int]) -> None:
        """Allow connection kinds the CDNA forbids."""
        self._rt.set_cdna_kinds(list(kinds), True)

    def forbid_kinds(self, *kinds: Union[str, int], policy: str = "refuse") -> None:
        """Forbid connection kinds: the Guardian then refuses new connections of them.
        Connections of these kinds that exist already make it refuse, unless
        ``policy="force"`` (they are kept)."""
        self._rt.set_cdna_kinds(list(kinds), False, policy)

    def validate(self) -> list[str]:
        """Rules the current CDNA breaks, and the tokens and connections that break it
        (empty when all is well)."""
        return list(self._rt.validate_cdna()["problems"])

    def config(self) -> dict[str, dict[str, Any]]:
        """The whole configuration as nested dicts, one per block."""
        return self._rt.get_cdna_config()

    def to_bytes(self) -> bytes:
        """The 384-byte CDNA V2.1 record (with its FNV-1a checksum)."""
        return self._rt.cdna_bytes()

    @property
    def revision(self) -> int:
        """Raised by one on every accepted change."""
        return self._rt.cdna_revision()

    def history(self) -> pd.DataFrame:
        """Earlier versions, oldest first: revision, profile, changed_at, change."""
        rows = self._rt.cdna_history()
        df = pd.DataFrame(rows, columns=["revision", "profile", "changed_at", "change"])
        df["changed_at"] = pd.to_datetime(df["changed_at"], unit="s")
        return df

    def rollback(self, steps: int = 1, policy: str = "refuse") -> None:
        """Restore the configuration as it was ``steps`` changes ago.

        The restore is itself a change (a new revision in ``history()``), like ``git revert``:
        calling ``rollback()`` twice returns to where you started; ``rollback(2)`` after two
        changes undoes both. Like any change, it is refused when the data held breaks the
        restored rules, unless ``policy`` is ``"clamp"`` or ``"force"`` (see ``update``).
        """
        if steps < 1:
            raise ValidationError(f"steps must be >= 1, got {steps}")
        self._rt.cdna_rollback(steps, policy)

    def _rows(self) -> list[tuple[str, Any]]:
        cfg = self.config()
        tp, cc, gt = cfg["token_properties"], cfg["connection_constraints"], cfg["graph_topology"]
        scales = ", ".join(f"{k} {v:g}" for k, v in cfg["grid_physics"]["scales"].items())
        flags = ", ".join(cfg["header"]["flags"]) or "-"
        return [
            (
                "profile",
                f"{cfg['header']['profile']} ({cfg['header']['profile_state']}), revision {cfg['header']['revision']}",
            ),
            ("flags", flags),
            ("scales", scales),
            ("token weight", f"[{tp['token_weight_min']:g}, {tp['token_weight_max']:g}]"),
            ("field radius", f"[{tp['field_radius_min']:g}, {tp['field_radius_max']:g}]"),
            ("field strength", f"[{tp['field_strength_min']:g}, {tp['field_strength_max']:g}]"),
            (
                "connection strength",
                f"[{cc['strength_min']:g}, {cc['strength_max']:g}], default {cc['default_pull_strength']:g}",
            ),
            ("rigidity", f"[{cc['rigidity_min']:g}, {cc['rigidity_max']:g}]"),
            ("degree out / in / total", f"{gt['max_out_degree']} / {gt['max_in_degree']} / {gt['max_total_degree']}"),
            ("allowed kinds", f"{gt['allowed_kinds']} of {len(CONNECTION_KINDS)}"),
            ("evolution", ", ".join(f"{k} {v:g}" for k, v in cfg["evolution"].items())),
        ]

    def __repr__(self) -> str:
        rows = self._rows()
        width = max(len(k) for k, _ in rows)
        return "CDNA V2.1\n" + "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)

    def _repr_html_(self) -> str:
        return kv_table("CDNA V2.1", self._rows())


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

    # The compiled runtime is held, not inherited (M2): the class shows the API a researcher
    # uses, and the views hold the compiled object and call its bound methods.

    def __init__(self) -> None:
        self._core = _core.Runtime()

    # The views are built on access (a small object each time) and hold the compiled runtime,
    # never the facade, so no reference cycle keeps a discarded runtime's memory alive until a
    # full garbage collection (S3-3). A view you keep (``toks = rt.tokens``) keeps the data
    # alive and working, as any reference does.

    @property
    def tokens(self) -> TokenView:
        """Tokens: create, read, change, delete and export them (``TokenView``)."""
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
        """The IntuitionEngine: proposals from experience (``IntuitionView``)."""
        return _semantic.IntuitionView(self._core)

    def bootstrap(
        self,
        source: Any,
        words: Any = None,
        space: Any = "abstract",
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

    def events(self, last: Optional[int] = None) -> pd.DataFrame:
        """What the Guardian saw, oldest first: time, kind, target, accepted, reason."""
        c = self._core.events(last)
        return pd.DataFrame(
            {
                "time": pd.to_datetime(c["time"], unit="s"),
                "kind": c["kind"],
                "target": c["target"],
                "accepted": c["accepted"],
                "reason": c["reason"],
            }
        )

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

    def __repr__(self) -> str:
        return repr(self.status())

    def _repr_html_(self) -> str:
        return self.status()._repr_html_()
