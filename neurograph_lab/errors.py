"""Exceptions raised by neurograph_lab.

The compiled core raises these same classes, so ``except ng.ValidationError`` catches a bad
coordinate whether Python or Rust noticed it.
"""

from __future__ import annotations

__all__ = ["NeuroGraphError", "ValidationError", "NotFoundError", "SnapshotError"]


class NeuroGraphError(Exception):
    """Base class of every neurograph_lab error."""


class ValidationError(NeuroGraphError, ValueError):
    """Bad input: NaN or out-of-range coordinates, wrong shapes, values outside the CDNA
    bounds, or a write the Guardian refused. The runtime is left exactly as it was."""


class NotFoundError(NeuroGraphError, KeyError):
    """An unknown token or connection id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SnapshotError(NeuroGraphError):
    """A snapshot file that is truncated, corrupted, foreign or of an unsupported version."""
