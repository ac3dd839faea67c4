"""Small embedding sets with planted structure, for tutorials, tests and benchmarks.

Real word-vector models cannot be downloaded here, so these generate vectors whose answers
are known: words in named clusters, and country/capital pairs that differ by one shared
offset (so ``capital_a - country_a + country_b`` lands on ``capital_b``).
"""

from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np

__all__ = ["planted_embeddings", "token_clusters", "write_vec"]

CLUSTERS = ("fruit", "tool", "animal", "colour", "vehicle", "music", "weather", "sport")


def planted_embeddings(
    words_per_cluster: int = 40,
    clusters: Sequence[str] = CLUSTERS,
    pairs: int = 12,
    dim: int = 50,
    noise: float = 0.15,
    seed: int = 0,
) -> tuple[list[str], np.ndarray]:
    """Words and float32 vectors with planted structure.

    ``fruit0 .. fruitN`` (and likewise per cluster) scatter around one random centre per
    cluster; ``country0 .. countryP`` are random, ``capital_i = country_i + offset`` with one
    shared offset. Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    words: list[str] = []
    rows: list[np.ndarray] = []
    for name in clusters:
        centre = rng.normal(0, 1, dim)
        centre /= np.linalg.norm(centre)
        for i in range(words_per_cluster):
            words.append(f"{name}{i}")
            rows.append(centre + rng.normal(0, noise / np.sqrt(dim), dim))
    offset = rng.normal(0, 1, dim)
    offset *= 0.8 / np.linalg.norm(offset)
    for i in range(pairs):
        country = rng.normal(0, 1, dim)
        country /= np.linalg.norm(country)
        words.append(f"country{i}")
        rows.append(country)
        words.append(f"capital{i}")
        rows.append(country + offset + rng.normal(0, 0.02 / np.sqrt(dim), dim))
    return words, np.asarray(rows, dtype=np.float32)


def token_clusters(
    n: int = 20_000, clusters: int = 6, spread: float = 0.12, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Coordinates ``(n, 8, 3)`` float32 of tokens in ``clusters`` groups, each group around
    its own random centre in every space, with entity type codes (one per group, cycling
    through the first 8 entity types after ``undefined``) and labels ``"c<group>-<i>"``.
    Deterministic for a seed; all values lie in [-1, 1]."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, clusters, n)
    centres = rng.uniform(-0.7, 0.7, (clusters, 8, 3))
    coords = centres[group] + rng.normal(0, spread, (n, 8, 3))
    coords = np.clip(coords, -1.0, 1.0).astype(np.float32)
    entities = (1 + group % 8).astype(np.uint8)
    labels = [f"c{g}-{i}" for i, g in enumerate(group)]
    return coords, entities, labels


def write_vec(
    path: Union[str, os.PathLike[str]], words: Sequence[str], vectors: np.ndarray, header: bool = True
) -> None:
    """Write word2vec text format ("count dim" header optional, then "word v1 ... vd")."""
    with open(path, "w", encoding="utf-8") as f:
        if header:
            f.write(f"{len(words)} {vectors.shape[1]}\n")
        for w, v in zip(words, vectors):
            f.write(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n")
