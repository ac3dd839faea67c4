"""The client at its edges: error answers that are not problem documents (a proxy's HTML page,
a date in ``Retry-After``), a kept-alive connection the server dropped, batch writes refused
before they are sent, empty pages, results whose coordinates come from the server, and the
event stream after ``close()``, across a server restart and when the server is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab.client import API, ApiError, raise_for_problem

WAIT = 60.0
FAST = {role: (1e6, 1e6) for role in ("readonly", "user", "admin", "per_ip")}


def answer(status: int, *, json: Any = None, content: bytes = b"", headers: Any = None) -> httpx.Response:
    request = httpx.Request("POST", "http://127.0.0.1:9/api/v1/tokens")
    if json is not None:
        return httpx.Response(status, json=json, headers=headers, request=request)
    return httpx.Response(status, content=content, headers=headers, request=request)


# -- error answers, without a server --


@pytest.mark.parametrize("status", [200, 201, 204, 304])
def test_a_success_raises_nothing(status: int) -> None:
    raise_for_problem(answer(status))


def test_a_rate_limit_says_how_long_to_wait() -> None:
    problem = {"type": "https://neurograph/problems/rate-limited", "title": "Too Many Requests", "detail": "slow down"}
    with pytest.raises(ApiError) as e:
        raise_for_problem(answer(429, json=problem, headers={"Retry-After": "3"}))
    assert str(e.value) == "POST /api/v1/tokens: 429 slow down"
    assert (e.value.status, e.value.retry_after, e.value.problem) == (429, 3.0, problem)


def test_a_retry_after_date_is_not_taken_for_seconds() -> None:
    with pytest.raises(ApiError) as e:
        raise_for_problem(answer(503, json={"title": "busy"}, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}))
    assert e.value.retry_after is None and str(e.value).endswith("503 busy")


@pytest.mark.parametrize("body", [b"<html><body>502 Bad Gateway</body></html>", b"[1, 2]", b""])
def test_an_answer_that_is_not_a_problem_document_still_names_the_status(body: bytes) -> None:
    """A proxy in front of the server answers with its own page: the error keeps the status
    and the reason phrase, and an empty problem document."""
    with pytest.raises(ApiError) as e:
        raise_for_problem(answer(502, content=body, headers={"content-type": "text/html"}))
    assert str(e.value) == "POST /api/v1/tokens: 502 Bad Gateway"
    assert e.value.status == 502 and e.value.problem == {} and e.value.retry_after is None


@pytest.mark.parametrize(
    ("status", "kind", "cls"),
    [
        (401, "unauthorized", PermissionError),
        (403, "forbidden", PermissionError),
        (404, "not-found", ng.NotFoundError),
        (422, "validation", ng.ValidationError),
        (409, "no-bootstrap", ng.ValidationError),
        (409, "conflict", ApiError),
        (412, "precondition-failed", ApiError),
        (500, "internal", ApiError),
    ],
)
def test_the_status_picks_the_exception_a_local_runtime_would_raise(status: int, kind: str, cls: type) -> None:
    problem = {"type": f"https://neurograph/problems/{kind}", "title": kind, "detail": f"{kind} detail"}
    with pytest.raises(cls) as e:
        raise_for_problem(answer(status, json=problem))
    assert e.value.status == status and e.value.problem == problem  # type: ignore[attr-defined]
    assert f"{status} {kind} detail" in str(e.value)


def test_a_refusal_carries_the_guardians_fields() -> None:
    problem = {"title": "refused", "detail": "weight above the bound", "field": "weight", "value": 9.0, "limit": 1.0}
    with pytest.raises(ng.ValidationError) as e:
        raise_for_problem(answer(422, json=problem))
    assert (e.value.field, e.value.value, e.value.limit) == ("weight", 9.0, 1.0)  # type: ignore[attr-defined]
    assert isinstance(e.value, ValueError)


def dropping_client(answer_json: Any) -> tuple[ng.Client, list[str]]:
    """A client whose every first attempt meets a connection the server had closed."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) % 2 == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(200, json=answer_json)

    client = ng.connect("http://127.0.0.1:9", api_key="ngk_test")
    client._http.close()
    client._http = httpx.Client(base_url=client.url + API, transport=httpx.MockTransport(handler))
    return client, seen


def test_a_read_on_a_dropped_connection_is_sent_again_once() -> None:
    client, seen = dropping_client({"count": 7})
    with client:
        assert client.tokens.count() == 7 and len(client.tokens) == 7
    assert seen == ["GET"] * 4


def test_a_write_on_a_dropped_connection_is_not_sent_twice() -> None:
    """A POST may have been applied before the connection dropped: it is not repeated."""
    client, seen = dropping_client({"id": 1})
    with client, pytest.raises(httpx.RemoteProtocolError):
        client.tokens.create(cognitive=(0.1, 0.2, 0.3))
    assert seen == ["POST"]


# -- against a served runtime --


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ng.Runtime, ng.Server]]:
    rt = ng.Runtime()
    coords = np.random.default_rng(11).uniform(-1, 1, (40, 8, 3)).astype(np.float32)
    rt.tokens.create_many(coords, labels=[f"e{i}" for i in range(40)])
    srv = ng.serve(rt, rate_limits=FAST)
    yield rt, srv
    srv.stop()


@pytest.fixture
def api(served: tuple[ng.Runtime, ng.Server]) -> Iterator[ng.Client]:
    _, srv = served
    with ng.connect(srv) as client:  # the Server itself: its admin key is used
        yield client


