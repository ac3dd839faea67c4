"""Every %ng_* magic answers ``--help`` without acting, and refuses bad arguments with a
one-line UsageError that says what to type instead (a real IPython InteractiveShell)."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from neurograph_lab.magics import NeuroGraphMagics


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    sh.user_ns.pop("ng_rt", None)
    sh.run_line_magic("load_ext", "neurograph_lab")
    rt = sh.user_ns["ng_rt"]
    ids = rt.tokens.create_many(
        np.random.default_rng(2).uniform(-1, 1, (12, 8, 3)), labels=[f"w{i}" for i in range(12)]
    )
    rt.connections.create_many(ids[:-1], ids[1:], kind="cause")
    yield sh
    sh.run_line_magic("unload_ext", "neurograph_lab")
    InteractiveShell.clear_instance()


def magic_names() -> list[tuple[str, str]]:
    return sorted(
        (kind, name) for kind, names in NeuroGraphMagics.magics.items() for name in names if name.startswith("ng_")
    )


def test_every_magic_is_listed() -> None:
    names = {name for _, name in magic_names()}
    assert {"ng_status", "ng_tokens", "ng_cdna", "ng_bootstrap", "ng_save", "ng_load", "ng_explore"} <= names


@pytest.mark.parametrize(("kind", "name"), magic_names())
def test_help_prints_the_usage_and_changes_nothing(shell, capsys, tmp_path, monkeypatch, kind: str, name: str) -> None:
    monkeypatch.chdir(tmp_path)  # a magic that wrote a file would write it here
    rt = shell.user_ns["ng_rt"]
    before = (rt.status().tokens, rt.status().connections, rt.cdna.profile, rt.cdna.revision, len(rt.events()))
    if kind == "cell":
        result = shell.run_cell_magic(name, "--help", "start w0\n")
    else:
        result = shell.run_line_magic(name, "--help")
    assert result is None
    out = capsys.readouterr().out
    doc = getattr(shell.magics_manager.magics[kind][name], "__doc__", "") or ""
    assert out.strip() and doc.strip().splitlines()[0] in out
    parser = shell.magics_manager.magics[kind][name].__self__.__class__.__dict__[name].parser
    for action in parser._actions:
        for flag in action.option_strings:
            if flag not in ("-h", "--help"):
                assert flag in out, f"%{name} --help does not name {flag}"
    after = (rt.status().tokens, rt.status().connections, rt.cdna.profile, rt.cdna.revision, len(rt.events()))
    assert after == before and list(tmp_path.iterdir()) == []
    assert shell.user_ns["ng_rt"] is rt


@pytest.mark.parametrize(
    ("magic", "args", "message"),
    [
        ("ng_tokens", "--limit -1", "--limit and --offset must be >= 0"),
        ("ng_tokens", "--offset -5", "--limit and --offset must be >= 0"),
        ("ng_tokens", "--entity concep", "unknown entity type 'concep'.*did you mean concept"),
        ("ng_tokens", "--where 'weight <'", "--where 'weight <'"),
        ("ng_tokens", "--limit three", "invalid int value"),
        ("ng_tokens", "'unclosed", "cannot read the arguments"),
        ("ng_cdna", "--scale cognitive=high", "--scale wants SPACE=VALUE, got 'cognitive=high'"),
        ("ng_serve", "--port 70000", "--port must be 0..65535, got 70000"),
    ],
)
def test_a_bad_argument_is_one_line_that_names_it(shell, magic: str, args: str, message: str) -> None:
    rt = shell.user_ns["ng_rt"]
    before = (rt.status().tokens, rt.cdna.revision)
    with pytest.raises(UsageError, match=message) as e:
        shell.run_line_magic(magic, args)
    assert "\n" not in str(e.value)
    assert (rt.status().tokens, rt.cdna.revision) == before


def test_magics_without_a_runtime_say_how_to_pick_one(shell) -> None:
    shell.user_ns["ng_rt"] = 42
    with pytest.raises(UsageError, match="ng_rt is not a neurograph_lab Runtime; use %ng_use VAR"):
        shell.run_line_magic("ng_status", "")
