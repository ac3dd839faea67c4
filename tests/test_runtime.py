"""The Runtime as a whole: PyRuntime operation names, status, metrics, events, threads."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import neurograph_lab as ng

PYRUNTIME_OPERATIONS = [
    "create_token",
    "get_token",
    "update_token",
    "delete_token",
    "list_tokens",
    "count_tokens",
    "clear_tokens",
    "create_connection",
    "get_connection",
    "delete_connection",
    "list_connections",
    "count_connections",
    "get_connections_for_token",
    "get_grid_info",
    "find_neighbors",
    "range_query",
    "get_cdna_config",
    "get_cdna_scales",
    "update_cdna_scales",
    "get_cdna_profile",
    "set_cdna_profile",
    "get_cdna_flags",
    "set_cdna_flags",
    "validate_cdna",
    "export_metrics",
]


def test_pyruntime_operations_exist_on_the_compiled_class():
    assert len(PYRUNTIME_OPERATIONS) == 25  # + bootstrap/query/feedback below
    for name in PYRUNTIME_OPERATIONS + ["bootstrap", "query", "feedback"]:
        assert callable(getattr(ng._core.Runtime, name)), name
        assert callable(getattr(ng.Runtime(), name)), name


def test_pyruntime_operations_work(rt):
    tid = rt.create_token(cognitive=(0.5, 0.5, 0.5), label="x", entity="goal", weight=0.4)
    other = rt.create_token(coords=[None] * 4 + [(0.1, 0.1, 0.1)] + [None] * 3)
    assert rt.get_token(tid)["label"] == "x" and rt.get_token(tid)["entity"] == "goal"
    assert rt.get_token(other)["coords"]["cognitive"] == pytest.approx([0.1, 0.1, 0.1])
    rt.update_token(tid, weight=0.6)
    assert rt.get_token(tid)["weight"] == pytest.approx(0.6)
    assert rt.count_tokens() == 2 and len(rt.list_tokens()) == 2
    cid = rt.create_connection(tid, other, "cause", strength=0.9)
    assert rt.get_connection(cid)["kind"] == "cause"
    assert rt.count_connections() == 1 and len(rt.list_connections()) == 1
    assert [c["id"] for c in rt.get_connections_for_token(other)] == [cid]
    rt.delete_connection(cid)
    assert rt.count_connections() == 0
    rt.set_cdna_profile("analyst")
    assert rt.get_cdna_profile() == "analyst" and rt.get_cdna_flags()["STRICT_MODE"]
    rt.update_cdna_scales({"cognitive": 2.0})
    assert rt.get_cdna_scales()["cognitive"] == 2.0
    rt.set_cdna_flags({"STRICT_MODE": False})
    assert rt.validate_cdna() == {"valid": True, "problems": []}
    assert rt.get_cdna_config()["header"]["profile"] == "analyst"
    assert "neurograph_tokens 2" in rt.export_metrics()
    rt.delete_token(tid)
    rt.clear_tokens()
    assert rt.count_tokens() == 0


def test_pyruntime_semantic_operations():
    from neurograph_lab.datasets import planted_embeddings

    words, vecs = planted_embeddings(words_per_cluster=10, pairs=3, dim=20)
    core = ng._core.Runtime()
    report = core.bootstrap(words, vecs, "abstract", 3)
    assert report["words"] == len(words)
    hits = core.query("fruit2", 3)
    assert [w for w, _, _ in hits][0].startswith("fruit") and all(s <= 1.0001 for _, _, s in hits)
    src = core.find_label("fruit2")[0]
    assert all(o in {"updated", "unchanged"} for _, o in core.feedback(int(src), hits[0][1], True))


def test_pyruntime_grid_operations(filled):
    rt, ids = filled
    near = rt.find_neighbors(int(ids[0]), k=3)
    assert [i for i, _ in near] == rt.grid.neighbors(int(ids[0]), k=3).ids.tolist()
    assert all(d >= 0 for _, d in rt.range_query([0, 0, 0], 0.5, space="social"))
    info = rt.get_grid_info()
    assert list(info) == list(ng.SPACES) and info["cognitive"]["tokens"] == 50


def test_status_reprs(filled):
    rt, _ = filled
    s = rt.status()
    assert (s.tokens, s.connections, s.labels, s.profile) == (50, 11, 50, "default")
    assert "tokens" in repr(s) and "50" in repr(s)
    assert "<table" in s._repr_html_()
    assert s.to_pandas()["tokens"] == 50
    assert repr(rt).startswith("NeuroGraph runtime")


def test_metrics_prometheus_text(filled):
    rt, ids = filled
    rt.tokens[int(ids[0])]
    text = rt.metrics()
    assert "# TYPE neurograph_operation_seconds histogram" in text
    assert 'neurograph_operation_seconds_count{op="token_get"} 1' in text
    assert 'neurograph_operation_seconds_count{op="token_create_many"} 1' in text
    assert "neurograph_tokens 50" in text and "neurograph_connections 11" in text
    assert 'neurograph_memory_bytes{part="tokens"}' in text
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            float(value)


def test_events_frame(filled):
    rt, _ = filled
    ev = rt.events()
    assert list(ev.columns) == ["time", "kind", "target", "accepted", "reason"]
    assert ev["kind"].tolist()[:2] == ["token.create_many", "connection.create_many"]
    assert ev["target"].iloc[0] == "50 tokens"
    assert len(rt.events(last=1)) == 1
    assert pd.api.types.is_datetime64_any_dtype(ev["time"])


def test_threads_share_one_store_safely():
    rt = ng.Runtime()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        try:
            rng = np.random.default_rng(seed)
            for _ in range(20):
                ids = rt.tokens.create_many(rng.uniform(-1, 1, (500, 8, 3)))
                rt.connections.create_many(ids[:-1], ids[1:])
                len(rt.tokens)
                rt.tokens.coords("cognitive")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(rt.tokens) == 4 * 20 * 500
    assert len(np.unique(rt.tokens.ids())) == 4 * 20 * 500
    assert len(rt.connections) == 4 * 20 * 499


def test_extension_binds_and_adopts_ng_rt():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.user_ns.pop("ng_rt", None)
        shell.run_line_magic("load_ext", "neurograph_lab")
        assert isinstance(shell.user_ns["ng_rt"], ng.Runtime)
        mine = ng.Runtime()
        shell.user_ns["ng_rt"] = mine
        shell.run_line_magic("reload_ext", "neurograph_lab")
        assert shell.user_ns["ng_rt"] is mine
    finally:
        InteractiveShell.clear_instance()


def test_every_refused_write_is_logged(rt):
    with pytest.raises(ng.ValidationError):
        rt.tokens.create_many(np.full((2, 8, 3), np.nan))
    with pytest.raises(ng.ValidationError):
        rt.tokens.create(cognitive=(float("inf"), 0, 0))
    with pytest.raises(ng.ValidationError, match="unknown CDNA profile"):
        rt.cdna.profile = "wizard"
    with pytest.raises(ng.NotFoundError):
        rt.tokens.delete(42)
    ev = rt.events()
    assert ev["accepted"].tolist() == [False] * 4
    assert ev["kind"].tolist() == ["token.create_many", "token.create", "cdna.change", "token.delete"]
    assert "row 0: physical.x is NaN" in ev["reason"].iloc[0]
    assert rt.status().rejections == 4


def test_error_messages_show_exact_ranges(rt):
    with pytest.raises(ng.ValidationError) as e:
        rt.tokens.create(cognitive=(3.3, 0, 0))
    assert "cognitive.x = 3.3 is outside the space's range [-3.2767, 3.2767]" in str(e.value)
    tid = rt.tokens.create(physical=(327.67, -32.5, 0.01), motor=(32.767, 0, 0))
    t = rt.tokens[tid]
    assert t.coords["physical"] == (327.67, -32.5, 0.01) and t.coords["motor"] == (32.767, 0.0, 0.0)


def test_scans_are_timed(filled):
    rt, _ = filled
    rt.tokens.to_pandas()
    rt.tokens.coords("cognitive")
    rt.connections.list()
    text = rt.metrics()
    assert 'neurograph_operation_seconds_count{op="token_scan"} 2' in text
    assert 'neurograph_operation_seconds_count{op="connection_scan"} 1' in text
