"""Space spellings in every entry point (M4): the views, the plots, bootstrap, the magics,
%%ng_explore and the explorers all parse spaces through the core's one parser, so
``"cognitive"``, ``"L5"`` and ``5`` mean the same space everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import neurograph_lab as ng
from neurograph_lab import plots
from neurograph_lab._explore_lang import run_explore
from neurograph_lab.datasets import planted_embeddings

SPELLINGS = ["cognitive", " Cognitive ", "COGNITIVE", "L5", "l5", "5", 5, np.int64(5)]
BAD = ["cognitve", "L9", 0, 9, True, 1.5]


@pytest.fixture(scope="module")
def world() -> tuple[ng.Runtime, np.ndarray]:
    rt = ng.Runtime()
    ids = rt.tokens.create_many(
        np.random.default_rng(3).uniform(-1, 1, (40, 8, 3)), labels=[f"t{i}" for i in range(40)], field_radius=1.0
    )
    rt.connections.create_many(ids[:-1], ids[1:], kind="cause")
    return rt, ids


#: entry point -> f(rt, ids, space) returning the canonical space name it used (or a value
#: to compare across spellings)
ENTRY_POINTS = {
    "grid.neighbors": lambda rt, ids, s: rt.grid.neighbors(int(ids[0]), k=3, space=s).space,
    "grid.range": lambda rt, ids, s: rt.grid.range((0, 0, 0), 0.5, space=s).space,
    "grid.neighbors_many": lambda rt, ids, s: rt.grid.neighbors_many([[0, 0, 0]], k=3, space=s)[0].tolist(),
    "grid.range_many": lambda rt, ids, s: rt.grid.range_many([[0, 0, 0]], 0.5, space=s)[0][0].tolist(),
    "grid.field_influence": lambda rt, ids, s: rt.grid.field_influence((0, 0, 0), space=s),
    "grid.density": lambda rt, ids, s: rt.grid.density((0, 0, 0), 0.5, space=s),
    "graph.shortest_path": lambda rt, ids, s: (
        rt.graph.shortest_path(int(ids[0]), int(ids[3]), weight="distance", space=s).cost
    ),
    "tokens.coords": lambda rt, ids, s: rt.tokens.coords(s)[:3].tolist(),
    "plots.space_scatter": lambda rt, ids, s: plots.space_scatter(rt, s).layout.title.text,
    "explore": lambda rt, ids, s: run_explore(rt, "near t0 k=3", {}, space=s).ids.tolist(),
    "GridExplorer": lambda rt, ids, s: _grid_space(rt, s),
}


def _grid_space(rt: ng.Runtime, space: object) -> str:
    g = ng.GridExplorer(rt, space=space)
    try:
        g.space = space  # the trait takes every spelling too
        return g.space
    finally:
        g.close()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_spelling_means_the_same_space(world, entry):
    rt, ids = world
    want = ENTRY_POINTS[entry](rt, ids, "cognitive")
    for s in SPELLINGS:
        assert ENTRY_POINTS[entry](rt, ids, s) == want, (entry, s)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_refuses_unknown_spaces_alike(world, entry):
    rt, ids = world
    for bad in BAD:
        with pytest.raises(ng.ValidationError, match="cognitive"):
            ENTRY_POINTS[entry](rt, ids, bad)


def test_explore_steps_and_bootstrap_take_every_spelling(world):
    rt, ids = world
    want = run_explore(rt, "near t0 k=3 in cognitive", {}).ids.tolist()
    for s in ["L5", "l5", "5", "Cognitive"]:
        assert run_explore(rt, f"near t0 k=3 in {s}", {}).ids.tolist() == want
    words, vecs = planted_embeddings(words_per_cluster=4, pairs=2, dim=8)
    placed = []
    for s in ("social", "L6", 6, np.int64(6)):
        b = ng.Runtime()
        b.bootstrap(vecs, words, k=2, space=s, progress=False)
        placed.append(b.tokens.coords("social").tolist())
    assert all(p == placed[0] for p in placed)
    with pytest.raises(ng.ValidationError, match="once"):
        ng.Runtime().bootstrap(vecs, words, k=2, space=["L6", 6], progress=False)


def test_magics_take_every_spelling(world):
    rt, ids = world
    sh = InteractiveShell.instance()
    try:
        sh.user_ns["ng_rt"] = rt
        sh.run_line_magic("load_ext", "neurograph_lab")
        want = sh.run_line_magic("ng_neighbors", "t0 -k 3 --space cognitive").ids.tolist()
        for s in ["L5", "l5", "5", "Cognitive"]:
            assert sh.run_line_magic("ng_neighbors", f"t0 -k 3 --space {s}").ids.tolist() == want
            assert list(sh.run_line_magic("ng_tokens", f"--limit 2 --space {s}").columns)[-1] == "cognitive_z"
        got = sh.run_cell_magic("ng_explore", "--space L5", "near t0 k=3")
        assert got.ids.tolist() == want
        with pytest.raises(UsageError, match="unknown space 'L9'"):
            sh.run_line_magic("ng_neighbors", "t0 --space L9")
    finally:
        sh.run_line_magic("unload_ext", "neurograph_lab")
        InteractiveShell.clear_instance()
