"""The read path of ``SQLiteStore``: get, search (hybrid, vector, keyword, listing), namespaces.

Runs inside the store's transaction on the connection it is given; builds its
SQL with :mod:`langmem.store._sql` and ranks with :mod:`langmem.store.ranking`.
"""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import numpy as np
from langgraph.store.base import (
    NOT_PROVIDED,
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    NotProvided,
    Op,
    Result,
    SearchItem,
    SearchOp,
    _ensure_refresh,
)

from langmem.memory import with_event_time
from langmem.store import _sql
from langmem.store._ops import importance_of, matches_filter, matches_namespace
from langmem.store._time import DEFAULT_WINDOW, EPOCH, Bounds, TimeWindow
from langmem.store.late import TokenVectors, late_scores
from langmem.store.ranking import (
    KEYWORD_SPAN,
    Candidate,
    RankingWeights,
    fts_query,
    is_turn,
    matched_terms,
    name_speakers,
    ranked,
    speaker_of,
    spread_keyword_hits,
)
from langmem.store.vectors import VectorIndex

__all__ = [
    "ExplainSearchOp",
    "ExplainedItem",
    "ExplainingStore",
    "Reader",
    "TimedItem",
    "TimedSearchItem",
    "TimedSearchOp",
    "closed_rows_dropped",
    "by_similarity",
    "dt",
    "explanation_text",
    "fuse",
    "item_from_row",
    "keyword_window",
    "late_from_rows",
    "late_neighbours",
    "late_window",
    "now_us",
    "search_items",
    "select_namespaces",
    "share_keyword_hits",
    "turn_values",
    "unindexed_tail",
    "searching",
    "window_of",
]

# Namespaces (or filters) of up to this many vectors are scored directly.
_SMALL = 512
# Only indexes at least this large check a namespace's size first (below, a scan is cheaper).
_PROBE_MIN = 32_768
# The largest k a whole-index retry asks for (each hit costs an SQL owner lookup).
_RETRY_MAX = 1_024
# Keyword search reads this many best matches per candidate it needs before filtering...
_KEYWORD_CAP = 2
# ...and scores (FTS5 computes BM25 for every match) at most this many matches per candidate
# of the fusion.
_KEYWORD_SCORED = 80
# An explained search lists this many of the best candidates ranked below its page.
RUNNERS_UP = 3


class TimedSearchOp(SearchOp):
    """A :class:`SearchOp` seeing the memories of a time ``window`` (see
    :mod:`langmem.store._time`; a plain ``SearchOp`` sees the default window)."""

    window: TimeWindow

    def __new__(cls, *fields: Any, window: TimeWindow = DEFAULT_WINDOW) -> TimedSearchOp:
        op = super().__new__(cls, *fields)
        op.window = window
        return op


class ExplainSearchOp(TimedSearchOp):
    """A :class:`SearchOp` whose hits come with explanations (``search(..., explain=True)``)."""


def searching(op: SearchOp, *, explain: bool, window: TimeWindow = DEFAULT_WINDOW) -> SearchOp:
    """``op`` as the search it asks for: explained, or seeing another time ``window``
    than the default (a plain ``SearchOp`` then, which any store takes)."""
    if explain:
        return ExplainSearchOp(*op, window=window)
    return op if window == DEFAULT_WINDOW else TimedSearchOp(*op, window=window)


def window_of(op: SearchOp) -> TimeWindow:
    """The time window a search op sees."""
    return op.window if isinstance(op, TimedSearchOp) else DEFAULT_WINDOW


