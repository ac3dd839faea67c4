"""``Communities``: the result of ``rt.graph.communities()`` (Leiden or Louvain on the
connections, computed in the compiled core)."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ._html import kv_table
from .errors import ValidationError

__all__ = ["Communities", "METHODS", "check_method", "check_resolution"]

#: the community detection methods
METHODS = ("leiden", "louvain")


def check_method(method: Any) -> str:
    """``method`` lower-cased if it names a method, else ``ValidationError``."""
    if not isinstance(method, str) or method.strip().lower() not in METHODS:
        raise ValidationError(f"method must be 'leiden' or 'louvain', got {method!r}")
    return method.strip().lower()


def check_resolution(resolution: Any) -> float:
    """``resolution`` as a float if it is a finite number > 0, else ``ValidationError``."""
    if isinstance(resolution, bool) or not isinstance(resolution, (int, float, np.integer, np.floating)):
        raise ValidationError(f"resolution must be a number > 0, got {resolution!r}")
    r = float(resolution)
    if not math.isfinite(r) or r <= 0:
        raise ValidationError(f"resolution must be a finite number > 0, got {resolution!r}")
    return r


def check_seed(seed: Any) -> int:
    """``seed`` as an int in 0..2**63-1, else ``ValidationError``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise ValidationError(f"seed must be an integer in 0..2**63-1, got {seed!r}")
    return int(seed)


class Communities:
    """Communities of the tokens over their connections (``rt.graph.communities()``).

    Attributes
    ----------
    membership : pandas.Series
        Community (int32, ``0..count-1``, 0 = the largest, ties by smallest token id) of every
        token, indexed by token id (uint32, ascending). A token without connections is a
        community of its own.
    count : int
        Number of communities.
    modularity : float
        Modularity of the partition at ``resolution`` (0.0 when there are no connections).
    method : str
        ``"leiden"`` or ``"louvain"``.
    resolution : float
        The resolution gamma: larger values give more, smaller communities.
    seed : int
        The seed; the same seed on the same graph gives the same communities.
    weighted : bool
        Connections weighed their strength (else 1 each).

    Examples
    --------
    >>> import numpy as np
    >>> import neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> ids = rt.tokens.create_many(np.zeros((6, 8, 3)))
    >>> _ = rt.connections.create_many(ids[[0, 1, 2, 3, 4, 5, 2]], ids[[1, 2, 0, 4, 5, 3, 3]])
    >>> c = rt.graph.communities(seed=1)
    >>> c.count, c.sizes().tolist()
    (2, [3, 3])
    """

    __slots__ = ("membership", "count", "modularity", "method", "resolution", "seed", "weighted")

    def __init__(self, info: Mapping[str, Any]) -> None:
        self.membership = pd.Series(
            np.asarray(info["community"], dtype=np.int32),
            index=pd.Index(np.asarray(info["ids"], dtype=np.uint32), name="id"),
            name="community",
        )
        self.count = int(info["count"])
        self.modularity = float(info["modularity"])
        self.method = str(info["method"])
        self.resolution = float(info["resolution"])
        self.seed = int(info["seed"])
        self.weighted = bool(info["weighted"])

    def sizes(self) -> pd.Series:
        """Tokens per community (index: community 0..count-1, largest first)."""
        counts = np.bincount(self.membership.to_numpy(), minlength=self.count)
        return pd.Series(counts, index=pd.RangeIndex(self.count, name="community"), name="size")

    def members(self, community: int) -> np.ndarray:
        """Token ids (ascending) of one community."""
        if not 0 <= int(community) < self.count:
            raise ValidationError(f"community must be in 0..{self.count - 1}, got {community!r}")
        m = self.membership
        ids: np.ndarray = m.index.to_numpy()[m.to_numpy() == int(community)]
        return ids

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return (
            f"<Communities: {self.count:,} over {len(self.membership):,} tokens, {self.method}, "
            f"resolution {self.resolution:g}, modularity {self.modularity:.4f}>"
        )

    def _repr_html_(self) -> str:
        sizes = self.sizes()
        top = ", ".join(f"{s:,}" for s in sizes.head(8).tolist())
        more = " ..." if self.count > 8 else ""
        rows = [
            ("method", self.method),
            ("resolution", f"{self.resolution:g}"),
            ("seed", self.seed),
            ("weighted", "strength" if self.weighted else "1 per connection"),
            ("modularity", f"{self.modularity:.4f}"),
            ("tokens", f"{len(self.membership):,}"),
            ("largest sizes", top + more),
        ]
        return kv_table(f"{self.count:,} communities", rows)
