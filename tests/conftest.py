"""Shared fixtures: small runtimes built through the public API."""

from __future__ import annotations

import signal
from typing import Any, Callable, Iterator, Union

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab import _core


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


@pytest.fixture
def interrupt_at() -> Iterator[Callable[[Union[int, str]], list[Any]]]:
    """Ctrl-C at a known point of the next long core call (or bulk write):
    ``interrupt_at(units)`` or ``interrupt_at("commit")`` makes the work pause there while the
    calling thread raises a real SIGINT. Python's own SIGINT handler is installed for the
    test, so this works also when pytest was started with SIGINT ignored (a background job of
    a non-interactive shell, CI). Returns a list that records each time the interrupt fired."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    fired: list[Any] = []

    def arm(at: Union[int, str]) -> list[Any]:
        def hook() -> None:
            fired.append(at)
            signal.raise_signal(signal.SIGINT)

        _core._pause_next_long_call(at, hook)
        return fired

    try:
        yield arm
    finally:
        _core._pause_next_long_call(None)
        signal.signal(signal.SIGINT, old)
