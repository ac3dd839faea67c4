"""The graph explorer's layout separates planted communities: on a bootstrap of
``datasets.planted_embeddings()`` woven with k neighbours, the mean layout distance between two
words of one cluster is well under the mean distance between words of different clusters
(cluster = the word without its digits). Deterministic for the seed, so not flaky."""

from __future__ import annotations

import re

import numpy as np
import pytest

import neurograph_lab as ng
from neurograph_lab.datasets import planted_embeddings
from neurograph_lab.widgets import GraphExplorer


def separation(pos: np.ndarray, clusters: list[str]) -> float:
    """Mean pairwise distance within clusters / mean pairwise distance between clusters."""
    d = np.sqrt(((pos[:, None, :].astype(np.float64) - pos[None, :, :]) ** 2).sum(-1))
    lab = np.asarray(clusters)
    same = lab[:, None] == lab[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    return float(d[same & upper].mean() / d[~same & upper].mean())


def planted_layout(k: int, seed: int = 0, noise: float = 0.15) -> tuple[np.ndarray, list[str]]:
    """The whole planted graph laid out through the GraphExplorer path; (positions, cluster)."""
    words, vecs = planted_embeddings(seed=seed, noise=noise)
    rt = ng.Runtime()
    rt.bootstrap(vecs, words, k=k, progress=False)
    g = GraphExplorer(rt)  # the whole graph, as ng.explore(rt) shows it
    labels = rt.labels_of(g._nodes)
    return g._pos, [re.sub(r"\d+", "", str(w)) for w in labels]


def test_separation_measure_is_meaningful():
    rng = np.random.default_rng(0)
    apart = np.concatenate([rng.normal(0, 0.05, (20, 2)), rng.normal(0, 0.05, (20, 2)) + 1])
    mixed = rng.uniform(-1, 1, (40, 2))
    names = ["a"] * 20 + ["b"] * 20
    assert separation(apart, names) < 0.2
    assert separation(mixed, names) > 0.8


# noise 0.15 (the default): clusters woven apart; 1.5: about 12% of the woven edges join two
# clusters, closer to real vectors
@pytest.mark.parametrize("noise", [0.15, 1.5])
@pytest.mark.parametrize("k", [5, 10])
def test_planted_clusters_are_separated(k, noise):
    pos, clusters = planted_layout(k, noise=noise)
    assert pos.shape == (len(clusters), 2) and np.isfinite(pos).all()
    assert len(set(clusters)) == 10  # 8 planted clusters + countries and capitals
    ratio = separation(pos, clusters)
    assert ratio < 0.5, f"k={k} noise={noise}: intra/inter layout distance {ratio:.3f}"


def test_layout_is_deterministic():
    a, _ = planted_layout(5)
    b, _ = planted_layout(5)
    np.testing.assert_array_equal(a, b)