class TimedItem(Item):
    """A stored item with its event time: ``valid_from`` (when it happened or began to
    hold) and ``valid_until`` (when it stopped), ``None`` when unknown / still true;
    ``dict()`` names them when set."""

    __slots__ = ("valid_from", "valid_until")

    def __init__(
        self,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(**fields)
        self.valid_from, self.valid_until = valid_from, valid_until

    def dict(self) -> dict:
        return _with_times(super().dict(), self.valid_from, self.valid_until)


class TimedSearchItem(SearchItem):
    """A search hit with its event time (as :class:`TimedItem`)."""

    __slots__ = ("valid_from", "valid_until")

    def __init__(
        self,
        *args: Any,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.valid_from, self.valid_until = valid_from, valid_until

    def dict(self) -> dict:
        return _with_times(super().dict(), self.valid_from, self.valid_until)


def _with_times(data: dict, start: datetime | None, end: datetime | None) -> dict:
    for name, at in (("valid_from", start), ("valid_until", end)):
        if at is not None:
            data[name] = at.isoformat()
    return data


class ExplainedItem(TimedSearchItem):
    """A hit of an explained search: ``explanation["parts"]`` (signal -> contribution) add
    up to ``score``; the rest are the raw inputs (cosine, bm25, matched ``terms``, age...),
    and the last hit's ``"runners_up"`` the best candidates ranked below the page."""

    __slots__ = ("explanation",)

    def __init__(self, *args: Any, explanation: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.explanation = explanation

    def dict(self) -> dict:
        return {**super().dict(), "explanation": self.explanation}


class ExplainingStore(BaseStore):
    """LangGraph's ``search``/``asearch`` with keyword-only ``explain`` and event-time
    options, and ``put``/``aput`` with keyword-only ``valid_from``/``valid_until``.

    Event times travel in the value (``memory.TIME_FIELDS``), so that history,
    revert, export and import keep them with no second path; ``put(...,
    valid_from=...)`` only sets those fields, and LangGraph's signature stays as is.
    """

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | None | NotProvided = NOT_PROVIDED,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
    ) -> None:
        """LangGraph's ``put``; ``valid_from``/``valid_until`` (datetimes or ISO 8601)
        set when what ``value`` records happened or held, and when it stopped."""
        value = _timed(value, valid_from, valid_until)
        super().put(namespace, key, value, index, ttl=ttl)

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | None | NotProvided = NOT_PROVIDED,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
    ) -> None:
        """LangGraph's ``aput`` with ``put``'s event times."""
        value = _timed(value, valid_from, valid_until)
        await super().aput(namespace, key, value, index, ttl=ttl)

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
        explain: bool = False,
        as_of: datetime | str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        include_closed: bool = False,
    ) -> list[SearchItem]:
        """LangGraph's ``search``, whose hits carry their event times (:class:`TimedSearchItem`).

        ``explain=True`` returns :class:`ExplainedItem` s. By event time (datetimes or
        ISO 8601; see :mod:`langmem.store._time`): by default memories closed by now
        (``valid_until`` passed) are left out; ``as_of`` gives what was true then
        (started by it, record time standing in for an unknown start, and not ended
        by it) and ranks recency from it; ``since``/``until`` keep what happened in
        ``[since, until)``, closed or not; ``include_closed`` adds closed ones.
        """
        op = self._search_op(
            namespace_prefix,
            query,
            filter,
            limit,
            offset,
            refresh_ttl,
            explain,
            TimeWindow.of(as_of, since, until, include_closed),
        )
        return cast(list[SearchItem], self.batch([op])[0])

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
        explain: bool = False,
        as_of: datetime | str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        include_closed: bool = False,
    ) -> list[SearchItem]:
        """LangGraph's ``asearch`` with ``search``'s options."""
        op = self._search_op(
            namespace_prefix,
            query,
            filter,
            limit,
            offset,
            refresh_ttl,
            explain,
            TimeWindow.of(as_of, since, until, include_closed),
        )
        return cast(list[SearchItem], (await self.abatch([op]))[0])

    def _search_op(
        self,
        namespace_prefix: tuple[str, ...],
        query: str | None,
        filter: dict[str, Any] | None,
        limit: int,
        offset: int,
        refresh_ttl: bool | None,
        explain: bool,
        window: TimeWindow,
    ) -> SearchOp:
        """The op of a search (what both entry points batch)."""
        refresh = _ensure_refresh(self.ttl_config, refresh_ttl)
        op = SearchOp(namespace_prefix, filter, limit, offset, query, refresh)
        return searching(op, explain=explain, window=window)


def _timed(value: Any, start: datetime | str | None, end: datetime | str | None) -> Any:
    if (start is None and end is None) or not isinstance(value, Mapping):
        return value
    return with_event_time(value, start, end)


