"""``ng.connect`` against a real ``ng.serve`` (127.0.0.1, port 0, auth on): the same values
and exceptions as the local runtime, problem+json shapes, keyset pagination over 100k tokens,
the CDNA's ETag (412/428), and the WebSocket event stream (notebook and API writes, resume
after a reconnect)."""

from __future__ import annotations

from typing import Iterator

import httpx
import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab.client import ApiError

WAIT = 60.0
FAST = {role: (1e6, 1e6) for role in ("readonly", "user", "admin", "per_ip")}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ng.Runtime, ng.Server]]:
    rt = ng.Runtime()
    coords = np.random.default_rng(7).uniform(-1, 1, (200, 8, 3)).astype(np.float32)
    ids = rt.tokens.create_many(coords, labels=[f"w{i}" for i in range(200)], entities="concept")
    rt.connections.create_many(ids[:50], ids[50:100], kind="cause", strength=0.6)
    srv = ng.serve(rt, rate_limits=FAST)
    yield rt, srv
    srv.stop()


@pytest.fixture
def api(served) -> Iterator[ng.Client]:
    _, srv = served
    with ng.connect(srv.url, api_key=srv.api_key) as c:
        yield c


def test_the_client_returns_what_the_runtime_returns(served, api):
    rt, _ = served
    tid = int(rt.tokens.find("w3")[0])
    remote, local = api.tokens.get(tid), rt.tokens[tid]
    assert isinstance(remote, ng.Token)
    assert (remote.id, remote.label, remote.entity, remote.timestamp) == (
        local.id,
        local.label,
        local.entity,
        local.timestamp,
    )
    assert remote.weight == pytest.approx(local.weight)
    for space, xyz in local.coords.items():
        assert (remote.coords[space] is None) == (xyz is None)
        if xyz is not None:
            assert remote.coords[space] == pytest.approx(xyz)
    near_r, near_l = api.neighbors(tid, k=5, space="cognitive"), rt.grid.neighbors(tid, k=5, space="cognitive")
    assert isinstance(near_r, ng.QueryResult)
    assert near_r.ids.tolist() == near_l.ids.tolist() and near_r.labels == near_l.labels
    np.testing.assert_allclose(near_r.distances, near_l.distances, rtol=1e-5)
    assert "5 tokens" in repr(near_r)
    point = api.neighbors((0.0, 0.0, 0.0), k=3)
    assert point.ids.tolist() == rt.grid.neighbors((0.0, 0.0, 0.0), k=3).ids.tolist()
    status = api.status()
    assert isinstance(status, ng.Status)
    assert (status.tokens, status.connections) == (rt.status().tokens, rt.status().connections)


def test_writes_from_the_client_land_in_the_runtime(served, api):
    rt, _ = served
    tid = api.tokens.create(cognitive=(0.25, 0.5, 0.75), label="remote", entity="concept", weight=0.5)
    assert rt.tokens[tid].label == "remote" and rt.tokens[tid].coords["cognitive"] == pytest.approx((0.25, 0.5, 0.75))
    assert api.tokens.get(tid).label == "remote"
    api.tokens.delete(tid)
    assert tid not in rt.tokens


def test_errors_are_the_runtimes_exception_classes(served, api):
    rt, srv = served
    with pytest.raises(ng.NotFoundError):
        api.tokens.get(16_000_000)
    with pytest.raises(ng.ValidationError) as refusal:
        api.tokens.create(cognitive=(0, 0, 0), weight=2.0)  # above token_weight_max
    e = refusal.value
    assert (e.field, e.value, e.limit) == ("weight", 2.0, 1.0) and e.reason
    with pytest.raises(ng.ValidationError) as local:
        rt.tokens.create(cognitive=(0, 0, 0), weight=2.0)
    assert (local.value.field, local.value.value, local.value.limit) == (e.field, e.value, e.limit)
    with ng.connect(srv.url) as anonymous, pytest.raises(PermissionError):
        anonymous.tokens.get(1)
    with ng.connect(srv.url, api_key="ngk_wrong") as wrong, pytest.raises(PermissionError):
        wrong.status()
    ro = srv.keys.create("readonly", expires="10m")
    with ng.connect(srv.url, api_key=ro) as reader, pytest.raises(PermissionError):
        reader.tokens.create(cognitive=(0, 0, 0))


def test_problem_documents_have_the_rfc9457_shape(served):
    _, srv = served
    h = {"Authorization": f"Bearer {srv.api_key}"}
    r = httpx.get(srv.url + "/api/v1/tokens/16000000", headers=h)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert {"type", "title", "status", "detail"} <= set(p) and p["status"] == 404
    r = httpx.post(srv.url + "/api/v1/tokens", headers=h, json={"coords": {"cognitive": [0, 0, 0]}, "weight": 2.0})
    p = r.json()
    assert r.status_code == 422 and p["type"].endswith("guardian-refused")
    assert (p["field"], p["value"], p["limit"]) == ("weight", 2.0, 1.0)
    r = httpx.post(srv.url + "/api/v1/tokens", headers={**h, "content-type": "application/json"}, content=b"{not json")
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json")
    for p in (r.json(),):
        assert "internal" not in p["type"] and "/" + "src" not in p["detail"]  # no paths, no internals


