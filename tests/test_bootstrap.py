"""Bootstrap from embeddings, semantic query, feedback and the IntuitionEngine, on data with
planted structure so the right answers are known."""

from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import neurograph_lab as ng
from neurograph_lab.datasets import planted_embeddings, write_vec


@pytest.fixture(scope="module")
def planted():
    return planted_embeddings(words_per_cluster=30, pairs=10, dim=40, seed=3)


@pytest.fixture
def boot(planted):
    words, vecs = planted
    rt = ng.Runtime()
    report = rt.bootstrap(vecs, words, k=5, space=["abstract", "cognitive"])
    return rt, report


def test_report_and_placement(boot, planted):
    rt, report = boot
    words, _ = planted
    assert report.words == len(words) == len(rt.tokens)
    assert report.connections == len(rt.connections) == 5 * len(words)
    ratios = report.explained_variance_ratio
    assert len(ratios) == 6 and np.all(np.diff(ratios) <= 1e-9) and 0 < ratios.sum() <= 1
    df = rt.tokens.to_pandas()
    assert set(df["label"]) == set(words) and (df["entity"] == "concept").all()
    assert df["abstract_x"].notna().all() and df["cognitive_x"].notna().all() and df["social_x"].isna().all()
    # the first space holds the top principal axes: its spread is the largest
    assert df[["abstract_x", "abstract_y", "abstract_z"]].abs().max().max() <= 3.2767
    assert "words" in repr(report) and "<table" in report._repr_html_()


def test_clusters_stay_together_in_space(boot):
    rt, _ = boot
    tid = int(rt.tokens.find("fruit3")[0])
    near = rt.grid.neighbors(tid, k=8, space="abstract")
    assert sum(lab.startswith("fruit") for lab in near.labels) >= 6


def test_query_returns_planted_neighbours(boot):
    rt, _ = boot
    res = rt.query("tool7", k=10)
    assert isinstance(res, ng.QueryResult) and res.metric == "score"
    assert all(w.startswith("tool") for w in res.labels) and "tool7" not in res.labels
    assert np.all(np.diff(res.scores) <= 0)
    df = res.to_pandas()
    assert list(df.columns) == ["label", "score"]


def test_analogy_offsets(boot):
    rt, _ = boot
    for a, b in [(0, 1), (2, 5), (7, 3)]:
        res = rt.query(f"capital{a} - country{a} + country{b}", k=3)
        assert res.labels[0] == f"capital{b}"


def test_several_words_and_vectors(boot, planted):
    rt, _ = boot
    words, vecs = planted
    res = rt.query("animal1 animal2", k=5)
    assert all(w.startswith("animal") for w in res.labels)
    v = vecs[words.index("colour4")]
    assert rt.query(v, k=1).labels == ["colour4"]
    ids, scores = rt.query_many(np.stack([v, vecs[words.index("sport0")]]), k=3)
    assert ids.shape == scores.shape == (2, 3)
    assert rt.tokens[int(ids[1, 0])].label == "sport0"
    ids2, _ = rt.query_many(["music1", "weather2"], k=4)
    assert all(rt.tokens[int(i)].label.startswith("music") for i in ids2[0])


def test_unknown_word_suggests_spellings(boot):
    rt, _ = boot
    with pytest.raises(ng.ValidationError, match="'?frut3'? .*did you mean: fruit3"):
        rt.query("frut3")
    with pytest.raises(ng.ValidationError, match="no words"):
        rt.query("   ")
    with pytest.raises(ng.ValidationError, match="expected 40"):
        rt.query(np.zeros(7, np.float32))


def test_same_input_gives_same_ids_and_coordinates(planted, tmp_path):
    words, vecs = planted
    path = tmp_path / "planted.vec"
    write_vec(path, words, vecs)
    a, b = ng.Runtime(), ng.Runtime()
    a.bootstrap(path, k=3)
    b.bootstrap(path, k=3)
    pd.testing.assert_frame_equal(
        a.tokens.to_pandas().drop(columns="timestamp"), b.tokens.to_pandas().drop(columns="timestamp")
    )
    c = ng.Runtime()
    c.bootstrap(path, k=3, seed=7)
    assert set(c.tokens.ids()) != set(a.tokens.ids())