def explanation_text(hit: Item | Mapping[str, Any]) -> str:
    """A hit's (or runner-up's) explanation in one line: ``"0.812 = vector 0.410 + keyword
    0.300 ...; terms: hiking"``; empty for an unexplained or unranked hit."""
    why = hit if isinstance(hit, Mapping) else getattr(hit, "explanation", None)
    score = hit.get("score") if isinstance(hit, Mapping) else getattr(hit, "score", None)
    if not why or score is None:
        return ""
    parts = " + ".join(f"{k} {v:.3f}" for k, v in why["parts"].items()) or "0"
    text = f"{score:.3f} = {parts}"
    return text + (f"; terms: {', '.join(why['terms'])}" if why.get("terms") else "")


@dataclass(frozen=True)
class Reader:
    """How the store reads: its vector index, retrievers and ranking weights."""

    index: VectorIndex | None  # None: no embedder
    keyword: bool  # FTS5 retrieval on (an index is configured and the mode is not "vector")
    vector_only: bool  # search_mode="vector": score = cosine similarity
    weights: RankingWeights
    vectors_per_item: int  # expected vectors per item (index fields), sizes the vector pool
    record_access: bool = True  # False on a read-only store: no access stats, no TTL refresh

    def read(
        self,
        db: sqlite3.Connection,
        op: Op,
        queries: dict[str, Any],
        now: int,
        query_tokens: Mapping[str, TokenVectors] | None = None,
    ) -> Result:
        """Run one read op; ``queries`` (and, for late interaction, ``query_tokens``)
        map each search's query text to its embedding."""
        if isinstance(op, GetOp):
            row = db.execute(*_sql.get_sql(op.namespace, op.key, now)).fetchone()
            if row is None:
                return None
            if op.refresh_ttl and row[8] is not None and self.record_access:
                db.execute(*_sql.refresh_ttl_sql(row[0], now))
            return item_from_row(row)
        if isinstance(op, SearchOp):
            tokens = (query_tokens or {}).get(op.query) if op.query else None
            return self._search(db, op, queries.get(op.query) if op.query else None, tokens, now)
        assert isinstance(op, ListNamespacesOp)
        return self._list_namespaces(db, op, now)

    def _search(
        self,
        db: sqlite3.Connection,
        op: SearchOp,
        query_vector: Any,
        query_tokens: TokenVectors | None,
        now: int,
    ) -> list[SearchItem]:
        explained: dict[int, dict] | None = {} if isinstance(op, ExplainSearchOp) else None
        period = window_of(op)
        bounds = period.bounds(now)
        match = fts_query(op.query) if op.query and self.keyword else None
        if query_vector is None and match is None:
            if op.query and self.keyword:
                return []  # only stopwords: nothing to match
            return self._scan(db, op, now, bounds, explained)
        allowed = None
        closed: set[int] = set()
        if op.filter or period.restricts:
            prefix = op.namespace_prefix
            allowed = [row[0] for row in self._filtered(db, prefix, op.filter, now, bounds)]
            if not allowed:
                return []
        elif bounds.ended_after is not None:
            closed = {row[0] for row in db.execute(*_sql.closed_ids_sql(op.namespace_prefix, now))}
        # Fusion needs each retriever's candidates; pure similarity needs only the page.
        pool = op.limit + op.offset + len(closed)
        if not self.vector_only:
            pool = max(self.weights.candidates, pool)
        q = None if query_vector is None else np.asarray(query_vector, dtype=np.float32)
        restrict = scan = None
        if q is not None:
            restrict = self._restriction(db, op.namespace_prefix, allowed)
            if restrict is None and match is not None:  # scan the index while FTS5 matches
                assert self.index is not None
                scan = self.index.search_soon(q, 2 * pool * self.vectors_per_item)
        kw_hits: dict[int, tuple[int, float]] = {}
        rows: dict[int, tuple] = {}  # the candidates' item rows
        if match is not None:
            share = self.weights.keyword_neighbours
            prefix = op.namespace_prefix
            # Turns that share matches need more keyword candidates (the budget stays).
            kw_pool = 2 * pool if share else pool
            kw_hits, read = self._keyword_hits(
                db, match, prefix, allowed, kw_pool, now, _KEYWORD_SCORED * pool
            )
            rows = {i: read[i] for i in kw_hits if i in read}
            if share and kw_hits:  # turns lend their matches to the live turns near them
                near = list(rows.values())
                if missing := [i for i in kw_hits if i not in rows]:
                    near += db.execute(*_sql.items_by_id_sql(missing, now)).fetchall()
                if window := keyword_window(kw_hits, near):
                    near += db.execute(*_sql.items_by_id_sql(window, now)).fetchall()
                kw_hits = share_keyword_hits(kw_hits, near, prefix, allowed, share, pool)
                rows = {row[0]: row for row in near if row[0] in kw_hits}
        vec_hits = (
            {}
            if q is None
            else self._vector_hits(db, q, op.namespace_prefix, allowed, pool, now, restrict, scan)
        )
        if ids := [i for i in dict.fromkeys([*vec_hits, *kw_hits]) if i not in rows]:
            rows.update((row[0], row) for row in db.execute(*_sql.items_by_id_sql(ids, now)))
        rows = closed_rows_dropped(rows, closed)
        scored: list[tuple[tuple, float | None]] = []  # the unindexed tail scores None
        if self.vector_only:
            scored += by_similarity(rows, vec_hits, explained)
        else:
            values, turns = turn_values(rows)
            late: dict[int, tuple[float, float | None]] = {}
            if self.weights.late_interaction and query_tokens is not None and rows:
                late = self._late(
                    db, query_tokens, list(rows), turns, op.namespace_prefix, allowed, now
                )
            scored += fuse(
                rows, values, turns, vec_hits, kw_hits, late, self.weights, op, now, explained
            )
        if len(scored) < op.offset + op.limit:  # as InMemoryStore: unindexed items come last
            tail = db.execute(*_sql.unindexed_sql(op.namespace_prefix, now, bounds))
            scored += unindexed_tail(tail, op)
        page = scored[op.offset : op.offset + op.limit]
        if page and self.record_access:
            db.execute(*_sql.touch_sql([row[0] for row, _ in page], now, op.refresh_ttl))
        return search_items(scored, op, explained)

    @staticmethod
    def _keyword_hits(
        db: sqlite3.Connection,
        match: str,
        prefix: tuple[str, ...],
        allowed: list[int] | None,
        pool: int,
        now: int,
        budget: int,
    ) -> tuple[dict[int, tuple[int, float]], dict[int, tuple]]:
        """``item id -> (rank, bm25)`` of the best keyword matches the search may return,
        and the item rows it read on the way (of some or all of them).

        FTS5 computes BM25 for every match it orders, so at most ``budget`` items
        are scored where that is exact: a namespace or filter holding no more
        items (nor more than the terms match) is scored alone. Otherwise the
        ``_KEYWORD_CAP * pool`` best matches of the whole index come first,
        without a join per match; those that are live, under ``prefix`` and
        allowed are the answer when there are ``pool`` of them or no more
        matches, else all matches within the allowed items are scored. When the
        terms together match more than the budget, that first query scores only
        the rarest of them (the common ones weigh least in BM25).
        """
        cap = _KEYWORD_CAP * pool
        terms = match.split(" OR ")
        counts = [row[0] for row in db.execute(*_sql.term_counts_sql(terms))]
        if not any(counts):
            return {}, {}
        among, rows = allowed, {}
        # A namespace holding more items than the terms match is no cheaper to score alone.
        small = min(budget, sum(counts))
        if among is None and prefix and _count_items(db, prefix, small + 1) <= small:
            among = [row[0] for row in db.execute(*_sql.live_ids_under_sql(prefix, now, small))]
        if among is not None and len(among) <= budget:
            hits = db.execute(*_sql.keyword_among_sql(match, among, pool)).fetchall()
        else:
            rarest = _rarest(terms, counts, budget)
            top = db.execute(*_sql.keyword_top_sql(rarest, cap)).fetchall()
            sql, params = _sql.live_items_sql([rid for rid, _ in top], prefix, allowed, now)
            rows = {row[0]: row for row in db.execute(sql, params)}
            hits = [(rid, score) for rid, score in top if rid in rows][:pool]
            if len(hits) < pool and len(top) == cap:
                hits = db.execute(*_sql.keyword_sql(match, prefix, allowed, now, pool)).fetchall()
        return {rid: (r, score) for r, (rid, score) in enumerate(hits)}, rows

    def _late(
        self,
        db: sqlite3.Connection,
        query: TokenVectors,
        ids: Sequence[int],
        turns: set[int],
        prefix: tuple[str, ...],
        allowed: list[int] | None,
        now: int,
    ) -> dict[int, tuple[float, float | None]]:
        """Late-interaction scores of the candidates ``ids`` (see :func:`late_scores`).

        With ``neighbours``, the candidates that are ``turns`` also get the window
        view, which reads their adjacent items when those are live turns, under
        ``prefix`` and allowed by the filter.
        """
        assert self.index is not None
        near = late_neighbours(ids, turns, self.weights.neighbours)
        rows = db.execute(*_sql.items_by_id_sql(near, now)).fetchall() if near else []
        window, read = late_window(ids, turns, self.weights.neighbours, rows)
        token_rows = db.execute(*_sql.token_rows_sql(read, prefix, allowed, now))
        return late_from_rows(query, ids, turns, window, token_rows, self.index.dims)

    def _restriction(
        self, db: sqlite3.Connection, prefix: tuple[str, ...], allowed: list[int] | None
    ) -> list[int] | None:
        """The vector ids to score directly when the namespace (or filter) is small,
        else ``None``: the whole index is searched."""
        assert self.index is not None
        if allowed is not None and len(allowed) * self.vectors_per_item <= _SMALL:
            return self._allowed_vectors(db, prefix, allowed)
        if allowed is None and prefix and len(self.index) >= _PROBE_MIN:
            cap = _SMALL // self.vectors_per_item
            if _count_items(db, prefix, cap + 1) <= cap:
                return self._allowed_vectors(db, prefix, None)
        return None

    def _vector_hits(
        self,
        db: sqlite3.Connection,
        q: np.ndarray,
        prefix: tuple[str, ...],
        allowed: list[int] | None,
        pool: int,
        now: int,
        restrict: list[int] | None,
        scan: Future | None = None,
    ) -> dict[int, tuple[int, float]]:
        """``item id -> (rank, best similarity)`` of the nearest allowed items.

        Exact whatever the namespace: the nearest allowed items among the
        ``k`` nearest vectors of the whole index are the nearest allowed items
        overall. A small namespace (or filter) is scored directly (``restrict``);
        otherwise the whole index is searched for twice the pool (``scan``: that
        search, started earlier), then once more with ``k`` sized from the share
        of allowed hits, and only if that still falls short is the scan
        restricted to the allowed vectors (it reads all their ids).
        """
        assert self.index is not None
        if restrict is not None:
            return self._restricted_hits(db, q, pool, restrict, prefix, allowed, now)
        need = pool * self.vectors_per_item
        k = 2 * need
        for _ in range(2):
            vec_ids, sims = scan.result() if scan is not None else self.index.search(q, k)
            scan = None
            best = self._owned(db, vec_ids, sims, prefix, allowed, now)
            if len(best) >= pool or len(vec_ids) < k:  # enough, or the whole index seen
                return _ranked(best, pool)
            # Size k from the share of allowed hits, unless too few to estimate it.
            k = math.ceil(1.5 * need * len(vec_ids) / max(len(best), 1))
            if not best or k > _RETRY_MAX:
                break
        restrict = self._allowed_vectors(db, prefix, allowed)
        return self._restricted_hits(db, q, pool, restrict, prefix, allowed, now)

    def _restricted_hits(
        self,
        db: sqlite3.Connection,
        q: np.ndarray,
        pool: int,
        restrict: list[int],
        prefix: tuple[str, ...],
        allowed: list[int] | None,
        now: int,
    ) -> dict[int, tuple[int, float]]:
        assert self.index is not None
        k = pool * self.vectors_per_item
        vec_ids, sims = self.index.search(q, k, candidates=restrict)
        return _ranked(self._owned(db, vec_ids, sims, prefix, allowed, now), pool)

    @staticmethod
    def _allowed_vectors(
        db: sqlite3.Connection, prefix: tuple[str, ...], allowed: list[int] | None
    ) -> list[int]:
        return [row[0] for row in db.execute(*_sql.vector_ids_sql(prefix, allowed))]

    @staticmethod
    def _owned(
        db: sqlite3.Connection,
        vec_ids: np.ndarray,
        sims: np.ndarray,
        prefix: tuple[str, ...],
        allowed: list[int] | None,
        now: int,
    ) -> dict[int, float]:
        """``item id -> best similarity`` of the hits the search may return, best first."""
        owners = dict(db.execute(*_sql.vector_owners_sql(vec_ids.tolist(), prefix, now)))
        allowed_set = None if allowed is None else set(allowed)
        best: dict[int, float] = {}
        for vid, sim in zip(vec_ids.tolist(), sims.tolist()):
            item = owners.get(vid)
            if item is not None and (allowed_set is None or item in allowed_set):
                best.setdefault(item, sim)
        return best

    def _scan(
        self,
        db: sqlite3.Connection,
        op: SearchOp,
        now: int,
        bounds: Bounds,
        explained: dict | None = None,
    ) -> list[SearchItem]:
        if op.filter:
            rows = list(self._filtered(db, op.namespace_prefix, op.filter, now, bounds))
            rows = rows[op.offset : op.offset + op.limit]
        else:
            sql, params = _sql.scan_sql(
                op.namespace_prefix, now, op.limit, op.offset, bounds=bounds
            )
            rows = db.execute(sql, params).fetchall()
        if op.refresh_ttl and self.record_access:
            for row in rows:
                if row[8] is not None:
                    db.execute(*_sql.refresh_ttl_sql(row[0], now))
        return search_items([(row, None) for row in rows], None, explained)

    def _filtered(
        self,
        db: sqlite3.Connection,
        prefix: tuple[str, ...],
        filter: dict | None,
        now: int,
        bounds: Bounds | None = None,
    ) -> Iterator[tuple]:
        for row in db.execute(*_sql.scan_sql(prefix, now, filter=filter, bounds=bounds)):
            if not filter or matches_filter(json.loads(row[3]), filter):
                yield row

    def _list_namespaces(
        self, db: sqlite3.Connection, op: ListNamespacesOp, now: int
    ) -> list[tuple[str, ...]]:
        namespaces = [_sql.ns_tuple(row[0]) for row in db.execute(*_sql.namespaces_sql(now))]
        return select_namespaces(namespaces, op)


