"""Snapshots: exact round trip, atomic writes, and refusal of damaged or foreign files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neurograph_lab as ng
from neurograph_lab import _core


def frames(rt: ng.Runtime) -> tuple[pd.DataFrame, pd.DataFrame]:
    return rt.tokens.to_pandas(), rt.connections.to_pandas()


@pytest.fixture
def saved(filled, tmp_path: Path) -> tuple[ng.Runtime, Path]:
    rt, ids = filled
    rt.tokens.update(int(ids[3]), social=None, label="ünïcode ✓")
    rt.cdna.profile = "explorer"
    rt.cdna.update_scales(cognitive=2.5)
    with pytest.raises(ng.ValidationError):
        rt.tokens.create(weight=9.0)
    path = tmp_path / "lab.ngs"
    rt.save(path)
    return rt, path


def test_roundtrip_is_exact(saved):
    rt, path = saved
    back = ng.Runtime.load(path)
    for a, b in zip(frames(rt), frames(back)):
        pd.testing.assert_frame_equal(a, b)
    assert back.cdna.to_bytes() == rt.cdna.to_bytes()
    pd.testing.assert_frame_equal(back.cdna.history(), rt.cdna.history())
    pd.testing.assert_frame_equal(back.events(), rt.events())
    # ids keep being allocated after the loaded ones
    assert back.tokens.create() == rt.tokens.create()
    assert isinstance(back, ng.Runtime) and len(back.tokens) == len(rt.tokens)


def test_save_replaces_atomically_and_leaves_no_temp_files(saved, tmp_path):
    rt, path = saved
    rt.tokens.create_many(np.zeros((5, 8, 3)))
    rt.save(str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.ngs"]
    assert len(ng.Runtime.load(path).tokens) == len(rt.tokens)


def test_empty_runtime_roundtrip(tmp_path):
    ng.Runtime().save(tmp_path / "empty.ngs")
    back = ng.Runtime.load(tmp_path / "empty.ngs")
    assert len(back.tokens) == 0 and len(back.connections) == 0


def _expect_refusal(path: Path, target: ng.Runtime, match: str) -> None:
    before_bytes = path.read_bytes()
    before = frames(target)
    with pytest.raises(ng.SnapshotError, match=match):
        target.load_from(str(path))  # replace-in-place: must leave target untouched on failure
    with pytest.raises(ng.SnapshotError):
        ng.Runtime.load(path)
    assert path.read_bytes() == before_bytes
    for a, b in zip(before, frames(target)):
        pd.testing.assert_frame_equal(a, b)


def test_corrupted_bytes_are_refused(saved, tmp_path):
    rt, path = saved
    good = path.read_bytes()
    size = len(good)
    for offset, match in [
        (3, "wrong magic"),
        (12, "header"),
        (30, "header checksum"),
        (size // 2, "checksum mismatch"),
        (size - 5, "checksum mismatch"),
    ]:
        bad = bytearray(good)
        bad[offset] ^= 0xFF
        p = tmp_path / f"bad{offset}.ngs"
        p.write_bytes(bytes(bad))
        _expect_refusal(p, rt, match)


def test_truncated_files_are_refused(saved, tmp_path):
    rt, path = saved
    good = path.read_bytes()
    for cut, match in [
        (0, "too short"),
        (10, "too short"),
        (40, "truncated"),
        (len(good) // 2, "truncated"),
        (len(good) - 1, "truncated"),
    ]:
        p = tmp_path / f"cut{cut}.ngs"
        p.write_bytes(good[:cut])
        _expect_refusal(p, rt, match)


def test_foreign_files_are_refused(saved, tmp_path):
    rt, _ = saved
    text = tmp_path / "notes.txt"
    text.write_text("these are not the tokens you are looking for\n" * 10)
    _expect_refusal(text, rt, "not a NeuroGraph snapshot")
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(100))
    _expect_refusal(npy, rt, "not a NeuroGraph snapshot")


def test_future_version_is_refused(saved, tmp_path):
    rt, path = saved
    raw = bytearray(path.read_bytes())
    raw[8:12] = (99).to_bytes(4, "little")
    p = tmp_path / "future.ngs"
    p.write_bytes(bytes(raw))
    _expect_refusal(p, rt, "format version 99 is not supported")


def test_missing_file_and_unwritable_target(tmp_path, filled):
    rt, _ = filled
    with pytest.raises(FileNotFoundError):
        ng.Runtime.load(tmp_path / "nope.ngs")
    with pytest.raises(OSError):
        rt.save(tmp_path / "no" / "such" / "dir" / "x.ngs")
    good = tmp_path / "good.ngs"
    rt.save(good)
    os.chmod(tmp_path, 0o500)
    try:
        if os.access(tmp_path, os.W_OK):  # running as root: permissions do not bind
            pytest.skip("directory permissions are not enforced for this user")
        with pytest.raises(OSError):
            rt.save(good)
        assert len(ng.Runtime.load(good).tokens) == len(rt.tokens)
    finally:
        os.chmod(tmp_path, 0o700)


def test_ctrl_c_during_load_changes_nothing(saved, interrupt_at):
    # S2-4: a load interrupted before it replaces the contents raises and changes nothing;
    # at the commit point it finishes
    rt, path = saved
    target = ng.Runtime()
    target.tokens.create(label="kept")
    fired = interrupt_at(1)
    with pytest.raises(KeyboardInterrupt):
        _core.Runtime.load_from(target, str(path))
    assert fired == [1] and len(target.tokens) == 1
    interrupt_at("commit")
    loaded = ng.Runtime.load(path)
    assert fired == [1, "commit"] and len(loaded.tokens) == len(rt.tokens)


# ---------------- saves: concurrency, kill -9, symlinks, long names ----------------


def _temp_files(directory: Path, target: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != target)


def _tokens(n: int, seed: int) -> ng.Runtime:
    rt = ng.Runtime()
    rt.tokens.create_many(np.random.default_rng(seed).uniform(-1, 1, (n, 8, 3)))
    return rt


def test_concurrent_saves_from_threads_leave_one_loadable_file(tmp_path):
    # S1-2: two runtimes saved to one path from four threads, again and again: no save fails,
    # and the file left is one complete snapshot (whichever rename came last)
    a, b = _tokens(30_000, 0), _tokens(20_000, 1)
    path = tmp_path / "same.ngs"
    errors: list[BaseException] = []

    def saves(rt: ng.Runtime) -> None:
        try:
            for _ in range(5):
                rt.save(path)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=saves, args=(rt,)) for rt in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    back = ng.Runtime.load(path)
    expected = a if len(back.tokens) == len(a.tokens) else b
    np.testing.assert_array_equal(back.tokens.ids(), expected.tokens.ids())
    np.testing.assert_array_equal(back.tokens.coords("physical"), expected.tokens.coords("physical"))
    assert _temp_files(tmp_path, "same.ngs") == []


def test_concurrent_saves_from_processes_leave_one_loadable_file(tmp_path):
    # S1-2 across processes: each writes its own temporary file; the last rename wins
    path = tmp_path / "same.ngs"
    code = (
        "import sys, numpy as np, neurograph_lab as ng\n"
        "n = int(sys.argv[2]); rt = ng.Runtime()\n"
        "rt.tokens.create_many(np.zeros((n, 8, 3)))\n"
        "for _ in range(5): rt.save(sys.argv[1])\n"
    )
    sizes = [1_000, 2_000, 3_000]
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), str(n)], stderr=subprocess.PIPE, text=True)
        for n in sizes
    ]
    for p in procs:
        _, err = p.communicate()
        assert p.returncode == 0, err
    assert len(ng.Runtime.load(path).tokens) in sizes
    assert _temp_files(tmp_path, "same.ngs") == []


_SAVE_FOREVER = """
import sys, numpy as np, neurograph_lab as ng
rt = ng.Runtime()
rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (500_000, 8, 3)),
                      labels=[f"t{i}" for i in range(500_000)])
