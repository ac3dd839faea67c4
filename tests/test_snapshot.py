"""Snapshots: exact round trip, atomic writes, and refusal of damaged or foreign files."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

import neurograph_lab as ng


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
        target._core.load_from(str(path))  # replace-in-place: must leave target untouched on failure
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
    # Targets no user can write, root included (directory permissions do not bind root): a
    # path that is a directory, and a path that goes through a file as if it were one.
    (tmp_path / "a_directory.ngs").mkdir()
    with pytest.raises(OSError):
        rt.save(tmp_path / "a_directory.ngs")
    with pytest.raises(OSError):
        rt.save(good / "x.ngs")
    assert len(ng.Runtime.load(good).tokens) == len(rt.tokens)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_directory.ngs", "good.ngs"]


def test_ctrl_c_during_load_changes_nothing(saved, interrupt_at):
    # S2-4: a load interrupted before it replaces the contents raises and changes nothing;
    # at the commit point it finishes
    rt, path = saved
    target = ng.Runtime()
    target.tokens.create(label="kept")
    fired = interrupt_at(1)
    with pytest.raises(KeyboardInterrupt):
        target._core.load_from(str(path))
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
    saver = subprocess.Popen([sys.executable, "-c", _SAVE_FOREVER, str(path)], stdout=subprocess.PIPE, text=True)
    with saver as child:  # closes the pipe and reaps the child
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


def test_load_refuses_a_fifo_instead_of_waiting_for_a_writer(tmp_path):
    # S2-4: load() of a FIFO used to block forever in open(). It runs in a child so that a
    # regression fails this test (the timeout only guards against a hang; a correct load
    # returns at once).
    fifo = tmp_path / "pipe.ngs"
    os.mkfifo(fifo)
    code = (
        "import sys, neurograph_lab as ng\n"
        "try:\n    ng.Runtime.load(sys.argv[1])\n"
        "except ng.SnapshotError as e:\n    print(e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "is a FIFO" in r.stdout and str(fifo) in r.stdout
    with pytest.raises(ng.SnapshotError, match="is a directory"):
        ng.Runtime.load(tmp_path)


# ---------------- crafted files with valid checksums (S2-8) ----------------


def _sections(raw: bytes) -> list[tuple[bytes, bytes]]:
    """(tag, data) of every section, in table order (layout: see core_rs/src/snapshot.rs)."""
    (count,) = struct.unpack_from("<I", raw, 12)
    out = []
    for i in range(count):
        tag, _, offset, length, _, _ = struct.unpack_from("<4sIQQII", raw, 24 + 32 * i)
        out.append((tag, raw[offset : offset + length]))
    return out


def _assemble(sections: list[tuple[bytes, bytes]]) -> bytes:
    """A snapshot file of these sections with every offset and checksum computed."""
    head = bytearray(b"NGSNAP\r\n" + struct.pack("<IIII", 1, len(sections), 0, 0))
    offset = len(head) + 32 * len(sections)
    for tag, data in sections:
        head += struct.pack("<4sIQQII", tag, 0, offset, len(data), zlib.crc32(data), 0)
        offset += len(data)
    struct.pack_into("<I", head, 16, zlib.crc32(bytes(head[:16]) + bytes(head[20:])))
    return bytes(head) + b"".join(data for _, data in sections)


def craft(path: Path, tag: bytes, edit: Callable[[bytearray], None], out: Path) -> Path:
    """Write to ``out`` the snapshot at ``path`` with section ``tag`` changed by ``edit`` (in
    place) and every checksum recomputed, so only the loader's own checks can refuse it."""
    sections = []
    for t, data in _sections(path.read_bytes()):
        buf = bytearray(data)
        if t == tag:
            edit(buf)
        sections.append((t, bytes(buf)))
    out.write_bytes(_assemble(sections))
    return out


def _put(fmt: str, offset: int, value: object) -> Callable[[bytearray], None]:
    return lambda buf: struct.pack_into(fmt, buf, offset, value)


TOKEN_ID, TOKEN_WEIGHT = 48, 52  # offsets in the 64-byte token record
CONN_TOKEN_B, CONN_STRENGTH, CONN_DISTANCE, CONN_ID = 4, 16, 20, 48  # offsets in the 64-byte connection record
META_TOKEN_NEXT = 16


def test_crafted_file_passes_the_checksums_unchanged(saved, tmp_path):
    # the helper itself: an unchanged rebuild loads exactly
    rt, path = saved
    same = craft(path, b"META", lambda buf: None, tmp_path / "same.ngs")
    assert same.read_bytes() == path.read_bytes()


def test_crafted_entity_type_15_is_refused(saved, tmp_path):
    # S2-8: entity types are 0..14; 15 used to load and break to_pandas() later
    rt, path = saved

    def entity_15(buf: bytearray) -> None:
        (tid,) = struct.unpack_from("<I", buf, TOKEN_ID)
        struct.pack_into("<I", buf, TOKEN_ID, tid | 0xF << 24)

    bad = craft(path, b"TOKN", entity_15, tmp_path / "entity.ngs")
    _expect_refusal(bad, rt, "has entity type 15: entity types are 0..=14")


def test_crafted_next_token_id_past_the_id_space_is_refused(saved, tmp_path):
    # S2-8: next_id = 0xFFFFFFFF used to load, then every create failed
    rt, path = saved
    bad = craft(path, b"META", _put("<I", META_TOKEN_NEXT, 0xFFFFFFFF), tmp_path / "next.ngs")
    _expect_refusal(bad, rt, "4294967295 as the next token id, past the last id 16777215")