def select_namespaces(
    namespaces: Iterable[tuple[str, ...]], op: ListNamespacesOp
) -> list[tuple[str, ...]]:
    """The page of ``namespaces`` (the live ones) that ``op`` lists (every store's rule)."""
    conditions = op.match_conditions or ()
    namespaces = [ns for ns in namespaces if all(matches_namespace(c, ns) for c in conditions)]
    if op.max_depth is not None:
        namespaces = [ns[: op.max_depth] for ns in namespaces]
    return sorted(set(namespaces))[op.offset : op.offset + op.limit]


def _rarest(terms: Sequence[str], counts: Sequence[int], budget: int) -> str:
    """The ``MATCH`` of ``terms`` (``fts_query``'s quoted words) keeping the rarest by their
    match ``counts``, as many as match at most ``budget`` items together (at least one)."""
    if sum(counts) <= budget:
        return " OR ".join(terms)
    kept: list[int] = []
    total = 0
    for n, i in sorted(zip(counts, range(len(terms)))):
        if kept and total + n > budget:
            break
        kept.append(i)
        total += n
    return " OR ".join(terms[i] for i in sorted(kept))


def _count_items(db: sqlite3.Connection, prefix: tuple[str, ...], limit: int) -> int:
    """How many items (live or not) are under ``prefix``, counting up to ``limit``."""
    where, params = _sql.prefix_clause(prefix)
    sql = f"SELECT count(*) FROM (SELECT 1 FROM items WHERE {where} LIMIT ?)"
    return db.execute(sql, (*params, limit)).fetchone()[0]


