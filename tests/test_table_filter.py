"""The dashboard's tokens table (``/api/v1/tokens/table``, filter and sort evaluated in Rust)
against pandas on ``rt.tokens.to_pandas()``: for many ``%ng_tokens --where`` expressions the
server keeps exactly the rows ``df.query`` keeps, in the order ``sort_values`` gives, and an
expression it cannot read is a 400 problem naming the position."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import httpx
import numpy as np
import pandas as pd
import pytest

import neurograph_lab as ng

FAST = {role: (1e6, 1e6) for role in ("readonly", "user", "admin", "per_ip")}
N = 400

EXPRESSIONS = [
    "weight > 0.5",
    "weight == 0.1",
    "weight != 0.1",
    "weight >= 0.25 and weight < 0.75",
    "0.2 < weight <= 0.6",
    "0.5 > weight",
    "weight in [0.1, 0.5, 0.25]",
    "weight not in [0.1, 0.5]",
    "not weight > 0.5",
    "~(weight > 0.5) & (entity == 'concept')",
    "(weight > 0.9) | (weight < 0.1)",
    "weight > 0.5 or entity == 'object' and label == 'w3'",
    "(weight > 0.5 or entity == 'object') and label == 'w3'",
    "entity == 'concept'",
    "entity != 'concept'",
    "entity in ['concept', 'event']",
    "entity not in ['concept', 'event']",
    "entity == 'nosuchtype'",
    "label == 'w3'",
    "label != 'w3'",
    "not label == 'w3'",
    "label < 'w2'",
    "label >= 'w5'",
    "label in ['w1', 'w2', 'nothere']",
    "label not in ['w1', 'w2']",
    "label.str.startswith('w1')",
    "label.str.endswith('7')",
    "label.str.contains('3')",
    "label.str.contains('W3', case=False)",
    "label.str.contains('w1', regex=False)",
    "not label.str.startswith('w1')",
    "label.str.startswith('w1') or weight > 0.8",
    "label.str.startswith('w1') and weight > 0.8",
    "not label.str.startswith('w1') or weight < 0",
    "label.str.startswith('w1') and not label == 'w1'",
    "label == 'w3' or label.isna()",
    "not (label != 'w3')",
    "label.isna()",
    "label.notna()",
    "label.isna() or weight > 0.9",
    "cognitive_x > 0",
    "cognitive_x != 0.5",
    "cognitive_x.isna()",
    "cognitive_x.notna() and physical_y < -0.5",
    "abstract_z <= -0.25 or sensory_x >= 0.75",
    "id > 200",
    "index <= 10",
    "id in [1, 5, 99, 100000]",
    "id not in [1, 2, 3]",
    "id == 2.5",
    "field_radius > 0.5",
    "field_strength < 0.5",
    "timestamp > '2020-01-01'",
    "timestamp < '2020-01-01 12:00:00'",
    "`weight` > 0.3",
    "weight > 1e-1 and weight < 5E-1",
    "weight > -1",
    "(((weight > 0.5)))",
    "weight > .5",
]


@pytest.fixture(scope="module")
def table() -> Iterator[tuple[ng.Runtime, Any, pd.DataFrame]]:
    """A served runtime with varied tokens: weights with ties (0.1, 0.25, 0.5 among them),
    labels with gaps, several entity types, spaces left unplaced, fields set; its frame."""
    rng = np.random.default_rng(14)
    coords = rng.uniform(-1, 1, (N, 8, 3)).astype(np.float32)
    coords[::3, 4, :] = np.nan  # cognitive unplaced for every third token
    coords[1::5, 0, :] = np.nan
    weights = np.array([0.1, 0.25, 0.5, 0.75, 0.9, 0.3333, 0.6, 0.05])[rng.integers(0, 8, N)].astype(np.float32)
    entities = [["concept", "object", "event", "undefined"][i % 4] for i in range(N)]
    labels: list[Optional[str]] = [None if i % 6 == 0 else f"w{i % 40}" for i in range(N)]
    rt = ng.Runtime()
    rt.tokens.create_many(
        coords,
        weights=weights,
        entities=entities,
        labels=labels,
        field_radius=rng.uniform(0, 2.5, N).astype(np.float32),
        field_strength=rng.uniform(0, 1, N).astype(np.float32),
        undefined="nan",
    )
    srv = ng.serve(rt, rate_limits=FAST)
    client = httpx.Client(base_url=srv.url + "/api/v1", headers={"Authorization": f"Bearer {srv.api_key}"})
    yield rt, client, rt.tokens.to_pandas()
    client.close()
    srv.stop()


def pages(client: Any, limit: int = 37, **params: Any) -> list[dict[str, Any]]:
    """Every row of a table query, page by page."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = client.get("/tokens/table", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["items"]
        cursor = body["next"]
        if cursor is None:
            assert body["count"] == len(rows)
            return rows


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_the_server_keeps_what_pandas_query_keeps(table: Any, expr: str) -> None:
    _, client, df = table
    want = df.query(expr).index.to_numpy()
    got = np.array([row["id"] for row in pages(client, where=expr)], dtype=np.uint32)
    assert sorted(got.tolist()) == sorted(want.tolist()), f"{expr}: {len(got)} rows, pandas {len(want)}"
    assert got.tolist() == sorted(got.tolist()), "id order by default"


