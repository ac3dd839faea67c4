"""The %ng_* magics in a real IPython InteractiveShell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import neurograph_lab as ng
from neurograph_lab.datasets import planted_embeddings, write_vec


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    sh.user_ns.pop("ng_rt", None)
    sh.run_line_magic("load_ext", "neurograph_lab")
    rt = sh.user_ns["ng_rt"]
    ids = rt.tokens.create_many(
        np.random.default_rng(0).uniform(-1, 1, (30, 8, 3)), labels=[f"t{i}" for i in range(30)], entities="concept"
    )
    rt.tokens.update(int(ids[2]), entity="goal", weight=0.2)
    rt.connections.create_many(ids[:-1], ids[1:], kind="cause")
    yield sh
    sh.run_line_magic("unload_ext", "neurograph_lab")
    InteractiveShell.clear_instance()


def line(sh, magic, args=""):
    return sh.run_line_magic(magic, args)


def test_status_tokens_and_capture(shell):
    assert isinstance(line(shell, "ng_status"), ng.Status)
    df = line(shell, "ng_tokens", "--limit 5")
    assert isinstance(df, pd.DataFrame) and len(df) == 5
    shell.run_cell("df = %ng_tokens --limit 3")
    assert len(shell.user_ns["df"]) == 3
    goal = line(shell, "ng_tokens", "--entity goal")
    assert goal["label"].tolist() == ["t2"]
    light = line(shell, "ng_tokens", "--where 'weight < 0.5' --space L5")
    assert light["label"].tolist() == ["t2"] and list(light.columns)[-3:] == [
        "cognitive_x",
        "cognitive_y",
        "cognitive_z",
    ]
    top = line(shell, "ng_tokens", "--sort weight --limit 1 -o first")
    assert top["label"].tolist() == ["t2"] and shell.user_ns["first"] is top


def test_help_prints_usage(shell, capsys):
    for form in ("--help", "-h"):
        assert line(shell, "ng_tokens", form) is None
        out = capsys.readouterr().out
        assert "--limit" in out and "--where" in out


def test_usage_errors_are_one_line_with_suggestions(shell):
    with pytest.raises(UsageError, match="did you mean --limit"):
        line(shell, "ng_tokens", "--limt 3")
    with pytest.raises(UsageError, match="unknown space 'cognitve'.*did you mean cognitive"):
        line(shell, "ng_tokens", "--space cognitve")
    with pytest.raises(UsageError, match="no token labelled 't99'"):
        line(shell, "ng_neighbors", "t99")
    with pytest.raises(UsageError, match="no column 'wieght'.*did you mean weight"):
        line(shell, "ng_tokens", "--sort wieght")
    with pytest.raises(UsageError, match="unknown profile 'explorr'.*did you mean explorer"):
        line(shell, "ng_cdna", "--profile explorr")
    with pytest.raises(UsageError, match="not a neurograph_lab Runtime"):
        line(shell, "ng_use", "nothing_here")


def test_neighbors_path_cdna_events(shell):
    res = line(shell, "ng_neighbors", "t0 -k 4 --space social")
    assert isinstance(res, ng.QueryResult) and len(res) == 4 and res.space == "social"
    path = line(shell, "ng_path", "t0 t3 --weight hops")
    assert path.labels == ["t0", "t1", "t2", "t3"]
    cdna = line(shell, "ng_cdna", "--profile explorer --scale cognitive=2 L1=0.5")
    assert cdna.profile == "explorer" and cdna.scales["cognitive"] == 2.0 and cdna.scales["physical"] == 0.5
    with pytest.raises(UsageError, match="scale of cognitive = -1"):
        line(shell, "ng_cdna", "--scale cognitive=-1")
    ev = line(shell, "ng_events", "--last 2")
    assert len(ev) == 2 and not ev["accepted"].iloc[-1]


def test_bootstrap_query_save_load_use(shell, tmp_path, capsys):
    words, vecs = planted_embeddings(words_per_cluster=10, pairs=3, dim=20)
    write_vec(tmp_path / "e.vec", words, vecs)
    shell.user_ns["other"] = ng.Runtime()
    line(shell, "ng_use", "other")
    report = line(shell, "ng_bootstrap", f"{tmp_path / 'e.vec'} -k 3 --space abstract cognitive")
    assert report.words == len(words)
    res = line(shell, "ng_query", "fruit1 -k 3")
    assert all(w.startswith("fruit") for w in res.labels)
    with pytest.raises(UsageError, match="did you mean: fruit1"):
        line(shell, "ng_query", "frut1")
    line(shell, "ng_save", str(tmp_path / "s.ngs"))
    assert "saved" in capsys.readouterr().out
    line(shell, "ng_load", str(tmp_path / "s.ngs"))
    assert len(shell.user_ns["other"].tokens) == len(words)
    line(shell, "ng_metrics")
    assert "neurograph_tokens" in capsys.readouterr().out
    with pytest.raises(UsageError, match="too short to be a snapshot"):
        (tmp_path / "bad.ngs").write_text("nope")
        line(shell, "ng_load", str(tmp_path / "bad.ngs"))


def test_labels_are_escaped_in_displays(shell):
    rt = shell.user_ns["ng_rt"]
    rt.tokens.create(label="<script>alert(1)</script>", cognitive=(0, 0, 0))
    res = line(shell, "ng_neighbors", "0 -k 40".replace("0", str(int(rt.tokens.find("t0")[0]))))
    assert "<script>" not in res._repr_html_()


def test_completion_of_flags_spaces_and_labels(shell):
    from IPython.core.completer import provisionalcompleter

    def complete(line):
        # what JupyterLab asks for: the completions API of IPython >= 6
        with provisionalcompleter():
            return [c.text for c in shell.Completer.completions(line, len(line))]

    assert "--limit" in complete("%ng_tokens --li")
    assert "cognitive" in complete("%ng_tokens --space cog")
    assert "explorer" in complete("%ng_cdna --profile exp")
    assert {"t1", "t10", "t11"} <= set(complete("%ng_neighbors t1"))
    shell.run_line_magic("reload_ext", "neurograph_lab")
    ours = [m for m in shell.Completer.custom_matchers if getattr(m, "__qualname__", "") == "NeuroGraphMagics.complete"]
    assert len(ours) == 1


def test_reload_and_unload_leak_nothing(shell):
    import threading

    rt = shell.user_ns["ng_rt"]
    rt.grid.neighbors(int(rt.tokens.find("t0")[0]), k=3)  # warm the worker pool
    threads = threading.active_count()
    for _ in range(5):
        shell.run_line_magic("reload_ext", "neurograph_lab")
        shell.run_line_magic("unload_ext", "neurograph_lab")
        shell.run_line_magic("load_ext", "neurograph_lab")
    assert threading.active_count() == threads
    assert shell.user_ns["ng_rt"] is rt  # the user's runtime is adopted, not replaced
    ours = [m for m in shell.Completer.custom_matchers if getattr(m, "__qualname__", "") == "NeuroGraphMagics.complete"]
    assert len(ours) == 1
    assert shell.magics_manager.magics["line"]["ng_tokens"].__self__.__class__.__name__ == "NeuroGraphMagics"
    assert len(line(shell, "ng_tokens", "--limit 3")) == 3
    shell.run_line_magic("unload_ext", "neurograph_lab")
    assert "ng_tokens" not in shell.magics_manager.magics["line"]
    assert "ng_explore" not in shell.magics_manager.magics["cell"]
    shell.run_line_magic("load_ext", "neurograph_lab")


@pytest.fixture
def punctuated_shell(shell):
    words = ["king", "man", "woman", "-", "+", ",", "'s", "a-b"] + [f"w{i}" for i in range(12)]
    vecs = np.random.default_rng(5).normal(size=(len(words), 8)).astype(np.float32)
    shell.user_ns["ng_rt"] = rt = ng.Runtime()
    rt.bootstrap(vecs, words, k=2, progress=False)
    return shell


@pytest.mark.parametrize(
    "arg, word", [("-", "-"), ('"-"', "-"), ("+", "+"), (",", ","), ('"\'s"', "'s"), ("a-b", "a-b")]
)
def test_query_magic_finds_words_that_look_like_operators(punctuated_shell, arg, word):
    # issue 10: %ng_query "-" finds the word "-" when the vocabulary holds it
    res = line(punctuated_shell, "ng_query", f"{arg} -k 3")
    assert res.labels == punctuated_shell.user_ns["ng_rt"].query(word, k=3).labels
    assert len(res) == 3 and word not in res.labels


def test_query_magic_explains_how_to_quote(punctuated_shell):
    with pytest.raises(UsageError, match="""%ng_query "'s\""""):
        line(punctuated_shell, "ng_query", "'s")
    res = line(punctuated_shell, "ng_query", "king - man + woman -k 2")
    assert res.labels == punctuated_shell.user_ns["ng_rt"].query("king - man + woman", k=2).labels


