"""Auth on a real ``ng.serve`` (127.0.0.1, port 0): every route of the OpenAPI document
against every role (401 without credentials, 403 below its ``x-required-role``, allowed at
it), users and API keys from Python, the one-time login link, rate limits (429 +
Retry-After, then recovery) and the audit log."""

from __future__ import annotations

import re
import time
from typing import Any, Iterator

import httpx
import numpy as np
import pandas as pd
import pytest

import neurograph_lab as ng
from neurograph_lab.server import ROLES

WAIT = 60.0
FAST = {role: (1e6, 1e6) for role in ("readonly", "user", "admin", "per_ip")}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ng.Runtime, ng.Server, dict[str, str]]]:
    rt = ng.Runtime()
    rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (20, 8, 3)), labels=[f"t{i}" for i in range(20)])
    srv = ng.serve(rt, rate_limits=FAST)
    keys = {role: srv.keys.create(role, expires="1h").secret for role in ROLES}
    yield rt, srv, keys
    srv.stop()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path, required role) of every operation that names one."""
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "x-required-role" in op:
                out.append((method.upper(), path, op["x-required-role"]))
    return out


def concrete(path: str, tid: int) -> str:
    """A path with its parameters filled: ids get a real token's id, names a made-up one."""
    path = re.sub(r"\{(id|a|b|token|source|target)\}", str(tid), path)
    return re.sub(r"\{[^}]+\}", "nobody", path)


@pytest.fixture(scope="module")
def matrix(served) -> dict[str, list[Any]]:
    """Every operation of the document called without credentials and with each role's key
    (deletes only below their role: an allowed delete is checked on its own)."""
    rt, srv, keys = served
    spec = httpx.get(srv.url + "/api/v1/openapi.json").json()
    ops = operations(spec)
    tid = int(rt.tokens.create(cognitive=(0.5, 0.5, 0.5), label="matrix"))
    out: dict[str, list[Any]] = {"ops": ops, "anonymous": [], "lower": [], "allowed": [], "public": []}
    # a connection per request: a status matrix, not a keep-alive test
    with httpx.Client(base_url=srv.url, timeout=60, headers={"Connection": "close"}) as http:
        for method, path, role in ops:
            url = concrete(path, tid)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = http.request(method, url, json=body)
            if role == "public":
                out["public"].append((method, path, r.status_code))
                continue
            out["anonymous"].append(
                (method, path, r.status_code, r.headers.get("content-type", ""), r.headers.get("www-authenticate", ""))
            )
            for lower in ROLES[: ROLES.index(role)]:
                r = http.request(method, url, json=body, headers=bearer(keys[lower]))
                out["lower"].append((method, path, lower, r.status_code))
            if method != "DELETE":
                r = http.request(method, url, json=body, headers=bearer(keys[role]))
                out["allowed"].append((method, path, role, r.status_code))
    return out


def test_the_document_names_the_role_of_every_route(matrix):
    ops = matrix["ops"]
    assert len(ops) >= 40
    assert {role for _, _, role in ops} <= {"public", *ROLES}
    assert {("GET", "/health"), ("GET", "/health/ready")} <= {(m, p) for m, p, r in ops if r == "public"}


def test_every_protected_route_answers_401_without_credentials(matrix):
    bad = [x for x in matrix["anonymous"] if x[2] != 401 or not x[3].startswith("application/problem+json")]
    assert bad == []
    assert all(x[4].lower().startswith("bearer") for x in matrix["anonymous"])
    # Public routes never ask for credentials; the auth ones (login, refresh, link, /login)
    # answer an empty body with a 4xx naming what is missing, logout with 204.
    assert all(code < 500 and code not in (401, 403) for _, _, code in matrix["public"])
    assert all(code == 200 for _, path, code in matrix["public"] if path.startswith("/health"))


def test_every_route_answers_403_below_its_role(matrix):
    assert [x for x in matrix["lower"] if x[3] != 403] == []


def test_every_route_is_allowed_at_its_role(matrix):
    refused = [x for x in matrix["allowed"] if x[3] in (401, 403) or x[3] >= 500]
    assert refused == [] and len(matrix["allowed"]) >= 30


def test_auth_and_admin_routes_are_in_the_document(matrix):
    paths = {p for _, p, _ in matrix["ops"]}
    assert {"/api/v1/users", "/api/v1/api-keys", "/api/v1/audit", "/api/v1/auth/login", "/api/v1/ws"} <= paths


def test_roles_reach_what_they_should(served):
    rt, srv, keys = served
    tid = int(rt.tokens.create(cognitive=(0.1, 0.1, 0.1)))
    with httpx.Client(base_url=srv.url + "/api/v1", timeout=60) as http:
        assert http.get(f"/tokens/{tid}", headers=bearer(keys["readonly"])).status_code == 200
        body = {"coords": {"cognitive": [0.2, 0.2, 0.2]}, "label": "by-user"}
        assert http.post("/tokens", json=body, headers=bearer(keys["readonly"])).status_code == 403
        r = http.post("/tokens", json=body, headers=bearer(keys["user"]))
        assert r.status_code == 201 and rt.tokens[r.json()["id"]].label == "by-user"
        assert http.get("/users", headers=bearer(keys["user"])).status_code == 403
        assert http.get("/users", headers=bearer(keys["admin"])).status_code == 200
        assert http.delete(f"/tokens/{tid}", headers=bearer(keys["user"])).status_code in (200, 204)
        assert tid not in rt.tokens
        assert http.get(f"/tokens/{tid}", headers=bearer("ngk_not_a_key")).status_code == 401


