"""neurograph_lab.distributed on a real LocalCluster (2 worker processes, 1 thread each):
every job returns exactly what the single-process runtime returns on the same data."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import distributed
import numpy as np
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

import neurograph_lab as ng
from neurograph_lab import distributed as D

pytestmark = pytest.mark.filterwarnings(
    # distributed's own resource warnings when a cluster shuts down with tasks in flight
    "ignore::ResourceWarning",
    "ignore:Port .* is already in use:UserWarning",
    "ignore:Creating scratch directories is taking a surprisingly long time:UserWarning",
)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"RAYON_NUM_THREADS": "1"},
    )
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def vectors(n: int, dim: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    # a few directions with noise: real neighbourhoods and real principal axes
    centres = rng.normal(size=(12, dim))
    x = centres[rng.integers(0, 12, n)] + 0.6 * rng.normal(size=(n, dim))
    return [f"w{i}" for i in range(n)], x.astype(np.float32)


def edge_set(df: pd.DataFrame) -> list[tuple[int, int, float]]:
    return sorted(zip(df["token_a"].tolist(), df["token_b"].tolist(), df["strength"].astype(np.float32).tolist()))


def assert_same_bootstrap(boot: D.DistributedBootstrap, rt: ng.Runtime, spaces: list[str]) -> None:
    words, ids = rt.bootstrap_vocabulary()
    assert boot.words == words
    np.testing.assert_array_equal(boot.ids, ids)
    assert edge_set(boot.edges) == edge_set(rt.connections.to_pandas())
    info = rt.bootstrap_info()
    np.testing.assert_allclose(boot.model["explained_ratio"], info["explained_variance_ratio"], rtol=1e-4)
    for space in spaces:
        j = ng.SPACES.index(space)
        np.testing.assert_allclose(rt.tokens.coords(space), boot.coords[:, j], atol=3 / ng.SPACE_SCALES[space])
    assert boot.report.connections == len(rt.connections)


def test_check_sees_the_same_build_on_every_worker(client: Client) -> None:
    df = D.check(client)
    assert len(df) == 2
    assert set(df["version"]) == {ng.__version__}
    assert set(df["rayon_threads"]) == {"1"}
    assert set(df["nthreads"]) == {1}


def test_bootstrap_of_an_array_equals_the_single_process_bootstrap(client: Client) -> None:
    words, x = vectors(3001, 24)
    rt = ng.Runtime()
    rt.bootstrap(x, words, space=["abstract", "cognitive"], k=6)
    boot = D.bootstrap(x, client, words, space=["abstract", "cognitive"], k=6, block_rows=700)
    assert_same_bootstrap(boot, rt, ["abstract", "cognitive"])
    assert boot.report.words == 3001 and boot.report.spaces == ["abstract", "cognitive"]


def test_bootstrap_of_a_text_file_in_blocks_equals_the_single_process_bootstrap(client: Client, tmp_path: Path) -> None:
    words, x = vectors(2500, 20, seed=3)
    path = tmp_path / "vectors.vec"
    with open(path, "w") as f:
        f.write(f"{len(words)} 20\n")
        for w, row in zip(words, x):
            f.write(w + " " + " ".join(f"{v:.5f}" for v in row) + "\n")
    rt = ng.Runtime()
    rt.bootstrap(str(path), k=5)
    # 37,001 bytes a block: blocks end mid-line, and do not divide the file
    boot = D.bootstrap(str(path), client, k=5, blocksize=37_001)
    # space="auto": 20 dims fill 6 spaces, abstract first, as in one process
    assert boot.report.spaces == ["abstract", "cognitive", "temporal", "social", "emotional", "motor"]
    assert_same_bootstrap(boot, rt, boot.report.spaces)


def test_bootstrap_errors_keep_their_class_and_name_the_line(client: Client, tmp_path: Path) -> None:
    words, x = vectors(400, 6, seed=5)
    lines = [w + " " + " ".join(f"{v:.4f}" for v in row) for w, row in zip(words, x)]
    lines[300] = "broken 1.0 2.0"
    path = tmp_path / "bad.vec"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ng.ValidationError, match="line 301") as e:
        D.bootstrap(str(path), client, k=3, blocksize=5_000)
    assert type(e.value) is ng.ValidationError
    skipped = D.bootstrap(str(path), client, k=3, blocksize=5_000, errors="skip")
    assert skipped.report.skipped_lines == 1 and skipped.report.words == 399
    dup = list(words)
    dup[350] = dup[20]
    with pytest.raises(ng.ValidationError, match=r"words\[350\] = 'w20' repeats words\[20\]"):
        D.bootstrap(x, client, dup, k=3, block_rows=100)
    bad = x.copy()
    bad[123, 2] = np.nan
    with pytest.raises(ng.ValidationError, match="'w123' holds a non-finite value"):
        D.bootstrap(bad, client, words, k=3, block_rows=100)
    with pytest.raises(ng.ValidationError, match="at least 2 words"):
        D.bootstrap(x[:1], client, words[:1], space="cognitive", block_rows=100)


def test_query_many_equals_the_runtime(client: Client) -> None:
    words, x = vectors(4000, 16, seed=7)
    rt = ng.Runtime()
    rt.bootstrap(x, words, space="cognitive", k=0)
    q = np.random.default_rng(1).normal(size=(33, 16)).astype(np.float32)
    want_ids, want_scores = rt.query_many(q, k=9)
    ids, scores = D.query_many(rt, q, 9, client=client, block_rows=999)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(scores, want_scores)
    with pytest.raises(ng.ValidationError, match="zero vector"):
        D.query_many(rt, np.zeros((1, 16)), 3, client=client)
    with pytest.raises(ng.ValidationError, match="16"):
        D.query_many(rt, q[:, :4], 3, client=client)


def test_components_equal_the_runtime(client: Client) -> None:
    rng = np.random.default_rng(11)
    rt = ng.Runtime()
    ids = rt.tokens.create_many(rng.uniform(-1, 1, (3000, 8, 3)).astype(np.float32))
    a, b = rng.integers(0, 3000, 1800), rng.integers(0, 3000, 1800)
    keep = a != b
    rt.connections.create_many(ids[a[keep]], ids[b[keep]], kind="cause")
    want = rt.graph.components()
    got = D.components(rt, client=client, partitions=5)
    pd.testing.assert_series_equal(got, want, check_dtype=False, check_index_type=False)
    # edge arrays with the vertex order given
    cols = rt.connections.to_pandas()
    got2 = D.components((cols["token_a"].to_numpy(), cols["token_b"].to_numpy()), client=client, ids=ids)
    np.testing.assert_array_equal(got2.to_numpy(), want.to_numpy())
    with pytest.raises(ng.ValidationError, match="components takes"):
        D.components(42, client=client)
    with pytest.raises(FileNotFoundError, match="not a dataset directory"):
        D.components("no/such/dataset", client=client)


def experiment(rt: ng.Runtime) -> dict[str, Any]:
    return {"now": rt.cdna.profile, "max_out": rt.cdna["max_out_degree"], "tokens": len(rt.tokens)}


def test_sweep_runs_each_cdna_variant_on_a_copy(client: Client, filled: Any) -> None:
    rt, _ = filled
    grid = {"profile": ["default", "explorer", "analyst"], "max_out_degree": [40, 80]}
    df = D.sweep(experiment, grid, runtime=rt, client=client)
    assert len(df) == 6
    want = []
    for p in grid["profile"]:
        for m in grid["max_out_degree"]:
            local = ng.Runtime.from_bytes(rt.to_bytes())
            local.cdna.set_profile(p)
            local.cdna.update(max_out_degree=m)
            want.append({"profile": p, "max_out_degree": m, **experiment(local)})
    pd.testing.assert_frame_equal(df, pd.DataFrame(want))
    assert rt.cdna.profile == "default"  # the base runtime is untouched
    # a change the Guardian refuses raises on the worker and arrives as ValidationError
    with pytest.raises(ng.ValidationError) as e:
        D.sweep(experiment, [{"max_out_degree": -5}], runtime=rt, client=client)
    assert type(e.value) is ng.ValidationError


def test_an_error_raised_on_a_worker_keeps_its_class(client: Client) -> None:
    def fail() -> None:
        raise ng.NotFoundError("token 7 does not exist")

    with pytest.raises(ng.NotFoundError, match="token 7"):
        client.submit(fail, pure=False).result()


def test_a_runtime_sent_to_a_worker_says_what_to_do_instead(client: Client, filled: Any) -> None:
    rt, ids = filled
    with pytest.raises(TypeError, match="cannot be pickled") as e:
        pickle.dumps(rt)
    assert "rt.to_bytes()" in str(e.value) and "ng.distributed.sweep" in str(e.value)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(rt._core)
    with pytest.raises(TypeError) as e:
        client.submit(len, rt.tokens, pure=False).result()
    chain, err = [], e.value
    while err is not None:
        chain.append(str(err))
        err = err.__cause__ or err.__context__
    assert any("rt.to_bytes()" in m for m in chain), chain
    # results pickle without the runtime and still show labels and coordinates
    res = rt.grid.neighbors(int(ids[0]), k=4, space="cognitive")
    copy = pickle.loads(pickle.dumps(res))
    assert copy.labels == res.labels
    pd.testing.assert_frame_equal(copy.to_pandas(), res.to_pandas())
    path = rt.graph.shortest_path(int(ids[0]), int(ids[10]))
    assert pickle.loads(pickle.dumps(path)).labels == path.labels
    # and a snapshot round trip is the way to send one
    back = ng.Runtime.from_bytes(rt.to_bytes())
    assert len(back.tokens) == len(rt.tokens) and len(back.connections) == len(rt.connections)
    with pytest.raises(ng.SnapshotError):
        ng.Runtime.from_bytes(b"not a snapshot")


def test_bad_arguments_are_refused_before_any_task(client: Client) -> None:
    words, x = vectors(50, 6)
    with pytest.raises(ng.ValidationError, match="client must be a dask.distributed.Client"):
        D.bootstrap(x, "localhost:8786", words)
    with pytest.raises(ng.ValidationError, match="k"):
        D.bootstrap(x, client, words, k=-1)
    with pytest.raises(ng.ValidationError, match="errors must be"):
        D.bootstrap(x, client, words, errors="ignore")
    with pytest.raises(ng.ValidationError, match="needs words"):
        D.bootstrap(x, client)
    with pytest.raises(FileNotFoundError):
        D.bootstrap("/nonexistent/vectors.vec", client)
    with pytest.raises(ng.ValidationError, match="takes an ng.Runtime"):
        D.query_many(x, x, 3, client=client)
    with pytest.raises(ng.ValidationError, match="cdna_grid"):
        D.sweep(experiment, ["explorer"], runtime=ng.Runtime(), client=client)


def test_importing_neurograph_lab_does_not_import_dask() -> None:
    code = "import sys, neurograph_lab; assert 'dask' not in sys.modules and 'distributed' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bootstrap_writes_a_dataset_that_opens_as_the_single_process_runtime(client: Client, tmp_path: Path) -> None:
    words, x = vectors(2200, 18, seed=9)
    rt = ng.Runtime()
    rt.bootstrap(x, words, space=["abstract", "cognitive"], k=5)
    out = tmp_path / "lab"
    boot = D.bootstrap(x, client, words, space=["abstract", "cognitive"], k=5, block_rows=601, out=out)
    assert boot.path == str(out) and (out / "meta.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab"]  # no temporary directory left
    back = boot.open()
    assert back.bootstrap_vocabulary()[0] == rt.bootstrap_vocabulary()[0]
    np.testing.assert_array_equal(back.bootstrap_vocabulary()[1], rt.bootstrap_vocabulary()[1])
    assert edge_set(back.connections.to_pandas()) == edge_set(rt.connections.to_pandas())
    # every connection field but the creation time, ids included
    pd.testing.assert_frame_equal(
        back.connections.to_pandas().drop(columns="created_at"), rt.connections.to_pandas().drop(columns="created_at")
    )
    mine, theirs = back.tokens.to_pandas(), rt.tokens.to_pandas()
    pd.testing.assert_index_equal(mine.index, theirs.index)
    for c in ["label", "entity", "weight", "field_radius", "field_strength"]:
        pd.testing.assert_series_equal(mine[c], theirs[c])
    for space in ["abstract", "cognitive"]:  # placed by the summed PCA: equal up to rounding
        np.testing.assert_allclose(back.tokens.coords(space), rt.tokens.coords(space), atol=3 / ng.SPACE_SCALES[space])
    q = np.random.default_rng(2).normal(size=(7, 18)).astype(np.float32)
    want = rt.query_many(q, k=6)
    for a, b in zip(back.query_many(q, k=6), want):
        np.testing.assert_array_equal(a, b)
    # query_many straight from the dataset: the workers read the vectors parts
    for a, b in zip(D.query_many(str(out), q, 6, client=client), want):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        back.bootstrap_info()["explained_variance_ratio"], rt.bootstrap_info()["explained_variance_ratio"], rtol=1e-4
    )
    # the directory is not replaced unless asked, and a failed job leaves nothing behind
    with pytest.raises(ng.NeuroGraphError):
        D.bootstrap(x, client, words, k=5, block_rows=601, out=out)
    D.bootstrap(x, client, words, k=5, block_rows=601, out=out, overwrite=True)
    bad = x.copy()
    bad[1500, 0] = np.inf
    with pytest.raises(ng.ValidationError):
        D.bootstrap(bad, client, words, k=5, block_rows=601, out=tmp_path / "never")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab"]


class KillOnWrite(distributed.WorkerPlugin):
    """A worker plugin that kills its worker process as a dataset part write starts: a worker
    dying in the middle of the job's last stage."""

    name = "kill-on-write"

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish == "executing" and str(key).startswith("_write_block_task"):
            import os

            os._exit(1)