def test_loaders_agree(planted, tmp_path):
    words, vecs = planted
    ref = ng.Runtime()
    ref.bootstrap(vecs, words, k=0)
    expected = ref.tokens.to_pandas().drop(columns="timestamp")
    write_vec(tmp_path / "h.vec", words, vecs, header=True)
    write_vec(tmp_path / "n.txt", words, vecs, header=False)
    np.save(tmp_path / "m.npy", vecs)
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    with open(tmp_path / "w.bin", "wb") as f:
        f.write(f"{len(words)} {vecs.shape[1]}\n".encode())
        for w, v in zip(words, vecs):
            f.write(w.encode() + b" " + struct.pack(f"<{len(v)}f", *v) + b"\n")
    for source, extra in [
        (tmp_path / "h.vec", None),
        (tmp_path / "n.txt", None),
        (tmp_path / "m.npy", tmp_path / "vocab.txt"),
        (tmp_path / "w.bin", None),
        (pd.DataFrame(vecs, index=words), None),
    ]:
        rt = ng.Runtime()
        rt.bootstrap(source, extra, k=0)
        got = rt.tokens.to_pandas().drop(columns="timestamp")
        # the default fills 8 spaces; the last principal axes (small variance) move a little
        # with the text files' rounding, so each column is compared on its own scale
        coords = [c for c in expected.columns if c[-2:] in ("_x", "_y", "_z")]
        pd.testing.assert_frame_equal(got.drop(columns=coords), expected.drop(columns=coords))
        for c in coords:
            scale = float(np.nanmax(np.abs(expected[c].to_numpy()))) if expected[c].notna().any() else 0.0
            pd.testing.assert_series_equal(got[c], expected[c], atol=2e-4 + 2e-3 * scale, check_exact=False)
        assert expected["physical_x"].notna().all()  # planted vectors (50 dims) fill all 8 spaces