@pytest.mark.parametrize("sort", ["weight", "label", "entity", "cognitive_x", "field_radius", "id"])
@pytest.mark.parametrize("desc", [False, True])
def test_sorted_pages_follow_sort_values(table: Any, sort: str, desc: bool) -> None:
    """The order of pandas' ``sort_values`` (missing values last both ways), ties by id
    (ascending, or descending when the sort is)."""
    _, client, df = table
    expr = "weight > 0.2"
    sub = df.query(expr).reset_index()
    key = sub[sort].astype("string") if sort == "label" else sub[sort]
    if sort == "entity":
        key = sub[sort].cat.codes
    want = sub.assign(_k=key).sort_values(["_k", "id"], ascending=[not desc, not desc], na_position="last")
    got = [row["id"] for row in pages(client, where=expr, sort=sort, desc=str(desc).lower())]
    assert got == want["id"].tolist()


def test_a_selection_is_filtered_like_the_frame_restricted_to_it(table: Any) -> None:
    _, client, df = table
    pick = df.index.to_numpy()[::7].tolist() + [16_000_000]
    r = client.post("/tokens/table", json={"ids": pick, "where": "weight >= 0.5", "limit": 1000})
    assert r.status_code == 200, r.text
    want = df.loc[df.index.isin(pick)].query("weight >= 0.5").index.tolist()
    assert [row["id"] for row in r.json()["items"]] == want
    assert r.json()["count"] == len(want)


@pytest.mark.parametrize(
    ("expr", "position"),
    [
        ("weight > ", 9),
        ("weight >> 1", 8),
        ("(weight > 1", 11),
        ("weight > 1)", 10),
        ("label == 'abc", 9),
        ("weight * 2 > 1", 7),
        ("nosuch > 1", 0),
        ("weight > 'a'", 9),
        ("label.str.upper()", 10),
        ("weight > 1 and entity < 'concept'", 15),
        ("timestamp > 5", 12),
    ],
)
def test_a_bad_expression_is_a_400_naming_the_position(table: Any, expr: str, position: int) -> None:
    _, client, _ = table
    r = client.get("/tokens/table", params={"where": expr})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["field"] == "where"
    assert problem["value"] == position
    assert f"position {position}" in problem["detail"]


def test_label_prefix_search_matches_the_frame(table: Any) -> None:
    _, client, df = table
    r = client.get("/tokens/labels", params={"prefix": "w1", "limit": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    hits = df[df["label"].str.startswith("w1").fillna(False)]
    assert body["count"] == len(hits)
    want = hits.reset_index().sort_values(["label", "id"]).head(5)
    assert [(h["id"], h["label"]) for h in body["items"]] == list(zip(want["id"], want["label"]))
