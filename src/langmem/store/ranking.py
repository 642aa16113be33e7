"""Pure scoring for hybrid recall: similarity, keyword match, importance, recency.

No database here: the store gathers candidates (vector neighbours and FTS5
matches with their metadata) and asks :func:`rank` to order them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Candidate", "RankingWeights", "rank"]


@dataclass(frozen=True)
class RankingWeights:
    """How much each signal counts in the final score (documented defaults).

    ``similarity`` and ``keyword`` are fused by reciprocal rank (``rrf_k``);
    ``importance`` reads a value field in [0, 1]; ``recency`` decays with a
    half-life since the last access (or creation), boosted by access count.
    """

    similarity: float = 1.0
    keyword: float = 1.0
    importance: float = 0.1
    recency: float = 0.1
    rrf_k: float = 60.0
    half_life_days: float = 30.0


@dataclass(frozen=True)
class Candidate:
    """One item the store may return, with whatever signals it has."""

    rowid: int
    vector_sim: float | None = None  # cosine similarity, if the vector search found it
    vector_rank: int | None = None  # 0-based rank in the vector results
    keyword_rank: int | None = None  # 0-based rank in the BM25 results
    keyword_score: float | None = None  # FTS5 bm25() value (lower is better)
    importance: float | None = None
    created_at: datetime | None = None
    accessed_at: datetime | None = None
    access_count: int = 0


def rank(
    candidates: Sequence[Candidate], weights: RankingWeights, now: datetime
) -> list[tuple[Candidate, float]]:
    """Candidates with their final scores, best first."""
    scored = [(c, _score(c, weights, now)) for c in candidates]
    scored.sort(key=lambda cs: (-cs[1], cs[0].rowid))
    return scored


def _score(c: Candidate, w: RankingWeights, now: datetime) -> float:
    score = 0.0
    if c.vector_rank is not None:
        score += w.similarity / (w.rrf_k + c.vector_rank + 1)
    if c.keyword_rank is not None:
        score += w.keyword / (w.rrf_k + c.keyword_rank + 1)
    # Scale the extra signals to the size of one top RRF term so weights compare.
    unit = 1.0 / (w.rrf_k + 1)
    if c.importance is not None:
        score += w.importance * unit * min(max(c.importance, 0.0), 1.0)
    seen = c.accessed_at or c.created_at
    if seen is not None:
        age_days = max((now - seen).total_seconds(), 0.0) / 86400
        strength = 0.5 ** (age_days / w.half_life_days) * (1 + math.log1p(c.access_count)) / 2
        score += w.recency * unit * min(strength, 1.0)
    return score
