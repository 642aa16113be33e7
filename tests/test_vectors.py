"""VectorIndex: exact scans against brute force, candidate isolation, upsert/remove, and the
quantized shortlist (rescoring, rows changed after encoding, rebuilds, close)."""

import threading

import faiss
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


@pytest.fixture
def quantized(monkeypatch):
    """Shards of a few hundred vectors get the quantized shortlist copy."""
    monkeypatch.setattr(vectors, "_COARSE_MIN", 400)
    monkeypatch.setattr(vectors, "_STALE_MIN", 64)
    monkeypatch.setattr(vectors, "_SHORTLIST_MIN", 32)
    monkeypatch.setattr(vectors, "_BUILD_CHUNK", 128)


def observe_build(monkeypatch, after_chunk):
    """Run ``after_chunk(n)`` in the builder thread after it encodes its n-th chunk."""
    real_clone = faiss.clone_index

    class Observed:
        def __init__(self, inner):
            self.inner, self.chunks = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def add(self, x):
            self.inner.add(x)
            self.chunks += 1
            after_chunk(self.chunks)

    monkeypatch.setattr(faiss, "clone_index", lambda ix: Observed(real_clone(ix)))


def built_index(seed, n, shards=2):
    """An index of ``n`` random vectors whose quantized copies are built."""
    rng = np.random.default_rng(seed)
    vecs = unit(rng, n)
    index = VectorIndex(16, shards=shards)
    index.add(range(n), vecs)
    assert built(index) == [True] * shards
    return rng, vecs, index


def built(index):
    assert index.wait(30)
    return [s.coarse is not None for s in index._shards]


def test_quantized_shortlist_is_rescored_exactly(quantized):
    rng = np.random.default_rng(3)
    vecs = unit(rng, 2_000)
    index = VectorIndex(16, shards=2)
    index.add(range(2_000), vecs)
    assert built(index) == [True, True]
    recall = []
    for q in unit(rng, 30):
        got_ids, got_sims = index.search(q, 10)
        exp_ids, _ = brute(np.arange(2_000), vecs, q, 10)
        # Scores are the float16 rows' cosines, not the quantized estimates.
        np.testing.assert_allclose(got_sims, vecs[got_ids] @ q, atol=2e-3)
        assert np.all(np.diff(got_sims) <= 0)
        recall.append(len(set(got_ids) & set(exp_ids)) / 10)
    assert np.mean(recall) >= 0.9
    # Every vector is its own nearest neighbour through the shortlist.
    for i in rng.choice(2_000, 200, replace=False):
        assert index.search(vecs[i], 1)[0][0] == i


def test_rows_changed_after_encoding_are_never_missed(quantized):
    rng, vecs, index = built_index(4, 1_300)
    current = {i: vecs[i] for i in range(1_300) if not 100 <= i < 130}
    moved, extra = unit(rng, 5), unit(rng, 1)
    index.add(range(10, 15), moved)  # updated in place: stale codes
    index.remove(range(100, 130))  # holes filled by moving rows: stale codes
    index.add([5_000], extra)  # appended after the build: encoded as it comes
    current.update(zip(range(10, 15), moved))
    current[5_000] = extra[0]
    assert 0 < sum(len(s.stale) for s in index._shards) < 64  # no rebuild yet
    for i, v in current.items():
        ids, sims = index.search(v, 1)
        assert ids[0] == i and sims[0] == pytest.approx(1.0, abs=2e-3)
    for i in range(100, 130):
        assert i not in index.search(vecs[i], 50)[0]


def test_many_changes_trigger_a_rebuild(quantized):
    rng, vecs, index = built_index(5, 1_300)
    first = [s.coarse for s in index._shards]
    changed = np.arange(0, 1_300, 3)  # a third of each shard
    vecs[changed] = unit(rng, len(changed))
    index.add(changed, vecs[changed])
    built(index)
    assert all(a is not b for a, b in zip(first, (s.coarse for s in index._shards)))
    assert all(len(s.stale) == 0 for s in index._shards)
    for i in range(0, 1_300, 5):
        assert index.search(vecs[i], 1)[0][0] == i


def test_writes_during_a_build_are_not_lost(quantized, monkeypatch):
    """Rows rewritten after the builder encoded them, and rows moved or appended
    while it runs, are still found once the new copy is installed."""
    rng = np.random.default_rng(6)
    vecs = unit(rng, 1_000)
    current = dict(enumerate(vecs))
    index = VectorIndex(16, shards=1)

    def while_building():
        new = unit(rng, 50)
        index.add(range(50), new)  # positions the builder has already encoded
        index.remove(range(900, 920))  # the last rows move into these holes
        current.update(zip(range(50), new))
        for i in range(900, 920):
            current.pop(i)
        more = unit(rng, 30)
        index.add(range(2_000, 2_030), more)
        current.update(zip(range(2_000, 2_030), more))

    observe_build(monkeypatch, lambda chunks: chunks == 3 and while_building())
    index.add(range(1_000), vecs)
    assert built(index) == [True]
    shard = index._shards[0]
    assert shard.coarse.chunks > 3 and set(range(50)) <= shard.stale
    for i, v in current.items():
        assert index.search(v, 1)[0][0] == i


