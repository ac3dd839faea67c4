"""DataFrames and Arrow tables from the core's numpy columns: tokens, connections, events.

A leaf module: it imports only the name tables. pyarrow is optional (the ``arrow`` extra);
with it, labels travel as Arrow string buffers (no Python str per token).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ._names import CONNECTION_GROUPS, CONNECTION_KINDS, ENTITY_TYPES, MUTABILITY_NAMES, SPACES

try:  # labels travel as Arrow string buffers when pyarrow is there (no Python str per token)
    import pyarrow as _pa

    HAVE_ARROW = True
except ImportError:  # pragma: no cover - the arrow extra is optional
    HAVE_ARROW = False

__all__ = ["HAVE_ARROW", "label_arrow", "tokens_frame", "tokens_arrow", "connections_frame", "events_frame"]


def label_arrow(c: Mapping[str, Any]) -> Any:
    """The core's label buffers (``token_columns(..., label_buffers=True)``) as a pyarrow
    string array (no copy of the text)."""
    n = len(c["label_valid"])
    offsets, data = c["label_offsets"], c["label_data"]
    valid = _pa.py_buffer(np.packbits(c["label_valid"], bitorder="little"))
    if len(data) < 2**31:
        arr = _pa.StringArray.from_buffers(n, _pa.py_buffer(offsets.astype(np.int32)), _pa.py_buffer(data), valid)
    else:  # pragma: no cover - over 2 GiB of label text
        arr = _pa.LargeStringArray.from_buffers(n, _pa.py_buffer(offsets), _pa.py_buffer(data), valid)
    return arr


def _labels(c: Mapping[str, Any]) -> Any:
    """The label column of ``token_columns``: a pandas string array (pyarrow-backed, zero-copy
    from the core's buffers when those were asked for)."""
    if "label_data" not in c:
        return pd.array(c["label"], dtype="string")
    return pd.array(label_arrow(c), dtype=pd.StringDtype("pyarrow"))


def tokens_frame(c: Mapping[str, Any]) -> pd.DataFrame:
    """The DataFrame of ``token_columns`` arrays, indexed by id: label, entity, weight, field,
    timestamp and ``<space>_x/_y/_z`` columns."""
    n = len(c["id"])
    flat = c["coords"].reshape(n, 24)
    data: dict[str, Any] = {
        "label": _labels(c),
        "entity": pd.Categorical.from_codes(c["entity"].astype(np.int16), categories=pd.Index(ENTITY_TYPES)),
        "weight": c["weight"],
        "field_radius": c["field_radius"],
        "field_strength": c["field_strength"],
        "timestamp": pd.to_datetime(c["timestamp"].astype(np.int64), unit="s"),
    }
    for s, space in enumerate(SPACES):
        for a, axis in enumerate("xyz"):
            data[f"{space}_{axis}"] = flat[:, s * 3 + a]
    return pd.DataFrame(data, index=pd.Index(c["id"], name="id"), copy=False)


def tokens_arrow(c: Mapping[str, Any]) -> Any:
    """The pyarrow Table of ``token_columns`` arrays (with label buffers): the columns of
    ``tokens_frame`` plus ``id``."""
    pa = _pa
    n = len(c["id"])
    flat = c["coords"].reshape(n, 24)
    cols: dict[str, Any] = {
        "id": pa.array(c["id"]),
        "label": label_arrow(c),
        "entity": pa.DictionaryArray.from_arrays(pa.array(c["entity"].astype(np.int8)), pa.array(list(ENTITY_TYPES))),
        "weight": pa.array(c["weight"]),
        "field_radius": pa.array(c["field_radius"]),
        "field_strength": pa.array(c["field_strength"]),
        "timestamp": pa.array(c["timestamp"].astype(np.int64), type=pa.int64()).cast(pa.timestamp("s")),
    }
    for s, space in enumerate(SPACES):
        for a, axis in enumerate("xyz"):
            cols[f"{space}_{axis}"] = pa.array(np.ascontiguousarray(flat[:, s * 3 + a]))
    return pa.table(cols)


def connections_frame(c: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The DataFrame of ``connection_columns`` arrays, indexed by connection id."""
    kinds = np.asarray(CONNECTION_KINDS, dtype=object)
    groups = np.asarray(CONNECTION_GROUPS, dtype=object)
    k = c["kind"].astype(np.int64)
    mut = np.asarray(MUTABILITY_NAMES, dtype=object)
    return pd.DataFrame(
        {
            "token_a": c["token_a"],
            "token_b": c["token_b"],
            "kind": pd.Categorical(kinds[k], categories=list(CONNECTION_KINDS)),
            "group": pd.Categorical(groups[k >> 4], categories=list(CONNECTION_GROUPS)),
            "strength": c["strength"],
            "rigidity": c["rigidity"],
            "confidence": c["confidence"],
            "preferred_distance": c["preferred_distance"],
            "mutability": mut[np.minimum(c["mutability"], len(mut) - 1)],
            "evidence_count": c["evidence_count"],
            "bidirectional": c["bidirectional"],
            "created_at": pd.to_datetime(c["created_at"].astype(np.int64), unit="s"),
        },
        index=pd.Index(c["id"], name="id"),
    )


def events_frame(c: Mapping[str, Any]) -> pd.DataFrame:
    """The DataFrame of the core's ``events`` columns: time, kind, target, accepted, reason."""
    return pd.DataFrame(
        {
            "time": pd.to_datetime(c["time"], unit="s"),
            "kind": c["kind"],
            "target": c["target"],
            "accepted": c["accepted"],
            "reason": c["reason"],
        }
    )
