"""Late interaction: ColBERT-style MaxSim between the query's and a memory's token vectors.

Pure functions and the token-vector storage format; the store reads the
candidates' token blobs and hands them to :func:`late_scores`, whose results
:func:`langmem.store.ranking.rank` weighs by ``RankingWeights.late_interaction``.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["TokenVectors", "late_scores"]


class TokenVectors(NamedTuple):
    """One text's content-token vectors, int8 with one scale per token.

    ``vecs[t] * scales[t]`` is token ``t``'s unit vector; ``ids`` are its
    wordpiece ids (for the IDF weights). Stored as one blob (:meth:`to_bytes`):
    ``n`` int32 ids, ``n`` float32 scales, then ``n * dims`` int8 values, all
    little-endian, ``n = len(blob) // (8 + dims)``.
    """

    ids: np.ndarray  # int32 (n,)
    vecs: np.ndarray  # int8 (n, dims)
    scales: np.ndarray  # float32 (n,)

    @classmethod
    def quantize(cls, ids: np.ndarray, vecs: np.ndarray) -> TokenVectors:
        """Float token vectors as int8, each scaled to its largest component."""
        vecs = np.asarray(vecs, dtype=np.float32)
        peak = np.maximum(np.abs(vecs).max(1, initial=0.0), 1e-12) / 127
        q = np.round(vecs / peak[:, None]).astype(np.int8)
        norms = np.maximum(np.linalg.norm(q.astype(np.float32), axis=1), 1.0)
        return cls(np.asarray(ids, dtype=np.int32), q, (1.0 / norms).astype(np.float32))

    def to_bytes(self) -> bytes:
        ids, scales = self.ids.astype("<i4"), self.scales.astype("<f4")
        return ids.tobytes() + scales.tobytes() + self.vecs.astype(np.int8).tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes, dims: int) -> TokenVectors:
        n = len(blob) // (8 + dims)
        if len(blob) != n * (8 + dims):
            raise ValueError(f"A token blob of {len(blob)} bytes does not hold {dims}-dim tokens")
        ids = np.frombuffer(blob, dtype="<i4", count=n)
        scales = np.frombuffer(blob, dtype="<f4", count=n, offset=4 * n)
        vecs = np.frombuffer(blob, dtype=np.int8, offset=8 * n).reshape(n, dims)
        return cls(ids, vecs, scales)

    @classmethod
    def concat(cls, parts: Sequence[TokenVectors]) -> TokenVectors:
        """One item's tokens over all its indexed fields (MaxSim takes the max anyway)."""
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate(column) for column in zip(*parts)))


def late_scores(
    query: TokenVectors,
    tokens: Mapping[int, tuple[str, TokenVectors]],
    ids: Sequence[int],
    *,
    window: Collection[int] = (),
    turns: Collection[int] | None = None,
) -> dict[int, tuple[float, float | None]]:
    """``rowid -> (late, late_window)`` for the candidates ``ids`` that have tokens.

    ``tokens`` maps rowids to ``(namespace, tokens)``: the candidates' and their
    adjacent turns'. How well an item covers the query is the IDF-weighted mean over
    the query's tokens of their best cosine with the item's tokens (IDF among the
    candidates); how well the query covers the item, the mean over the item's tokens
    of their best cosine with the query's. ``late`` is the first for a conversation
    turn (``turns``, by default those in ``window``), whose filler words say little,
    and the mean of both for any other item (an extracted memory: every word of it
    the query leaves out counts against it). ``window`` holds the rowids that are
    turns when adjacency counts: for a candidate among them ``late_window`` takes
    each query token's best over the turn and its adjacent rowids of the same
    namespace that are turns too; for the others it is ``None``.
    """
    own = [i for i in ids if i in tokens and len(tokens[i][1].ids)]
    if not own or not len(query.ids):
        return {}
    turns = window if turns is None else turns
    pool = [j for j, (_, t) in tokens.items() if len(t.ids)]
    col = {j: k for k, j in enumerate(pool)}
    with _blas().limit(limits=1):  # waking a thread team costs more than it saves here
        best, covered = _best_cosines(query, [tokens[j][1] for j in pool])
    weights = _idf_weights(query, [tokens[i][1] for i in own])
    weights /= weights.sum()
    own_cols = [col[i] for i in own]
    coverage = weights @ best[:, own_cols]
    both = (coverage + covered[own_cols]) / 2
    late = np.where([i in turns for i in own], coverage, both)
    members = [i for i in own if i in window]
    spans: dict[int, float] = {}
    if members:

        def near(i: int, d: int) -> int:  # an adjacent turn's column, or the item's own
            j = i + d
            same = j in col and j in window and tokens[j][0] == tokens[i][0]
            return col[j] if same else col[i]

        wide = np.stack([best[:, [near(i, d) for i in members]] for d in (-1, 0, 1)]).max(0)
        spans = dict(zip(members, (weights @ wide).tolist()))
    return {i: (float(t), spans.get(i)) for i, t in zip(own, late)}


def _best_cosines(
    query: TokenVectors, docs: Sequence[TokenVectors]
) -> tuple[np.ndarray, np.ndarray]:
    """``(query tokens, docs)``: each query token's best cosine with each doc's tokens; and
    ``(docs,)``: the mean over each doc's tokens of their best cosine with the query's."""
    q = query.vecs.astype(np.float32) * query.scales[:, None]
    mats = np.concatenate([d.vecs for d in docs]).astype(np.float32)
    # (doc tokens, query tokens): a tall, thin product runs about twice as fast on one thread.
    sims = (mats @ q.T) * np.concatenate([d.scales for d in docs])[:, None]
    starts = _starts(docs)
    covered = np.add.reduceat(sims.max(1), starts) / np.array([len(d.ids) for d in docs])
    return np.maximum.reduceat(sims, starts, axis=0).T, covered


def _idf_weights(query: TokenVectors, docs: Sequence[TokenVectors]) -> np.ndarray:
    """Each query token's IDF among ``docs``: ``ln((n + 1) / (df + 0.5))``, at least 0.01."""
    ids = np.concatenate([d.ids for d in docs])
    df = np.logical_or.reduceat(query.ids[:, None] == ids, _starts(docs), axis=1).sum(1)
    return np.maximum(np.log((len(docs) + 1) / (df + 0.5)), 0.01)


def _starts(docs: Sequence[TokenVectors]) -> np.ndarray:
    return np.cumsum([0] + [len(d.ids) for d in docs[:-1]])


@functools.cache
def _blas():  # scanning the loaded libraries costs a few ms: once per process
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")
