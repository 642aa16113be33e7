"""Pure scoring for hybrid recall: similarity, keyword match, importance, recency,
and late interaction (scores from :mod:`langmem.store.late`).

No database here: the store gathers candidates (vector neighbours and FTS5
matches with their metadata) and asks :func:`rank` to order them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "Candidate",
    "RankingWeights",
    "fts_query",
    "is_turn",
    "matched_terms",
    "query_terms",
    "name_speakers",
    "rank",
    "ranked",
    "speaker_of",
    "spread_keyword_hits",
]

# Turns this many rowids apart or less lend each other keyword evidence (keyword_neighbours).
KEYWORD_SPAN = 2


@dataclass(frozen=True)
class RankingWeights:
    """How much each signal counts in the final score (documented defaults).

    With ``fusion="score"`` (default) the score is::

        similarity * cosine
        + keyword * bm25 / best bm25 among the candidates   (0..1)
        + importance * value importance                       (0..1)
        + recency * 0.5 ** (days since last use / half_life_days)
                  * (1 + ln(1 + access_count)) / 2            (capped at 1)

    An item only one retriever found gets the other's floor (the lowest
    cosine among the candidates; no keyword credit). ``fusion="rrf"`` fuses
    the two retrievers by reciprocal rank ``1 / (rrf_k + rank + 1)`` instead,
    and scales importance and recency to one top RRF term. ``candidates`` is
    how many items each retriever hands to the fusion. The defaults were set
    on the LOCOMO dev split (``bench/README.md``): score fusion with
    ``keyword=0.2`` beat every RRF setting, normalisation and feedback tried.

    ``neighbours`` (default 0.5) is adjacency credit between conversation
    turns: an item is a turn when its value is a chat message (a ``"role"``
    string and a ``"content"``) or is marked ``"kind": "turn"``
    (:func:`is_turn`). Turns put one after the other into the same namespace
    (adjacent rowids) lend each other evidence: a turn's score becomes
    ``max(own, (1 - neighbours) * own + neighbours * best adjacent turn's)``.
    Other items (extracted memories, documents) never get it, whatever their
    write order. 0 turns it off.

    ``late_interaction`` (default ``None``: 2.0 when the embedder gives token
    vectors, such as ``"local"`` MiniLM, and ``search_mode="hybrid"``;
    otherwise 0) adds ``late_interaction * late`` (times one top RRF term with
    ``fusion="rrf"``). ``late`` is ColBERT-style MaxSim: the query's coverage
    (each content token of the query takes its best cosine with the item's stored
    token vectors, averaged with weights ``max(ln((n + 1) / (df + 0.5)), 0.01)``;
    df: how many of the ``n`` candidates hold that wordpiece) for a turn; for any
    other item, the mean of that and the item's coverage (each of its tokens takes
    its best cosine with the query's, averaged), so words of an extracted memory
    the query never mentions count against it. For a turn, with
    ``neighbours`` > 0, it adds the query's coverage over the turn and its
    adjacent turns (a token's best cosine over the three), before neighbours spread.
    Items written while it was 0 have no token vectors and get no credit. It
    costs about 8 KB per item and a few ms per search; figures on LOCOMO
    (turns) and MADial (extracted memories) in ``bench/README.md``.

    ``keyword_neighbours`` (default 0.5, measured on LOCOMO; 0 turns it off) is keyword
    evidence shared between turns, for answers whose words are in the turn
    before or after ("Yes, in May!"): keyword search reads twice its pool, and
    a turn's BM25 becomes its own plus ``keyword_neighbours`` times the sum of
    the BM25 of the matching turns at most :data:`KEYWORD_SPAN` rowids away in
    its namespace (:func:`spread_keyword_hits`), so a turn that matches nothing
    itself can become a candidate. Other items keep their own BM25.

    ``speaker`` (default 0.5, measured on LOCOMO; 0 turns it off) adds ``speaker`` (times one
    top RRF term with ``fusion="rrf"``) to a turn whose speaker the query names:
    the value's ``"speaker"``, ``"name"`` or ``"role"`` (:func:`speaker_of`; not the generic
    chat roles ``user``, ``assistant``, ...) when every word of it is a word of the
    query ("What did Caroline ..." and ``{"role": "Caroline", ...}``).
    Both act on turns only, so stores of extracted memories rank as without them.

    ``event_recency`` (default 0.1) and ``event_half_life_days`` (365): a memory whose
    event time is known (``valid_from``: when it happened or began to hold) gets, in
    place of the record-time recency above, ``event_recency * 0.5 ** (days from
    valid_from to now / event_half_life_days)``: of the versions of a fact the latest
    ranks higher, however long ago they were all recorded (an import of old logs). A
    search ``as_of`` a time counts every age back from then instead of now. 0 turns it
    off: record time for all. Measured on LOCOMO (each turn dated by its session) and on
    a set of facts that changed (``bench/temporal.py``).

    ``store.search(..., explain=True)`` shows each signal's part of a hit's score
    (:func:`ranked`).
    """

    similarity: float = 1.0
    keyword: float = 0.2
    importance: float = 0.1
    recency: float = 0.05
    half_life_days: float = 30.0
    candidates: int = 50
    fusion: Literal["score", "rrf"] = "score"
    rrf_k: float = 60.0
    neighbours: float = 0.5
    late_interaction: float | None = None
    keyword_neighbours: float = 0.5
    speaker: float = 0.5
    event_recency: float = 0.1
    event_half_life_days: float = 365.0

    def __post_init__(self) -> None:
        if self.fusion not in ("score", "rrf"):
            raise ValueError(f"fusion must be 'score' or 'rrf', got {self.fusion!r}")
        if self.half_life_days <= 0 or self.candidates <= 0 or not self.event_half_life_days > 0:
            raise ValueError("half_life_days, event_half_life_days and candidates must be positive")
        if not 0.0 <= self.neighbours <= 1.0:
            raise ValueError(f"neighbours must be within [0, 1], got {self.neighbours!r}")
        for name in ("keyword_neighbours", "speaker", "event_recency"):
            if not getattr(self, name) >= 0:  # NaN too
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.late_interaction is not None and not self.late_interaction >= 0:  # NaN too
            raise ValueError(f"late_interaction must be >= 0, got {self.late_interaction!r}")

    def resolved(self, *, token_vectors: bool) -> RankingWeights:
        """These weights with ``late_interaction=None`` settled: 2.0 when the store's
        embedder gives token vectors (and searches are hybrid), else 0."""
        if self.late_interaction is not None:
            return self
        return replace(self, late_interaction=2.0 if token_vectors else 0.0)


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
    namespace: str | None = None  # neighbours are adjacent rowids of one namespace
    turn: bool = False  # a conversation turn (see is_turn): only turns lend to neighbours
    late: float | None = None  # MaxSim of the query's tokens over the item's (0..1)
    late_window: float | None = None  # the same over the item and its adjacent items
    speaker: str | None = None  # who said it (speaker_of), for a turn
    named: bool = False  # the query names its speaker (name_speakers)
    valid_from: datetime | None = None  # when it happened, if known (event time)


def rank(
    candidates: Sequence[Candidate], weights: RankingWeights, now: datetime
) -> list[tuple[Candidate, float]]:
    """Candidates with their final scores, best first (ties by rowid)."""
    return [(c, score) for c, score, _ in ranked(candidates, weights, now)]


def ranked(
    candidates: Sequence[Candidate],
    weights: RankingWeights,
    now: datetime,
    *,
    explain: int = 0,
    as_of: datetime | None = None,
) -> list[tuple[Candidate, float, dict[str, Any] | None]]:
    """:func:`rank` with the explanation of the best ``explain`` scores (else ``None``):
    ``"parts"`` (signal -> contribution, the non-zero ones, adding up to the score) and
    the raw inputs behind them. ``as_of``: the time recency counts back from (the
    search's; see ``RankingWeights.event_recency``)."""
    w = weights
    now = as_of or now
    events = now if w.event_recency else None  # event ages count back from the same time
    if w.fusion == "rrf":
        unit = 1.0 / (w.rrf_k + 1)
        norms: dict[str, float] = {}
        vector = [_rrf_term(w.similarity, c.vector_rank, w.rrf_k) for c in candidates]
        keyword = [_rrf_term(w.keyword, c.keyword_rank, w.rrf_k) for c in candidates]
    else:
        unit = 1.0
        sims = [c.vector_sim for c in candidates if c.vector_sim is not None]
        strengths = [_keyword_strength(c) for c in candidates]
        norms = {"cosine_floor": min(sims) if sims else 0.0}
        norms["bm25_best"] = best = max(strengths, default=0.0) or 1.0
        floor = norms["cosine_floor"]
        vector = [
            w.similarity * (floor if c.vector_sim is None else c.vector_sim) for c in candidates
        ]
        keyword = [w.keyword * s / best for s in strengths]
    columns = {
        "vector": vector,
        "keyword": keyword,
        "late_interaction": [unit * _late(c, w) for c in candidates],
        "importance": [
            0.0 if c.importance is None else unit * w.importance * min(max(c.importance, 0.0), 1.0)
            for c in candidates
        ],
        "recency": [unit * _recency(c, w, now, events) for c in candidates],
    }
    scores = [sum(parts) for parts in zip(*columns.values())]
    if w.neighbours:
        lifted = _spread_to_neighbours(candidates, scores, w.neighbours)
        columns["neighbours"] = [after - before for after, before in zip(lifted, scores)]
        scores = lifted
    if w.speaker:  # after the spread: a named speaker lends nothing to the other's turns
        bonus = unit * w.speaker
        columns["speaker"] = named = [bonus * c.named for c in candidates]
        scores = [score + lift for score, lift in zip(scores, named)]
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], candidates[i].rowid))
    return [
        (
            candidates[i],
            scores[i],
            _explanation(
                candidates[i], {k: col[i] for k, col in columns.items()}, norms, now, events
            )
            if r < explain
            else None,
        )
        for r, i in enumerate(order)
    ]


