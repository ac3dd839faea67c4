"""No input aborts the process (review item S1-4): a size that would allocate more memory than
the process can get is refused up front with ``ValidationError`` naming the size and the memory.

Each reproducer runs in a child process under an address-space limit (``RLIMIT_AS``), where an
allocation that is too big fails at once; before the fix the child died with SIGABRT
("memory allocation of ... bytes failed"). The child must exit 0 and print the refusal.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

LIMIT = 3 << 30  # room for Python, numpy, pandas and the runtime; far below every request


def run_limited(body: str, limit: int = LIMIT) -> str:
    """Run ``body`` (which binds ``call``) in a child under ``limit``; the refusal it printed."""
    code = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
        "import numpy as np\n"
        "import neurograph_lab as ng\n"
        + textwrap.dedent(body)
        + "\ntry:\n    call()\nexcept ng.ValidationError as e:\n    print('refused:', e)\nelse:\n    print('ran')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, f"the child died ({r.returncode}): {r.stderr[-2000:]}"
    assert r.stdout.startswith("refused: "), r.stdout
    return r.stdout


def test_knn_batch_of_a_million_points_with_k_a_million_is_refused():
    out = run_limited(
        """
        rt = ng.Runtime()
        rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (1_000_000, 8, 3)).astype(np.float32))
        call = lambda: rt.grid.neighbors_many(np.zeros((1_000_000, 3)), k=1_000_000)
        """
    )
    assert "k = 1000000 is invalid: the result of 1000000 queries x k=1000000 neighbours" in out
    assert "(ids + distances) needs 7.3 TiB, more than the" in out


def test_knn_batch_of_100k_points_with_k_100k_is_refused():
    out = run_limited(
        """
        rt = ng.Runtime()
        rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (100_000, 8, 3)).astype(np.float32))
        points = np.random.default_rng(1).uniform(-1, 1, (100_000, 3))
        call = lambda: rt.grid.neighbors_many(points, k=100_000)
        """
    )
    assert "the result of 100000 queries x k=100000 neighbours (ids + distances) needs 74.5 GiB" in out


def test_batched_semantic_query_beyond_memory_is_refused():
    out = run_limited(
        """
        rng = np.random.default_rng(0)
        rt = ng.Runtime()
        rt.bootstrap(rng.normal(size=(50_000, 16)).astype("f4"), [f"w{i}" for i in range(50_000)],
                     k=0, progress=False)
        queries = rng.normal(size=(200_000, 16)).astype("f4")
        call = lambda: rt.query_many(queries, k=50_000)
        """
    )
    assert "k = 50000 is invalid: the top 50000 of 200000 queries (ids + scores) needs" in out


def test_bootstrap_whose_weaving_would_not_fit_is_refused():
    out = run_limited(
        """
        vectors = np.random.default_rng(0).normal(size=(20_000, 16)).astype("f4")
        rt = ng.Runtime()
        call = lambda: rt.bootstrap(vectors, [f"w{i}" for i in range(20_000)], k=20_000, progress=False)
        """
    )
    assert "k = 20000 is invalid: weaving k=19999 neighbours for each of 20000 words" in out
    assert "(399980000 candidate connections) needs" in out


def test_batched_range_query_with_more_hits_than_memory_is_refused():
    out = run_limited(
        """
        rt = ng.Runtime()
        rt.tokens.create_many(np.random.default_rng(0).uniform(-1, 1, (1_000_000, 8, 3)).astype(np.float32))
        call = lambda: rt.grid.range_many(np.zeros((100_000, 3)), radius=10.0)
        """,
        # the hits are gathered until they pass what the memory left can hold: a tighter
        # limit keeps that short
        limit=3 << 29,
    )
    assert "radius = 10 is invalid: the 100000 points find more than" in out
    assert "use a smaller radius or fewer points at a time" in out