def _ranked(best: dict[int, float], pool: int) -> dict[int, tuple[int, float]]:
    return {item: (r, sim) for r, (item, sim) in enumerate(list(best.items())[:pool])}


def closed_rows_dropped(rows: dict[int, tuple], closed: set[int]) -> dict[int, tuple]:
    """The candidate ``rows`` but the ``closed`` ones (what a default search leaves out;
    the search widened its pool by their number, so its page stays full)."""
    return {i: row for i, row in rows.items() if i not in closed} if closed else rows


def _candidate(
    row: tuple,
    value: Any,
    turn: bool,
    vec: tuple[int, float] | None,
    kw: tuple[int, float] | None,
    late: tuple[float, float | None] | None,
) -> Candidate:
    return Candidate(
        rowid=row[0],
        vector_rank=vec[0] if vec else None,
        vector_sim=vec[1] if vec else None,
        keyword_rank=kw[0] if kw else None,
        keyword_score=kw[1] if kw else None,
        importance=importance_of(value),
        created_at=dt(row[4]),
        accessed_at=dt(row[6]) if row[6] is not None else None,
        access_count=row[7],
        namespace=row[1],
        turn=turn,
        late=late[0] if late else None,
        late_window=late[1] if late else None,
        speaker=speaker_of(value),
        valid_from=dt(row[9]) if row[9] is not None else None,
    )