def _explanation(
    c: Candidate,
    parts: dict[str, float],
    norms: dict[str, float],
    now: datetime,
    events: datetime | None,
) -> dict[str, Any]:
    """The raw inputs of ``c``'s score next to its non-zero ``parts``."""
    out: dict[str, Any] = {"parts": {k: v for k, v in parts.items() if v}}
    if c.vector_sim is not None:
        out |= {"cosine": c.vector_sim, "vector_rank": c.vector_rank}
    elif "cosine_floor" in norms:
        out["cosine_floor"] = norms["cosine_floor"]  # what an item the vectors missed gets
    if c.keyword_rank is not None:
        out["keyword_rank"] = c.keyword_rank
    if c.keyword_score is not None:
        out["bm25"] = -c.keyword_score  # FTS5's sign turned: higher is better
        if "bm25_best" in norms:  # what the keyword part divides by
            out["bm25_best"] = norms["bm25_best"]
    if c.late is not None:
        out["maxsim"] = c.late
    if c.late_window is not None:
        out["maxsim_window"] = c.late_window
    if c.importance is not None:
        out["importance"] = c.importance
    age = _age_days(c, now, events)
    if age is not None:
        out["event_age_days" if _by_event(c, events) else "age_days"] = age
    out["accesses"] = c.access_count
    if c.turn:
        out |= {"turn": True, "speaker": c.speaker, "speaker_named": c.named}
    return out