def test_connect_to_a_server_object_uses_its_admin_key(served, api) -> None:
    rt, srv = served
    assert api.status().tokens == len(rt.tokens)
    assert repr(api) == f"<neurograph_lab Client {srv.url}>"
    with ng.connect(srv, api_key="ngk_wrong") as other, pytest.raises(PermissionError):
        other.status()


def test_create_many_sends_labels_entities_and_weights(served, api) -> None:
    rt, _ = served
    coords = np.zeros((3, 8, 3))
    coords[:, 4] = [[0.1, 0.1, 0.1], [0.2, 0.2, 0.2], [0.3, 0.3, 0.3]]
    ids = api.tokens.create_many(
        coords, labels=["a", None, "c"], weights=[0.25, 0.5, 0.75], entities=["concept", "event", "concept"]
    )
    assert ids.dtype == np.uint32 and len(ids) == 3
    made = [rt.tokens[int(i)] for i in ids]
    assert [t.label for t in made] == ["a", None, "c"]
    assert [t.entity for t in made] == ["concept", "event", "concept"]
    assert [t.weight for t in made] == pytest.approx([0.25, 0.5, 0.75])
    assert made[1].coords["cognitive"] == pytest.approx((0.2, 0.2, 0.2))
    for i in ids:
        rt.tokens.delete(int(i))


@pytest.mark.parametrize("shape", [(3, 8), (3, 7, 3), (3, 8, 2)])
def test_create_many_refuses_a_wrong_shape_before_sending(served, api, shape) -> None:
    rt, _ = served
    before = len(rt.tokens)
    with pytest.raises(ng.ValidationError, match=r"\(N, 8, 3\)"):
        api.tokens.create_many(np.zeros(shape))
    assert len(rt.tokens) == before


def test_a_page_past_the_last_id_is_an_empty_frame(served, api) -> None:
    rt, _ = served
    empty = api.tokens.list(after=int(max(rt.tokens.ids())))
    assert empty.empty and empty.index.name == "id"
    assert {"label", "entity", "weight"} <= set(empty.columns)
    two = api.tokens.list(limit=2)
    assert len(two) == 2 and list(two.index) == sorted(rt.tokens.ids())[:2]


def test_a_remote_result_has_the_coordinates_the_runtime_has(served, api) -> None:
    rt, _ = served
    tid = int(rt.tokens.find("e5")[0])
    remote = api.neighbors(tid, k=4, space="social").to_pandas()
    local = rt.grid.neighbors(tid, k=4, space="social").to_pandas()
    assert list(remote.index) == list(local.index)
    cols = ["social_x", "social_y", "social_z"]
    np.testing.assert_allclose(remote[cols].to_numpy(), local[cols].to_numpy(), rtol=1e-5)
    assert list(remote["label"]) == list(local["label"])


def test_a_query_without_a_bootstrap_is_refused_as_locally(served, api) -> None:
    rt, _ = served
    with pytest.raises(ng.ValidationError) as local:
        rt.query("king", k=3)
    with pytest.raises(ng.ValidationError) as remote:
        api.query("king", k=3)
    assert remote.value.status == 409  # type: ignore[attr-defined]
    assert "bootstrap" in str(local.value).lower() and "bootstrap" in str(remote.value).lower()


def test_a_cdna_change_reads_the_etag_itself_when_none_was_read(served) -> None:
    rt, srv = served
    with ng.connect(srv.url, api_key=srv.api_key) as client:
        assert client.cdna.etag is None
        client.cdna.update({"token_weight_max": 4.0})
        assert client.cdna.etag
    assert rt.cdna["token_weight_max"] == pytest.approx(4.0)


# -- the event stream --


def test_a_closed_stream_ends_iteration(served, api) -> None:
    with api.events(["tokens"]) as stream:
        assert "channels=['tokens']" in repr(stream)
    assert list(stream) == []
    with pytest.raises(StopIteration):
        stream.recv(timeout=WAIT)


def test_a_server_restart_is_announced_as_a_resync(tmp_path: Path) -> None:
    """The new run numbers its events from scratch: the stream says so instead of waiting for
    sequence numbers that will never come, and then delivers the new run's events."""
    rt = ng.Runtime()
    state = tmp_path / "state"
    first = ng.serve(rt, state_dir=state, rate_limits=FAST)
    key = first.keys.create("admin").secret
    port = first.port
    try:
        with ng.connect(first.url, api_key=key) as client:
            stream = client.events(["tokens"])
            tid = rt.tokens.create(cognitive=(0.1, 0.1, 0.1))
            assert stream.recv(timeout=WAIT)["type"] == "token.created"
            epoch = stream.epoch
            first.stop()
            second = ng.serve(rt, port=port, state_dir=state, rate_limits=FAST)
            try:
                resync = stream.recv(timeout=WAIT)
                assert resync["type"] == "resync" and resync["reason"] == "restart"
                assert stream.epoch != epoch
                later = rt.tokens.create(cognitive=(0.2, 0.2, 0.2))
                event = stream.recv(timeout=WAIT)
                while event["type"] != "token.created":
                    event = stream.recv(timeout=WAIT)
                data = event["data"]
                ids = [data.get("id"), *data.get("ids", ())] + [
                    i for lo, hi in data.get("ranges", ()) for i in range(lo, hi + 1)
                ]
                assert later in ids and later != tid
                stream.retries = 2
                second.stop()
                with pytest.raises(OSError):  # the server is gone for good: no endless wait
                    stream.recv(timeout=WAIT)
            finally:
                second.stop()
                stream.close()
    finally:
        first.stop()