def test_a_worker_killed_while_writing_leaves_no_dataset(tmp_path: Path) -> None:
    import dask

    words, x = vectors(1500, 8, seed=4)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env={"RAYON_NUM_THREADS": "1"}
        )
    with cluster, Client(cluster) as c:
        c.register_plugin(KillOnWrite())
        with pytest.raises(distributed.KilledWorker):
            D.bootstrap(x, c, words, k=4, block_rows=400, out=tmp_path / "lab")
        assert list(tmp_path.iterdir()) == []  # neither the dataset nor a temporary directory
        c.unregister_worker_plugin("kill-on-write")
        boot = D.bootstrap(x, c, words, k=4, block_rows=400, out=tmp_path / "lab")
        assert len(boot.open().tokens) == 1500


def slow(rt: ng.Runtime) -> dict[str, Any]:
    import time

    time.sleep(5)
    return {"tokens": len(rt.tokens)}


def test_ctrl_c_cancels_the_jobs_futures(client: Client, filled: Any) -> None:
    import os
    import signal
    import threading
    import time

    rt, _ = filled
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            D.sweep(slow, [{"max_out_degree": m} for m in (10, 20, 30, 40)], runtime=rt, client=client)
    finally:
        timer.cancel()
    # the scheduler forgets every task of the job at once (the running ones finish unseen)
    deadline = time.monotonic() + 3
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(client.processing().values())
    assert not [k for k in client.futures if str(k).startswith("_sweep_task")]