def test_users_and_keys_from_python(served):
    _, srv, _ = served
    srv.users.add("alice", "user")
    users = srv.users.list()
    assert isinstance(users, pd.DataFrame) and users.loc["alice", "role"] == "user"
    assert not users.loc["alice", "has_password"]
    with pytest.raises(ng.ValidationError):
        srv.users.add("alice", "user")  # exists
    with pytest.raises(ng.ValidationError, match="role"):
        srv.users.add("bob", "root")
    with pytest.raises(ng.ValidationError):
        srv.keys.create("admin", user="alice")  # above alice's role
    key = srv.keys.create("user", expires=3600, user="alice")
    assert key.user == "alice" and key.role == "user" and key.expires is not None and str(key) == key.secret
    listed = srv.keys.list()
    assert key.id in listed.index and key.secret not in listed.to_string()
    headers = bearer(key.secret)
    assert httpx.get(srv.url + "/api/v1/auth/me", headers=headers).json()["name"] == "alice"
    srv.users.set_role("alice", "readonly")  # the key is capped by the new role
    r = httpx.post(srv.url + "/api/v1/tokens", json={"coords": {"cognitive": [0, 0, 0]}}, headers=headers)
    assert r.status_code == 403
    srv.keys.revoke(key)
    assert httpx.get(srv.url + "/api/v1/auth/me", headers=headers).status_code == 401
    with pytest.raises(ng.NotFoundError):
        srv.keys.revoke(key.id)
    srv.users.remove("alice")
    assert "alice" not in srv.users.list().index
    with pytest.raises(ng.NotFoundError):
        srv.users.remove("alice")


def test_password_login_and_one_time_link(served):
    _, srv, _ = served
    srv.users.add("carol", "readonly", password="a long enough passphrase")
    r = httpx.post(srv.url + "/api/v1/auth/login", json={"name": "carol", "password": "a long enough passphrase"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert httpx.get(srv.url + "/api/v1/auth/me", headers=bearer(token)).json()["role"] == "readonly"
    link = srv.login_url
    assert link.startswith(srv.url + "/login?token=") and link != srv.login_url  # a new one each time
    with httpx.Client() as browser:
        first = browser.get(link, headers={"Host": f"127.0.0.1:{srv.port}"})
        assert first.status_code in (200, 303)
        cookie = first.headers.get("set-cookie", "")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert httpx.get(link).status_code in (401, 403, 404, 410)  # spent


def test_rate_limit_429_then_recovery():
    rt = ng.Runtime()
    tid = rt.tokens.create(cognitive=(0, 0, 0))
    with ng.serve(rt, rate_limits={"readonly": (1.0, 2.0)}) as srv:
        key = srv.keys.create("readonly")
        url = f"{srv.url}/api/v1/tokens/{tid}"
        with httpx.Client(headers=bearer(key.secret)) as http:
            codes = []
            for _ in range(50):
                r = http.get(url)
                codes.append(r.status_code)
                if r.status_code == 429:
                    break
            assert codes[-1] == 429 and codes[0] == 200, codes
            assert r.headers["content-type"].startswith("application/problem+json")
            retry = float(r.headers["retry-after"])
            assert 0 < retry <= 60
            time.sleep(retry)  # the server says when: then it serves again
            deadline = time.monotonic() + WAIT
            while (r := http.get(url)).status_code == 429:
                assert time.monotonic() < deadline, "still limited long after Retry-After"
                time.sleep(float(r.headers["retry-after"]))
            assert r.status_code == 200
            # another principal has its own bucket
            other = srv.keys.create("readonly")
            assert httpx.get(url, headers=bearer(other.secret)).status_code == 200


def test_audit_records_api_writes(served):
    rt, srv, keys = served
    headers = bearer(keys["user"])
    r = httpx.post(srv.url + "/api/v1/tokens", json={"coords": {"cognitive": [0.3, 0.3, 0.3]}}, headers=headers)
    new_id = r.json()["id"]
    bad = httpx.post(
        srv.url + "/api/v1/tokens", json={"coords": {"cognitive": [0, 0, 0]}, "weight": 5.0}, headers=headers
    )
    assert bad.status_code == 422
    audit = srv.audit()
    assert isinstance(audit, pd.DataFrame) and {"time", "principal", "route", "status", "ids"} <= set(audit.columns)
    mine = audit[audit["route"] == "/api/v1/tokens"]
    assert new_id in [i for ids in mine["ids"] for i in (ids or [])]
    refused = mine[mine["status"] == 422]
    assert len(refused) >= 1 and refused["reason"].notna().all()
    assert len(srv.audit(last=1)) == 1
    admin_view = httpx.get(srv.url + "/api/v1/audit", headers=bearer(keys["admin"]))
    assert admin_view.status_code == 200
    assert httpx.get(srv.url + "/api/v1/audit", headers=bearer(keys["user"])).status_code == 403
