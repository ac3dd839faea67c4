"""Parquet datasets: ``rt.to_parquet`` / ``ng.Runtime.from_parquet`` and the partition writers in
``neurograph_lab.kernels``. Real files in tmp_path; pyarrow and DuckDB read what we write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import neurograph_lab as ng
from neurograph_lab import kernels as K

SEED = 1606


# -- runtimes to round-trip ------------------------------------------------------------------


def learned_runtime() -> ng.Runtime:
    """Tokens with every field set, connections with learning state (feedback, decay,
    confidence, evidence), deletions (store order is not id order), a custom CDNA."""
    rng = np.random.default_rng(SEED)
    rt = ng.Runtime()
    rt.cdna.profile = "explorer"
    n = 300
    coords = rng.uniform(-1, 1, (n, 8, 3)).astype(np.float32)
    coords[::3, 2] = np.nan  # not placed in motor
    coords[::7, 6] = np.nan
    ids = rt.tokens.create_many(
        coords,
        weights=rng.uniform(0, 1, n).astype(np.float32),
        entities=rng.integers(0, 15, n),
        labels=[None if i % 4 == 0 else f"tok {i} ∂" for i in range(n)],
        field_radius=rng.uniform(0, 2.5, n),
        field_strength=rng.uniform(0, 1, n),
        undefined="nan",
    )
    rt.tokens.update(int(ids[5]), user_flags=9, domain=7, cognitive=None)
    a = rng.choice(ids, 900)
    b = rng.choice(ids, 900)
    kinds = rng.choice(["cause", "associated_with", "similar_to", "part_of"], 900)
    cids = rt.connections.create_many(
        a, b, list(kinds), strength=rng.uniform(0.1, 1, 900), rigidity=0.3, confidence=0.42, learning_rate=0.2
    )
    rt.connections.create_many(ids[40:60], ids[60:80], "similar_to", bidirectional=True, decay_rate=0.3)
    hyp = rt._core.create_connections(
        ids[:20], ids[20:40], None, None, kind="associated_with", hypothesis=True, confidence=0.6, source_id=77
    )
    for c in cids[:50]:
        rt.connections.feedback(int(c), good=True)
    for c in list(cids[50:80]) + list(hyp[:10]):
        rt.connections.feedback(int(c), good=False)
    rt.connections.decay()
    rt.tokens.delete(ids[100:110])
    live = rt._core.connection_columns(None)["id"]
    assert len(live) < len(cids) + 40, "decay dropped the weakened hypotheses"
    rt.connections.delete(live[200:230])
    rt.cdna.update(max_out_degree=500)
    return rt


def booted_runtime(n: int = 400, dim: int = 24) -> tuple[ng.Runtime, list[str]]:
    rng = np.random.default_rng(SEED + 1)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    words = [f"w{i}" for i in range(n)]
    rt = ng.Runtime()
    rt.bootstrap(vectors, words, k=5, progress=False)
    return rt, words


def columns(rt: ng.Runtime) -> tuple[dict[str, Any], dict[str, Any]]:
    return rt._core.token_columns(None, None, False), rt._core.connection_columns(None)


def assert_same(a: ng.Runtime, b: ng.Runtime) -> None:
    ta, ca = columns(a)
    tb, cb = columns(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        if isinstance(ta[k], np.ndarray):
            np.testing.assert_array_equal(ta[k], tb[k], err_msg=k)
        else:
            assert ta[k] == tb[k], k
    for k in ca:
        np.testing.assert_array_equal(ca[k], cb[k], err_msg=k)
    # every field of every record, learning state included, in store order
    assert a.list_connections(limit=10**6) == b.list_connections(limit=10**6)
    assert a.cdna.to_bytes() == b.cdna.to_bytes()
    assert a.cdna.history().to_dict() == b.cdna.history().to_dict()
    assert a.bootstrap_info() == b.bootstrap_info()


# -- round trips ---------------------------------------------------------------------------


def test_round_trip_is_exact_after_learning(tmp_path: Path) -> None:
    rt = learned_runtime()
    summary = rt.to_parquet(tmp_path / "lab", partitions=16)
    assert summary["tokens"] == len(rt.tokens)
    assert summary["connections"] == len(rt.connections)
    assert summary["files"] == 33  # 16 + 16 parts + meta.json
    back = ng.Runtime.from_parquet(tmp_path / "lab")
    assert_same(rt, back)
    # the learning state really is varied (the test would not notice a reset otherwise)
    c = rt._core.connection_columns(None)
    assert len(np.unique(c["confidence"])) > 2 and c["evidence_count"].max() > 0
    assert len(np.unique(rt._core.token_columns(None, None, False)["flags"])) > 1
    # ids keep being allocated as before
    assert back.tokens.create(cognitive=(0, 0, 0)) == rt.tokens.create(cognitive=(0, 0, 0))
    assert back.connections.create(1, 2) == rt.connections.create(1, 2)


def test_round_trip_of_a_bootstrap_answers_queries_the_same(tmp_path: Path) -> None:
    rt, words = booted_runtime()
    rt.tokens.delete(rt.tokens.find("w7"))  # a dead vocabulary row is compacted away
    rt.to_parquet(tmp_path / "boot", partitions=3)
    back = ng.Runtime.from_parquet(tmp_path / "boot")
    assert_same(rt, back)
    w1, i1 = rt.bootstrap_vocabulary()
    w2, i2 = back.bootstrap_vocabulary()
    assert w1 == w2 and np.array_equal(i1, i2)
    for q in ["w1", "w3 - w5 + w9"]:
        r1, r2 = rt.query(q, k=10), back.query(q, k=10)
        assert np.array_equal(r1.ids, r2.ids) and np.array_equal(r1.scores, r2.scores)
    ids1, s1 = rt.query_many(["w2", "w11"], k=5)
    ids2, s2 = back.query_many(["w2", "w11"], k=5)
    assert np.array_equal(ids1, ids2) and np.array_equal(s1, s2)
    meta = json.loads((tmp_path / "boot" / "meta.json").read_text())
    assert meta["bootstrap"]["words"] == len(words) - 1
    assert meta["bootstrap"]["dim"] == 24


def test_empty_runtime_round_trips(tmp_path: Path) -> None:
    rt = ng.Runtime()
    assert rt.to_parquet(tmp_path / "e", partitions=4)["tokens"] == 0
    back = ng.Runtime.from_parquet(tmp_path / "e")
    assert len(back.tokens) == 0 and len(back.connections) == 0
    assert_same(rt, back)
    t = pads.dataset(tmp_path / "e" / "tokens").to_table()
    assert t.num_rows == 0 and "cognitive_x" in t.column_names


def test_one_token_and_more_partitions_than_rows(tmp_path: Path) -> None:
    rt = ng.Runtime()
    rt.tokens.create(cognitive=(0.1, 0.2, 0.3), label="only")
    rt.to_parquet(tmp_path / "one", partitions=5)
    assert_same(rt, ng.Runtime.from_parquet(tmp_path / "one"))
    rows = [pq.read_metadata(p).num_rows for p in sorted((tmp_path / "one" / "tokens").iterdir())]
    assert rows == [0, 0, 0, 0, 1]


# -- other readers ---------------------------------------------------------------------------


def test_pyarrow_reads_the_columns_the_runtime_holds(tmp_path: Path) -> None:
    rt = learned_runtime()
    rt.to_parquet(tmp_path / "lab", partitions=4)
    tok, con = columns(rt)
    t = pads.dataset(tmp_path / "lab" / "tokens", format="parquet").to_table()
    files = sorted((tmp_path / "lab" / "tokens").iterdir())
    t = pa.concat_tables([pq.read_table(f) for f in files])  # in part order = store order
    np.testing.assert_array_equal(t["id"].to_numpy(), tok["id"])
    assert t["label"].to_pylist() == tok["label"]
    assert t["entity"].to_pylist() == [ng.ENTITY_TYPES[e] for e in tok["entity"]]
    np.testing.assert_array_equal(t["weight"].to_numpy(), tok["weight"])
    np.testing.assert_array_equal(t["field_radius"].to_numpy(), tok["field_radius"])
    np.testing.assert_array_equal(t["flags"].to_numpy(), tok["flags"])
    np.testing.assert_array_equal(t["defined"].to_numpy(), tok["defined"])
    stamps = t["timestamp"].cast(pa.int64()).to_numpy() // 1000
    np.testing.assert_array_equal(stamps, tok["timestamp"])
    for s, space in enumerate(ng.SPACES):
        for a, axis in enumerate("xyz"):
            col = t[f"{space}_{axis}"].to_numpy(zero_copy_only=False)
            np.testing.assert_array_equal(col, tok["coords"][:, s, a], err_msg=f"{space}_{axis}")
    c = pa.concat_tables([pq.read_table(f) for f in sorted((tmp_path / "lab" / "connections").iterdir())])
    for k in ["id", "token_a", "token_b", "strength", "rigidity", "confidence", "preferred_distance", "evidence_count"]:
        np.testing.assert_array_equal(c[k].to_numpy(), con[k], err_msg=k)
    assert c["kind"].to_pylist() == [ng.CONNECTION_KINDS[k] for k in con["kind"]]
    assert c["mutability"].to_pylist() == [ng._core.MUTABILITY_NAMES[m] for m in con["mutability"]]
    # the whole directory is one dataset per table for pyarrow.dataset, in any order
    d = pads.dataset(tmp_path / "lab" / "connections").to_table()
    assert sorted(d["id"].to_pylist()) == sorted(con["id"].tolist())


def test_duckdb_reads_the_dataset(tmp_path: Path) -> None:
    import duckdb

    rt = learned_runtime()
    rt.to_parquet(tmp_path / "lab", partitions=4)
    tok, con = columns(rt)
    glob = str(tmp_path / "lab" / "connections" / "*.parquet")
    n, total, kinds = duckdb.sql(
        f"SELECT count(*), sum(evidence_count), count(DISTINCT kind) FROM read_parquet('{glob}')"
    ).fetchall()[0]
    assert n == len(con["id"]) and total == int(con["evidence_count"].sum())
    assert kinds == len(np.unique(con["kind"]))
    tglob = str(tmp_path / "lab" / "tokens" / "*.parquet")
    placed, labelled = duckdb.sql(f"SELECT count(cognitive_x), count(label) FROM read_parquet('{tglob}')").fetchall()[0]
    assert placed == int(np.isfinite(tok["coords"][:, 4, 0]).sum())
    assert labelled == sum(x is not None for x in tok["label"])


# -- atomicity and refusals ------------------------------------------------------------------


def test_existing_dataset_is_kept_unless_overwrite(tmp_path: Path) -> None:
    rt = learned_runtime()
    d = tmp_path / "lab"
    rt.to_parquet(d, partitions=2)
    other = ng.Runtime()
    other.tokens.create(cognitive=(0, 0, 0))
    with pytest.raises(ng.DatasetError, match="overwrite=True"):
        other.to_parquet(d)
    assert_same(rt, ng.Runtime.from_parquet(d))
    other.to_parquet(d, partitions=3, overwrite=True)
    assert len(ng.Runtime.from_parquet(d).tokens) == 1
    assert sorted(os.listdir(tmp_path)) == ["lab"], "no temporary or old directory is left"


def test_a_directory_that_is_not_a_dataset_is_never_replaced(tmp_path: Path) -> None:
    d = tmp_path / "notes"
    d.mkdir()
    (d / "thesis.tex").write_text("keep")
    with pytest.raises(ng.DatasetError, match="not a dataset"):
        ng.Runtime().to_parquet(d, overwrite=True)
    assert (d / "thesis.tex").read_text() == "keep"
    empty = tmp_path / "empty"
    empty.mkdir()
    ng.Runtime().to_parquet(empty)
    assert (empty / "meta.json").is_file()


def test_bad_arguments(tmp_path: Path) -> None:
    rt = ng.Runtime()
    for bad in [0, -1, 100_001, 2.5, "4", True]:
        with pytest.raises(ng.ValidationError, match="partitions"):
            rt.to_parquet(tmp_path / "x", partitions=bad)
    assert not (tmp_path / "x").exists()
    f = tmp_path / "file.parquet"
    f.write_bytes(b"x")
    with pytest.raises(ng.DatasetError, match="not a directory"):
        rt.to_parquet(f)
    with pytest.raises(ng.DatasetError, match="not a directory"):
        ng.Runtime.from_parquet(f)
    with pytest.raises(FileNotFoundError):
        ng.Runtime.from_parquet(tmp_path / "nothing")
    with pytest.raises(ng.DatasetError, match="parent"):
        rt.to_parquet(tmp_path / "no" / "such" / "parent")
    with pytest.raises(ng.ValidationError, match="overwrite"):
        rt.to_parquet(tmp_path / "y", overwrite="yes")


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[ng.Runtime, Path]:
    rt = learned_runtime()
    rt.to_parquet(tmp_path / "lab", partitions=3)
    return rt, tmp_path / "lab"


def refused(d: Path, match: str) -> None:
    with pytest.raises(ng.DatasetError, match=match):
        ng.Runtime.from_parquet(d)


def test_truncated_or_corrupted_parts_are_refused_by_name(dataset: tuple[ng.Runtime, Path]) -> None:
    rt, d = dataset
    part = d / "connections" / "part-00001.parquet"
    good = part.read_bytes()
    part.write_bytes(good[: len(good) // 2])
    refused(d, r"connections/part-00001\.parquet.*truncated")
    # a refused read changes nothing in a runtime it was to replace
    keep = ng.Runtime()
    keep.tokens.create(cognitive=(0.5, 0.5, 0.5), label="kept")
    with pytest.raises(ng.DatasetError):
        keep._core.load_parquet(str(d))
    assert len(keep.tokens) == 1 and keep.tokens.find("kept").size == 1
    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0x10
    part.write_bytes(bytes(flipped))
    refused(d, r"part-00001\.parquet.*corrupted")
    part.unlink()
    refused(d, r"part-00001\.parquet.*missing")
    part.write_bytes(good)
    (d / "tokens" / "part-00003.parquet").write_bytes(good)
    refused(d, r"tokens/part-00003\.parquet.*not listed")
    (d / "tokens" / "part-00003.parquet").unlink()
    assert_same(rt, ng.Runtime.from_parquet(d))


def test_bad_meta_and_wrong_schema_are_refused(dataset: tuple[ng.Runtime, Path]) -> None:
    _, d = dataset
    meta_path = d / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text("{ not json")
    refused(d, r"meta\.json.*not valid JSON")
    meta_path.write_text(json.dumps({**meta, "format_version": 99}))
    refused(d, r"meta\.json.*version 99")
    meta_path.write_text(json.dumps({**meta, "counts": {**meta["counts"], "tokens": 1}}))
    refused(d, r"counts\.tokens")
    meta_path.unlink()
    refused(d, r"meta\.json.*missing")
    # a part with the right name, size and checksum in meta.json but another schema
    part = d / "tokens" / "part-00000.parquet"
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.uint32()), "x": [1.0, 2.0]}), part)
    data = part.read_bytes()
    import zlib

    meta["parts"]["tokens"][0].update(bytes=len(data), crc32=zlib.crc32(data), rows=2)
    meta["counts"]["tokens"] = sum(p["rows"] for p in meta["parts"]["tokens"])
    meta_path.write_text(json.dumps(meta))
    refused(d, r"tokens/part-00000\.parquet.*wrong schema")


def test_a_killed_writer_leaves_the_previous_dataset_readable(tmp_path: Path) -> None:
    d = tmp_path / "lab"
    small = ng.Runtime()
    small.tokens.create_many(np.zeros((10, 8, 3), np.float32))
    small.to_parquet(d, partitions=2)
    script = textwrap.dedent(
        f"""
        import numpy as np, neurograph_lab as ng, sys
        rt = ng.Runtime()
        rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (400_000, 8, 3)).astype(np.float32))
        print("ready", flush=True)
        while True:
            rt.to_parquet({str(d)!r}, partitions=16, overwrite=True)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        import time

        time.sleep(1.0)  # somewhere inside a write (or between two): either must be safe
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert p.stdout is not None
        p.stdout.close()
    back = ng.Runtime.from_parquet(d)
    assert len(back.tokens) in (10, 400_000)
    # a later write cleans up nothing it should not, and succeeds
    small.to_parquet(d, overwrite=True)
    assert len(ng.Runtime.from_parquet(d).tokens) == 10


