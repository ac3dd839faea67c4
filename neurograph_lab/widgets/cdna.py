"""``CDNAPanel``: ipywidgets controls of the CDNA. Every change goes through the Guardian: a
refused change shows the reason in red and the control snaps back."""

from __future__ import annotations

import functools
import html
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable

import ipywidgets as w

from .._names import CDNA_PROFILES, SPACES
from ..errors import NeuroGraphError
from ..runtime import Runtime

if TYPE_CHECKING:  # pragma: no cover
    from ._base import Explorer


class CDNAPanel(w.VBox):  # type: ignore[misc]
    """Profile, the 8 per-space scales, flags, degree limits and weight/strength bounds of
    ``rt.cdna``. Accepted changes apply at once and refresh the ``explorers`` linked to the
    panel; refused ones show the Guardian's reason and the control returns to the value the
    runtime holds."""

    def __init__(self, rt: Runtime, explorers: Iterable[Explorer] = ()) -> None:
        if not isinstance(rt, Runtime):
            raise TypeError(f"CDNAPanel needs a neurograph_lab Runtime, got {type(rt).__name__}")
        self._rt = rt
        self.explorers: list[Explorer] = list(explorers)
        self._syncing = False
        cfg = rt.cdna.config()
        style = {"description_width": "90px"}
        self.profile = w.Dropdown(
            options=list(CDNA_PROFILES), value=rt.cdna.profile, description="profile", style=style
        )
        self.scales = {
            s: w.FloatSlider(value=v, min=0.0, max=10.0, step=0.05, description=s, continuous_update=False, style=style)
            for s, v in rt.cdna.scales.items()
        }
        self.flags = {f: w.Checkbox(value=v, description=f, indent=False) for f, v in rt.cdna.flags.items()}
        topo = cfg["graph_topology"]
        self.degrees = {
            f: w.BoundedIntText(value=topo[f], min=0, max=1 << 20, description=f.replace("_", " "), style=style)
            for f in ("max_out_degree", "max_in_degree", "max_total_degree")
        }
        tp, cc = cfg["token_properties"], cfg["connection_constraints"]
        self.weight = w.FloatRangeSlider(
            value=(tp["token_weight_min"], tp["token_weight_max"]), min=0.0, max=1.0, step=0.01,
            description="token weight", continuous_update=False, style=style,
        )  # fmt: skip
        self.strength = w.FloatRangeSlider(
            value=(cc["strength_min"], cc["strength_max"]), min=0.0, max=1.0, step=0.01,
            description="strength", continuous_update=False, style=style,
        )  # fmt: skip
        self.message = w.HTML("")
        self.profile.observe(self._on(lambda v: setattr(rt.cdna, "profile", v)), "value")
        for s in SPACES:
            self.scales[s].observe(self._on(functools.partial(_set_scale, rt, s)), "value")
        for f, box in self.flags.items():
            box.observe(self._on(functools.partial(_set_flag, rt, f)), "value")
        for f, box in self.degrees.items():
            box.observe(self._on(functools.partial(_set_field, rt, f)), "value")
        self.weight.observe(self._on(lambda v: rt.cdna.update(token_weight_min=v[0], token_weight_max=v[1])), "value")
        self.strength.observe(self._on(lambda v: rt.cdna.update(strength_min=v[0], strength_max=v[1])), "value")
        super().__init__(
            [
                w.HTML("<b>CDNA</b>"),
                self.profile,
                w.HTML("scales"),
                *self.scales.values(),
                w.HTML("flags"),
                w.HBox(list(self.flags.values()), layout=w.Layout(flex_flow="row wrap")),
                w.HTML("limits"),
                *self.degrees.values(),
                self.weight,
                self.strength,
                self.message,
            ],
            layout=w.Layout(min_width="320px"),
        )
        self.add_class("ng-cdna-panel")

    def _on(self, apply: Callable[[Any], None]) -> Callable[[dict[str, Any]], None]:
        # the controls hold their handlers: a handler holding the panel would make a reference
        # cycle through the runtime, so it holds the panel weakly
        ref = weakref.ref(self)

        def handler(change: dict[str, Any]) -> None:
            panel = ref()
            if panel is None or panel._syncing:
                return
            try:
                apply(change["new"])
            except (NeuroGraphError, ValueError) as e:
                panel.message.value = (
                    f"<span class='ng-refused' style='color:var(--jp-error-color1,#d32f2f)'>"
                    f"refused: {html.escape(str(e))}</span>"
                )
                panel.sync()
                return
            panel.message.value = (
                f"<span class='ng-accepted' style='color:var(--jp-success-color1,#388e3c)'>"
                f"applied (revision {panel._rt.cdna.revision})</span>"
            )
            panel.sync()
            for explorer in panel.explorers:
                explorer.refresh()

        return handler

    def sync(self) -> None:
        """Set every control to the value the runtime holds."""
        rt = self._rt
        self._syncing = True
        try:
            cfg = rt.cdna.config()
            self.profile.value = rt.cdna.profile
            for s, v in rt.cdna.scales.items():
                self.scales[s].value = v
            for f, v in rt.cdna.flags.items():
                self.flags[f].value = v
            for f, box in self.degrees.items():
                box.value = cfg["graph_topology"][f]
            tp, cc = cfg["token_properties"], cfg["connection_constraints"]
            self.weight.value = (tp["token_weight_min"], tp["token_weight_max"])
            self.strength.value = (cc["strength_min"], cc["strength_max"])
        finally:
            self._syncing = False

    def close(self) -> None:
        """Close the panel and every control in it (with their layout and style widgets):
        their handlers, which hold the runtime, go with them."""
        stack = list(self.children)
        while stack:
            child = stack.pop()
            stack.extend(getattr(child, "children", ()))
            for part in (getattr(child, "layout", None), getattr(child, "style", None), child):
                if part is not None and getattr(part, "comm", None) is not None:
                    part.close()
        layout = getattr(self, "layout", None)
        super().close()
        if layout is not None:
            layout.close()

    def __repr__(self) -> str:
        return f"CDNAPanel: profile {self._rt.cdna.profile}, revision {self._rt.cdna.revision}"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = repr(self)
            data["text/html"] = f"<pre class='ng-summary'>{html.escape(repr(self))}</pre>"
        return bundle


def _set_scale(rt: Runtime, space: str, value: float) -> None:
    rt.cdna.update_scales({space: value})


def _set_flag(rt: Runtime, flag: str, value: bool) -> None:
    rt.cdna.set_flags({flag: value})


def _set_field(rt: Runtime, field: str, value: float) -> None:
    rt.cdna.update({field: value})
