"""Plotly figures of a runtime: one space as a scatter (WebGL for large N, sampled above
200,000 points with a note), the 8 spaces as parallel coordinates, a degree histogram, a
timeline of Guardian events, and a subgraph drawn with the Rust layout.

Figures are plain ``plotly.graph_objects.Figure`` values: they render in JupyterLab and in
exported HTML without a CDN when ``plotly.io.renderers.default`` is an offline renderer
(the default in JupyterLab).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd

from ._args import space_name
from ._names import SPACES
from .errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from .runtime import Runtime

__all__ = ["space_scatter", "parallel_spaces", "degree_histogram", "events_timeline", "graph_figure"]

MAX_POINTS = 200_000
#: communities drawn in their own colour; smaller ones share the "other" trace
TOP_COMMUNITIES = 12


def _go() -> Any:
    try:
        import plotly.graph_objects as go  # lazy: plotly loads on the first figure
    except ImportError as e:  # pragma: no cover - plotly is a dependency
        raise ImportError("plots need plotly: pip install plotly") from e
    return go


def _ensure_communities(rt: Runtime) -> None:
    """Run ``rt.graph.communities()`` with its defaults if no communities were computed."""
    if rt.graph.last_communities is None:
        rt.graph.communities()


def _community_groups(community: pd.Series, top: int = TOP_COMMUNITIES) -> pd.Series:
    """Community numbers as ordered category names: the ``top`` largest communities of
    the whole runtime (0 = largest) each by name, the others as ``other``, -1 as ``none``."""
    c = community.to_numpy()
    names = np.where(c < 0, "none", np.where(c < top, np.char.add("community ", c.astype(str)), "other"))
    cats = [f"community {i}" for i in range(top)] + ["other", "none"]
    return pd.Series(pd.Categorical(names, categories=cats), index=community.index)


def _frame(rt: Runtime, ids: Any) -> pd.DataFrame:
    df = rt.tokens.to_pandas()
    if ids is not None:
        wanted = [int(i) for i in np.asarray(ids).ravel()]
        missing = [i for i in wanted if i not in df.index]
        if missing:
            raise ValidationError(f"no token with id {missing[0]}")
        df = df.loc[wanted]
    return df


def space_scatter(
    rt: Runtime,
    space: str = "cognitive",
    ids: Any = None,
    color: str = "entity",
    dims: int = 2,
    max_points: int = MAX_POINTS,
    seed: int = 0,
) -> go.Figure:
    """Tokens of one space as a scatter: 2-D (x, y; WebGL) or 3-D.

    Parameters
    ----------
    rt : Runtime
    space : str
        The space to draw.
    ids : array-like of int, optional
        The tokens to draw (all if None).
    color : str
        A column of ``rt.tokens.to_pandas()`` (entity, weight, label ...) or ``"community"``:
        the last ``rt.graph.communities()`` (computed with its defaults if none yet), the
        12 largest communities in their own colour, the others as ``other``.
    dims : {2, 3}
        A 2-D (x, y; WebGL) or 3-D scatter.
    max_points : int
        Above this many tokens a random sample is drawn and the title says so.
    seed : int
        Seed of that sample.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    go = _go()
    name = space_name(space)
    if name == "all":
        raise ValidationError("a scatter shows one space")
    if dims not in (2, 3):
        raise ValidationError(f"dims must be 2 or 3, got {dims}")
    if color == "community":
        _ensure_communities(rt)
    df = _frame(rt, ids)
    cols = [f"{name}_{a}" for a in "xyz"]
    df = df.dropna(subset=cols)
    if color == "community":
        df = df.assign(community=_community_groups(df["community"]))
    if color not in df.columns:
        raise ValidationError(f"no column {color!r} to colour by; columns: {', '.join(df.columns[:8])} ...")
    total = len(df)
    title = f"{name}: {total:,} tokens"
    if total > max_points:
        df = df.sample(max_points, random_state=seed)
        title = f"{name}: {max_points:,} of {total:,} tokens (random sample)"
    text = df["label"].fillna("").astype(str) + " (" + df.index.astype(str) + ")"
    traces = []
    groups = df.groupby(color, observed=True) if not pd.api.types.is_float_dtype(df[color]) else [(None, df)]
    for key, part in groups:
        t = text.loc[part.index]
        marker: dict[str, Any] = {"size": 3 if dims == 3 else 5}
        if key is None:
            marker.update(color=part[color], colorscale="Viridis", showscale=True, colorbar={"title": color})
        if dims == 2:
            traces.append(
                go.Scattergl(
                    x=part[cols[0]], y=part[cols[1]], mode="markers", name=str(key or color), text=t, marker=marker
                )
            )
        else:
            traces.append(
                go.Scatter3d(
                    x=part[cols[0]],
                    y=part[cols[1]],
                    z=part[cols[2]],
                    mode="markers",
                    name=str(key or color),
                    text=t,
                    marker=marker,
                )
            )
    fig = go.Figure(traces)
    fig.update_layout(
        title=title, template="plotly_white", legend_title_text=color, margin={"l": 40, "r": 10, "t": 40, "b": 40}
    )
    if dims == 2:
        fig.update_xaxes(title=cols[0])
        fig.update_yaxes(title=cols[1], scaleanchor="x")
    return fig


