"""In-memory vector index over integer ids (the store's SQLite rowids).

Interface used by the store: ``add`` (upsert), ``remove``, ``search`` (optionally
restricted to candidate ids), ``len``. Vectors are L2-normalised on the way in,
so scores are cosine similarities.

Chosen by measurement (``bench/README.md``). Every vector is kept as float16 in
faiss scalar-quantizer indexes, split into shards searched in parallel:

- Up to ``_COARSE_MIN`` (32,768) vectors per shard (one shard per core, at most
  4), a search is an exhaustive SIMD scan of the float16 rows: exact up to
  float16 rounding on any data, ~0.3 ms at 10,000 vectors on two cores.
- Above that, an unrestricted search first takes a shortlist from a 4-bit
  product-quantized copy (faiss ``IndexPQFastScan``, two dimensions per
  sub-quantizer, or three for odd ``dims``: 1/8 of the float16 bytes, scanned
  with in-register lookup tables; dims that split into neither keep the exact
  scan), then rescores the shortlist exactly on the float16 rows. On uniformly
  random vectors (the hardest case for quantization) this takes ~1 ms at 100,000
  and ~3 ms at 1,000,000 instead of ~2.5 and ~17-27 ms for the full scan, with
  recall@10 1.0 and 0.998. The quantized copy is built by a background thread
  (one core, ~10 s per million vectors) while searches stay exact; later appends
  are encoded as they come, and rows changed since (updates, the moves that fill
  deleted rows' holes) are always rescored, so results never rest on out-of-date
  codes; once many rows changed, the copy is rebuilt.
- Searches restricted to candidate ids score them directly (small sets) or run
  the float16 scan with a bitmap of allowed positions.

Graph indexes (HNSW) lost most of the true neighbours on unstructured vectors at
any affordable search effort. Ids must be in ``[0, 2**31)``: the id -> slot map is a
dense array (8 bytes per id up to the largest one), which suits SQLite rowids.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import faiss
import numpy as np

__all__ = ["VectorIndex"]

logger = logging.getLogger(__name__)

MAX_ID = 2**31
# Below this many vectors a scan is cheaper than handing it to threads.
_PARALLEL_MIN = 20_000
# Candidate sets up to this many vectors, or up to this fraction of the index,
# are scored by gathering their rows; larger ones run the shard scan with a
# bitmap of allowed positions (which costs about a full scan).
_GATHER_MAX = 2_048
_GATHER_FRACTION = 0.125
# Appends of at least this many vectors are encoded in the scan threads.
_APPEND_IN_POOL = 64
# A shard of at least this many vectors gets a quantized copy for shortlists.
_COARSE_MIN = 32_768
# Shortlist size per shard: max(_SHORTLIST_MIN, _SHORTLIST_FACTOR * k); searches
# with a larger k than _SHORTLIST_MAX_K scan exactly.
_SHORTLIST_MIN = 256
_SHORTLIST_FACTOR = 4
_SHORTLIST_MAX_K = 256
# Rebuild the quantized copy once more than max(_STALE_MIN, len / _STALE_SHARE)
# of a shard's codes are out of date (rows changed after encoding, or deleted).
_STALE_MIN = 4_096
_STALE_SHARE = 64
_TRAIN_MAX = 16_384  # training sample of the product quantizer
_BUILD_CHUNK = 16_384  # rows encoded per lock acquisition while building


class _Shard:
    """Float16 rows in a faiss flat index, the id of each position, and
    optionally a product-quantized copy of the rows for shortlists.

    ``coarse`` covers positions ``[0, coarse.ntotal)`` (never fewer than the
    shard holds; codes past its end belong to deleted rows); ``stale`` holds the
    positions whose row changed after it was encoded. While a rebuild runs,
    ``build_upto`` is how far it has read and ``pending`` the positions below
    that written since.
    """

    def __init__(self, dims: int) -> None:
        self.index = faiss.IndexScalarQuantizer(
            dims, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        self.ids = np.empty(0, dtype=np.int64)  # by position; only [:len(self)] is valid
        self.coarse: faiss.Index | None = None  # an IndexPQFastScan
        self.stale: set[int] = set()
        self.build_upto: int | None = None
        self.pending: set[int] = set()

    def __len__(self) -> int:
        return self.index.ntotal

    def rows(self) -> np.ndarray:
        """A writable float16 view of the stored vectors (valid until the next add)."""
        codes = self.index.codes
        flat = faiss.rev_swig_ptr(codes.data(), codes.size())
        return flat.view(np.float16).reshape(-1, self.index.d)

    def write(self, positions: np.ndarray, vecs: np.ndarray) -> None:
        """Overwrite rows in place."""
        self.rows()[positions] = vecs.astype(np.float16)
        self._changed(positions)

    def move(self, src: int, dst: int) -> None:
        rows = self.rows()
        rows[dst] = rows[src]
        self.ids[dst] = self.ids[src]
        self._changed(np.array([dst]))

    def append(self, ids: np.ndarray, vecs: np.ndarray) -> int:
        start, end = len(self), len(self) + len(ids)
        self.index.add(vecs)
        if end > len(self.ids):  # amortised growth of the position -> id buffer
            grown = np.empty(max(end, len(self.ids) * 3 // 2), dtype=np.int64)
            grown[:start] = self.ids[:start]
            self.ids = grown
        self.ids[start:end] = ids
        positions = np.arange(start, end)
        self._changed(positions)
        if self.coarse is not None and end > self.coarse.ntotal:
            self.coarse.add(vecs[self.coarse.ntotal - start :])
        return start

    def truncate(self, n: int) -> None:
        self.index.codes.resize(n * self.index.code_size)
        self.index.ntotal = n
        if n < _COARSE_MIN:  # small again: exact scans (a running build still installs)
            self.coarse, self.stale = None, set()
        else:
            self.stale = {p for p in self.stale if p < n}

    def _changed(self, positions: np.ndarray) -> None:
        if self.coarse is not None:
            self.stale.update(positions[positions < self.coarse.ntotal].tolist())
        if self.build_upto is not None:
            self.pending.update(positions[positions < self.build_upto].tolist())

    def needs_coarse(self) -> bool:
        """No copy yet, or too many of its codes out of date: rows changed since
        encoding, and codes past the end (deleted rows), which crowd the shortlist."""
        n = len(self)
        if self.build_upto is not None or n < _COARSE_MIN:
            return False
        if self.coarse is None:
            return True
        outdated = len(self.stale) + self.coarse.ntotal - n
        return outdated > max(_STALE_MIN, n // _STALE_SHARE)

    def scan(self, q: np.ndarray, k: int, allowed: np.ndarray | None = None):
        """Top ``k`` (sims, ids) of this shard, optionally only at ``allowed`` positions."""
        n = len(self)
        if n == 0:
            return np.empty(0, np.float32), np.empty(0, np.int64)
        if allowed is None and self.coarse is not None and k <= _SHORTLIST_MAX_K:
            return self._shortlist(q, k, self.coarse)
        params = None
        if allowed is not None:
            bits = np.packbits(allowed, bitorder="little")
            params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
        sims, pos = self.index.search(q[None], min(k, n), params=params)
        keep = pos[0] >= 0
        return sims[0][keep], self.ids[pos[0][keep]]

    def _shortlist(self, q: np.ndarray, k: int, coarse: faiss.Index):
        """Quantized shortlist (from ``coarse``, the shard's quantized copy) plus every
        stale row, rescored on the float16 rows (at least ``k`` of them when the shard
        holds that many)."""
        n = len(self)
        r = min(max(_SHORTLIST_MIN, _SHORTLIST_FACTOR * k), coarse.ntotal)
        _, pos = coarse.search(q[None], r)
        pos = pos[0][(pos[0] >= 0) & (pos[0] < n)]
        if self.stale:
            stale = np.fromiter(self.stale, np.int64, len(self.stale))
            pos = np.concatenate([pos, stale[stale < n]])
        pos = np.unique(pos)  # the caller keeps the best k of all shards
        return self.rows()[pos].astype(np.float32) @ q, self.ids[pos]


class VectorIndex:
    """Cosine search over float16 vectors: sharded SIMD scans, or quantized
    shortlists rescored exactly for large shards (see module doc).

    Thread-safe: every method holds the index's lock.
    """

    def __init__(self, dims: int, *, shards: int | None = None) -> None:
        if dims <= 0:
            raise ValueError(f"dims must be positive, got {dims}")
        self.dims = dims
        n = shards or max(1, min(os.cpu_count() or 1, 4))
        self._shards = [_Shard(dims) for _ in range(n)]
        self._slot = np.full(0, -1, dtype=np.int64)  # id -> pos * n_shards + shard
        self._lock = threading.RLock()
        self._builder: threading.Thread | None = None
        self._closed = threading.Event()
        self._subquantizers = _subquantizers(dims)

    def __len__(self) -> int:
        return sum(len(s) for s in self._shards)

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids`` (the last one wins on repeats)."""
        rowids = _as_ids(ids)
        vecs = np.asarray(vectors, dtype=np.float32)
        if vecs.size != len(rowids) * self.dims:
            raise ValueError(
                f"expected {len(rowids)} vectors of {self.dims} dims, got {vecs.shape}"
            )
        vecs = _normalise(vecs.reshape(len(rowids), self.dims))
        if not np.isfinite(vecs).all():
            raise ValueError("vectors must be finite")
        if len(rowids) > 1:
            _, last = np.unique(rowids[::-1], return_index=True)
            if len(last) < len(rowids):
                keep = np.sort(len(rowids) - 1 - last)
                rowids, vecs = rowids[keep], vecs[keep]
        with self._lock:
            self._grow(int(rowids.max()) + 1 if len(rowids) else 0)
            slots = self._slot[rowids]
            old = slots >= 0
            n_shards = len(self._shards)
            if old.any():
                for s, shard in enumerate(self._shards):
                    mine = old & (slots % n_shards == s)
                    if mine.any():
                        shard.write(slots[mine] // n_shards, vecs[mine])
                rowids, vecs = rowids[~old], vecs[~old]
            # New ids go to the shards evenly, the smallest shards taking the remainder.
            order = sorted(range(n_shards), key=lambda s: len(self._shards[s]))
            bounds = [-(-i * len(rowids) // n_shards) for i in range(n_shards + 1)]
            parts = [(s, a, b) for s, a, b in zip(order, bounds, bounds[1:]) if b > a]
            starts = self._append(parts, rowids, vecs)
            for (s, a, b), start in zip(parts, starts):
                positions = np.arange(start, start + b - a, dtype=np.int64)
                self._slot[rowids[a:b]] = positions * n_shards + s
            self._maybe_build()

    def _append(self, parts: list[tuple[int, int, int]], ids: np.ndarray, vecs: np.ndarray):
        """Append ``ids[a:b]`` to shard ``s`` for each part; returns their start positions.

        Large appends, and any append to a shard with a quantized copy, run in the
        scan threads (one OpenMP thread each): faiss's own OpenMP team waits at
        barriers while another process holds a core; encoding 1,000 rows took
        ~8 ms instead of ~0.6 ms, and adding one row to the quantized copy 10 ms.
        """

        def one(part: tuple[int, int, int]) -> int:
            s, a, b = part
            return self._shards[s].append(ids[a:b], vecs[a:b])

        quantized = any(self._shards[s].coarse is not None for s, _, _ in parts)
        if len(ids) < _APPEND_IN_POOL and not quantized:
            return [one(part) for part in parts]
        return list(_pool(len(self._shards)).map(one, parts))

    def remove(self, ids: Iterable[int]) -> None:
        """Forget ``ids``; unknown ids are ignored."""
        ids = _as_ids(ids, check=False)
        with self._lock:
            ids = ids[(ids >= 0) & (ids < len(self._slot))]
            n_shards = len(self._shards)
            sizes = [len(s) for s in self._shards]
            touched = set()
            for i in ids.tolist():
                slot = int(self._slot[i])
                if slot < 0:
                    continue
                s, pos = slot % n_shards, slot // n_shards
                shard, last = self._shards[s], sizes[s] - 1
                if pos != last:  # move the shard's last vector into the hole
                    shard.move(last, pos)
                    self._slot[int(shard.ids[pos])] = pos * n_shards + s
                self._slot[i] = -1
                sizes[s] = last
                touched.add(s)
            for s in touched:
                self._shards[s].truncate(sizes[s])
            self._maybe_build()

    def close(self) -> None:
        """Stop a background build (the index stays searchable, exactly)."""
        self._closed.set()
        self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background build of the quantized copy; False on timeout."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
            return not builder.is_alive()
        return True

    def search(
        self, query: np.ndarray, k: int, *, candidates: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest ids and their cosine similarities, best first.

        With ``candidates``, only those ids can be returned (unknown ones are
        ignored): small sets are scored directly, large ones by a filtered scan.
        """
        q = np.asarray(query, dtype=np.float32)
        if q.size != self.dims:
            raise ValueError(f"query must have {self.dims} dims, got {q.shape}")
        q = _normalise(q.reshape(1, self.dims))[0]
        with self._lock:
            if k <= 0 or not len(self):
                return _empty()
            if candidates is None:
                parts = self._scan_all(q, k, None)
            else:
                slots = self._slots_of(_as_ids(candidates, check=False))
                if not len(slots):
                    return _empty()
                if len(slots) <= max(_GATHER_MAX, _GATHER_FRACTION * len(self)):
                    parts = [self._gather(q, slots)]
                else:
                    parts = self._scan_all(q, k, slots)
        sims = np.concatenate([p[0] for p in parts])
        ids = np.concatenate([p[1] for p in parts])
        k = min(k, len(ids))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        top = top[np.lexsort((ids[top], -sims[top]))]
        return ids[top], sims[top].astype(np.float32)

    def search_soon(self, query: np.ndarray, k: int) -> Future:
        """:meth:`search` of the whole index in a thread (the scan releases the GIL):
        the caller does other work meanwhile, then takes ``.result()``."""
        return _AHEAD.submit(self.search, query, k)

    def _maybe_build(self) -> None:
        """Start building quantized copies for the shards that need one (lock held)."""
        if self._subquantizers is None or self._closed.is_set():
            return
        if self._builder is not None and self._builder.is_alive():
            return
        todo = [shard for shard in self._shards if shard.needs_coarse()]
        if todo:
            for shard in todo:
                shard.build_upto, shard.pending = 0, set()
            self._builder = threading.Thread(
                target=self._build,
                args=(todo, self._subquantizers),
                name="langmem-vectors-build",
                daemon=True,
            )
            self._builder.start()

    def _build(self, shards: list[_Shard], subquantizers: int) -> None:
        """Train a product quantizer (``subquantizers`` of them) on a sample of rows, then
        encode each shard in chunks, holding the lock only to read a chunk and to install
        the result."""
        faiss.omp_set_num_threads(1)  # one core; the other keeps serving searches
        try:
            with self._lock:
                sample = _sample_rows(shards)
            trained = faiss.IndexPQFastScan(self.dims, subquantizers, 4, faiss.METRIC_INNER_PRODUCT)
            trained.train(sample)
            for shard in shards:
                coarse = faiss.clone_index(trained)
                while not self._closed.is_set():
                    with self._lock:
                        start = coarse.ntotal
                        end = min(start + _BUILD_CHUNK, len(shard))
                        if end - start < _BUILD_CHUNK:  # the rest, under the lock: install
                            coarse.add(shard.rows()[start:end].astype(np.float32))
                            shard.coarse, shard.stale = coarse, shard.pending
                            shard.build_upto, shard.pending = None, set()
                            break
                        chunk = shard.rows()[start:end].astype(np.float32)
                        shard.build_upto = end
                    coarse.add(chunk)
        except Exception:  # searches stay exact without the copy
            logger.exception("building the quantized vector copy failed")
        finally:
            with self._lock:
                for shard in shards:
                    if shard.build_upto is not None:  # not installed: failed or closed
                        shard.build_upto, shard.pending = None, set()

    def _grow(self, size: int) -> None:
        if size > len(self._slot):
            bigger = np.full(max(size, len(self._slot) * 3 // 2), -1, dtype=np.int64)
            bigger[: len(self._slot)] = self._slot
            self._slot = bigger

    def _slots_of(self, ids: np.ndarray) -> np.ndarray:
        ids = np.unique(ids[(ids >= 0) & (ids < len(self._slot))])
        slots = self._slot[ids]
        return slots[slots >= 0]

    def _gather(self, q: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_shards = len(self._shards)
        sims, ids = [], []
        for s, shard in enumerate(self._shards):
            pos = slots[slots % n_shards == s] // n_shards
            if len(pos):
                sims.append(shard.rows()[pos].astype(np.float32) @ q)
                ids.append(shard.ids[pos])
        return np.concatenate(sims), np.concatenate(ids)

    def _scan_all(self, q: np.ndarray, k: int, slots: np.ndarray | None) -> list:
        n_shards = len(self._shards)

        def one(s: int):
            shard = self._shards[s]
            allowed = None
            if slots is not None:
                allowed = np.zeros(len(shard), dtype=bool)
                allowed[slots[slots % n_shards == s] // n_shards] = True
            return shard.scan(q, k, allowed)

        pool = _pool(n_shards)
        if n_shards == 1 or len(self) < _PARALLEL_MIN:
            return pool.submit(lambda: [one(s) for s in range(n_shards)]).result()
        return list(pool.map(one, range(n_shards)))


# Whole searches started early (search_soon); not the scan pools, which they wait on.
_AHEAD = ThreadPoolExecutor(4, thread_name_prefix="langmem-search")
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """One process-wide scan pool per shard count (indexes are rebuilt, threads are not).

    Every scan runs in these threads, each limited to one OpenMP thread (a
    per-thread setting, so the caller's faiss use is untouched): the shards
    are the parallelism, and faiss's own OpenMP team only waits at barriers
    on single-query searches, ~15x slower (24 ms instead of 1.5 ms per LOCOMO
    search) while another process keeps a core busy.
    """
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(
                workers,
                thread_name_prefix="langmem-vectors",
                initializer=faiss.omp_set_num_threads,
                initargs=(1,),
            )
        return _pools[workers]


def _as_ids(ids: Iterable[int], *, check: bool = True) -> np.ndarray:
    arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64).ravel()
    if check and len(arr) and (arr.min() < 0 or arr.max() >= MAX_ID):
        raise ValueError(f"vector ids must be in [0, {MAX_ID})")
    return arr


def _sample_rows(shards: list[_Shard]) -> np.ndarray:
    """Up to ``_TRAIN_MAX`` rows drawn evenly from ``shards``, as float32."""
    per = max(1, _TRAIN_MAX // len(shards))
    rng = np.random.default_rng(0)
    parts = []
    for shard in shards:
        n = len(shard)
        pos = np.sort(rng.choice(n, min(per, n), replace=False))
        parts.append(shard.rows()[pos].astype(np.float32))
    return np.concatenate(parts)


def _subquantizers(dims: int) -> int | None:
    """Sub-quantizers of two (or else three) dimensions each; None if ``dims`` splits into
    neither (such as a prime above 3): coarser ones lose too many neighbours, so that
    index keeps the exact scan."""
    return next((m for m in range(dims // 2, 0, -1) if dims % m == 0 and dims // m <= 3), None)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)


def _normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vecs / norms