# -- partition writers for workers -------------------------------------------------------------


def test_parts_written_by_workers_open_as_the_runtime_would_build_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    n = 50
    coords = rng.uniform(-1, 1, (n, 8, 3)).astype(np.float32)
    coords[::2, 0] = np.nan
    ids = np.arange(1, n + 1, dtype=np.uint32)
    labels = [f"t{i}" if i % 2 else None for i in range(n)]
    ref = ng.Runtime()
    ref.tokens.create_many(coords, ids=ids, labels=labels, undefined="nan")
    a, b = ids[:-1], ids[1:]
    ref.connections.create_many(a, b, kind="associated_with")

    tmp = K.dataset_tempdir(tmp_path / "lab")
    info = K.write_tokens_part(tmp, 0, {"id": ids[:20], "coords": coords[:20], "label": labels[:20]})
    assert info == {**info, "file": "tokens/part-00000.parquet", "rows": 20}
    K.write_tokens_part(tmp, 1, {"id": ids[20:], "coords": coords[20:], "label": labels[20:]})
    cid = np.arange(1, n, dtype=np.uint32)
    K.write_connections_part(tmp, 0, {"id": cid, "token_a": a, "token_b": b})
    s = K.finish_dataset(tmp, tmp_path / "lab", cdna=ref.cdna.to_bytes())
    assert (s["tokens"], s["connections"]) == (n, n - 1)
    assert not Path(tmp).exists()
    back = ng.Runtime.from_parquet(tmp_path / "lab")
    tb, cb = columns(back)
    tr, cr = columns(ref)
    for k in ["id", "coords", "weight", "entity", "flags", "defined", "field_radius"]:
        np.testing.assert_array_equal(tb[k], tr[k], err_msg=k)
    assert tb["label"] == tr["label"]
    for k in ["id", "token_a", "token_b", "kind", "strength", "rigidity", "confidence", "mutability"]:
        np.testing.assert_array_equal(cb[k], cr[k], err_msg=k)
    assert back.cdna.to_bytes() == ref.cdna.to_bytes()
    assert back.tokens.create(cognitive=(0, 0, 0)) == n + 1