def test_max_words_and_bad_files(planted, tmp_path):
    words, vecs = planted
    path = tmp_path / "e.vec"
    write_vec(path, words, vecs, header=False)
    rt = ng.Runtime()
    assert rt.bootstrap(path, max_words=50, k=2).words == 50
    lines = path.read_text().splitlines()
    bad = lines[:10] + ["oops 1.0 2.0"] + lines[10:20] + ["word " + " ".join(["x"] * vecs.shape[1])] + lines[20:]
    p2 = tmp_path / "bad.vec"
    p2.write_text("\n".join(bad) + "\n")
    with pytest.raises(ng.ValidationError, match=r"bad\.vec: line 11: .*expected 40"):
        ng.Runtime().bootstrap(p2)
    report = ng.Runtime().bootstrap(p2, errors="skip", k=0)
    assert report.skipped_lines == 2 and report.words == len(words)
    p3 = tmp_path / "cut.vec"
    p3.write_text("\n".join(lines[:5]) + "\n" + lines[5][: len(lines[5]) // 2])
    with pytest.raises(ng.ValidationError, match=r"cut\.vec: line 6"):
        ng.Runtime().bootstrap(p3)
    with pytest.raises(FileNotFoundError):
        ng.Runtime().bootstrap(tmp_path / "missing.vec")
    with pytest.raises(ng.ValidationError, match="needs words"):
        ng.Runtime().bootstrap(vecs)
    with pytest.raises(ng.ValidationError, match="words but"):
        ng.Runtime().bootstrap(vecs, words[:-1])


def test_bad_bootstrap_changes_nothing(planted):
    words, vecs = planted
    rt = ng.Runtime()
    rt.tokens.create(label="existing")
    bad = vecs.copy()
    bad[5, 3] = np.nan
    with pytest.raises(ng.ValidationError, match="non-finite"):
        rt.bootstrap(bad, words)
    with pytest.raises(ng.ValidationError, match="repeats"):
        rt.bootstrap(vecs[:3], ["a", "b", "a"])
    assert len(rt.tokens) == 1 and len(rt.connections) == 0
    rt.bootstrap(vecs, words, k=2)
    with pytest.raises(ng.ValidationError, match="replace=True"):
        rt.bootstrap(vecs, words, k=2)
    rt.bootstrap(vecs[:20], words[:20], k=2, replace=True)
    assert len(rt.tokens) == 21


def test_feedback_rules(boot):
    rt, _ = boot
    src = int(rt.tokens.find("fruit1")[0])
    conns = rt.connections.for_token(src)
    out_edges = conns[conns["token_a"] == src]
    target = int(out_edges["token_b"].iloc[0])
    cid = int(out_edges.index[0])
    before = rt.connections[cid].confidence
    res = rt.feedback("fruit1", target, good=True)
    assert res["outcome"].tolist() == ["updated"]
    assert rt.connections[cid].confidence == pytest.approx(before + 0.1, abs=1 / 255)
    rt.feedback(src, target, good=False)
    assert rt.connections[cid].confidence == pytest.approx(before + 0.05, abs=2 / 255)
    assert rt.connections[cid].evidence_count == 2
    with pytest.raises(ng.NotFoundError):
        rt.feedback(src, 99_999_999 % (1 << 24), good=True)


def test_intuition_proposes_and_guardian_decides(boot):
    rt, _ = boot
    a = int(rt.tokens.find("fruit0")[0])
    b = int(rt.tokens.find("vehicle0")[0])
    for _ in range(2):
        rt.feedback(a, b, good=True)
    props = rt.intuition.proposals()
    row = props[(props["action"] == "create") & (props["token_a"] == a) & (props["token_b"] == b)]
    assert len(row) == 1
    ran = rt.intuition.run()
    refused = ran[(ran["token_a"] == a) & (ran["token_b"] == b)]
    assert not refused["accepted"].iloc[0] and "ENABLE_MUTATION" in refused["reason"].iloc[0]
    rt.cdna.profile = "creative"
    ran = rt.intuition.run()
    ok = ran[(ran["token_a"] == a) & (ran["token_b"] == b)]
    assert ok["accepted"].iloc[0]
    made = rt.connections.for_token(a)
    hyp = made[(made["token_b"] == b) & (made["mutability"] == "hypothesis")]
    assert len(hyp) == 1
    assert len(rt.intuition.experiences()) >= 2
    # hypotheses decay and go under 10%
    for _ in range(20):
        rt.connections.decay()
    assert b not in rt.connections.for_token(a)["token_b"].tolist()


def test_bootstrap_survives_a_snapshot(boot, tmp_path):
    rt, _ = boot
    rt.save(tmp_path / "b.ngs")
    back = ng.Runtime.load(tmp_path / "b.ngs")
    assert back.query("tool7", k=5).labels == rt.query("tool7", k=5).labels
    assert back._core.bootstrap_info()["words"] == rt._core.bootstrap_info()["words"]


def test_query_without_bootstrap(rt):
    with pytest.raises(ng.ValidationError, match="no bootstrap"):
        rt.query("anything")


def test_degenerate_and_bad_queries(boot):
    rt, _ = boot
    with pytest.raises(ng.ValidationError, match="no direction"):
        rt.query("fruit3 - fruit3")
    with pytest.raises(ng.ValidationError, match="no direction"):
        rt.query(np.zeros(40, np.float32))
    with pytest.raises(ng.ValidationError, match="ends with an operator"):
        rt.query("fruit3 -")
    with pytest.raises(ng.ValidationError, match="k must be"):
        rt.query("fruit3", k=-1)
    with pytest.raises(ng.ValidationError, match="finite"):
        rt.query_many(np.full((1, 40), np.nan, np.float32))
    assert len(rt.query("fruit3", k=0)) == 0
    assert rt.query_many(np.ones((2, 40), np.float32), k=0)[0].shape == (2, 0)
    assert float(rt.query(rt._core.bootstrap_vectors()[0], k=1).scores[0]) <= 1.0


def test_proposals_do_not_change_anything(boot):
    rt, _ = boot
    a, b = int(rt.tokens.find("fruit0")[0]), int(rt.tokens.find("sport0")[0])
    rt.feedback(a, b)
    rt.feedback(a, b)
    first, second = rt.intuition.proposals(), rt.intuition.proposals()
    pd.testing.assert_frame_equal(first, second)
    assert rt.intuition.run()["id"].tolist() == first["id"].tolist()


def test_bad_bootstrap_arguments(planted):
    words, vecs = planted
    with pytest.raises(ng.ValidationError, match="once"):
        ng.Runtime().bootstrap(vecs, words, space=["abstract", "L8"])
    with pytest.raises(ng.ValidationError, match="errors must be"):
        ng.Runtime().bootstrap(vecs, words, errors="ignore")
    # S4: k=2**70 raised OverflowError; sizes are refused by name beyond 2**63 - 1
    for call in (
        lambda: ng.Runtime().bootstrap(vecs, words, k=2**70),
        lambda: ng._core.Runtime().bootstrap_embeddings(words, vecs, ["abstract"], 2**70),
    ):
        with pytest.raises(ng.ValidationError, match=r"k must be an integer in 0\.\.=9223372036854775807, got 1180"):
            call()


def test_query_with_the_largest_k_returns_every_other_word(boot, planted):
    # S4: k + (the query's own words) wrapped at k = 2**64 - 1 and returned nothing; sizes
    # now go up to 2**63 - 1 (capped at the vocabulary) and beyond that are refused by name
    rt, _ = boot
    words, _ = planted
    assert len(rt.query("fruit3", k=2**63 - 1)) == len(words) - 1
    for k in (2**64 - 1, 2**70):
        with pytest.raises(ng.ValidationError, match=r"k must be an integer in 0\.\.="):
            rt.query("fruit3", k=k)


def test_query_many_caps_k_the_same_way_for_texts_and_matrices(boot, planted):
    rt, _ = boot
    words, vecs = planted
    n = len(words)
    ids, scores = rt.query_many(["fruit1", "tool2"], k=n + 50)
    assert ids.shape == scores.shape == (2, n - 1) and np.isfinite(scores).all()
    ids, _ = rt.query_many(vecs[:2], k=n + 50)
    assert ids.shape == (2, n)


def _random_words(n: int, dim: int = 32, seed: int = 3) -> tuple[np.ndarray, list[str]]:
    vecs = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vecs, [f"w{i}" for i in range(n)]


def test_ctrl_c_stops_weaving_and_changes_nothing(interrupt_at):
    # S2-4: Ctrl-C before the commit point: KeyboardInterrupt, the runtime as it was
    vecs, words = _random_words(3000)
    rt = ng.Runtime()
    rt.tokens.create(label="kept")
    fired = interrupt_at(1)  # after the first tile of the weaving
    with pytest.raises(KeyboardInterrupt):
        rt.bootstrap(vecs, words, k=5, progress=False)
    assert fired == [1]
    assert len(rt.tokens) == 1 and len(rt.connections) == 0 and rt._core.bootstrap_info() is None
    small = rt.bootstrap(vecs[:500], words[:500], k=3, progress=False)
    assert small.words == 500 and len(rt.tokens) == 501


def _fingerprint(rt):
    """Everything a refused call must leave as it was."""
    toks = rt.tokens.to_pandas()
    conns = rt.connections.to_pandas()
    vocab = rt._core.bootstrap_vocabulary() if rt._core.bootstrap_info() else None
    return (
        toks.to_csv(),
        conns.drop(columns=[c for c in conns.columns if c.endswith("_at") or c == "last_update"]).to_csv(),
        rt.cdna.to_bytes(),
        None if vocab is None else (tuple(vocab[0]), tuple(vocab[1].tolist())),
    )


def test_deleting_a_word_removes_it_from_the_vocabulary_and_the_file_loads(boot, tmp_path):
    # review S1-1 / S2-3: the vocabulary follows its tokens
    rt, _ = boot
    gone = int(rt.tokens.find("fruit7")[0])
    rt.tokens.delete(gone)
    words, ids = rt._core.bootstrap_vocabulary()
    assert "fruit7" not in words and gone not in ids.tolist()
    assert rt._core.bootstrap_info()["words"] == len(words) == len(rt.tokens)
    assert rt._core.bootstrap_vectors().shape == (len(words), 40)
    with pytest.raises(ng.ValidationError, match="not in the vocabulary") as err:
        rt.query("fruit7")
    assert "fruit7" not in str(err.value).split("did you mean:")[1]  # never suggests a deleted word
    hits = rt.query("fruit3", k=len(words))
    assert gone not in hits.ids.tolist() and None not in hits.labels
    many, _ = rt.query_many(rt._core.bootstrap_vectors()[:3], k=len(words))
    assert gone not in many.ravel().tolist() and many.shape == (3, len(words))
    rt.save(tmp_path / "after-delete.ngs")
    back = ng.Runtime.load(tmp_path / "after-delete.ngs")
    assert back.query("fruit3", k=5).labels == rt.query("fruit3", k=5).labels
    assert "fruit7" not in back._core.bootstrap_vocabulary()[0]


def test_deleting_most_words_compacts_and_queries_stay_right(boot):
    rt, _ = boot
    words, ids = rt._core.bootstrap_vocabulary()
    keep = {w for w in words if w.startswith("tool")}
    rt.tokens.delete([int(i) for w, i in zip(words, ids) if w not in keep])
    assert set(rt._core.bootstrap_vocabulary()[0]) == keep
    res = rt.query("tool3", k=100)
    assert set(res.labels) == keep - {"tool3"}
    rt.tokens.delete(rt.tokens.ids())
    assert rt._core.bootstrap_info() is None  # no word left: no vocabulary
    rt.bootstrap(*boot_input(), k=1)  # a new bootstrap needs no replace=True


def boot_input():
    words = [f"w{i}" for i in range(20)]
    return np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32), words


def test_clear_removes_the_vocabulary_and_old_word_ids_are_never_returned(boot, tmp_path):
    # review S2-3: after clear(), a new token may take a word's old id; queries must not
    # return it, and the file must load (S1-1)
    rt, _ = boot
    vocab, vid = rt._core.bootstrap_vocabulary()
    rt.tokens.clear()
    assert rt._core.bootstrap_info() is None
    rt.tokens.create(id=int(vid[1]), label="UNRELATED")
    with pytest.raises(ng.ValidationError, match="no bootstrap"):
        rt.query(vocab[0])
    rt.save(tmp_path / "cleared.ngs")
    assert len(ng.Runtime.load(tmp_path / "cleared.ngs").tokens) == 1


def test_bootstrap_that_the_cdna_refuses_changes_nothing_and_is_recorded(planted):
    # review S1-3: a negative strength range used to panic half-way and lose the old bootstrap
    words, vecs = planted
    rt = ng.Runtime()
    rt.bootstrap(vecs, words, k=5)
    rt.cdna.update(strength_min=-1.0, strength_max=-0.5, default_pull_strength=-0.75, policy="force")
    report = rt.bootstrap(vecs[:100], [w + "_new" for w in words[:100]], k=5, replace=True)
    assert report.connections > 0 and len(rt.tokens) == 100
    assert (rt.connections.to_pandas()["strength"] == -0.5).all()  # similarities fit into the bounds
    # a CDNA that refuses the woven kind: the replacing bootstrap fails as a whole
    rt.cdna.forbid_kinds("associated_with", policy="force")
    before = _fingerprint(rt)
    with pytest.raises(ng.ValidationError, match="associated_with is not allowed"):
        rt.bootstrap(vecs, words, k=5, replace=True)
    assert _fingerprint(rt) == before
    assert rt.query("fruit1_new", k=3).labels[0].endswith("_new")
    last = rt.events(last=1).iloc[0]
    assert last["kind"] == "bootstrap" and not last["accepted"] and "not allowed" in last["reason"]
    # and without replace (a first bootstrap), nothing is left behind either
    fresh = ng.Runtime()
    fresh.cdna.forbid_kinds("associated_with")
    with pytest.raises(ng.ValidationError, match="not allowed"):
        fresh.bootstrap(vecs, words, k=5)
    assert len(fresh.tokens) == 0 and fresh._core.bootstrap_info() is None


def test_feedback_decay_and_intuition_bump_the_data_version(boot):
    # review S2-6: in-place connection changes must make live views refresh
    rt, _ = boot
    cid = int(rt.connections.to_pandas().index[0])
    v = rt._core.data_version()
    rt.connections.feedback(cid)
    assert rt._core.data_version() != v
    v = rt._core.data_version()
    c = rt.connections[cid]
    rt.feedback(c.token_a, c.token_b, good=True)
    assert rt._core.data_version() != v


def test_intuition_evidence_does_not_survive_clear():
    # review S3-6
    rt = ng.Runtime()
    rt.cdna.profile = "creative"
    a, b = rt.tokens.create(), rt.tokens.create()
    for _ in range(3):
        rt.intuition.observe([a, b])
    rt.tokens.clear()
    rt.tokens.create(label="NEW-x"), rt.tokens.create(label="NEW-y")
    ran = rt.intuition.run()
    assert len(ran) == 0 and len(rt.connections) == 0


def test_a_large_coactivation_adds_evidence_linearly():
    # review S3-6: observe() of 3,000 ids used to add 9M pairs under the write lock
    rt = ng.Runtime()
    ids = rt.tokens.create_many(np.zeros((3000, 8, 3)))
    for _ in range(3):
        rt.intuition.observe(ids)
    props = rt.intuition.proposals()
    # neighbours within 8 places co-activate; far-apart tokens do not
    pairs = set(zip(props["token_a"].tolist(), props["token_b"].tolist()))
    assert (int(ids[10]), int(ids[18])) in pairs and (int(ids[10]), int(ids[19])) not in pairs
    assert len(pairs) == 2 * (3000 * 8 - 36)


def test_ctrl_c_at_the_commit_point_returns_the_report(interrupt_at):
    # S2-4: once the bootstrap has taken the write lock to commit, a Ctrl-C is refused: the
    # call returns its report and the store holds everything it reports
    vecs, words = _random_words(2000)
    rt = ng.Runtime()
    fired = interrupt_at("commit")
    report = rt.bootstrap(vecs, words, k=5, progress=False)
    assert fired == ["commit"]
    assert report.words == 2000 == len(rt.tokens)
    assert report.connections == len(rt.connections) > 0 and rt._core.bootstrap_info()["words"] == 2000


def test_script_exits_cleanly_after_an_interrupted_bootstrap():
    # S2-4: the worker is joined before the call returns, so the interpreter exits with 0
    # (it used to abort with SIGABRT at exit while the unjoined worker was still in Rust)
    code = """
import signal
import numpy as np
import neurograph_lab as ng
from neurograph_lab import _core

signal.signal(signal.SIGINT, signal.default_int_handler)
vecs = np.random.default_rng(0).standard_normal((3000, 32)).astype(np.float32)
rt = ng.Runtime()
_core._pause_next_long_call(1, lambda: signal.raise_signal(signal.SIGINT))
try:
    rt.bootstrap(vecs, [f"w{i}" for i in range(3000)], k=5, progress=False)
except KeyboardInterrupt:
    print("interrupted", len(rt.tokens))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["interrupted", "0"]


def test_ctrl_c_during_query_many_raises(boot, planted, interrupt_at):
    # S2-4: batched queries stop at the next tile
    rt, _ = boot
    _, vecs = planted
    before = rt._core.data_version()
    fired = interrupt_at(1)
    with pytest.raises(KeyboardInterrupt):
        rt.query_many(np.tile(vecs, (20, 1)), k=5)
    assert fired == [1] and rt._core.data_version() == before
    ids, _ = rt.query_many(vecs[:3], k=5)
    assert ids.shape == (3, 5)


OPERATOR_LIKE = ["-", "+", ",", "'s", "a-b"]


@pytest.fixture(scope="module")
def punctuated():
    """A vocabulary holding words that look like query operators, as real GloVe files do."""
    words = ["king", "man", "woman", "queen", "apple"] + OPERATOR_LIKE + [f"w{i}" for i in range(20)]
    vecs = np.random.default_rng(11).normal(size=(len(words), 16)).astype(np.float32)
    rt = ng.Runtime()
    rt.bootstrap(vecs, words, k=2, progress=False)
    return rt, words, vecs


def _nearest(words, vecs, terms, k):
    """Words nearest by cosine to the sum of the terms' normalised vectors, terms left out."""
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    q = sum(sign * unit[words.index(w)] for w, sign in terms)
    order = np.argsort(-(unit @ (q / np.linalg.norm(q))), kind="stable")
    return [words[i] for i in order if words[i] not in {w for w, _ in terms}][:k]


def test_every_vocabulary_word_is_found_by_its_own_text(punctuated):
    # a word in the vocabulary is found even when it looks like an operator (issue 10)
    rt, words, vecs = punctuated
    for w in OPERATOR_LIKE:
        res = rt.query(w, k=4)
        assert res.labels == _nearest(words, vecs, [(w, 1.0)], 4), w
        assert rt.query(f"  {w} ", k=4).labels == res.labels  # surrounding spaces do not matter


@pytest.mark.parametrize(
    "text, terms",
    [
        ("king - man + woman", [("king", 1), ("man", -1), ("woman", 1)]),
        ("- man", [("man", -1)]),  # an operator where one can stand stays an operator
        ("king - -", [("king", 1), ("-", -1)]),  # after an operator: the word "-"
        ("king + -", [("king", 1), ("-", 1)]),
        ("king -", [("king", 1), ("-", 1)]),  # last: the word "-" (no operator ends a query)
        ("king 's , a-b", [("king", 1), ("'s", 1), (",", 1), ("a-b", 1)]),
        ("+ - king", [("-", 1), ("king", 1)]),
    ],
)
def test_query_text_rule_with_operator_like_words(punctuated, text, terms):
    from neurograph_lab._semantic import parse_query

    rt, words, vecs = punctuated
    assert parse_query(text, rt._core) == [(w, float(s)) for w, s in terms]
    assert rt.query(text, k=3).labels == _nearest(words, vecs, terms, 3)


def test_operators_without_such_words_are_still_errors(boot):
    rt, _ = boot  # this vocabulary holds no "-" or "+"
    with pytest.raises(ng.ValidationError, match="ends with an operator"):
        rt.query("fruit3 -")
    with pytest.raises(ng.ValidationError, match="two operators in a row"):
        rt.query("fruit3 - - fruit2")
    with pytest.raises(ng.ValidationError, match="ends with an operator"):
        rt.query("-")


def test_feedback_reads_its_text_by_the_same_rule(punctuated):
    rt, _, _ = punctuated
    dash = int(rt.tokens.find("-")[0])
    assert rt._core.query_token_ids([("-", 1.0)]).tolist() == [dash]
    target = int(rt.query("-", k=1).ids[0])
    out = rt.feedback("-", target)
    assert set(out.columns) == {"connection", "outcome"}


def _vec_lines(n: int, dim: int, seed: int = 0) -> list[bytes]:
    v = np.random.default_rng(seed).normal(size=(n, dim))
    return [f"w{i} ".encode() + " ".join(f"{x:.5f}" for x in row).encode() for i, row in enumerate(v)]


def test_a_bad_line_is_named_with_the_way_to_skip_it(tmp_path):
    # S4 / issue 10: a real fastText file with one invalid UTF-8 word was refused without
    # saying that errors="skip" skips such lines
    lines = _vec_lines(12, 5)
    lines[2] = b"caf\xe9 " + lines[2].split(b" ", 1)[1]  # latin-1, not UTF-8
    lines[7] = b"short 1.0 2.0"
    path = tmp_path / "bad.vec"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ng.ValidationError, match=r'bad\.vec: line 3: .*not valid UTF-8.*errors="skip"') as e:
        ng.Runtime().bootstrap(path)
    assert e.value.bad_line == 3
    rt = ng.Runtime()
    with pytest.raises(ng.ValidationError, match=r"line 3"):
        rt.bootstrap(path, k=2)
    assert len(rt.tokens) == 0 and rt._core.bootstrap_info() is None
    report = rt.bootstrap(path, k=2, errors="skip")
    assert report.skipped_lines == 2 and report.words == 10 and len(rt.tokens) == 10
    # with a header line the numbers are still the file's own line numbers
    hpath = tmp_path / "header.vec"
    hpath.write_bytes(b"12 5\n" + b"\n".join(lines) + b"\n")
    with pytest.raises(ng.ValidationError, match=r"header\.vec: line 4: .*not valid UTF-8"):
        ng.Runtime().bootstrap(hpath)
    # a vocabulary file for a .npy matrix names its bad line too
    np.save(tmp_path / "m.npy", np.ones((2, 3), np.float32))
    (tmp_path / "vocab.txt").write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(ng.ValidationError, match=r"vocab\.txt: line 2: the word is not valid UTF-8"):
        ng.Runtime().bootstrap(tmp_path / "m.npy", tmp_path / "vocab.txt")


