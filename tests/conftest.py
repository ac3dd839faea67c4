"""Shared fixtures: small runtimes built through the public API."""

from __future__ import annotations

import numpy as np
import pytest

import neurograph_lab as ng


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def rt() -> ng.Runtime:
    return ng.Runtime()


@pytest.fixture
def filled(rng: np.random.Generator) -> tuple[ng.Runtime, np.ndarray]:
    """A runtime with 50 labelled tokens and a few connections."""
    rt = ng.Runtime()
    coords = rng.uniform(-1, 1, (50, 8, 3)).astype(np.float32)
    ids = rt.tokens.create_many(coords, labels=[f"t{i}" for i in range(50)], weights=rng.uniform(0, 1, 50))
    rt.connections.create_many(ids[:10], ids[10:20], kind="cause", strength=0.7)
    rt.connections.create(int(ids[0]), int(ids[1]), kind="synonym")
    return rt, ids
