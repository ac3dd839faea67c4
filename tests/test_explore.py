"""The %%ng_explore language in a real InteractiveShell: every step, and errors with line,
column, caret and hint."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import neurograph_lab as ng
from neurograph_lab._explore_lang import ExploreError, ExploreResult, run_explore
from neurograph_lab.datasets import planted_embeddings


@pytest.fixture
def rt():
    words, vecs = planted_embeddings(words_per_cluster=12, pairs=3, dim=24, seed=1)
    r = ng.Runtime()
    r.bootstrap(vecs, words, k=3, space=["abstract", "cognitive"])
    a, b, c = (int(r.tokens.find(w)[0]) for w in ("fruit0", "tool0", "animal0"))
    r.connections.create(a, b, kind="cause", strength=0.9)
    r.connections.create(b, c, kind="before", strength=0.9)
    return r


def labels(rt, res):
    return [rt.tokens[int(i)].label for i in res.ids]


def test_steps(rt):
    ns: dict = {}
    res = run_explore(rt, 'query "fruit1" k=5  # planted cluster\nas fruits', ns)
    assert len(res) == 5 and all(w.startswith("fruit") for w in labels(rt, res))
    assert isinstance(ns["fruits"], ExploreResult)
    near = run_explore(rt, "near tool3 k=4 in abstract", ns)
    assert len(near) == 4 and all(w.startswith("tool") for w in labels(rt, near))
    within = run_explore(rt, "within 0,0,0 radius=10 in L8\nfilter label.str.startswith('animal')", ns)
    assert len(within) == 12
    path = run_explore(rt, "path fruit0 -> animal0", ns)
    assert labels(rt, path)[0] == "fruit0" and labels(rt, path)[-1] == "animal0"
    exp = run_explore(rt, "path fruit0 -> tool0\nexpand depth=1 kinds=temporal", ns)
    assert labels(rt, exp) == ["fruit0", "tool0", "animal0"]
    only_causal = run_explore(rt, "path fruit0 -> tool0\nexpand depth=3 kinds=causal", ns)
    assert "animal0" not in labels(rt, only_causal)
    comb = run_explore(rt, 'query "tool1" k=3\nunion fruits\nshow table', ns)
    assert len(comb) == 8
    inter = run_explore(rt, 'query "fruit2" k=8\nintersect fruits', ns)
    assert set(inter.ids) <= set(ns["fruits"].ids)
    assert "tokens after" in repr(comb) and "<table" in comb._repr_html_()
    assert len(comb.to_pandas()) == 8


@pytest.mark.parametrize(
    "script, line, col, hint",
    [
        ("qurey fruit1", 1, 1, "did you mean query"),
        ('query "fruit1"\nnear frut0 k=3', 2, 6, "did you mean fruit0"),
        ('query "fruit1" kk=3', 1, 16, "this step takes k"),
        ("near fruit0 in cognitve", 1, 16, "unknown space"),
        ("expand depth=2", 1, 1, "start with query"),
        ("within fruit0 in abstract", 1, 26, "radius="),
        ("near fruit0\nfilter wieght > 0.5", 2, 8, "columns"),
        ("path fruit0 fruit1", 1, 6, "path rain -> flood"),
        ("near fruit0\nunion nothing", 2, 7, "as <name>"),
        ("near fruit0\nshow chart", 2, 6, "show table"),
    ],
)
def test_errors_name_line_and_column(rt, script, line, col, hint):
    with pytest.raises(ExploreError) as e:
        run_explore(rt, script, {})
    assert e.value.line_no == line and e.value.col + 1 == col, str(e.value)
    text = str(e.value)
    assert f"line {line}, column {col}" in text and "^" in text and hint in text


def test_cell_magic(rt):
    sh = InteractiveShell.instance()
    try:
        sh.user_ns["ng_rt"] = rt
        sh.run_line_magic("load_ext", "neurograph_lab")
        res = sh.run_cell_magic("ng_explore", "--out picked --space abstract", "near fruit0 k=3\nas first")
        assert isinstance(res, ExploreResult) and len(res) == 3
        assert sh.user_ns["picked"] is res and isinstance(sh.user_ns["first"], ExploreResult)
        with pytest.raises(UsageError, match=r"line 1, column 1: unknown step"):
            sh.run_cell_magic("ng_explore", "", "nope")
        assert sh.run_cell_magic("ng_explore", "--help", "near fruit0") is None
    finally:
        sh.run_line_magic("unload_ext", "neurograph_lab")
        InteractiveShell.clear_instance()


def test_ng_explore_still_works_after_the_cell_magic(rt):
    # M1: the %%ng_explore language module used to be ``neurograph_lab.explore``; importing it
    # (on the first cell) bound the package attribute to the module, so ``ng.explore(rt)``
    # then raised "'module' object is not callable"
    sh = InteractiveShell.instance()
    try:
        sh.user_ns["ng_rt"] = rt
        sh.run_line_magic("load_ext", "neurograph_lab")
        assert len(sh.run_cell_magic("ng_explore", "", "near fruit0 k=3")) == 3
        sh.run_cell("import neurograph_lab as ng\nview = ng.explore(ng_rt)").raise_error()
        view = sh.user_ns["view"]
        assert view.grid.n == len(rt.tokens) and view.graph.n_nodes > 0
        for w in (view.grid, view.graph, view.panel, view):
            w.close()
    finally:
        sh.run_line_magic("unload_ext", "neurograph_lab")
        InteractiveShell.clear_instance()


def test_empty_script_selects_nothing(rt):
    assert len(run_explore(rt, "# only a comment\n\n", {})) == 0
    assert np.asarray(run_explore(rt, "", {}).ids).size == 0


def test_a_quoted_number_is_a_label_and_a_bare_number_an_id(rt):
    # S4 (as %ng_neighbors): a word made of digits must be reachable by its text
    word = rt.tokens.create(label="2024", abstract=(0.1, 0.1, 0.1))
    other = int(rt.tokens.ids()[0])
    assert word != 2024
    near = run_explore(rt, 'near "2024" k=3 in abstract', {})
    assert near.ids.tolist() == rt.grid.neighbors(word, k=3, space="abstract").ids.tolist()
    near = run_explore(rt, f"near {other} k=3 in abstract", {})
    assert near.ids.tolist() == rt.grid.neighbors(other, k=3, space="abstract").ids.tolist()
