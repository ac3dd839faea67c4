"""Exceptions raised by neurograph_lab.

The compiled core raises these same classes, so ``except ng.ValidationError`` catches a bad
coordinate whether Python or Rust noticed it.
"""

from __future__ import annotations

__all__ = ["NeuroGraphError", "ValidationError", "NotFoundError", "SnapshotError", "DatasetError"]


class NeuroGraphError(Exception):
    """Base class of every neurograph_lab error."""


class ValidationError(NeuroGraphError, ValueError):
    """Bad input: NaN or out-of-range coordinates, wrong shapes, values outside the CDNA
    bounds, or a write the Guardian refused. The runtime is left exactly as it was.

    A refusal by the Guardian carries its data as attributes, so code can react to it
    without parsing the message; each is ``None`` where it does not apply.

    Attributes
    ----------
    action : str or None
        What the Guardian refused, e.g. ``"token.create"``, ``"connection.create"``,
        ``"token.update"`` or ``"cdna.change"``; None for input refused before any CDNA rule.
    row : int or None
        The row of a ``create_many`` batch that was refused (also for bad input that is not a
        Guardian refusal, e.g. a NaN coordinate); None for a single write.
    field : str or None
        What the rule checked: a field (``"weight"``, ``"strength"``, ``"rigidity"``,
        ``"field_radius"``, ``"field_strength"``, ``"kind"``), a degree (``"out_degree"``,
        ``"in_degree"``, ``"total_degree"``), or the CDNA flag whose rule refused the write
        (``"STRICT_MODE"``, ``"ENABLE_MUTATION"``).
    value : float or None
        The value the write would have given ``field`` (NaN for a non-finite number).
    limit : float or None
        The CDNA limit ``value`` crossed, e.g. ``token_weight_max`` or ``max_out_degree``.
    reason : str or None
        The rule's sentence, without the action and the row.

    Examples
    --------
    >>> import numpy as np
    >>> import neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> try:
    ...     rt.tokens.create_many(np.zeros((3, 8, 3)), weights=[0.5, 2.0, 0.5])
    ... except ng.ValidationError as e:
    ...     print(e.action, e.row, e.field, e.value, e.limit)
    token.create 1 weight 2.0 1.0
    """

    action: str | None = None
    row: int | None = None
    field: str | None = None
    value: float | None = None
    limit: float | None = None
    reason: str | None = None


class NotFoundError(NeuroGraphError, KeyError):
    """An unknown token or connection id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SnapshotError(NeuroGraphError):
    """A snapshot file that is truncated, corrupted, foreign or of an unsupported version."""


class DatasetError(NeuroGraphError):
    """A Parquet dataset (``rt.to_parquet`` / ``Runtime.from_parquet``) that cannot be written
    or read as one: a part file that is missing, truncated, corrupted or of the wrong schema, a
    missing or bad ``meta.json``, or a target directory that must not be replaced. The message
    names the file."""