def test_keyset_pagination_over_100k_tokens_returns_each_id_once():
    rt = ng.Runtime()
    n = 100_000
    ids = rt.tokens.create_many(np.random.default_rng(1).uniform(-1, 1, (n, 8, 3)).astype(np.float32))
    with ng.serve(rt, rate_limits=FAST) as srv, ng.connect(srv.url, api_key=srv.api_key) as api:
        seen: list[int] = []
        pages = 0
        for page in api.tokens.pages(page_size=1000):
            seen.extend(t.id for t in page)
            pages += 1
        assert len(seen) == n and len(set(seen)) == n and set(seen) == set(ids.tolist())
        assert seen == sorted(seen) and pages == n // 1000
        df = api.tokens.list(limit=2500, after=int(seen[99]))
        assert df.index.tolist() == seen[100:2600]
        # a write between pages is neither skipped nor repeated
        first = next(api.tokens.pages(page_size=10))
        rt.tokens.delete(int(seen[10]))
        rest = next(api.tokens.pages(page_size=10, after=first[-1].id))
        assert [t.id for t in rest] == seen[11:21]


def test_cdna_writes_need_the_current_etag(served, api):
    rt, srv = served
    h = {"Authorization": f"Bearer {srv.api_key}"}
    r = httpx.get(srv.url + "/api/v1/cdna", headers=h)
    etag = r.headers["etag"]
    assert r.status_code == 200 and etag
    change = {"fields": {"token_weight_max": 2.0}}
    r = httpx.patch(srv.url + "/api/v1/cdna", headers=h, json=change)
    assert r.status_code == 428 and r.headers["content-type"].startswith("application/problem+json")
    rt.cdna.update(token_weight_max=1.5)  # the notebook changes it meanwhile
    r = httpx.patch(srv.url + "/api/v1/cdna", headers={**h, "If-Match": etag}, json=change)
    assert r.status_code == 412
    fresh = httpx.get(srv.url + "/api/v1/cdna", headers=h).headers["etag"]
    assert fresh != etag
    r = httpx.patch(srv.url + "/api/v1/cdna", headers={**h, "If-Match": fresh}, json=change)
    assert r.status_code == 200 and r.headers["etag"] != fresh
    assert rt.cdna["token_weight_max"] == pytest.approx(2.0)
    api.cdna.get()
    rt.cdna.update(token_weight_max=3.0)
    with pytest.raises(ApiError) as stale:
        api.cdna.update({"token_weight_max": 2.5})
    assert stale.value.status == 412
    api.cdna.get()
    api.cdna.update({"token_weight_max": 1.0})


def next_event(stream, kind: str) -> dict:
    """The next event of this type (others on the channel are skipped)."""
    while True:
        e = stream.recv(timeout=WAIT)
        if e.get("type") in (kind, "resync"):
            return e


def test_events_from_notebook_and_api_writes(served, api):
    rt, srv = served
    with api.events(["tokens"]) as stream:
        tid = rt.tokens.create(cognitive=(0.1, 0.1, 0.1), label="from-the-notebook")
        e = next_event(stream, "token.created")
        assert e["origin"] == "kernel" and isinstance(e["seq"], int)
        assert tid in _ids(e)
        rid = api.tokens.create(cognitive=(0.2, 0.2, 0.2), label="from-the-api")
        e2 = next_event(stream, "token.created")
        assert e2["origin"].startswith("api:") and rid in _ids(e2) and e2["seq"] > e["seq"]


def _ids(event: dict) -> list[int]:
    data = event.get("data", {})
    ids = list(data.get("ids", []))
    for run in data.get("ranges", []):
        lo, hi = run
        ids.extend(range(lo, hi + 1))
    if "id" in data:
        ids.append(data["id"])
    return ids


def test_resume_after_reconnect_misses_nothing(served, api):
    rt, _ = served
    stream = api.events(["tokens"])
    first = rt.tokens.create(cognitive=(0.3, 0.3, 0.3))
    assert first in _ids(next_event(stream, "token.created"))
    last = stream.last_seq
    stream.close()
    missed = [rt.tokens.create(cognitive=(0.4, 0.4, 0.4 + i / 100)) for i in range(3)]
    with api.events(["tokens"], after=last) as again:
        got: list[int] = []
        while len(got) < 3:
            e = next_event(again, "token.created")
            assert e["type"] != "resync"
            got.extend(_ids(e))
        assert got == missed
        again.reconnect()  # a dropped connection resumes where it was
        more = rt.tokens.create(cognitive=(0.5, 0.5, 0.5))
        assert _ids(next_event(again, "token.created")) == [more]