def is_turn(value: object) -> bool:
    """Whether a stored value is a conversation turn: a chat message
    (``{"role": "user", "content": ...}``) or marked ``{"kind": "turn", ...}``."""
    if not isinstance(value, dict):
        return False
    if value.get("kind") == "turn":
        return True
    return isinstance(value.get("role"), str) and "content" in value


def spread_keyword_hits(
    hits: Mapping[int, float],
    turns: Mapping[int, str],
    share: float,
    limit: int,
    span: int = KEYWORD_SPAN,
) -> dict[int, tuple[int, float]]:
    """``rowid -> (rank, score)`` of the ``limit`` best keyword candidates once turns
    share their matches.

    ``hits`` maps the keyword matches to their FTS5 ``bm25()`` (negative, lower is
    better); ``turns`` maps the live turns among the hits and the rowids within
    ``span`` of them to their namespaces. A turn scores its own BM25 (0 if it did
    not match) plus ``share`` times that of every matching turn within ``span``
    rowids in its namespace; any other hit keeps its own.
    """
    score = dict(hits)
    for rid, own in hits.items():
        ns = turns.get(rid)
        if ns is None:
            continue
        for d in range(-span, span + 1):
            if d and turns.get(rid + d) == ns:
                score[rid + d] = score.get(rid + d, 0.0) + share * own
    order = sorted(score, key=lambda i: (score[i], i))[:limit]
    return {rid: (r, score[rid]) for r, rid in enumerate(order)}


# Chat roles that name no one: a query saying "user" says nothing about who spoke.
_GENERIC_ROLES = frozenset({"user", "assistant", "system", "human", "ai", "tool", "function"})


def speaker_of(value: object) -> str | None:
    """Who said a turn: its ``"speaker"`` or ``"name"``, else its ``"role"``, unless that
    is a generic chat role; lowercase. ``None`` for other values."""
    if not is_turn(value):
        return None
    assert isinstance(value, dict)
    for field in ("speaker", "name", "role"):
        who = value.get(field)
        if isinstance(who, str) and who.strip() and who.strip().lower() not in _GENERIC_ROLES:
            return who.strip().lower()
    return None