def parallel_spaces(rt: Runtime, ids: Any = None, axis: str = "x", color: str = "weight") -> go.Figure:
    """The 8 spaces of a selection as parallel coordinates: one vertical axis per space
    (its ``x``, ``y``, ``z`` coordinate, or ``norm`` for the distance from the origin)."""
    go = _go()
    if axis not in ("x", "y", "z", "norm"):
        raise ValidationError(f"axis must be x, y, z or norm, got {axis!r}")
    df = _frame(rt, ids)
    dims = []
    for s in SPACES:
        if axis == "norm":
            values = df[[f"{s}_{a}" for a in "xyz"]].pow(2).sum(axis=1, min_count=3).pow(0.5)
        else:
            values = df[f"{s}_{axis}"]
        dims.append({"label": s, "values": values.fillna(0.0)})
    line: dict[str, Any] = {}
    if color in df.columns and pd.api.types.is_numeric_dtype(df[color]):
        line = {"color": df[color], "colorscale": "Viridis", "showscale": True}
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line))
    fig.update_layout(title=f"{len(df):,} tokens across the 8 spaces ({axis})", template="plotly_white")
    return fig


def degree_histogram(rt: Runtime, bins: int = 50) -> go.Figure:
    """Histogram of total degree (graph edges) over all tokens."""
    go = _go()
    deg = rt.graph.degrees()
    fig = go.Figure(go.Histogram(x=deg["total"], nbinsx=bins, name="degree"))
    fig.update_layout(
        title=f"degree of {len(deg):,} tokens", xaxis_title="degree", yaxis_title="tokens", template="plotly_white"
    )
    return fig


def events_timeline(rt: Runtime) -> go.Figure:
    """Guardian events over time, accepted and refused, one row per kind of event."""
    go = _go()
    ev = rt.events()
    fig = go.Figure()
    for accepted, name, symbol in ((True, "accepted", "circle"), (False, "refused", "x")):
        part = ev[ev["accepted"] == accepted]
        fig.add_trace(
            go.Scatter(
                x=part["time"],
                y=part["kind"],
                mode="markers",
                name=name,
                marker={"symbol": symbol},
                text=part["reason"],
            )
        )
    fig.update_layout(title=f"{len(ev):,} Guardian events", template="plotly_white")
    return fig


def graph_figure(
    rt: Runtime,
    ids: Any = None,
    iterations: int = 100,
    seed: int = 0,
    max_nodes: Optional[int] = 50_000,
    color: Optional[str] = None,
) -> go.Figure:
    """A subgraph drawn with the Rust force-directed layout, connections as lines.

    Parameters
    ----------
    rt : Runtime
    ids : array-like of int, optional
        The tokens to draw (all if None).
    iterations, seed : int
        Of the layout (``rt.graph.layout``).
    max_nodes : int, optional
        Refuse larger selections (None: no limit).
    color : {None, "community"}
        None: one colour; ``"community"``: by the last ``rt.graph.communities()``
        (computed with its defaults if none yet), the 12 largest in their own colour.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    go = _go()
    if color not in (None, "community"):
        raise ValidationError(f"color must be None or 'community', got {color!r}")
    sel = rt.tokens.ids() if ids is None else np.asarray(ids, dtype=np.uint32)
    if max_nodes is not None and len(sel) > max_nodes:
        raise ValidationError(f"{len(sel):,} nodes is more than max_nodes={max_nodes:,}; pass a selection")
    pos = rt.graph.layout(sel, iterations=iterations, seed=seed)
    index = {int(t): i for i, t in enumerate(sel)}
    edges = rt.graph.subgraph(sel)
    xs: list[Optional[float]] = []
    ys: list[Optional[float]] = []
    for a, b in zip(edges["token_a"], edges["token_b"]):
        i, j = index[int(a)], index[int(b)]
        xs += [float(pos[i, 0]), float(pos[j, 0]), None]
        ys += [float(pos[i, 1]), float(pos[j, 1]), None]
    labels = rt._core.labels_of(np.ascontiguousarray(sel, dtype=np.uint32))
    text = np.asarray([f"{lab} ({int(t)})" if lab else str(int(t)) for t, lab in zip(sel, labels)], dtype=object)
    lines = go.Scattergl(
        x=xs, y=ys, mode="lines", line={"width": 0.5, "color": "#888"}, hoverinfo="skip", name="connections"
    )
    nodes = []
    if color == "community":
        _ensure_communities(rt)
        sel32 = np.ascontiguousarray(sel, dtype=np.uint32)
        groups = _community_groups(pd.Series(rt._core.community_of(sel32)))
        for key in groups.cat.categories:
            m = (groups == key).to_numpy()
            if m.any():
                nodes.append(
                    go.Scattergl(x=pos[m, 0], y=pos[m, 1], mode="markers", text=text[m], marker={"size": 7}, name=key)
                )
    else:
        nodes.append(
            go.Scattergl(x=pos[:, 0], y=pos[:, 1], mode="markers", text=text, marker={"size": 7}, name="tokens")
        )
    fig = go.Figure([lines, *nodes])
    fig.update_layout(
        title=f"{len(sel):,} tokens, {len(edges):,} connections",
        template="plotly_white",
        showlegend=color is not None,
        legend_title_text=color or "",
    )
    fig.update_yaxes(scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    return fig