def test_close_stops_a_build_and_search_stays_exact(quantized, monkeypatch):
    rng = np.random.default_rng(7)
    vecs = unit(rng, 1_000)
    index = VectorIndex(16, shards=1)
    in_build = threading.Event()

    def pause(chunks):
        in_build.set()
        index._closed.wait(10)  # hold the builder until close() is called

    observe_build(monkeypatch, pause)
    index.add(range(1_000), vecs)
    assert in_build.wait(10)
    index.close()
    shard = index._shards[0]
    assert shard.coarse is None and shard.build_upto is None and index.wait(0)
    index.add([1_000], unit(rng, 1))  # no new build after close
    assert index._builder is not None and not index._builder.is_alive()
    for q in unit(rng, 5):
        exp_ids, _ = brute(np.arange(1_000), vecs, q, 10)
        assert set(index.search(q, 10)[0]) - {1_000} <= set(exp_ids)


@pytest.mark.parametrize("dims", [15, 7])
def test_quantized_copy_for_dims_without_an_even_split(quantized, dims):
    splits = [vectors._subquantizers(d) for d in (384, 1536, 15, 9, 3, 7, 1)]
    assert splits == [192, 768, 5, 3, 1, None, None]
    rng = np.random.default_rng(9)
    vecs = unit(rng, 1_000, dims)
    index = VectorIndex(dims, shards=1)
    index.add(range(1_000), vecs)
    assert built(index) == [dims == 15]  # 7 dims: no good split, exact scans only
    for i in range(0, 1_000, 50):
        assert index.search(vecs[i], 1)[0][0] == i


def test_concurrent_writers_and_searchers_during_rebuilds(quantized):
    """Writers and searchers race background builds; afterwards every live vector is
    found under its id and no removed id comes back."""
    rng, vecs, index = built_index(10, 1_300)
    first = [s.coarse for s in index._shards]
    lock = threading.Lock()
    current = dict(enumerate(vecs))
    errors = []

    def writer(seed):
        r = np.random.default_rng(seed)
        for _ in range(60):
            ids = r.choice(1_300, 20, replace=False)
            new = unit(r, 20)
            with lock:  # the model of what the index should hold
                index.add(ids, new)
                current.update(zip(ids.tolist(), new))
                gone = int(r.integers(1_300))
                index.remove([gone])
                current.pop(gone, None)

    def searcher(seed):
        r = np.random.default_rng(seed)
        try:
            for q in unit(r, 200):
                ids, sims = index.search(q, 10)
                assert len(ids) == 10 and np.all(np.diff(sims) <= 1e-6)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (1, 2)]
    threads += [threading.Thread(target=searcher, args=(s,)) for s in (3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    built(index)
    assert all(a is not b for a, b in zip(first, (s.coarse for s in index._shards)))  # rebuilt
    assert len(index) == len(current)
    for i, v in current.items():
        assert index.search(v, 1)[0][0] == i
    removed = set(range(1_300)) - set(current)
    for q in unit(rng, 20):
        assert not removed & set(index.search(q, 50)[0].tolist())


def test_deleted_rows_count_towards_a_rebuild_and_small_shards_scan_exactly(quantized):
    rng, vecs, index = built_index(11, 1_300)
    first = [s.coarse for s in index._shards]
    # The last rows of each shard: no row moves, only codes past the end go out of date.
    tails = [s.ids[len(s) - 100 : len(s)].tolist() for s in index._shards]
    index.remove([i for tail in tails for i in tail])
    built(index)
    assert all(a is not b for a, b in zip(first, (s.coarse for s in index._shards)))
    assert all(s.coarse.ntotal == len(s) for s in index._shards)
    # Shrunk below the threshold: the copy is dropped and searches are exact again.
    keep = rng.choice(sorted(set(range(1_300)) - {i for t in tails for i in t}), 300, replace=False)
    index.remove(sorted(set(range(1_300)) - set(keep.tolist())))
    assert all(s.coarse is None for s in index._shards) and len(index) == 300
    for q in unit(rng, 20):  # exact up to float16 rounding
        got_ids, got_sims = index.search(q, 10)
        _, exp_sims = brute(keep, vecs[keep], q, 10)
        assert set(got_ids) <= set(keep.tolist())
        np.testing.assert_allclose(got_sims, exp_sims, atol=2e-3)