def test_neighbors_magic_prefers_a_label_and_takes_hash_for_an_id(shell, capsys):
    # S4: %ng_neighbors 2024 took a word made of digits as a token id
    rt = shell.user_ns["ng_rt"]
    by_id = rt.tokens.create(id=2024, label="not the word", cognitive=(0.5, 0.5, 0.5))
    word = rt.tokens.create(label="2024", cognitive=(-0.5, -0.5, -0.5))
    assert word != 2024
    assert line(shell, "ng_neighbors", "2024 -k 2").query == f"2 nearest to token {word}"
    assert line(shell, "ng_neighbors", "#2024 -k 2").query == f"2 nearest to token {by_id}"
    assert line(shell, "ng_neighbors", "7 -k 2").query == "2 nearest to token 7"  # no token labelled "7"
    assert line(shell, "ng_path", "#2024 2024 --weight hops").source == by_id
    with pytest.raises(UsageError, match="no token labelled 'nope'"):
        line(shell, "ng_neighbors", "nope")
    line(shell, "ng_neighbors", "--help")
    assert "#ID always means a token id" in capsys.readouterr().out


def test_bootstrap_magic_names_a_bad_line_and_skips_with_errors_skip(shell, tmp_path):
    # issue 10: the message says how to skip bad lines, and --errors skip does it
    words, vecs = planted_embeddings(words_per_cluster=5, pairs=2, dim=6)
    write_vec(tmp_path / "e.vec", words, vecs, header=False)
    lines = (tmp_path / "e.vec").read_bytes().splitlines()
    lines[4] = b"bad\xff " + lines[4].split(b" ", 1)[1]
    (tmp_path / "bad.vec").write_bytes(b"\n".join(lines) + b"\n")
    shell.user_ns["ng_rt"] = rt = ng.Runtime()
    with pytest.raises(UsageError, match=r"bad\.vec: line 5: .*not valid UTF-8.*add --errors skip"):
        line(shell, "ng_bootstrap", f"{tmp_path / 'bad.vec'} -k 2")
    assert len(rt.tokens) == 0
    report = line(shell, "ng_bootstrap", f"{tmp_path / 'bad.vec'} -k 2 --errors skip")
    assert report.skipped_lines == 1 and report.words == len(words) - 1
    with pytest.raises(UsageError, match="max_words must be an integer >= 1, got -1"):
        line(shell, "ng_bootstrap", f"{tmp_path / 'e.vec'} --max-words -1 --replace")