def test_bootstrap_and_query_arguments_are_checked_not_converted(punctuated, planted):
    # S4: k=1.5 ran with k=1, max_words=-1 dropped the last word, good="no" was good feedback,
    # all-zero rows of query_many returned arbitrary words, query(None) said "1 values"
    words, vecs = planted
    for kw, match in (
        ({"k": 1.5}, "k must be an integer, got float 1.5"),
        ({"k": True}, "k must be an integer, got bool"),
        ({"k": -1}, "k must be an integer >= 0, got -1"),
        ({"max_words": -1}, "max_words must be an integer >= 1, got -1"),
        ({"max_words": 0}, "max_words must be an integer >= 1, got 0"),
        ({"seed": -1}, r"seed must be an integer in 0\.\.4294967295"),
        ({"replace": "no"}, "replace must be True or False"),
    ):
        rt = ng.Runtime()
        with pytest.raises(ng.ValidationError, match=match):
            rt.bootstrap(vecs, words, **kw)
        assert len(rt.tokens) == 0
    with pytest.raises(ng.ValidationError, match="each space may be named once, got cognitive twice"):
        ng._core.Runtime().bootstrap_embeddings(words, vecs, ["L5", "cognitive"])  # S4, the low-level name
    rt, _, v = punctuated
    with pytest.raises(ng.ValidationError, match="query row 1 is a zero vector"):
        rt.query_many(np.stack([v[0], np.zeros(16, np.float32)]))
    with pytest.raises(ng.ValidationError, match="query row 0 is a zero vector"):
        rt._core.semantic_query_many(np.zeros((1, 16), np.float32), 3)  # the low-level name too
    for bad in (None, b"x", object()):
        with pytest.raises(ng.ValidationError, match="a query is a text .* or a vector of numbers"):
            rt.query(bad)
    tok = int(rt.tokens.find("king")[0])
    for good in ("no", 1, None):
        with pytest.raises(ng.ValidationError, match="good must be True or False"):
            rt.feedback("man", tok, good=good)
    with pytest.raises(ng.ValidationError, match="must be a finite number"):
        rt._core.query_token_ids([("man", float("nan"))])
