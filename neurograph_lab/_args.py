"""Argument checks shared by the Python layer: a bad argument is a ``ValidationError`` naming
it and the value given, never a ``TypeError`` / ``OverflowError`` from deeper down, nor a
silent conversion (``bool("no")`` is True, ``int(1.5)`` is 1, ``True`` is 1).

A leaf module: it imports only the errors, the compiled core and its name tables.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _core
from ._names import SPACES
from .errors import ValidationError

__all__ = [
    "int_arg",
    "bool_arg",
    "as_id_array",
    "one_id",
    "token_id",
    "float_column",
    "code_column",
    "label_list",
    "coords_f32",
    "check_k",
    "check_radius",
    "point3",
    "point_rows",
    "target",
    "space_name",
    "ID_MAX",
]

#: the largest token id (ids are 24-bit)
ID_MAX = (1 << 24) - 1
Space = Union[str, int]
Target = Union[int, Sequence[float], np.ndarray]


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


def as_id_array(ids: Any, name: str = "ids", *, upper: int = 0xFFFFFFFF) -> np.ndarray:
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


def float_column(values: Any, n: int, name: str) -> Optional[np.ndarray]:
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


def code_column(values: Any, n: int, name: str, names: Sequence[str]) -> Optional[np.ndarray]:
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


def label_list(labels: Any, n: int) -> Any:
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


def coords_f32(arr: np.ndarray, clamp: bool) -> np.ndarray:
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


def one_id(tid: Any, what: str = "token") -> int:
    """One id: an int or numpy integer, never a bool or a float."""
    if isinstance(tid, (bool, np.bool_)) or not isinstance(tid, (int, np.integer)):
        raise ValidationError(f"a {what} id must be an integer, got {type(tid).__name__} {tid!r}")
    return int(tid)


def token_id(x: Any) -> int:
    """One token id in 0..2**32-1: an int or numpy integer, never a bool or a float."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise ValidationError(f"a token id must be an integer, got {type(x).__name__} {x!r}")
    if int(x) < 0 or int(x) > 0xFFFFFFFF:
        raise ValidationError(f"a token id must be in 0..4294967295, got {x}")
    return int(x)


def check_k(k: Any) -> int:
    """``k`` as an int >= 0."""
    if type(k) is int and k >= 0:
        return k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 0:
        raise ValidationError(f"k must be an integer >= 0, got {k!r}")
    return int(k)


def check_radius(r: Any) -> float:
    """A radius: a finite number >= 0."""
    try:
        v = float(r)
    except (TypeError, ValueError):
        raise ValidationError(f"radius must be a number, got {r!r}") from None
    if not np.isfinite(v) or v < 0:
        raise ValidationError(f"radius must be a finite number >= 0, got {r!r}")
    return v


def point3(p: Any) -> list[float]:
    """One ``(x, y, z)`` point as 3 floats."""
    arr = np.asarray(p, dtype=np.float64).ravel()
    if arr.shape != (3,):
        raise ValidationError(f"a point needs 3 values (x, y, z), got {arr.shape[0]}")
    return arr.tolist()


def target(x: Target) -> Any:
    """A query target for the core: a token id (int) or a point (list of floats)."""
    if type(x) is int or type(x) is tuple:  # the common cases, passed straight to the core
        return x
    if isinstance(x, (bool, np.bool_)):
        raise ValidationError(f"query must be a token id or a point, got {x!r}")
    if isinstance(x, (int, np.integer)):
        return int(x)
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ValidationError(f"query point must be numeric, got {x!r}")
    return arr.astype(np.float64).ravel().tolist()


def point_rows(values: Any) -> np.ndarray:
    """Query points as a contiguous ``(Q, 3)`` float32 array (one ``(x, y, z)`` is one row)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiu":
        raise ValidationError(f"points must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 1 and arr.shape[0] == 0:  # [] is no points
        arr = arr.reshape(0, 3)
    if arr.ndim == 1 and arr.shape[0] == 3:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValidationError(f"points must have shape (Q, 3), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def space_name(space: Any, *, allow_all: bool = False) -> str:
    """The canonical name of a space given as ``"cognitive"`` (any case), ``"L5"``/``"l5"``,
    ``"5"`` or ``5`` (1-based); ``"all"`` too with ``allow_all`` (queries over the 24
    coordinates). Every entry point (the views, the magics, ``%%ng_explore``, the explorers,
    the plots) parses spaces here, and this asks the core's one parser."""
    if allow_all and isinstance(space, str) and space.strip().lower() == "all":
        return "all"
    return SPACES[_core.parse_space(space)]
