"""``rt.tokens``: create, read, change, delete and export tokens (``TokenView``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._args import ID_MAX, as_id_array, code_column, coords_f32, float_column, label_list, one_id
from ._frames import HAVE_ARROW, tokens_arrow, tokens_frame
from ._html import kv_table
from ._names import ENTITY_TYPES, SPACES
from ._values import Token
from .errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["TokenView", "IdsLike"]

IdsLike = Union[int, Sequence[int], np.ndarray]


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

        If any row is bad, nothing is created and the error names the row.

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
        """
        arr = np.asarray(coords)
        if arr.dtype.kind not in "fiu":
            raise ValidationError(f"coords must be numeric, got dtype {arr.dtype}")
        if arr.ndim != 3 or arr.shape[1:] != (8, 3):
            raise ValidationError(f"coords must have shape (N, 8, 3), got {arr.shape}")
        if undefined not in (None, "nan"):
            raise ValidationError(f"undefined must be None or 'nan', got {undefined!r}")
        n = arr.shape[0]
        arr = coords_f32(arr, clamp)
        labels_arg = None if labels is None else label_list(labels, n)
        id_arr = None
        if ids is not None:
            id_arr = as_id_array(ids, "ids", upper=ID_MAX)
            if id_arr.shape != (n,):
                raise ValidationError(f"ids must have shape ({n},), got {id_arr.shape}")
        out = self._rt.create_tokens(
            arr,
            weights=float_column(weights, n, "weights"),
            entities=code_column(entities, n, "entity type", ENTITY_TYPES),
            labels=labels_arg,
            ids=id_arr,
            field_radius=float_column(field_radius, n, "field_radius"),
            field_strength=float_column(field_strength, n, "field_strength"),
            clamp=clamp,
            undefined_nan=undefined == "nan",
        )
        return out

    # -- read --
    def get(self, tid: int) -> Token:
        """The token with this id (``NotFoundError`` if there is none)."""
        return Token._from_dict(self._rt.get_token(one_id(tid)))

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
        self._rt.update_token(one_id(tid), **changes)

    def delete(self, ids: IdsLike) -> int:
        """Delete one token or many (and every connection touching them); returns how many.
        Every id must exist, otherwise nothing is deleted. One id must be an integer (like
        ``rt.tokens[id]``: ``1.0`` or ``True`` are refused)."""
        if np.ndim(ids) == 0:
            self._rt.delete_token(one_id(ids))
            return 1
        return int(self._rt.delete_tokens(as_id_array(ids)))

    def clear(self) -> None:
        """Remove every token and connection."""
        self._rt.clear_tokens()

    # -- export --
    def _columns(self, limit: Optional[int] = None, offset: int = 0, label_buffers: bool = False) -> dict[str, Any]:
        return self._rt.token_columns(limit, offset, label_buffers)

    def to_pandas(self, limit: Optional[int] = None, offset: int = 0) -> pd.DataFrame:
        """Tokens as a DataFrame indexed by id: label, entity, weight, field, timestamp and
        ``<space>_x/_y/_z`` columns (NaN where a token is not placed in a space), and a
        ``community`` column (int32, -1 for tokens it did not cover) once
        ``rt.graph.communities()`` has run."""
        df = tokens_frame(self._columns(limit, offset, label_buffers=HAVE_ARROW))
        comm = self._community(df.index.to_numpy())
        if comm is not None:
            df["community"] = comm
        return df

    def _community(self, ids: np.ndarray) -> Optional[np.ndarray]:
        """The last community of each id (-1 unknown), or None when none was computed."""
        if self._rt.graph_last_communities(False) is None:
            return None
        return self._rt.community_of(ids)

    def to_arrow(self, limit: Optional[int] = None, offset: int = 0) -> pa.Table:
        """Tokens as a pyarrow Table (same columns as ``to_pandas`` plus ``id``)."""
        if not HAVE_ARROW:  # pragma: no cover - depends on the environment
            raise ImportError("to_arrow() needs pyarrow: pip install pyarrow")
        t = tokens_arrow(self._columns(limit, offset, label_buffers=True))
        comm = self._community(t.column("id").to_numpy())
        if comm is None:
            return t
        import pyarrow  # lazy: an optional extra, present here (checked above)

        return t.append_column("community", pyarrow.array(comm))

    def __repr__(self) -> str:
        return f"<tokens: {len(self):,} in {len(SPACES)} spaces>"

    def _repr_html_(self) -> str:
        df = self.to_pandas(limit=10)
        more = len(self) - len(df)
        note = f"{more:,} more" if more > 0 else ""
        return kv_table(f"{len(self):,} tokens", [], note) + df.to_html(escape=True, max_cols=12)