def late_neighbours(ids: Sequence[int], turns: set[int], neighbours: float) -> list[int]:
    """With ``neighbours``, the non-candidate ids adjacent to candidate turns (their rows
    decide which of them are turns too: :func:`late_window`)."""
    if not neighbours:
        return []
    return sorted({j for i in turns for j in (i - 1, i + 1)}.difference(ids))


def late_window(
    ids: Sequence[int], turns: set[int], neighbours: float, near_rows: Iterable[tuple]
) -> tuple[set[int], list[int]]:
    """``(the turns that get the window view, the item ids whose tokens to read)``, given
    the live item rows of :func:`late_neighbours`."""
    window = set(turns) if neighbours else set()
    near = [row[0] for row in near_rows if is_turn(json.loads(row[3]))]
    window.update(near)
    return window, [*ids, *near]


def late_from_rows(
    query: TokenVectors,
    ids: Sequence[int],
    turns: set[int],
    window: set[int],
    token_rows: Iterable[tuple],
    dims: int,
) -> dict[int, tuple[float, float | None]]:
    """:func:`late_scores` of the candidates from ``token_rows_sql``'s rows."""
    parts: dict[int, tuple[str, list[TokenVectors]]] = {}
    for item, ns, blob in token_rows:
        parts.setdefault(item, (ns, []))[1].append(TokenVectors.from_bytes(bytes(blob), dims))
    tokens = {i: (ns, TokenVectors.concat(ts)) for i, (ns, ts) in parts.items()}
    return late_scores(query, tokens, ids, window=window, turns=turns)