def name_speakers(candidates: Sequence[Candidate], query: str) -> list[Candidate]:
    """``candidates``, those whose speaker ``query`` names (every word of it is a word
    of the query) marked ``named``: what ``RankingWeights.speaker`` rewards."""
    words = set(_TERM.findall(query.lower()))
    return [
        replace(c, named=True)
        if c.speaker and words.issuperset(_TERM.findall(c.speaker) or [""])
        else c
        for c in candidates
    ]


def _spread_to_neighbours(
    candidates: Sequence[Candidate], scores: list[float], share: float
) -> list[float]:
    by_pos = {(c.namespace, c.rowid): score for c, score in zip(candidates, scores) if c.turn}
    out = []
    for c, score in zip(candidates, scores):
        if not c.turn:
            out.append(score)
            continue
        near = [by_pos.get((c.namespace, c.rowid + d)) for d in (-1, 1)]
        best = max((n for n in near if n is not None), default=score)
        out.append(max(score, (1 - share) * score + share * best))
    return out


def _keyword_strength(c: Candidate) -> float:
    if c.keyword_score is not None:
        return max(-c.keyword_score, 0.0)  # FTS5 bm25() is negative, lower is better
    if c.keyword_rank is not None:
        return 1.0 / (1 + c.keyword_rank)
    return 0.0


def _rrf_term(weight: float, rank: int | None, k: float) -> float:
    return 0.0 if rank is None else weight / (k + rank + 1)


def _recency(c: Candidate, w: RankingWeights, now: datetime, events: datetime | None) -> float:
    """By event time where known: ``event_recency * 0.5 ** (age / event half-life)``; else
    recency and use: ``recency * 0.5 ** (age / half-life) * (1 + ln(1 + accesses)) / 2``
    (that product at most 1)."""
    age_days = _age_days(c, now, events)
    if age_days is None:
        return 0.0
    if _by_event(c, events):
        return w.event_recency * 0.5 ** (age_days / w.event_half_life_days)
    strength = 0.5 ** (age_days / w.half_life_days) * (1 + math.log1p(c.access_count)) / 2
    return w.recency * min(strength, 1.0)


def _by_event(c: Candidate, events: datetime | None) -> bool:
    """Whether ``c``'s recency counts by its event time (``events``: the reference)."""
    return events is not None and c.valid_from is not None


def _age_days(c: Candidate, now: datetime, events: datetime | None) -> float | None:
    """Days since ``c`` happened (before ``events``) where known, else since its last
    use or record (before ``now``); ``None`` without any time."""
    if _by_event(c, events):
        assert events is not None and c.valid_from is not None
        return max((events - c.valid_from).total_seconds(), 0.0) / 86400
    seen = c.accessed_at or c.created_at
    if seen is None:
        return None
    return max((now - seen).total_seconds(), 0.0) / 86400


def _late(c: Candidate, w: RankingWeights) -> float:
    return (w.late_interaction or 0.0) * ((c.late or 0.0) + (c.late_window or 0.0))


_TERM = re.compile(r"\w+", re.UNICODE)
# Function words that match nearly every memory and only add noise to BM25.
_STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours
    yourself yourselves""".split()  # noqa: SIM905
)


def fts_query(text: str, *, max_terms: int = 32) -> str | None:
    """An FTS5 ``MATCH`` expression for free text: its content words, quoted, OR-ed.

    Quoting makes every word a literal (no FTS5 syntax injection: ``AND``,
    ``NEAR``, ``*``, ``"`` in user text are just words). ``None`` when no
    content word is left, e.g. for ``"what is it?"``.
    """
    terms = query_terms(text, max_terms=max_terms)
    if not terms:
        return None
    return " OR ".join(f'"{t}"' for t in terms)


def query_terms(text: str, *, max_terms: int = 32) -> list[str]:
    """The distinct content words of a query (lowercase, no stopwords), in order:
    what keyword search matches (``fts_query`` for FTS5, the Postgres store's BM25)."""
    terms: list[str] = []
    for word in _TERM.findall(text.lower()):
        if word not in _STOPWORDS and word not in terms and word.strip("_"):
            terms.append(word)
    return terms[:max_terms]


def matched_terms(query: str, value: object) -> list[str]:
    """The query's content words (:func:`query_terms`) that are words of ``value``'s strings
    (as written: BM25 also counts stemmed forms, such as "hikes" for "hiking")."""
    words: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            words.update(_TERM.findall(v.lower()))
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return [t for t in query_terms(query) if t in words]
