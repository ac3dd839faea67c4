"""Snapshots: exact round trip, atomic writes, and refusal of damaged or foreign files."""

from __future__ import annotations

import os
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