def by_similarity(
    rows: Mapping[int, tuple],
    vec_hits: Mapping[int, tuple[int, float]],
    explained: dict[int, dict] | None = None,
) -> list[tuple[tuple, float]]:
    """``search_mode="vector"``: the rows by cosine similarity, best first (``explained``:
    filled with each row's explanation)."""
    order = sorted(rows, key=lambda i: (-vec_hits[i][1], i))
    if explained is not None:
        for i in order:
            rank, sim = vec_hits[i]
            explained[i] = {"parts": {"vector": sim}, "cosine": sim, "vector_rank": rank}
    return [(rows[i], vec_hits[i][1]) for i in order]


def turn_values(rows: Mapping[int, tuple]) -> tuple[dict[int, Any], set[int]]:
    """The candidates' decoded values, and which of them are conversation turns."""
    values = {i: json.loads(row[3]) for i, row in rows.items()}
    return values, {i for i, value in values.items() if is_turn(value)}


def unindexed_tail(rows: Iterable[tuple], op: SearchOp) -> list[tuple[tuple, None]]:
    """As ``InMemoryStore``: the unindexed items (``unindexed_sql``'s rows) that pass the
    search's filter follow the ranked ones, score ``None``, enough to fill its page."""
    passing = (r for r in rows if not op.filter or matches_filter(json.loads(r[3]), op.filter))
    return [(row, None) for row in itertools.islice(passing, op.offset + op.limit)]


