"""``rt.cdna``: the CDNA V2.1 configuration, changed through the Guardian (``CDNAView``)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import pandas as pd

from . import _core
from ._html import kv_table
from ._names import CONNECTION_KINDS
from .errors import ValidationError

__all__ = ["CDNAView"]


_POLICY_DOC = """
        policy : {"refuse", "clamp", "force"}
            What to do when tokens or connections the runtime already holds break the new
            rules: ``"refuse"`` (the default) refuses the change, naming how many records
            break it and one of them; ``"clamp"`` clamps weights, fields, strengths and
            rigidities into the new bounds (forbidden kinds and degrees cannot be clamped and
            still refuse); ``"force"`` accepts the change and keeps the data as it is
            (``validate()`` then lists the conflict)."""


class CDNAView:
    """``rt.cdna``: the CDNA V2.1 configuration. Every change goes through the Guardian; a
    refused change raises ``ValidationError`` and leaves the CDNA as it was. A change that
    the data already held breaks is refused unless a ``policy`` says otherwise.

    Examples
    --------
    >>> import neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> rt.cdna.profile = "explorer"
    >>> rt.cdna.update_scales(cognitive=2.0)
    >>> rt.cdna.scales["cognitive"]
    2.0
    """

    __slots__ = ("_rt",)

    def __init__(self, rt: _core.Runtime) -> None:
        self._rt = rt

    @property
    def profile(self) -> str:
        """The active profile, one of default, explorer, analyst or creative (settable)."""
        return self._rt.get_cdna_profile()

    @profile.setter
    def profile(self, name: str) -> None:
        self._rt.set_cdna_profile(name)

    def set_profile(self, name: str, policy: str = "refuse") -> None:
        """Switch to a profile (default, explorer, analyst or creative).

        Parameters
        ----------
        name : str
            The profile."""
        self._rt.set_cdna_profile(name, policy)

    set_profile.__doc__ = (set_profile.__doc__ or "") + _POLICY_DOC

    @property
    def scales(self) -> dict[str, float]:
        """Per-space distance scales ``{space: scale}``."""
        return dict(self._rt.get_cdna_scales())

    def update_scales(self, scales: Union[Mapping[Any, float], Sequence[float], None] = None, **by_name: float) -> None:
        """Change scales, e.g. ``update_scales(cognitive=2.0)`` or ``update_scales({"L5": 2.0})``."""
        merged: dict[Any, float] = {}
        if isinstance(scales, Mapping):
            merged.update(scales)
        elif scales is not None:
            self._rt.update_cdna_scales(list(scales))
        merged.update(by_name)
        if merged:
            self._rt.update_cdna_scales(merged)

    @property
    def flags(self) -> dict[str, bool]:
        """Header flags ``{ENABLE_VALIDATION, ENABLE_EVENTS, ENABLE_MUTATION, STRICT_MODE}``."""
        return dict(self._rt.get_cdna_flags())

    def set_flags(
        self, flags: Optional[Mapping[str, bool]] = None, /, *, policy: str = "refuse", **by_name: bool
    ) -> None:
        """Turn flags on or off, e.g. ``set_flags(STRICT_MODE=True)`` or
        ``set_flags({"STRICT_MODE": True})``.

        Parameters
        ----------
        flags, **by_name : bool
            Flag names and their new state."""
        self._rt.set_cdna_flags({**(flags or {}), **by_name}, policy)

    set_flags.__doc__ = (set_flags.__doc__ or "") + _POLICY_DOC

    def update(
        self, fields: Optional[Mapping[str, float]] = None, /, *, policy: str = "refuse", **by_name: float
    ) -> None:
        """Change numeric fields (one validated change), e.g. ``update(token_weight_max=2.0,
        max_out_degree=50)`` or ``update({"max_out_degree": 50})``.

        Parameters
        ----------
        fields, **by_name : float
            Names from ``ng.CDNA_FIELDS`` and their new values."""
        self._rt.update_cdna({**(fields or {}), **by_name}, policy)

    update.__doc__ = (update.__doc__ or "") + _POLICY_DOC

    def __getitem__(self, field: str) -> Union[int, float]:
        """One field by name, e.g. ``rt.cdna["max_out_degree"]`` (see ``ng.CDNA_FIELDS``)."""
        return self._rt.cdna_field(field)

    def allow_kinds(self, *kinds: Union[str, int]) -> None:
        """Allow connection kinds the CDNA forbids."""
        self._rt.set_cdna_kinds(list(kinds), True)

    def forbid_kinds(self, *kinds: Union[str, int], policy: str = "refuse") -> None:
        """Forbid connection kinds: the Guardian then refuses new connections of them.
        Connections of these kinds that exist already make it refuse, unless
        ``policy="force"`` (they are kept)."""
        self._rt.set_cdna_kinds(list(kinds), False, policy)

    def validate(self) -> list[str]:
        """Rules the current CDNA breaks, and the tokens and connections that break it
        (empty when all is well)."""
        return list(self._rt.validate_cdna()["problems"])

    def config(self) -> dict[str, dict[str, Any]]:
        """The whole configuration as nested dicts, one per block."""
        return self._rt.get_cdna_config()

    def to_bytes(self) -> bytes:
        """The 384-byte CDNA V2.1 record (with its FNV-1a checksum)."""
        return self._rt.cdna_bytes()

    @property
    def revision(self) -> int:
        """Raised by one on every accepted change."""
        return self._rt.cdna_revision()

    def history(self) -> pd.DataFrame:
        """Earlier versions, oldest first: revision, profile, changed_at, change."""
        rows = self._rt.cdna_history()
        df = pd.DataFrame(rows, columns=["revision", "profile", "changed_at", "change"])
        df["changed_at"] = pd.to_datetime(df["changed_at"], unit="s")
        return df

    def rollback(self, steps: int = 1, policy: str = "refuse") -> None:
        """Restore the configuration as it was ``steps`` changes ago.

        The restore is itself a change (a new revision in ``history()``), like ``git revert``:
        calling ``rollback()`` twice returns to where you started; ``rollback(2)`` after two
        changes undoes both. Like any change, it is refused when the data held breaks the
        restored rules, unless ``policy`` is ``"clamp"`` or ``"force"`` (see ``update``).
        """
        if steps < 1:
            raise ValidationError(f"steps must be >= 1, got {steps}")
        self._rt.cdna_rollback(steps, policy)

    def _rows(self) -> list[tuple[str, Any]]:
        cfg = self.config()
        tp, cc, gt = cfg["token_properties"], cfg["connection_constraints"], cfg["graph_topology"]
        scales = ", ".join(f"{k} {v:g}" for k, v in cfg["grid_physics"]["scales"].items())
        flags = ", ".join(cfg["header"]["flags"]) or "-"
        return [
            (
                "profile",
                f"{cfg['header']['profile']} ({cfg['header']['profile_state']}), revision {cfg['header']['revision']}",
            ),
            ("flags", flags),
            ("scales", scales),
            ("token weight", f"[{tp['token_weight_min']:g}, {tp['token_weight_max']:g}]"),
            ("field radius", f"[{tp['field_radius_min']:g}, {tp['field_radius_max']:g}]"),
            ("field strength", f"[{tp['field_strength_min']:g}, {tp['field_strength_max']:g}]"),
            (
                "connection strength",
                f"[{cc['strength_min']:g}, {cc['strength_max']:g}], default {cc['default_pull_strength']:g}",
            ),
            ("rigidity", f"[{cc['rigidity_min']:g}, {cc['rigidity_max']:g}]"),
            ("degree out / in / total", f"{gt['max_out_degree']} / {gt['max_in_degree']} / {gt['max_total_degree']}"),
            ("allowed kinds", f"{gt['allowed_kinds']} of {len(CONNECTION_KINDS)}"),
            ("evolution", ", ".join(f"{k} {v:g}" for k, v in cfg["evolution"].items())),
        ]

    def __repr__(self) -> str:
        rows = self._rows()
        width = max(len(k) for k, _ in rows)
        return "CDNA V2.1\n" + "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)

    def _repr_html_(self) -> str:
        return kv_table("CDNA V2.1", self._rows())
