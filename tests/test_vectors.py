"""VectorIndex: exact against brute force, candidate isolation, upsert/remove."""

import numpy as np
import pytest

from langmem.store import vectors
from langmem.store.vectors import VectorIndex

pytestmark = pytest.mark.core


def unit(rng, n, d=16):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute(ids, vecs, q, k):
    sims = vecs @ (q / np.linalg.norm(q))
    order = np.argsort(-sims, kind="stable")[:k]
    return ids[order], sims[order]


@pytest.fixture(params=[1, 3], ids=["1shard", "3shards"])
def shards(request):
    return request.param


def test_matches_brute_force(shards, monkeypatch):
    monkeypatch.setattr(vectors, "_PARALLEL_MIN", 0)  # exercise the threaded scan
    rng = np.random.default_rng(0)
    ids = rng.choice(10_000, 500, replace=False)
    vecs = unit(rng, 500)
    index = VectorIndex(16, shards=shards)
    index.add(ids, vecs * 3.0)  # scale is irrelevant: cosine
    assert len(index) == 500
    for q in unit(rng, 20):
        got_ids, got_sims = index.search(q, 10)
        exp_ids, exp_sims = brute(ids, vecs, q, 10)
        assert set(got_ids) == set(exp_ids)
        np.testing.assert_allclose(got_sims, exp_sims, atol=2e-3)
        assert np.all(np.diff(got_sims) <= 0)


def test_candidates_never_leak_other_ids(shards, monkeypatch):
    rng = np.random.default_rng(1)
    vecs = unit(rng, 300)
    index = VectorIndex(16, shards=shards)
    index.add(range(300), vecs)
    allowed = np.arange(0, 300, 7)
    for gather_max in (10_000, 0):  # direct scoring and the bitmap-filtered scan
        monkeypatch.setattr(vectors, "_GATHER_MAX", gather_max)
        monkeypatch.setattr(vectors, "_GATHER_FRACTION", 0.0)
        for q in unit(rng, 10):
            got_ids, got_sims = index.search(q, 5, candidates=[*allowed, 10_000, -3, 2**40])
            exp_ids, exp_sims = brute(allowed, vecs[allowed], q, 5)
            assert set(got_ids) <= set(allowed)
            assert list(got_ids) == list(exp_ids)
            np.testing.assert_allclose(got_sims, exp_sims, atol=2e-3)
    assert len(index.search(vecs[0], 5, candidates=[])[0]) == 0
    assert len(index.search(vecs[0], 5, candidates=[5000])[0]) == 0


def test_upsert_replaces_and_remove_forgets(shards):
    rng = np.random.default_rng(2)
    vecs = unit(rng, 50)
    index = VectorIndex(16, shards=shards)
    index.add(range(50), vecs)
    index.add([7, 7], np.stack([vecs[1], vecs[3]]))  # last repeat wins
    assert len(index) == 50
    ids, sims = index.search(vecs[3], 2)
    assert set(ids) == {3, 7} and sims[0] == pytest.approx(1.0, abs=1e-3)
    index.remove([3, 0, 49, 12345, -1])
    assert len(index) == 47
    ids, _ = index.search(vecs[3], 50)
    assert ids[0] == 7 and not {0, 3, 49} & set(ids)
    # The vectors that moved into the holes are still found under their ids.
    for i in (1, 2, 48):
        assert index.search(vecs[i], 1)[0][0] == i
    index.remove(range(50))
    assert len(index) == 0 and len(index.search(vecs[0], 3)[0]) == 0
    index.add([5], vecs[5:6])
    assert index.search(vecs[5], 3)[0].tolist() == [5]


def test_k_larger_than_index_and_zero_vectors():
    index = VectorIndex(4)
    index.add([1, 2], np.array([[1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    ids, sims = index.search(np.array([1, 0, 0, 0]), 10)
    assert ids.tolist() == [1, 2] and sims.tolist() == pytest.approx([1.0, 0.0])
    assert len(index.search(np.ones(4), 0)[0]) == 0


def test_bad_input_is_rejected():
    index = VectorIndex(4)
    with pytest.raises(ValueError, match="dims"):
        index.add([1], np.ones((1, 3)))
    with pytest.raises(ValueError, match="ids"):
        index.add([-1], np.ones((1, 4)))
    with pytest.raises(ValueError, match="finite"):
        index.add([1], np.array([[np.nan, 1, 1, 1]]))
    with pytest.raises(ValueError, match="dims"):
        index.search(np.ones(5), 1)
