"""The name tables of the core, as tuples: spaces, entity types, connection kinds and groups,
CDNA profiles. A leaf module: it imports only the compiled core, which owns the tables.
"""

from __future__ import annotations

from . import _core

__all__ = ["SPACES", "ENTITY_TYPES", "CONNECTION_KINDS", "CONNECTION_GROUPS", "CDNA_PROFILES", "MUTABILITY_NAMES"]

SPACES: tuple[str, ...] = tuple(_core.SPACES)
ENTITY_TYPES: tuple[str, ...] = tuple(_core.ENTITY_TYPES)
CONNECTION_KINDS: tuple[str, ...] = tuple(_core.CONNECTION_KINDS)
CONNECTION_GROUPS: tuple[str, ...] = tuple(_core.CONNECTION_GROUPS)
CDNA_PROFILES: tuple[str, ...] = tuple(_core.CDNA_PROFILES)
#: a connection's mutability, by its code 0..2
MUTABILITY_NAMES: tuple[str, ...] = tuple(_core.MUTABILITY_NAMES)
