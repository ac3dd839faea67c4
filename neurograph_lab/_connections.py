"""``rt.connections``: typed, directed links between tokens (``ConnectionView``)."""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from . import _core
from ._args import as_id_array, bool_arg, code_column, float_column, one_id
from ._frames import connections_frame
from ._names import CONNECTION_KINDS
from ._tokens import IdsLike
from ._values import Connection
from .errors import ValidationError

__all__ = ["ConnectionView"]


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
                one_id(a),
                one_id(b),
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
        aa, bb = as_id_array(a, "a"), as_id_array(b, "b")
        if aa.shape != bb.shape:
            raise ValidationError(f"a and b must have the same length, got {aa.shape[0]} and {bb.shape[0]}")
        n = aa.shape[0]
        kinds = code_column(kind, n, "connection kind", CONNECTION_KINDS)
        strengths = None
        one_strength: Optional[float] = None
        if strength is not None and np.ndim(strength) == 0:
            one_strength = float(strength)
        else:
            strengths = float_column(strength, n, "strength")
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
        return Connection._from_dict(self._rt.get_connection(one_id(cid, "connection")))

    __getitem__ = get

    def delete(self, ids: IdsLike) -> int:
        """Delete one connection or many; every id must exist. Returns how many."""
        if np.ndim(ids) == 0:
            self._rt.delete_connection(one_id(ids, "connection"))
            return 1
        return int(self._rt.delete_connections(as_id_array(ids)))

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
        return connections_frame(self._rt.connection_columns(one_id(tid)))

    def to_pandas(self) -> pd.DataFrame:
        """All connections as a DataFrame indexed by connection id."""
        return connections_frame(self._rt.connection_columns(None))

    def feedback(self, cid: int, good: bool = True) -> str:
        """Apply feedback to one connection: confidence rises by its learning rate when
        ``good``, falls by half of it otherwise; immutable kinds never change. Returns
        ``"updated"``, ``"unchanged"`` or ``"dropped"`` (a hypothesis under 10%)."""
        return self._rt.connection_feedback(one_id(cid, "connection"), bool_arg(good, "good"))

    def decay(self) -> int:
        """One decay step for hypothesis connections; returns how many were dropped."""
        return self._rt.decay_hypotheses()

    def __repr__(self) -> str:
        return f"<connections: {len(self):,}>"