def test_crafted_connection_id_past_the_id_space_is_refused(saved, tmp_path):
    # 2^32 - 1 marks an absent entry in the store's id tables: never a connection's id
    rt, path = saved
    bad = craft(path, b"CONN", _put("<I", CONN_ID, 0xFFFFFFFF), tmp_path / "cid.ngs")
    _expect_refusal(bad, rt, "connection id 4294967295 is past the last connection id 4294967294")


def test_crafted_connection_id_0_is_refused(saved, tmp_path):
    rt, path = saved
    bad = craft(path, b"CONN", _put("<I", CONN_ID, 0), tmp_path / "zero.ngs")
    _expect_refusal(bad, rt, "a connection has id 0")


def test_crafted_connection_to_a_token_not_in_the_file_is_refused(saved, tmp_path):
    # the second connection's target becomes a token id the file does not hold
    rt, path = saved
    conns = rt.connections.to_pandas()
    cid, a = int(conns.index[1]), int(conns["token_a"].iloc[1])
    bad = craft(path, b"CONN", _put("<I", 64 + CONN_TOKEN_B, 9_999_999), tmp_path / "dangling.ngs")
    _expect_refusal(bad, rt, f"connection {cid} links tokens {a} -> 9999999 that are not in the file")


def test_crafted_repeated_connection_id_is_refused(saved, tmp_path):
    rt, path = saved

    def repeat(buf: bytearray) -> None:
        buf[64 + CONN_ID : 64 + CONN_ID + 4] = buf[CONN_ID : CONN_ID + 4]

    bad = craft(path, b"CONN", repeat, tmp_path / "dup.ngs")
    _expect_refusal(bad, rt, "connection id 1 is repeated")


@pytest.mark.parametrize(
    "tag, offset, value, match",
    [
        (b"TOKN", TOKEN_WEIGHT, float("nan"), "has weight NaN: weights must be finite"),
        (b"TOKN", TOKEN_WEIGHT, float("inf"), "has weight inf: weights must be finite"),
        (b"CONN", CONN_STRENGTH, float("nan"), "has strength NaN: strengths must be finite"),
        (b"CONN", CONN_STRENGTH, float("-inf"), "has strength -inf: strengths must be finite"),
        (b"CONN", CONN_DISTANCE, float("nan"), "has preferred distance NaN"),
        (b"CONN", CONN_DISTANCE, -1.0, "has preferred distance -1: it must be a finite number >= 0"),
    ],
)
def test_crafted_non_finite_or_negative_float_fields_are_refused(saved, tmp_path, tag, offset, value, match):
    # S2-8: values the API refuses may not come in through a file either
    rt, path = saved
    bad = craft(path, tag, _put("<f", offset, value), tmp_path / "float.ngs")
    _expect_refusal(bad, rt, match)


def test_crafted_non_finite_bootstrap_vector_is_refused(tmp_path):
    rt = ng.Runtime()
    vectors = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    rt.bootstrap(vectors, [f"w{i}" for i in range(20)], k=2, progress=False)
    path = tmp_path / "boot.ngs"
    rt.save(path)
    # BOOT: seed, dim, n, spaces, (space, axis) pairs, words (u32 length + bytes), ids, vectors
    words_end = 16 + 8 * 1 + sum(4 + len(f"w{i}") for i in range(20))
    first_vector = words_end + 4 * 20
    bad = craft(path, b"BOOT", _put("<f", first_vector + 4 * 3, float("nan")), tmp_path / "nan.ngs")
    _expect_refusal(bad, rt, 'the embedding of "w0" holds a non-finite value')


# crash-type: sizes from the file that would allocate absurd memory, under an address-space
# limit in a child process that must survive and report SnapshotError (S1-4, S2-8)
_LOAD_LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import neurograph_lab as ng
try:
    rt = ng.Runtime.load(sys.argv[1])
except ng.SnapshotError as e:
    print("refused:", e)
else:
    print("loaded, largest connection id", rt.connections.to_pandas().index.max())
"""


def _load_limited(path: Path) -> str:
    r = subprocess.run([sys.executable, "-c", _LOAD_LIMITED, str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("offset, section", [(0, "TOKN"), (8, "CONN")])
def test_crafted_count_whose_size_wraps_is_refused(saved, tmp_path, offset, section):
    # S2-8: n + 2^58 records of 64 bytes wrap to the section's real size in 64-bit arithmetic;
    # this used to pass the size check and panic in the allocation
    rt, path = saved

    def wrap(buf: bytearray) -> None:
        (n,) = struct.unpack_from("<Q", buf, offset)
        struct.pack_into("<Q", buf, offset, n + (1 << 58))

    bad = craft(path, b"META", wrap, tmp_path / "wrap.ngs")
    out = _load_limited(bad)
    assert out.startswith(f"refused: snapshot {bad}: section {section} is "), out


def test_a_connection_id_near_2_32_loads_without_a_huge_table(saved, tmp_path):
    # S1-4: a connection id near 2^32 used to make the load allocate a 16 GiB id table and
    # abort under an address-space limit. Such an id is valid (ids go up to 2^32 - 2), and the
    # id tables now follow the live records, so the file loads in little memory.
    rt, path = saved
    far = craft(path, b"CONN", _put("<I", CONN_ID, 0xFFFFFFE0), tmp_path / "far.ngs")
    assert _load_limited(far) == "loaded, largest connection id 4294967264\n"