def test_components_of_a_dataset_read_by_the_workers(client: Client, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rt = ng.Runtime()
    ids = rt.tokens.create_many(rng.uniform(-1, 1, (2000, 8, 3)).astype(np.float32))
    a, b = rng.integers(0, 2000, 1500), rng.integers(0, 2000, 1500)
    keep = a != b
    rt.connections.create_many(ids[a[keep]], ids[b[keep]], kind="cause")
    rt.tokens.delete(ids[:50])  # store order is no longer id order
    rt.to_parquet(tmp_path / "lab", partitions=3)
    got = D.components(str(tmp_path / "lab"), client=client)
    pd.testing.assert_series_equal(got, rt.graph.components(), check_dtype=False, check_index_type=False)
    with pytest.raises(FileNotFoundError, match="no meta.json"):
        D.components(str(tmp_path), client=client)


def test_check_names_workers_that_run_another_build(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # this process claims another version of the core; the workers report their real one
    import types

    real = D._build_info()
    monkeypatch.setattr(D, "_core", types.SimpleNamespace(__file__=ng._core.__file__, __version__="0.0.0-other"))
    with pytest.raises(ng.NeuroGraphError, match=r"another neurograph_lab build than this process \(0.0.0-other") as e:
        D.check(client)
    assert f"({real['version']}, core {real['core_sha256']})" in str(e.value)
    assert "install the same wheel on every worker" in str(e.value)


def test_bootstrap_keeps_the_degree_limits_of_the_cdna_given(client: Client, tmp_path: Path) -> None:
    words, x = vectors(1200, 10, seed=8)
    rt = ng.Runtime()
    rt.cdna.update(max_in_degree=3, max_total_degree=8)
    report = rt.bootstrap(x, words, space="cognitive", k=6)
    assert report.dropped_for_degree > 0
    boot = D.bootstrap(
        x, client, words, space="cognitive", k=6, block_rows=333, cdna=rt.cdna.to_bytes(), out=tmp_path / "lab"
    )
    assert boot.report.dropped_for_degree == report.dropped_for_degree
    assert edge_set(boot.edges) == edge_set(rt.connections.to_pandas())
    assert boot.open().cdna["max_in_degree"] == 3