print("ready", flush=True)
while True:
    rt.save(sys.argv[1])
"""


def test_a_save_killed_with_sigkill_leaves_no_temp_file_after_the_next_save(tmp_path):
    # S3-7: the child saves in a loop; once a temporary file exists the parent freezes the
    # child (SIGSTOP), checks the temporary file is still there, and kills it (SIGKILL)
    # mid-save. The next save to the path removes the orphan.
    path = tmp_path / "lab.ngs"
    child = subprocess.Popen([sys.executable, "-c", _SAVE_FOREVER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        while True:
            if _temp_files(tmp_path, "lab.ngs"):
                os.kill(child.pid, signal.SIGSTOP)
                if _temp_files(tmp_path, "lab.ngs"):
                    break  # frozen while writing: the temporary file cannot go away now
                os.kill(child.pid, signal.SIGCONT)
            assert child.poll() is None, "the saving child died"
        orphans = _temp_files(tmp_path, "lab.ngs")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert _temp_files(tmp_path, "lab.ngs") == orphans  # kill -9 leaves it behind
    rt = _tokens(10, 2)
    rt.save(path)
    assert _temp_files(tmp_path, "lab.ngs") == []
    assert len(ng.Runtime.load(path).tokens) == 10


def test_save_to_a_symlink_writes_its_target_and_keeps_the_link(tmp_path, filled):
    # S4: the link stays a link; the file it names gets the snapshot
    rt, _ = filled
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "lab.ngs"
    ng.Runtime().save(target)
    link = tmp_path / "current.ngs"
    link.symlink_to(Path("data") / "lab.ngs")
    rt.save(link)
    assert link.is_symlink()
    assert len(ng.Runtime.load(target).tokens) == len(rt.tokens)
    assert _temp_files(tmp_path / "data", "lab.ngs") == []


def test_a_254_character_file_name_can_be_saved_to(tmp_path, filled):
    # S4: the temporary name stays short whatever the target's name
    rt, _ = filled
    name = "n" * 250 + ".ngs"
    rt.save(tmp_path / name)
    assert len(ng.Runtime.load(tmp_path / name).tokens) == len(rt.tokens)
    assert _temp_files(tmp_path, name) == []
