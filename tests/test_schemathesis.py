"""Schemathesis against the live server's own OpenAPI document (``/api/v1/openapi.json``):
every operation, fed examples generated from its schema (bounded, derandomized so CI runs the
same cases each time), must answer without a server error, with a status, content type and
body that the document declares. Runs as the ephemeral admin (every route is reachable) on a
real ``ng.serve`` with auth on."""

from __future__ import annotations

import os
import sys
from typing import Any, Iterator

import numpy as np
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

import neurograph_lab as ng  # noqa: E402

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - schemathesis brings the backport
    from exceptiongroup import BaseExceptionGroup

#: Examples per operation: small in CI, more with NG_SCHEMATHESIS_EXAMPLES=500.
EXAMPLES = int(os.environ.get("NG_SCHEMATHESIS_EXAMPLES", "30"))
FAST = {role: (1e6, 1e6) for role in ("readonly", "user", "admin", "per_ip")}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A served runtime with tokens and connections, and its OpenAPI document loaded."""
    rt = ng.Runtime()
    coords = np.random.default_rng(3).uniform(-1, 1, (300, 8, 3)).astype(np.float32)
    ids = rt.tokens.create_many(coords, labels=[f"w{i}" for i in range(300)], entities="concept")
    rt.connections.create_many(ids[:100], ids[100:200], kind="cause", strength=0.5)
    srv = ng.serve(rt, rate_limits=FAST, state_dir=tmp_path_factory.mktemp("state"))
    schema = schemathesis.openapi.from_url(srv.url + "/api/v1/openapi.json")
    yield schema, srv.api_key
    srv.stop()


def _describe(e: BaseException) -> str:
    """A failure's text: schemathesis' failure titles (and the request to reproduce it)."""
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(_describe(x) for x in e.exceptions)
    text = str(e)
    return f"{type(e).__name__}: {text[:1500]}"


def _run(schema: Any, key: str, **checks: Any) -> list[str]:
    """One Hypothesis run per operation (schemathesis' pytest plugin cannot parametrize from a
    fixture under this pytest), each derandomized: the same cases every run. Returns the
    failures of every operation."""
    headers = {"Authorization": f"Bearer {key}"}
    failures: list[str] = []
    count = 0
    for result in schema.get_all_operations():
        op = result.ok()
        count += 1

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, timeout=60, **checks)

        try:
            check()
        except (Exception, BaseExceptionGroup) as e:  # every operation runs; failures are listed at the end
            failures.append(f"{op.label}: {_describe(e)}")
    assert count >= 40
    return failures


def test_every_operation_conforms_to_the_document(live: tuple[Any, str]) -> None:
    """No server error; status codes, content types, headers and bodies as documented; a
    request the document calls invalid is refused."""
    failures = _run(*live, excluded_checks=[positive_data_acceptance])
    assert failures == [], "\n\n".join(failures)


@pytest.mark.xfail(
    reason="openapi.rs: the document does not yet declare every constraint the routes check "
    "(space names, policies and profiles as enums, bounds of k/limit/radius/depth, exactly-one-of "
    "bodies), so schema-valid requests get 422"
)
def test_schema_valid_requests_are_accepted(live: tuple[Any, str]) -> None:
    failures = _run(*live, checks=[positive_data_acceptance])
    assert failures == [], "\n\n".join(failures)
