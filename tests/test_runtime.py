"""The Runtime as a whole: PyRuntime operation names, status, metrics, events, threads."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import neurograph_lab as ng
from neurograph_lab._legacy import LEGACY_OPERATIONS

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


#: what ``dir(ng.Runtime())`` shows besides the earlier names (M2: the facade holds the
#: compiled runtime instead of inheriting its ~50 binding methods)
PUBLIC_API = {
    "tokens",
    "connections",
    "cdna",
    "grid",
    "graph",
    "intuition",
    "bootstrap",
    "query",
    "query_many",
    "feedback",
    "events",
    "status",
    "metrics",
    "save",
    "load",
    # a runtime as snapshot bytes (to another process) and as a Parquet dataset
    "to_bytes",
    "from_bytes",
    "to_parquet",
    "from_parquet",
    # used by the tutorials: labels of ids, and what the bootstrap placed
    "labels_of",
    "bootstrap_info",
    "bootstrap_vocabulary",
}


def test_dir_shows_the_public_api_and_the_earlier_names_only():
    # M2: ng.Runtime composes _core.Runtime; binding internals (token_columns, grid_range_many,
    # status_dict ...) are not on it, and every public name is documented
    rt = ng.Runtime()
    public = {name for name in dir(rt) if not name.startswith("_")}
    assert public == PUBLIC_API | set(PYRUNTIME_OPERATIONS)
    assert set(LEGACY_OPERATIONS) == set(PYRUNTIME_OPERATIONS) | {"bootstrap", "query", "feedback"}
    assert not isinstance(rt, ng._core.Runtime) and isinstance(rt._core, ng._core.Runtime)
    for name in public:
        assert (getattr(ng.Runtime, name).__doc__ or "").strip(), name


def test_labels_and_bootstrap_figures_on_the_facade():
    # the three binding reads the tutorials use stay on ng.Runtime as documented methods (M2)
    from neurograph_lab.datasets import planted_embeddings

    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((3, 8, 3)), labels=["a", None, "c"])
    assert rt.labels_of(ids[::-1]) == ["c", None, "a"] and rt.bootstrap_info() is None
    with pytest.raises(ng.ValidationError, match="ids"):
        rt.labels_of([-1])
    words, vecs = planted_embeddings(words_per_cluster=4, pairs=2, dim=8)
    rt.bootstrap(vecs, words, k=2, progress=False)
    vocab, vocab_ids = rt.bootstrap_vocabulary()
    assert sorted(vocab) == sorted(words) and rt.labels_of(vocab_ids) == vocab
    assert rt.bootstrap_info()["words"] == len(words)


# M9: each earlier read operation on ng.Runtime returns what the compiled method returns for
# the same arguments (so the forwarder passes every argument through)
READ_CALLS = {
    "get_token": lambda ids: ((int(ids[3]),), {}),
    "list_tokens": lambda ids: ((5, 10), {}),
    "count_tokens": lambda ids: ((), {}),
    "get_connection": lambda ids: ((2,), {}),
    "list_connections": lambda ids: ((3, 2), {}),
    "count_connections": lambda ids: ((), {}),
    "get_connections_for_token": lambda ids: ((int(ids[0]),), {}),
    "get_grid_info": lambda ids: ((), {}),
    "find_neighbors": lambda ids: ((int(ids[0]),), {"k": 4, "space": "L2"}),
    "range_query": lambda ids: (([0.1, 0.2, 0.3], 0.7), {"space": 6}),
    "get_cdna_config": lambda ids: ((), {}),
    "get_cdna_scales": lambda ids: ((), {}),
    "get_cdna_profile": lambda ids: ((), {}),
    "get_cdna_flags": lambda ids: ((), {}),
    "validate_cdna": lambda ids: ((), {}),
}
#: the changing operations, each checked by its effect in test_pyruntime_operations_work
WRITE_OPERATIONS = {
    "create_token",
    "update_token",
    "delete_token",
    "clear_tokens",
    "create_connection",
    "delete_connection",
    "update_cdna_scales",
    "set_cdna_profile",
    "set_cdna_flags",
    "export_metrics",
}


def test_every_earlier_operation_has_a_behaviour_test():
    assert len(PYRUNTIME_OPERATIONS) == 25  # + bootstrap/query/feedback (the facade's own)
    assert set(READ_CALLS) | WRITE_OPERATIONS == set(PYRUNTIME_OPERATIONS)


@pytest.mark.parametrize("name", READ_CALLS)
def test_earlier_read_operations_forward_their_arguments(filled, name):
    rt, ids = filled
    args, kwargs = READ_CALLS[name](ids)
    got = getattr(rt, name)(*args, **kwargs)
    assert got == getattr(rt._core, name)(*args, **kwargs)
    assert got not in (None, [], {}) or name == "list_connections"


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


def test_pyruntime_semantic_operations_on_the_facade():
    # M2/M9: the earlier call forms work on ng.Runtime; rt.bootstrap(words, vectors) used to
    # raise "cannot read embeddings from list" there (only the compiled class took it)
    from neurograph_lab.datasets import planted_embeddings

    words, vecs = planted_embeddings(words_per_cluster=10, pairs=3, dim=20)
    rt = ng.Runtime()
    report = rt.bootstrap(words, vecs, "abstract", 3)
    assert isinstance(report, ng.BootstrapReport) and report.words == len(words) and report.connections > 0
    core = ng._core.Runtime()
    assert core.bootstrap(words, vecs, "abstract", 3)["connections"] == report.connections
    assert np.array_equal(rt._core.token_columns()["coords"], core.token_columns()["coords"], equal_nan=True)
    as_lists = ng.Runtime()
    as_lists.bootstrap(list(words), vecs.tolist(), k=3)
    assert np.array_equal(as_lists.tokens.ids(), rt.tokens.ids())
    hits = rt.query("fruit2", 3)
    assert [w for w, _, _ in core.query("fruit2", 3)] == hits.labels
    assert hits.labels[0].startswith("fruit") and all(s <= 1.0001 for s in hits.scores)
    src = int(rt.tokens.find("fruit2")[0])
    out = rt.feedback(src, int(hits.ids[0]), True)
    assert len(out) > 0 and set(out["outcome"]) <= {"updated", "unchanged"}


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


# -- S2-2: arrays of any layout -------------------------------------------------------------
# Every name that takes a numpy array, the low-level ones inherited from the compiled class
# and the public wrappers, gives the same result for Fortran-order, strided, big-endian and
# read-only arrays as for the same values in C order.


def _fortran(a: np.ndarray) -> np.ndarray:
    return np.asfortranarray(a)


def _strided(a: np.ndarray) -> np.ndarray:
    big = np.zeros((2 * a.shape[0],) + a.shape[1:], a.dtype)
    big[::2] = a
    view = big[::2]
    assert a.shape[0] < 2 or not view.flags.c_contiguous
    return view


def _big_endian(a: np.ndarray) -> np.ndarray:
    return a.astype(a.dtype.newbyteorder(">"))


def _read_only(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.flags.writeable = False
    return b


def _all_at_once(a: np.ndarray) -> np.ndarray:
    return _read_only(np.asfortranarray(_big_endian(a)))


LAYOUTS = {
    "fortran": _fortran,
    "strided": _strided,
    "big_endian": _big_endian,
    "read_only": _read_only,
    "fortran_big_endian_read_only": _all_at_once,
}

_RNG = np.random.default_rng(7)
_COORDS = _RNG.uniform(-1, 1, (40, 8, 3)).astype(np.float32)
_WEIGHTS = _RNG.uniform(0, 1, 40).astype(np.float32)
_RADII = _RNG.uniform(0, 2, 40).astype(np.float32)
_STRENGTHS = _RNG.uniform(0, 1, 40).astype(np.float32)
_ENTITIES = _RNG.integers(0, 15, 40).astype(np.uint8)
_IDS = np.arange(101, 141, dtype=np.uint32)
_POINTS = _RNG.uniform(-1, 1, (6, 3)).astype(np.float32)
_WORDS = [f"w{i}" for i in range(30)]
_VECTORS = _RNG.normal(size=(30, 12)).astype(np.float32)
_QUERIES = _RNG.normal(size=(4, 12)).astype(np.float32)


def _world() -> ng.Runtime:
    rt = ng.Runtime()
    ids = rt.tokens.create_many(_COORDS, labels=[f"t{i}" for i in range(40)], ids=_IDS)
    rt.connections.create_many(ids[:-1], ids[1:], kind="cause", strength=0.5)
    return rt


def _booted() -> ng.Runtime:
    rt = ng.Runtime()
    rt.bootstrap(_VECTORS, _WORDS, k=3, space=["cognitive", "abstract"], progress=False)
    return rt


def _tokens(rt: ng.Runtime) -> dict:
    c = rt._core.token_columns()
    return {k: c[k] for k in ("id", "label", "entity", "weight", "field_radius", "field_strength", "coords")}


def _connections(rt: ng.Runtime) -> dict:
    c = rt._core.connection_columns()
    return {k: c[k] for k in ("id", "token_a", "token_b", "kind", "strength")}


def _result(r) -> tuple:
    return (r.ids, r.distances)


def _u32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.uint32)


# name -> f(convert): run the call with every array argument passed through convert
ARRAY_CALLS = {
    # low-level names on ng.Runtime (from the compiled class) and module functions
    "create_tokens": lambda cv: (
        ng._core.Runtime().create_tokens(
            cv(_COORDS),
            weights=cv(_WEIGHTS),
            entities=cv(_ENTITIES),
            ids=cv(_IDS),
            field_radius=cv(_RADII),
            field_strength=cv(_WEIGHTS),
        ),
    ),
    "create_tokens+state": lambda cv: _tokens(
        _created(lambda rt: rt._core.create_tokens(cv(_COORDS), weights=cv(_WEIGHTS)))
    ),
    "delete_tokens": lambda cv: _tokens(_changed(_world(), lambda rt: rt._core.delete_tokens(cv(_IDS[::3].copy())))),
    "create_connections": lambda cv: _connections(
        _changed(
            _world(),
            lambda rt: rt._core.create_connections(
                cv(_IDS[1:]), cv(_IDS[:-1]), cv(np.full(39, 3, np.uint8)), cv(_STRENGTHS[:39])
            ),
        )
    ),
    "delete_connections": lambda cv: _connections(
        _changed(_world(), lambda rt: rt._core.delete_connections(cv(_u32([1, 4, 9]))))
    ),
    "grid_neighbors_many": lambda cv: _world()._core.grid_neighbors_many(cv(_POINTS), 5, "cognitive"),
    "grid_range_many": lambda cv: _world()._core.grid_range_many(cv(_POINTS), 0.8, "physical"),
    "grid_neighbors(point)": lambda cv: _world()._core.grid_neighbors(cv(_POINTS[0]), 5, "cognitive"),
    "labels_of": lambda cv: _world()._core.labels_of(cv(_IDS[::2].copy())),
    "coords_of": lambda cv: _world()._core.coords_of(cv(_IDS[::2].copy()), "social"),
    "graph_subgraph": lambda cv: _world()._core.graph_subgraph(cv(_IDS[:10].copy())),
    "graph_layout": lambda cv: _world()._core.graph_layout(cv(_IDS[:12].copy()), 20, 3),
    "bootstrap_embeddings": lambda cv: _booted_low(
        cv, lambda rt, v: rt._core.bootstrap_embeddings(_WORDS, v, ["L5", "L8"], 3)
    ),
    "bootstrap (PyRuntime form)": lambda cv: _booted_low(cv, lambda rt, v: rt._core.bootstrap(_WORDS, v, "L8", 3)),
    "semantic_query": lambda cv: _booted()._core.semantic_query(cv(_QUERIES[0]), 5),
    "semantic_query_many": lambda cv: _booted()._core.semantic_query_many(cv(_QUERIES), 5),
    "quantize_u8": lambda cv: ng._core.quantize_u8(cv(_COORDS.reshape(40, 24)), cv(_u32(np.arange(40)[::-1]))),
    # public wrappers
    "tokens.create_many": lambda cv: _tokens(
        _created(
            lambda rt: rt.tokens.create_many(
                cv(_COORDS),
                weights=cv(_WEIGHTS),
                entities=cv(_ENTITIES),
                ids=cv(_IDS),
                field_radius=cv(_RADII),
                field_strength=cv(_WEIGHTS),
            )
        )
    ),
    "tokens.delete": lambda cv: _tokens(_changed(_world(), lambda rt: rt.tokens.delete(cv(_IDS[::3].copy())))),
    "connections.create_many": lambda cv: _connections(
        _changed(
            _world(),
            lambda rt: rt.connections.create_many(
                cv(_IDS[1:]), cv(_IDS[:-1]), kind=cv(np.full(39, 3, np.uint8)), strength=cv(_STRENGTHS[:39])
            ),
        )
    ),
    "connections.delete": lambda cv: _connections(
        _changed(_world(), lambda rt: rt.connections.delete(cv(_u32([1, 4]))))
    ),
    "grid.neighbors": lambda cv: _result(_world().grid.neighbors(cv(_POINTS[0]), k=5)),
    "grid.neighbors_many": lambda cv: _world().grid.neighbors_many(cv(_POINTS), k=5),
    "grid.range": lambda cv: _result(_world().grid.range(cv(_POINTS[1]), 0.9, space="physical")),
    "grid.range_many": lambda cv: _world().grid.range_many(cv(_POINTS), 0.9, space="physical"),
    "graph.subgraph": lambda cv: _world().graph.subgraph(cv(_IDS[:10].copy())),
    "graph.layout": lambda cv: _world().graph.layout(cv(_IDS[:12].copy()), iterations=20, seed=3),
    "bootstrap": lambda cv: _booted_low(cv, lambda rt, v: rt.bootstrap(v, _WORDS, k=3, progress=False)),
    "query(vector)": lambda cv: _result(_booted().query(cv(_QUERIES[1]), k=5)),
    "query_many": lambda cv: _booted().query_many(cv(_QUERIES), k=5),
}


def _created(make) -> ng.Runtime:
    rt = ng.Runtime()
    make(rt)
    return rt


def _changed(rt: ng.Runtime, change) -> ng.Runtime:
    change(rt)
    return rt


def _booted_low(cv, boot) -> tuple:
    rt = ng.Runtime()
    boot(rt, cv(_VECTORS))
    return (_tokens(rt), rt._core.bootstrap_vectors(), rt._core.bootstrap_vocabulary()[1])


def _assert_same(a, b, where: str = "result") -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (where, a.dtype, b.dtype, a.shape, b.shape)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.drop(columns="created_at"), b.drop(columns="created_at"))
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("call", ARRAY_CALLS)
def test_arrays_of_any_layout_give_the_results_of_c_order(call, layout):
    # S2-2: rust-numpy's as_slice() read F-contiguous arrays in memory order (scrambled rows);
    # now every binding converts to C order (and native byte order) first
    want = ARRAY_CALLS[call](lambda a: np.ascontiguousarray(a))
    got = ARRAY_CALLS[call](LAYOUTS[layout])
    _assert_same(want, got, call)


def test_fortran_order_coords_are_stored_as_their_values():
    # S2-2, the review's reproducer
    x = np.arange(48, dtype=np.float32).reshape(2, 8, 3) / 100
    rt = ng.Runtime()
    rt._core.create_tokens(np.asfortranarray(x))
    assert rt.get_token(1)["coords"]["physical"] == pytest.approx([0.0, 0.01, 0.02])


def test_array_arguments_of_the_wrong_kind_are_refused_with_their_name():
    rt = ng.Runtime()
    with pytest.raises(ng.ValidationError, match="coords must be a 3-D array, got shape"):
        rt._core.create_tokens(np.zeros((2, 24), np.float32))
    with pytest.raises(ng.ValidationError, match="coords must be an array of numbers"):
        rt._core.create_tokens(np.full((1, 8, 3), "x"))
    with pytest.raises(ng.ValidationError, match="ids must be an array of integers"):
        rt._core.delete_tokens(np.array([1.5]))
    with pytest.raises(ng.ValidationError, match=r"ids holds -1, outside 0\.\.=4294967295"):
        rt._core.delete_tokens(np.array([-1, 2]))
    with pytest.raises(ng.ValidationError, match="entities holds 300"):
        rt._core.create_tokens(np.zeros((1, 8, 3), np.float32), entities=np.array([300]))
    assert len(rt.tokens) == 0
    # values that convert without loss are taken: float64 coords, int64 ids, lists
    ids = rt._core.create_tokens(np.zeros((2, 8, 3)), ids=[5, 6])
    assert ids.tolist() == [5, 6]
    assert rt._core.delete_tokens(np.array([5], dtype=np.int64)) == 1


# -- S3-3: no reference cycle between the runtime and its views ------------------------------


def test_a_discarded_runtime_is_freed_by_reference_counting():
    # S3-3: the views were stored on the runtime and held it (a cycle): `del rt` left the
    # runtime and its memory alive until a full garbage collection
    import gc
    import weakref

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        rt = ng.Runtime()
        ids = rt.tokens.create_many(_COORDS, labels=[f"t{i}" for i in range(40)])
        rt.connections.create_many(ids[:-1], ids[1:], kind="cause")
        rt.grid.neighbors(int(ids[0]), k=3)
        rt.graph.bfs(int(ids[0]), depth=2)
        rt.cdna.update_scales(cognitive=2.0)
        rt.intuition.observe(ids[:3])
        rt.intuition.proposals()
        repr(rt), rt._repr_html_(), repr(rt.tokens), repr(rt.grid), repr(rt.graph), repr(rt.cdna)
        r = weakref.ref(rt)
        del rt
        assert r() is None

        # a view the caller keeps holds the compiled runtime, not the facade (M2): it keeps
        # working after the facade is gone
        rt = ng.Runtime()
        rt.tokens.create_many(_COORDS[:3])
        r = weakref.ref(rt)
        tokens, grid = rt.tokens, rt.grid
        del rt
        assert r() is None
        assert len(tokens) == 3 and len(grid.neighbors((0, 0, 0), k=2)) == 2
        del tokens, grid
        # rebinding the name, as a re-run cell does, frees the old runtime at once
        rt = ng.Runtime()
        r = weakref.ref(rt)
        rt = ng.Runtime()
        assert r() is None
    finally:
        if was_enabled:
            gc.enable()
