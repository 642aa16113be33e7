"""In-memory vector index over integer ids (the store's SQLite rowids).

Interface used by the store: ``add`` (upsert), ``remove``, ``search`` (optionally
restricted to candidate ids), ``len``. Vectors are L2-normalised on the way in,
so scores are cosine similarities.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["VectorIndex"]


class VectorIndex:
    """Exact cosine search by a numpy scan (initial implementation)."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self._ids = np.empty(0, dtype=np.int64)
        self._vecs = np.empty((0, dims), dtype=np.float32)
        self._pos: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._pos)

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids``."""
        ids = np.asarray(list(ids), dtype=np.int64)
        vecs = _normalise(np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dims))
        self.remove(int(i) for i in ids if int(i) in self._pos)
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vecs = np.concatenate([self._vecs, vecs])
        for offset, i in enumerate(ids):
            self._pos[int(i)] = start + offset

    def remove(self, ids: Iterable[int]) -> None:
        gone = [self._pos.pop(int(i)) for i in ids if int(i) in self._pos]
        if not gone:
            return
        keep = np.ones(len(self._ids), dtype=bool)
        keep[gone] = False
        self._ids, self._vecs = self._ids[keep], self._vecs[keep]
        self._pos = {int(i): p for p, i in enumerate(self._ids)}

    def search(
        self, query: np.ndarray, k: int, *, candidates: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest ids and their cosine similarities, best first."""
        q = _normalise(np.asarray(query, dtype=np.float32).reshape(1, self.dims))[0]
        if candidates is None:
            ids, vecs = self._ids, self._vecs
        else:
            pos = [self._pos[int(i)] for i in candidates if int(i) in self._pos]
            ids, vecs = self._ids[pos], self._vecs[pos]
        if not len(ids) or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        sims = vecs @ q
        k = min(k, len(ids))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return ids[top], sims[top]


def _normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vecs / norms
