"""Bootstrap upload over HTTP on a real ``ng.serve`` (127.0.0.1, port 0): a job is created,
its embeddings file streamed in (chunked, larger than the ordinary body limit), parsed and
bootstrapped off the request workers; the report, a bad line, the role checks and a cancel
before the commit point (runtime unchanged) and after it (refused, the job finishes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab import _core
from neurograph_lab.datasets import planted_embeddings, write_vec

WAIT = 60.0
FINISHED = ("done", "failed", "cancelled")


@pytest.fixture
def served() -> Iterator[tuple[ng.Runtime, ng.Server, httpx.Client]]:
    rt = ng.Runtime()
    srv = ng.serve(rt)
    auth = {"Authorization": f"Bearer {srv.api_key}"}
    with httpx.Client(base_url=srv.url + "/api/v1", timeout=60, headers=auth) as c:
        yield rt, srv, c
    _core._pause_next_bootstrap_job(None)
    srv.stop()


@pytest.fixture
def vec_file(tmp_path: Path) -> Path:
    words, vectors = planted_embeddings(words_per_cluster=100, dim=300)  # 824 words, ~2.5 MB
    path = tmp_path / "planted.vec"
    write_vec(path, words, vectors)
    return path


def wait_job(c: httpx.Client, job: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """GET the job until ``done(job)`` holds (a condition with a generous timeout)."""
    deadline = time.monotonic() + WAIT
    while True:
        j = c.get(f"/bootstrap/{job}").json()
        if done(j):
            return j
        assert time.monotonic() < deadline, f"job stuck: {j}"
        time.sleep(0.02)


def finished(j: dict[str, Any]) -> bool:
    return j["state"] in FINISHED


def chunks(data: bytes, size: int = 64 << 10) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def start(c: httpx.Client, **options: Any) -> str:
    r = c.post("/bootstrap", json=options)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(r.json()["id"])
    return str(r.json()["id"])


def test_a_streamed_upload_is_bootstrapped_and_reported(served, vec_file: Path) -> None:
    rt, srv, c = served
    data = vec_file.read_bytes()
    assert len(data) > 2 << 20, "larger than the ordinary 2 MiB body limit"
    job = start(c, name=vec_file.name, size=len(data), k=5)
    r = c.put(f"/bootstrap/{job}/file", content=chunks(data))  # chunked transfer
    assert r.status_code == 202, r.text
    assert r.json()["received"] == len(data)
    j = wait_job(c, job, finished)
    assert j["state"] == "done", j
    rep = j["report"]
    assert rep["words"] == 824 and rep["dim"] == 300
    assert rep["spaces"] == ["abstract", "cognitive", "temporal", "social", "emotional", "motor", "sensory", "physical"]
    assert rep["connections"] > 0 and rep["skipped"] == 0
    info = rt.bootstrap_info()
    assert info is not None and info["words"] == 824
    # the same as a bootstrap in the notebook: the word is its token's label
    assert len(rt.tokens.find("fruit3")) == 1
    assert [x["id"] for x in c.get("/bootstrap").json()][0] == job


def test_a_bad_line_is_named_and_skipping_it_works(served, tmp_path: Path) -> None:
    rt, srv, c = served
    words, vectors = planted_embeddings(words_per_cluster=5, dim=12)
    path = tmp_path / "bad.vec"
    write_vec(path, words, vectors)
    with open(path, "a", encoding="utf-8") as f:
        f.write("oops 1 2 x\n")
    n_lines = len(words) + 2
    job = start(c, name="bad.vec")
    c.put(f"/bootstrap/{job}/file", content=path.read_bytes())
    j = wait_job(c, job, finished)
    assert j["state"] == "failed"
    assert j["error"]["status"] == 422 and j["error"]["field"] == "file"
    assert j["error"]["detail"].startswith(f"bad.vec: line {n_lines}:"), j["error"]
    assert rt.bootstrap_info() is None
    job = start(c, name="bad.vec", errors="skip")
    c.put(f"/bootstrap/{job}/file", content=path.read_bytes())
    j = wait_job(c, job, finished)
    assert j["state"] == "done", j
    assert j["report"]["skipped"] == 1 and j["report"]["words"] == len(words)


def test_roles_and_one_job_at_a_time(served) -> None:
    rt, srv, c = served
    ro = srv.keys.create("readonly", expires="1h").secret
    user = srv.keys.create("user", expires="1h").secret
    for key in (ro, user):
        r = httpx.post(srv.url + "/api/v1/bootstrap", json={}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 403, r.text
    job = start(c)
    r = httpx.get(srv.url + f"/api/v1/bootstrap/{job}", headers={"Authorization": f"Bearer {ro}"})
    assert r.status_code == 200 and r.json()["state"] == "uploading"
    r = httpx.put(srv.url + f"/api/v1/bootstrap/{job}/file", content=b"x", headers={"Authorization": f"Bearer {ro}"})
    assert r.status_code == 403
    busy = c.post("/bootstrap", json={})
    assert busy.status_code == 409 and job in busy.json()["detail"]
    assert c.delete(f"/bootstrap/{job}").json()["state"] == "cancelled"
    start(c)


def test_a_cancel_before_the_commit_point_changes_nothing(served, vec_file: Path) -> None:
    rt, srv, c = served
    rt.tokens.create(cognitive=(0.1, 0.2, 0.3), label="kept")
    _core._pause_next_bootstrap_job(1)
    job = start(c, name=vec_file.name)
    assert c.put(f"/bootstrap/{job}/file", content=vec_file.read_bytes()).status_code == 202
    wait_job(c, job, lambda j: j["state"] == "bootstrapping" and j["done"] >= 1)
    r = c.delete(f"/bootstrap/{job}")
    assert r.status_code == 202, r.text
    j = wait_job(c, job, finished)
    assert j["state"] == "cancelled" and "unchanged" in j["error"]["detail"]
    assert rt.bootstrap_info() is None
    assert len(rt.tokens) == 1


def test_past_the_commit_point_a_cancel_is_refused(served, vec_file: Path) -> None:
    rt, srv, c = served
    _core._pause_next_bootstrap_job("commit")
    job = start(c, name=vec_file.name)
    c.put(f"/bootstrap/{job}/file", content=vec_file.read_bytes())
    wait_job(c, job, lambda j: j["committed"])
    r = c.delete(f"/bootstrap/{job}")
    assert r.status_code == 409 and "commit point" in r.json()["detail"]
    assert _core._pause_next_bootstrap_job(None) is True
    j = wait_job(c, job, finished)
    assert j["state"] == "done"
    assert np.isfinite(j["report"]["seconds"])
