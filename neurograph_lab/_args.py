"""Argument checks shared by the Python layer: a bad argument is a ``ValidationError`` naming
it and the value given, never a ``TypeError`` / ``OverflowError`` from deeper down, nor a
silent conversion (``bool("no")`` is True, ``int(1.5)`` is 1, ``True`` is 1).

A leaf module: it imports nothing from the package but the errors.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .errors import ValidationError

__all__ = ["int_arg", "bool_arg"]


def int_arg(value: Any, name: str, *, lo: Optional[int] = None, hi: Optional[int] = None) -> int:
    """``value`` as a Python int: an int or numpy integer (not a bool, not a float, not a
    string) within ``lo..hi`` (inclusive; None: no bound)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        if hi is None:
            want = f">= {lo}"
        elif lo is None:
            want = f"<= {hi}"
        else:
            want = f"in {lo}..{hi}"
        raise ValidationError(f"{name} must be an integer {want}, got {v}")
    return v


def bool_arg(value: Any, name: str) -> bool:
    """``value`` as a bool: True or False (also numpy's bool), never a truthy value such as
    ``"no"`` or ``1``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValidationError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
