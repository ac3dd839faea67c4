"""The PyRuntime operations by their earlier names, on ``ng.Runtime``.

Each is a one-line forwarder to the compiled runtime the facade holds (``self._core``) and
returns what the earlier API returned: plain ints, dicts and lists. New code uses the views
(``rt.tokens``, ``rt.connections``, ``rt.grid``, ``rt.cdna``); these names stay so that code
written against the earlier PyRuntime keeps working. ``bootstrap``, ``query`` and ``feedback``
are the facade's own methods, which also accept the earlier call forms.

>>> import neurograph_lab as ng
>>> rt = ng.Runtime()
>>> tid = rt.create_token(cognitive=(0.1, 0.2, 0.3), label="cat")
>>> rt.get_token(tid)["label"], rt.count_tokens()
('cat', 1)
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

from . import _core

__all__ = ["LegacyMixin", "LEGACY_OPERATIONS"]

_XYZ = Optional[Sequence[float]]
_Space = Union[str, int]


class LegacyMixin:
    """The earlier PyRuntime operations, forwarded to the compiled runtime ``self._core``."""

    __slots__ = ()
    _core: _core.Runtime

    # -- tokens --
    def create_token(self, coords: Optional[Sequence[_XYZ]] = None, **fields: Any) -> int:
        """Create one token; ``coords`` (8 ``(x, y, z)`` or None) or spaces as keywords,
        plus ``weight``, ``entity``, ``label``, ``id``, ``field_radius``, ``field_strength``,
        ``clamp``. Returns its id. New code: ``rt.tokens.create``."""
        return self._core.create_token(coords, **fields)

    def get_token(self, id: int) -> dict[str, Any]:
        """The token as a dict (``NotFoundError`` if there is none). New code: ``rt.tokens[id]``."""
        return self._core.get_token(id)

    def update_token(self, id: int, **changes: Any) -> None:
        """Change fields of one token. New code: ``rt.tokens.update``."""
        self._core.update_token(id, **changes)

    def delete_token(self, id: int) -> None:
        """Delete one token and its connections. New code: ``rt.tokens.delete``."""
        self._core.delete_token(id)

    def list_tokens(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Up to ``limit`` tokens from ``offset`` as dicts. New code: ``rt.tokens.list``."""
        return self._core.list_tokens(limit, offset)

    def count_tokens(self) -> int:
        """Number of tokens. New code: ``len(rt.tokens)``."""
        return self._core.count_tokens()

    def clear_tokens(self) -> None:
        """Remove every token and connection. New code: ``rt.tokens.clear()``."""
        self._core.clear_tokens()

    # -- connections --
    def create_connection(self, a: int, b: int, kind: Union[str, int, None] = None, **fields: Any) -> int:
        """Connect ``a`` to ``b``; returns the connection id. New code: ``rt.connections.create``."""
        return self._core.create_connection(a, b, kind, **fields)

    def get_connection(self, id: int) -> dict[str, Any]:
        """The connection as a dict. New code: ``rt.connections[id]``."""
        return self._core.get_connection(id)

    def delete_connection(self, id: int) -> None:
        """Delete one connection. New code: ``rt.connections.delete``."""
        self._core.delete_connection(id)

    def list_connections(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Up to ``limit`` connections from ``offset`` as dicts. New code: ``rt.connections.list``."""
        return self._core.list_connections(limit, offset)

    def count_connections(self) -> int:
        """Number of connections. New code: ``len(rt.connections)``."""
        return self._core.count_connections()

    def get_connections_for_token(self, id: int) -> list[dict[str, Any]]:
        """Connections from or to a token as dicts. New code: ``rt.connections.for_token``."""
        return self._core.get_connections_for_token(id)

    # -- grid --
    def get_grid_info(self) -> dict[str, dict[str, Any]]:
        """Per space: tokens indexed, bounds, memory, scale. New code: ``rt.grid.info()``."""
        return self._core.get_grid_info()

    def find_neighbors(self, target: Any, k: int = 10, space: Optional[_Space] = None) -> list[tuple[int, float]]:
        """The k nearest tokens as ``[(id, distance)]``. New code: ``rt.grid.neighbors``."""
        return self._core.find_neighbors(target, k, space)

    def range_query(self, center: Any, radius: float, space: Optional[_Space] = None) -> list[tuple[int, float]]:
        """Tokens within ``radius`` as ``[(id, distance)]``. New code: ``rt.grid.range``."""
        return self._core.range_query(center, radius, space)

    # -- CDNA --
    def get_cdna_config(self) -> dict[str, dict[str, Any]]:
        """The CDNA as nested dicts. New code: ``rt.cdna.config()``."""
        return self._core.get_cdna_config()

    def get_cdna_scales(self) -> dict[str, float]:
        """Per-space scales. New code: ``rt.cdna.scales``."""
        return self._core.get_cdna_scales()

    def update_cdna_scales(self, scales: Union[Mapping[Any, float], Sequence[float]]) -> None:
        """Change scales (through the Guardian). New code: ``rt.cdna.update_scales``."""
        self._core.update_cdna_scales(scales)

    def get_cdna_profile(self) -> str:
        """The active profile. New code: ``rt.cdna.profile``."""
        return self._core.get_cdna_profile()

    def set_cdna_profile(self, name: str, policy: str = "refuse") -> None:
        """Switch profile (through the Guardian). New code: ``rt.cdna.profile = name``."""
        self._core.set_cdna_profile(name, policy)

    def get_cdna_flags(self) -> dict[str, bool]:
        """The header flags. New code: ``rt.cdna.flags``."""
        return self._core.get_cdna_flags()

    def set_cdna_flags(self, flags: Mapping[str, bool], policy: str = "refuse") -> None:
        """Turn flags on or off (through the Guardian). New code: ``rt.cdna.set_flags``."""
        self._core.set_cdna_flags(flags, policy)

    def validate_cdna(self) -> dict[str, Any]:
        """``{"valid": bool, "problems": [...]}``. New code: ``rt.cdna.validate()``."""
        return self._core.validate_cdna()

    # -- metrics --
    def export_metrics(self) -> str:
        """Prometheus text. New code: ``rt.metrics()``."""
        return self._core.export_metrics()


#: the earlier PyRuntime operation names ng.Runtime keeps (the 25 above, plus the facade's own
#: ``bootstrap``, ``query`` and ``feedback``, which accept the earlier call forms)
LEGACY_OPERATIONS: tuple[str, ...] = tuple(
    name for name in vars(LegacyMixin) if not name.startswith("_") and callable(vars(LegacyMixin)[name])
) + ("bootstrap", "query", "feedback")