def test_part_writers_refuse_bad_input(tmp_path: Path) -> None:
    tmp = K.dataset_tempdir(tmp_path / "lab")
    coords = np.zeros((2, 8, 3), np.float32)
    ids = np.array([1, 2], np.uint32)
    with pytest.raises(ng.ValidationError, match='unknown column "colour"'):
        K.write_tokens_part(tmp, 0, {"id": ids, "coords": coords, "colour": ids})
    with pytest.raises(ng.ValidationError, match="coords"):
        K.write_tokens_part(tmp, 0, {"id": ids})
    bad = coords.copy()
    bad[1, 4, 0] = 99.0
    with pytest.raises(ng.ValidationError, match="row 1"):
        K.write_tokens_part(tmp, 0, {"id": ids, "coords": bad})
    with pytest.raises(ng.ValidationError, match="confidence"):
        K.write_connections_part(
            tmp, 0, {"id": ids, "token_a": ids, "token_b": ids, "confidence": np.array([0.5, 2.0])}
        )
    K.write_tokens_part(tmp, 1, {"id": ids, "coords": coords})
    with pytest.raises(ng.DatasetError, match="part-00000"):
        K.finish_dataset(tmp, tmp_path / "lab")
    assert not (tmp_path / "lab").exists()


def test_vectors_and_bootstrap_model_from_parts(tmp_path: Path) -> None:
    rt, _ = booted_runtime(60, 8)
    words, ids = rt.bootstrap_vocabulary()
    rt.to_parquet(tmp_path / "ref", partitions=1)
    meta = json.loads((tmp_path / "ref" / "meta.json").read_text())
    vec = pq.read_table(tmp_path / "ref" / "vectors" / "part-00000.parquet")
    vectors = np.stack(vec["vector"].to_numpy(zero_copy_only=False)).astype(np.float32)
    pca = bytes.fromhex(meta["bootstrap"]["pca_bytes_hex"])
    dim, m = np.frombuffer(pca[8:16], np.uint32)
    body = np.frombuffer(pca[24 : 24 + 4 * dim * (m + 1)], np.float32)
    var = np.frombuffer(pca[24 + 4 * dim * (m + 1) :], np.float64)
    model = {
        "mean": body[:dim],
        "components": body[dim:].reshape(m, dim),
        "explained_variance": var[:m],
        "explained_ratio": var[m:],
        "total_variance": float(np.frombuffer(pca[16:24], np.float64)[0]),
    }
    tmp = K.dataset_tempdir(tmp_path / "lab")
    tok = rt._core.token_columns(None, None, False)
    K.write_tokens_part(tmp, 0, {"id": tok["id"], "coords": tok["coords"], "label": tok["label"]})
    K.write_vectors_part(tmp, 0, words[:30], ids[:30], vectors[:30])
    K.write_vectors_part(tmp, 1, words[30:], ids[30:], vectors[30:])
    spaces = [(s["space"], s["first_axis"]) for s in meta["bootstrap"]["spaces"]]
    K.finish_dataset(
        tmp, tmp_path / "lab", bootstrap={"seed": meta["bootstrap"]["seed"], "spaces": spaces, "pca": model}
    )
    back = ng.Runtime.from_parquet(tmp_path / "lab")
    assert back.bootstrap_info() == rt.bootstrap_info()
    w2, i2 = back.bootstrap_vocabulary()
    assert w2 == words and np.array_equal(i2, ids)
    assert np.array_equal(back.query("w3", k=5).ids, rt.query("w3", k=5).ids)
