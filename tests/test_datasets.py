"""``ng.datasets``: the generated data sets keep the promises their docstrings make (shapes,
bounds, determinism, the planted structure), so tutorials and benchmarks that build on them
show what they say."""

from __future__ import annotations

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab.datasets import planted_embeddings, token_clusters


def test_token_clusters_shapes_bounds_and_labels() -> None:
    coords, entities, labels = token_clusters(600, clusters=10, spread=0.3, seed=5)
    assert coords.shape == (600, 8, 3) and coords.dtype == np.float32
    assert coords.min() >= -1.0 and coords.max() <= 1.0
    assert entities.shape == (600,) and entities.dtype == np.uint8
    assert len(labels) == 600 and len(set(labels)) == 600
    group = np.array([int(label.split("-")[0][1:]) for label in labels])
    assert [int(label.split("-")[1]) for label in labels] == list(range(600))
    assert set(group) == set(range(10))
    # one entity type per group, cycling through the 8 types after "undefined" (code 0)
    assert np.array_equal(entities, 1 + group % 8)


def test_token_clusters_are_deterministic_for_a_seed() -> None:
    a, b = token_clusters(200, seed=1), token_clusters(200, seed=1)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert not np.array_equal(a[0], token_clusters(200, seed=2)[0])


def test_token_clusters_nearest_neighbours_share_their_group() -> None:
    """The planted groups are what the runtime's kNN finds: a token's nearest neighbours over
    all spaces belong to its own group."""
    coords, entities, labels = token_clusters(400, clusters=4, seed=0)
    rt = ng.Runtime()
    ids = rt.tokens.create_many(coords, labels=labels, entities=entities)
    group = {int(i): label.split("-")[0] for i, label in zip(ids, labels)}
    same = [
        group[int(hit)] == group[int(tid)]
        for tid in ids[:50]
        for hit in rt.grid.neighbors(int(tid), k=5, space="all").ids
    ]
    assert np.mean(same) > 0.95


@pytest.mark.parametrize("seed", [0, 3])
def test_planted_analogies_hold(seed: int) -> None:
    words, vectors = planted_embeddings(words_per_cluster=10, pairs=5, dim=32, seed=seed)
    assert vectors.shape == (len(words), 32) and vectors.dtype == np.float32
    index = {w: i for i, w in enumerate(words)}
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    target = vectors[index["capital0"]] - vectors[index["country0"]] + vectors[index["country3"]]
    scores = unit @ (target / np.linalg.norm(target))
    for w in ("capital0", "country0", "country3"):
        scores[index[w]] = -np.inf
    assert words[int(np.argmax(scores))] == "capital3"
