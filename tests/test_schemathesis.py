"""Schemathesis against the live server's own OpenAPI document (``/api/v1/openapi.json``):
every operation, fed examples generated from its schema (bounded, derandomized so CI runs the
same cases each time), must answer without a server error, with a status, content type and
body that the document declares. Runs as the ephemeral admin (every route is reachable) on a
real ``ng.serve`` with auth on."""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

import neurograph_lab as ng  # noqa: E402

#: Examples per operation: small in CI, more with NG_SCHEMATHESIS_EXAMPLES=500.
EXAMPLES = int(os.environ.get("NG_SCHEMATHESIS_EXAMPLES", "30"))
FAST = {role: (1e6, 1e6) for role in ("readonly", "user", "admin", "per_ip")}
_SERVED: dict[str, Any] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    rt = ng.Runtime()
    coords = np.random.default_rng(3).uniform(-1, 1, (300, 8, 3)).astype(np.float32)
    ids = rt.tokens.create_many(coords, labels=[f"w{i}" for i in range(300)], entities="concept")
    rt.connections.create_many(ids[:100], ids[100:200], kind="cause", strength=0.5)
    srv = ng.serve(rt, rate_limits=FAST, state_dir=tmp_path_factory.mktemp("state"))
    _SERVED["key"] = srv.api_key
    schema = schemathesis.openapi.from_url(srv.url + "/api/v1/openapi.json")
    yield schema
    srv.stop()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_document(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {_SERVED['key']}"}, timeout=60)
