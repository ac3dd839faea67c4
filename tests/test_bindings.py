"""The compiled `_core` boundary (review M3): ids are checked by one rule, core errors reach
Python as the documented exceptions, and the logic that moved out of the bindings (file
streaming, layout indexing, column gathering, save/load, CDNA flag names) behaves as
before when called through `_core` directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab import _core


@pytest.fixture
def core() -> tuple[_core.Runtime, np.ndarray]:
    """A bare compiled runtime with 5 labelled tokens in a chain 0 -> 1 -> 2 -> 3 -> 4."""
    c = _core.Runtime()
    coords = np.linspace(-0.5, 0.5, 5 * 24, dtype=np.float32).reshape(5, 8, 3)
    ids = c.create_tokens(coords, labels=["a", "b", None, "b", "é"])
    c.create_connections(ids[:-1], ids[1:])
    return c, ids


# ---- one rule for ids (M3: the Id newtypes) ----


def test_create_token_names_the_id_it_was_given(core):
    c, _ = core
    before = c.count_tokens()
    for bad, match in (
        (-5, r"token id must be an integer in 1\.\.=16777215, got -5"),
        (0, r"token id must be an integer in 1\.\.=16777215, got 0"),
        (1 << 24, r"got 16777216"),
        (True, "token id must be an integer, got the bool True"),
        (2.0, "token id must be an integer, got float 2.0"),
    ):
        with pytest.raises(ng.ValidationError, match=match):
            c.create_token(id=bad)
    assert c.count_tokens() == before
    assert c.create_token(id=np.int64(77)) == 77


@pytest.mark.parametrize(
    "call",
    [
        lambda c, i: c.get_token(i),
        lambda c, i: c.update_token(i, weight=0.5),
        lambda c, i: c.delete_token(i),
        lambda c, i: c.get_connections_for_token(i),
        lambda c, i: c.connection_columns(i),
        lambda c, i: c.graph_traverse(i),
        lambda c, i: c.graph_shortest_path(i, 1),
        lambda c, i: c.graph_shortest_path_lengths(i),
        lambda c, i: c.create_connection(i, 1),
    ],
)
def test_token_lookups_share_one_rule(core, call):
    c, _ = core
    before = c.data_version()
    for bad in (-5, 99999, 2**40, 2**70):
        with pytest.raises(ng.NotFoundError, match=f"no token with id {bad}"):
            call(c, bad)
    with pytest.raises(ng.ValidationError, match="a token id must be an integer, got the bool True"):
        call(c, True)
    with pytest.raises(ng.ValidationError, match="a token id must be an integer, got float 1.0"):
        call(c, 1.0)
    assert c.data_version() == before


def test_connection_lookups_share_one_rule(core):
    c, _ = core
    for call in (c.get_connection, c.delete_connection):
        with pytest.raises(ng.NotFoundError, match="no connection with id -1"):
            call(-1)
        with pytest.raises(ng.NotFoundError, match="no connection with id 4294967296"):
            call(2**32)
        with pytest.raises(ng.ValidationError, match="a connection id must be an integer, got the bool False"):
            call(False)
    assert c.count_connections() == 4


def test_grid_query_ids(core):
    c, ids = core
    for space in (None, "all"):
        with pytest.raises(ng.ValidationError, match="a token id must be an integer >= 0, got -1"):
            c.grid_neighbors(-1, 2, space)
        with pytest.raises(ng.ValidationError, match="a token id must be an integer >= 0, got True"):
            c.grid_neighbors(True, 2, space)
    # the default space is the cognitive one
    assert c.grid_neighbors(int(ids[0]), 2)[0].tolist() == c.grid_neighbors(int(ids[0]), 2, "L5")[0].tolist()


def test_has_token_never_raises(core):
    c, ids = core
    assert c.has_token(int(ids[0])) and c.has_token(np.uint32(ids[0]))
    assert not any(c.has_token(x) for x in (-1, 2**40, 2**70, "1", 1.0, None))


# ---- columns and lookups read by the core (M3: no store lock in the bindings) ----


def test_token_columns_labels_as_list_and_as_arrow_buffers(core):
    c, ids = core
    listed = c.token_columns()
    buffers = c.token_columns(None, None, True)
    assert listed["label"] == ["a", "b", None, "b", "é"]
    off, data, valid = buffers["label_offsets"], buffers["label_data"], buffers["label_valid"]
    rebuilt = [bytes(data[off[i] : off[i + 1]]).decode() if valid[i] else None for i in range(5)]
    assert rebuilt == listed["label"]
    assert buffers["coords"].shape == (5, 8, 3) and "label" not in buffers
    page = c.token_columns(2, 1)
    assert page["id"].tolist() == ids[1:3].tolist() and page["label"] == ["b", None]
    assert c.find_label("b").tolist() == sorted([int(ids[1]), int(ids[3])])
    assert c.labels_of(np.array([ids[4], 12345], dtype=np.uint32)) == ["é", None]
    xyz = c.coords_of(np.array([ids[0], 12345], dtype=np.uint32), "cognitive")
    assert xyz.shape == (2, 3) and np.isnan(xyz[1]).all()
    assert np.allclose(xyz[0], c.token_coords("cognitive")[0], atol=1e-4)


def test_layout_indexes_the_subgraph_in_the_core(core):
    c, ids = core
    nodes, pos = c.graph_layout(None, 10, 1)
    assert nodes.tolist() == ids.tolist() and pos.shape == (5, 2)
    sub = ids[[3, 1, 2]]
    nodes, pos = c.graph_layout(sub, 10, 1)
    assert nodes.tolist() == sub.tolist() and np.abs(pos).max() <= 1.0
    with pytest.raises(ng.ValidationError, match="appears more than once"):
        c.graph_layout(ids[[0, 1, 0]], 10, 1)
    with pytest.raises(ng.NotFoundError, match="no token with id 999"):
        c.graph_layout(np.array([ids[0], 999], dtype=np.uint32), 10, 1)


def test_save_and_load_through_the_core(core, tmp_path: Path):
    c, ids = core
    path = tmp_path / "rt.ngs"
    assert c.save(str(path)) == path.stat().st_size
    other = _core.Runtime()
    other.load_from(str(path))
    assert other.token_ids().tolist() == ids.tolist()
    assert other.token_columns()["label"] == c.token_columns()["label"]
    with pytest.raises(FileNotFoundError):
        other.load_from(str(tmp_path / "missing.ngs"))
    assert other.count_connections() == 4


def test_cdna_flag_names_resolve_in_the_core(core):
    c, _ = core
    c.set_cdna_flags({"strict_mode": True})
    assert c.get_cdna_flags()["STRICT_MODE"] is True
    assert c.cdna_history()[-1]["change"] == "flags STRICT_MODE=true"
    rev = c.cdna_revision()
    with pytest.raises(ng.ValidationError, match='unknown CDNA flag "FAST": expected one of ENABLE_VALIDATION'):
        c.set_cdna_flags({"FAST": True})
    assert c.cdna_revision() == rev


def test_events_columns(core):
    c, _ = core
    ev = c.events(2)
    assert list(ev) == ["time", "kind", "target", "accepted", "reason"]
    assert ev["kind"] == ["token.create_many", "connection.create_many"]
    assert ev["accepted"].dtype == np.bool_ and ev["time"].dtype == np.float64


# ---- the embedding text reader (M3: moved to bootstrap::TextFileReader) ----


def test_load_embedding_text_streams_and_reports_bytes(tmp_path: Path):
    path = tmp_path / "emb.vec"
    body = "".join(f"w{i} {i} {i + 0.5}\n" for i in range(20))
    path.write_text("20 2\n" + body)
    seen: list[int] = []
    words, vecs, skipped = _core.load_embedding_text(str(path), None, False, seen.append)
    assert words == [f"w{i}" for i in range(20)] and vecs.shape == (20, 2) and skipped == 0
    assert vecs[3].tolist() == [3.0, 3.5]
    assert sum(seen) == len(body)  # the header is not reported, every other byte once
    words, vecs, _ = _core.load_embedding_text(str(path), 7)
    assert len(words) == 7 and vecs.shape == (7, 2)


def test_load_embedding_text_errors_name_the_file(tmp_path: Path):
    missing = tmp_path / "missing.vec"
    with pytest.raises(FileNotFoundError, match=f"^{missing}: no such file$"):
        _core.load_embedding_text(str(missing))
    with pytest.raises(OSError, match=str(tmp_path)):
        _core.load_embedding_text(str(tmp_path))
    bad = tmp_path / "bad.vec"
    bad.write_text("a 1 2\nb 3 x\nc 5 6\n")
    with pytest.raises(ng.ValidationError, match=r"bad\.vec: line 2: "):
        _core.load_embedding_text(str(bad))
    words, _, skipped = _core.load_embedding_text(str(bad), None, True)
    assert words == ["a", "c"] and skipped == 1
    empty = tmp_path / "empty.vec"
    empty.write_text("")
    with pytest.raises(ng.ValidationError, match=r"empty\.vec: no word vectors found"):
        _core.load_embedding_text(str(empty))