def fuse(
    rows: Mapping[int, tuple],
    values: Mapping[int, Any],
    turns: set[int],
    vec_hits: Mapping[int, tuple[int, float]],
    kw_hits: Mapping[int, tuple[int, float]],
    late: Mapping[int, tuple[float, float | None]],
    weights: RankingWeights,
    op: SearchOp,
    now: int,
    explained: dict[int, dict] | None = None,
) -> list[tuple[tuple, float]]:
    """The candidate ``rows`` of search ``op`` with their fused scores, best first (both
    backends); ``explained``: filled with the explanations of the rows down to the page's
    end and its :data:`RUNNERS_UP`, with the query ``terms`` each holds."""
    candidates = [
        _candidate(rows[i], values[i], i in turns, vec_hits.get(i), kw_hits.get(i), late.get(i))
        for i in rows
    ]
    if weights.speaker and op.query:
        candidates = name_speakers(candidates, op.query)
    top = 0 if explained is None else op.offset + op.limit + RUNNERS_UP
    scored = ranked(candidates, weights, dt(now), explain=top, as_of=window_of(op).as_of)
    for c, _, why in scored[:top]:
        assert explained is not None and why is not None
        explained[c.rowid] = {**why, "terms": matched_terms(op.query or "", values[c.rowid])}
    return [(rows[c.rowid], score) for c, score, _ in scored]


def keyword_window(
    hits: Mapping[int, Any], rows: Sequence[tuple], span: int = KEYWORD_SPAN
) -> list[int]:
    """The item ids within ``span`` of the keyword hits that are turns (``rows``: the
    hits' item rows), where they may lend their match; ids of ``rows`` left out."""
    turns = [row[0] for row in rows if row[0] in hits and is_turn(json.loads(row[3]))]
    return sorted({j for i in turns for j in range(i - span, i + span + 1)} - {r[0] for r in rows})


def share_keyword_hits(
    hits: Mapping[int, tuple[int, float]],
    rows: Sequence[tuple],
    prefix: Sequence[str],
    allowed: Sequence[int] | None,
    share: float,
    pool: int,
) -> dict[int, tuple[int, float]]:
    """``hits`` after :func:`~langmem.store.ranking.spread_keyword_hits` among the live
    item ``rows`` of the hits and their :func:`keyword_window` that are turns under
    ``prefix`` and ``allowed`` (both backends read those rows, then call this)."""
    under, ok = _sql.ns_text(prefix), None if allowed is None else set(allowed)
    turns = {
        row[0]: row[1]
        for row in rows
        if (not prefix or row[1] == under or row[1].startswith(under + "."))
        and (ok is None or row[0] in ok)
        and is_turn(json.loads(row[3]))
    }
    own = {i: score for i, (_, score) in hits.items()}
    return spread_keyword_hits(own, turns, share, pool)


def search_items(
    scored: Sequence[tuple[tuple, float | None]], op: SearchOp | None, explained: dict | None
) -> list[SearchItem]:
    """The page of ``scored`` that ``op`` asks for (``None``: all of it) as search items;
    with ``explained`` (an explained search) :class:`ExplainedItem` s, the last one
    holding the :data:`RUNNERS_UP` best candidates after the page."""
    end = len(scored) if op is None else op.offset + op.limit
    page = scored[0 if op is None else op.offset : end]
    if explained is None:
        return [
            TimedSearchItem(**_fields(row), score=None if s is None else float(s))
            for row, s in page
        ]
    items = [
        ExplainedItem(
            **_fields(row),
            score=None if s is None else float(s),
            explanation=explained.get(row[0], {"parts": {}}),  # unranked: no parts
        )
        for row, s in page
    ]
    runners = [
        {"namespace": list(_sql.ns_tuple(row[1])), "key": row[2], "score": float(s)}
        | explained[row[0]]
        for row, s in scored[end : end + RUNNERS_UP]
        if s is not None
    ]
    if items and runners:
        items[-1].explanation["runners_up"] = runners
    return list(items)  # typed list[SearchItem]


def item_from_row(row: tuple) -> Item:
    return TimedItem(**_fields(row))


def _fields(row: tuple) -> dict[str, Any]:
    return dict(
        value=json.loads(row[3]),
        key=row[2],
        namespace=_sql.ns_tuple(row[1]),
        created_at=dt(row[4]),
        updated_at=dt(row[5]),
        valid_from=None if row[9] is None else dt(row[9]),
        valid_until=None if row[10] is None else dt(row[10]),
    )


def now_us() -> int:
    return time.time_ns() // 1000


def dt(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
