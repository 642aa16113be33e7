"""``PostgresStore`` and ``AsyncPostgresStore``: the ``SQLiteStore`` semantics on PostgreSQL.

Same constructor vocabulary as :class:`~langmem.store.SQLiteStore` (``index``,
``ttl``, ``ranking``, ``search_mode``, ``origin``, ``history``), the same hybrid
search (BM25 over ``tsvector`` with a GIN index, pgvector HNSW similarity, fused
by :func:`langmem.store.ranking.rank`, late interaction when the embedder gives
token vectors), filters, TTL with refresh, :meth:`history`, :meth:`erase` and
:meth:`restore`. Schema and SQL: :mod:`langmem.store._pg`.

Every operation is written once, as a generator *flow* that yields effects
(:class:`_Sql`, :class:`_Pipeline`, :class:`_Embed`, :class:`_Transaction`,
:class:`_Maintenance`);
``PostgresStore`` performs them with a ``psycopg_pool.ConnectionPool``,
``AsyncPostgresStore`` with an ``AsyncConnectionPool`` (the shape of
:mod:`langmem._effects`).

Concurrency: writes (puts, TTL sweeps, erasure, restore) take a transaction-level
advisory lock of the schema before reading the rows they replace, so writers in
any number of processes apply in one serial order (no lost update; history
entries chain). Reads take no lock; the access statistics a search records skip
rows a writer holds (``FOR UPDATE SKIP LOCKED``). A search is five round trips:
begin, the ids of closed memories it leaves out (an index lookup; an ``as_of`` or
time-range search reads the ids inside its window instead, as a filter's), the keyword
and vector searches pipelined (both return their items' rows), the access update, commit.
A batch adding at least ``_pg.BULK_BUILD`` vectors to an empty store builds the HNSW index
after loading them (several times faster than graph inserts; searches wait for that
transaction).

Differences from ``SQLiteStore``: vector search is approximate (HNSW, with
``hnsw.iterative_scan`` for namespace- and filter-restricted searches; a small
namespace is scanned exactly by the planner); values are ``jsonb`` (key order is
not kept; NUL characters are refused); erasure rewrites the tables
(``VACUUM FULL``; content columns keep no planner statistics, and
``pg_statistic`` is rewritten when the role may), but the server's write-ahead
log, replicas and backups keep old pages until they are recycled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from langgraph.store.base import (
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
    _ensure_ttl,
)

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
except ImportError as exc:  # pragma: no cover - depends on the environment
    from langmem._extras import install_extra

    raise ImportError(f"PostgresStore needs psycopg 3: {install_extra('postgres')}") from exc

from langmem._effects import adrive, drive
from langmem.errors import ConfigurationError
from langmem.store import _pg
from langmem.store._open import embedder_name
from langmem.store._ops import Plan, found_by_key, matches_filter, plan_ops, plan_writes
from langmem.store._read import (
    ExplainingStore,
    ExplainSearchOp,
    _ranked,
    by_similarity,
    closed_rows_dropped,
    fuse,
    item_from_row,
    keyword_window,
    late_from_rows,
    late_neighbours,
    late_window,
    now_us,
    search_items,
    select_namespaces,
    share_keyword_hits,
    turn_values,
    unindexed_tail,
    window_of,
)
from langmem.store._sql import ns_text, ns_tuple
from langmem.store._time import Bounds, us
from langmem.store.history import (
    Accesses,
    HistoryEntry,
    accesses_of,
    current_origin,
    recording_origin,
    recording_reason,
    reverted_value,
    with_reasons,
)
from langmem.store.late import TokenVectors
from langmem.store.ranking import RankingWeights, query_terms
from langmem.store.sqlite import (
    SearchMode,
    _check_namespace,
    _chunks,
    _json,
    _search_settings,
    embedding_matrix,
)

__all__ = ["AsyncPostgresStore", "PostgresStore"]

logger = logging.getLogger(__name__)

Flow = Generator[Any, Any, Any]
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


# ---------------------------------------------------------------------- effects


@dataclass(frozen=True)
class _Sql:
    """Run one statement on the transaction's cursor; result: its rows (``[]`` if none).
    ``many``: ``params`` is a list of rows for ``executemany``."""

    text: str
    params: Any = None
    many: bool = False

    def run(self, cur: psycopg.Cursor) -> list[tuple]:
        if self.many:
            cur.executemany(self.text, self.params)
            return []
        cur.execute(self.text, self.params)
        return cur.fetchall() if cur.description else []

    async def arun(self, cur: psycopg.AsyncCursor) -> list[tuple]:
        if self.many:
            await cur.executemany(self.text, self.params)
            return []
        await cur.execute(self.text, self.params)
        return await cur.fetchall() if cur.description else []


@dataclass(frozen=True)
class _Pipeline:
    """Run independent statements in one round trip (psycopg pipeline mode);
    result: each one's rows."""

    statements: tuple[_Sql, ...]

    def run(self, cur: psycopg.Cursor) -> list[list[tuple]]:
        conn = cur.connection
        cursors = [conn.cursor() for _ in self.statements]
        with conn.pipeline():
            for c, sql in zip(cursors, self.statements):
                c.execute(sql.text, sql.params)
        return [c.fetchall() if c.description else [] for c in cursors]

    async def arun(self, cur: psycopg.AsyncCursor) -> list[list[tuple]]:
        conn = cur.connection
        cursors = [conn.cursor() for _ in self.statements]
        async with conn.pipeline():
            for c, sql in zip(cursors, self.statements):
                await c.execute(sql.text, sql.params)
        return [await c.fetchall() if c.description else [] for c in cursors]


@dataclass(frozen=True)
class _Embed:
    """Embed texts: ``"query"`` and ``"documents"`` give vectors, ``"tokens"`` gives
    ``(vectors, token vectors)`` (:class:`TokenEmbeddings`)."""

    kind: Literal["query", "documents", "tokens"]
    texts: list[str]

    def run(self, embeddings: Any) -> Any:
        if self.kind == "tokens":
            return embeddings.embed_with_tokens(self.texts)
        if self.kind == "query":
            return [embeddings.embed_query(t) for t in self.texts]
        return embeddings.embed_documents(self.texts)

    async def arun(self, embeddings: Any) -> Any:
        if self.kind == "tokens":  # the local model runs in a thread either way
            return await asyncio.to_thread(embeddings.embed_with_tokens, self.texts)
        if self.kind == "query":
            return list(await asyncio.gather(*(embeddings.aembed_query(t) for t in self.texts)))
        return await embeddings.aembed_documents(self.texts)


@dataclass(frozen=True)
class _Transaction:
    """Run the flow ``body()`` makes in one transaction (its ``_Sql`` effects); result:
    the flow's return value. An error rolls everything back."""

    body: Callable[[], Flow]


@dataclass(frozen=True)
class _Maintenance:
    """Statements that cannot run in a transaction (``VACUUM``), one after the other."""

    statements: tuple[str, ...]


# ---------------------------------------------------------------------- the store


class _PostgresBase(ExplainingStore):
    """The logic of both stores, as flows; subclasses perform them (``_drive``/``_adrive``)."""

    supports_ttl = True

    def __init__(
        self,
        conn_string: str,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        ranking: RankingWeights | None = None,
        search_mode: SearchMode = "hybrid",
        origin: str | None = None,
        history: bool = True,
        pool_size: int = 10,
        connect_timeout: float = 10.0,
        embed_batch_size: int = 256,
        hnsw_ef_search: int | None = None,
        record_access: bool = True,
    ) -> None:
        self.conn_string = conn_string
        self.search_mode: SearchMode = search_mode
        self.index_config, self.embeddings, self._fields, self.ranking = _search_settings(
            index, search_mode, ranking
        )
        self._late = bool(self.ranking.late_interaction)
        self.ttl_config = ttl
        self.default_origin = origin
        self.record_history = history
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.embed_batch_size = embed_batch_size
        self.hnsw_ef_search = hnsw_ef_search
        self.record_access = record_access
        self._vectors_per_item = max(len(self._fields or ()), 1)
        self._has_vectors = False  # set by setup(): the schema has a vectors table
        self._ready = False
        self._next_sweep = 0.0

    # ------------------------------------------------------------------ front ends

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self._drive(self._batch_flow(ops))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await self._adrive(self._batch_flow(ops))

    def origin(self, origin: str) -> contextlib.AbstractContextManager[None]:
        """``with store.origin("name"):`` attributes the writes inside to ``name``."""
        return recording_origin(origin)

    def history(self, namespace: tuple[str, ...], key: str) -> list[HistoryEntry]:
        """Every recorded change of one item, oldest first (empty after :meth:`erase`)."""
        return self._drive(self._history_flow(namespace, key))

    async def ahistory(self, namespace: tuple[str, ...], key: str) -> list[HistoryEntry]:
        """Async :meth:`history`."""
        return await self._adrive(self._history_flow(namespace, key))

    def revert(self, namespace: tuple[str, ...], key: str, version: int) -> int:
        """Put back the value ``version`` of an item's history gave it as a new version;
        returns its number (see ``SQLiteStore.revert``)."""
        return self._drive(self._revert_flow(namespace, key, version))

    async def arevert(self, namespace: tuple[str, ...], key: str, version: int) -> int:
        """Async :meth:`revert`."""
        return await self._adrive(self._revert_flow(namespace, key, version))

    def erase(
        self, namespace: tuple[str, ...], key: str | None = None, *, compact: bool = True
    ) -> int:
        """Erase one item (or, with ``key=None``, a namespace and everything below it):
        rows, text index entries and term statistics, vectors and history; then
        (:meth:`compact`) rewrite the tables so no byte of it stays in their files.
        To erase many targets, pass ``compact=False`` and call :meth:`compact` once.
        Returns the number of items erased."""
        return self._drive(self._erase_flow(namespace, key, compact))

    async def aerase(
        self, namespace: tuple[str, ...], key: str | None = None, *, compact: bool = True
    ) -> int:
        """Async :meth:`erase`."""
        return await self._adrive(self._erase_flow(namespace, key, compact))

    def compact(self) -> None:
        """Rewrite the store's tables and indexes (``VACUUM FULL``): deleted rows leave
        no bytes behind. Locks each table while it is rewritten."""
        self._drive(self._compact_flow())

    async def acompact(self) -> None:
        """Async :meth:`compact`."""
        await self._adrive(self._compact_flow())

    def accesses(self, namespace: tuple[str, ...] = ()) -> Accesses:
        """``(last recalled, times recalled)`` of each item under ``namespace`` that query
        searches have recalled (see ``SQLiteStore.accesses``)."""
        return self._drive(self._accesses_flow(namespace))

    async def aaccesses(self, namespace: tuple[str, ...] = ()) -> Accesses:
        """Async :meth:`accesses`."""
        return await self._adrive(self._accesses_flow(namespace))

    def restore(
        self,
        items: Iterable[Item],
        history: Iterable[HistoryEntry] = (),
        accesses: Accesses | None = None,
    ) -> int:
        """Write ``items`` with their own timestamps, history and access statistics
        (see ``SQLiteStore.restore``)."""
        return self._drive(self._restore_flow(items, history, accesses or {}))

    async def arestore(
        self,
        items: Iterable[Item],
        history: Iterable[HistoryEntry] = (),
        accesses: Accesses | None = None,
    ) -> int:
        """Async :meth:`restore`."""
        return await self._adrive(self._restore_flow(items, history, accesses or {}))

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were removed."""
        return self._drive(self._locked(self._sweep_flow))

    async def asweep_ttl(self) -> int:
        """Async :meth:`sweep_ttl`."""
        return await self._adrive(self._locked(self._sweep_flow))

    # ------------------------------------------------------------------ shells

    def _drive(self, flow: Flow) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _adrive(self, flow: Flow) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ flows

    def _setup_flow(self) -> Flow:
        """Apply pending migrations, make the vectors table for this embedder and check
        it is the one the schema was built with: one transaction, under a lock."""

        def body() -> Flow:
            yield _Sql(_pg.LOCK_SETUP)
            try:
                yield _Sql(_pg.CREATE_MIGRATIONS)
            except psycopg.errors.InsufficientPrivilege as exc:
                raise ConfigurationError(
                    f"{self._where}: this role may not create the store's tables"
                    f" ({str(exc).splitlines()[0]}); GRANT CREATE ON SCHEMA to it, or put a"
                    " schema it owns first in search_path; nothing was written"
                ) from None
            done = {row[0] for row in (yield _Sql("SELECT name FROM langmem_migrations"))}
            unknown = done - {name for name, _ in _pg.MIGRATIONS}
            if unknown:
                raise ConfigurationError(
                    f"{self._where}: the schema was created by a newer langmem (unknown"
                    f" migrations: {', '.join(sorted(unknown))}); upgrade langmem"
                )
            for version, (name, statements) in enumerate(_pg.MIGRATIONS, 1):
                if name not in done:
                    for statement in statements:
                        yield _Sql(statement)
                    yield _Sql(
                        "INSERT INTO langmem_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
            meta = dict((yield _Sql("SELECT key, value FROM langmem_meta")))
            [(has_vectors,)] = yield _Sql("SELECT to_regclass('langmem_vectors') IS NOT NULL")
            if self.embeddings is not None:
                index = self.index_config
                assert index is not None  # an embedder comes from the index config
                name = embedder_name(index["embed"], self.embeddings)
                dims = index["dims"]
                if "embedder" in meta and (meta["embedder"], meta.get("dims")) != (name, str(dims)):
                    raise ConfigurationError(
                        f"{self._where}: built with embedder {meta['embedder']!r}"
                        f" ({meta.get('dims')} dims), opened with {name!r} ({dims} dims); open"
                        " it with the embedder it was built with, or use another schema"
                        " or database"
                    )
                if not has_vectors:
                    yield from self._create_vectors(dims)
                    has_vectors = True
                if "embedder" not in meta:
                    yield _Sql(
                        "INSERT INTO langmem_meta VALUES ('embedder', %s), ('dims', %s)",
                        (name, str(dims)),
                    )
            self._has_vectors = bool(has_vectors)

        yield _Transaction(body)
        self._ready = True

    def _create_vectors(self, dims: int) -> Flow:
        installed = yield _Sql("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
        if not installed:
            try:
                yield _Sql("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.Error as exc:
                raise ConfigurationError(
                    f"{self._where}: the pgvector extension is not available"
                    f" ({str(exc).strip()}); install pgvector on the server and run"
                    " CREATE EXTENSION vector as a superuser, or use search_mode='keyword'"
                    " without an embedder; nothing was written"
                ) from None
        for statement in _pg.vectors_ddl(dims):
            yield _Sql(statement)

    def _batch_flow(self, ops: Iterable[Op]) -> Flow:
        plan = plan_ops(
            ops,
            self._fields,
            embed_queries=self.embeddings is not None and self.search_mode != "keyword",
            origin=current_origin(self.default_origin),
        )
        for value in plan.values.values():
            if _NUL.search(value):
                raise ValueError("Store values cannot hold NUL characters (\\u0000) in Postgres")
        queries, docs, query_tokens, doc_tokens = yield from self._embed_flow(plan)
        embeddings = None
        if self.embeddings is not None:  # the same checks as SQLiteStore, before any write
            assert self.index_config is not None  # it has an embedder
            embeddings = embedding_matrix(docs, plan, self.index_config["dims"])
        return (
            yield _Transaction(
                lambda: self._run_flow(plan, queries, embeddings, query_tokens, doc_tokens)
            )
        )

    def _embed_flow(self, plan: Plan) -> Flow:
        """``(query vectors, document vectors, query tokens, document tokens)``."""
        if self.embeddings is None:
            return {}, [], None, None
        chunks = list(_chunks(plan.doc_texts, self.embed_batch_size))
        if self._late:
            vectors, tokens = (yield _Embed("tokens", plan.queries)) if plan.queries else ([], [])
            docs: list[Any] = []
            doc_tokens: list[TokenVectors] = []
            for chunk in chunks:
                chunk_vectors, chunk_tokens = yield _Embed("tokens", chunk)
                docs += chunk_vectors
                doc_tokens += chunk_tokens
            queries = dict(zip(plan.queries, vectors))
            return queries, docs, dict(zip(plan.queries, tokens)), doc_tokens
        vectors = (yield _Embed("query", plan.queries)) if plan.queries else []
        docs = []
        for chunk in chunks:
            docs += yield _Embed("documents", chunk)
        return dict(zip(plan.queries, vectors)), docs, None, None

    def _run_flow(
        self,
        plan: Plan,
        queries: dict[str, Any],
        embeddings: np.ndarray | None,
        query_tokens: dict[str, TokenVectors] | None,
        doc_tokens: list[TokenVectors] | None,
    ) -> Flow:
        now = now_us()
        if plan.puts:
            yield _Sql(_pg.LOCK_WRITES)
            if time.monotonic() >= self._next_sweep:
                yield from self._sweep_flow(now)
                minutes = (self.ttl_config or {}).get("sweep_interval_minutes")
                self._next_sweep = time.monotonic() + 60 * (1 if minutes is None else minutes)
        for i, op in plan.reads:
            plan.results[i] = yield from self._read_flow(op, queries, query_tokens, now)
        if plan.puts:
            yield from self._write_flow(plan, embeddings, doc_tokens, now)
        return plan.results

    # -- reads

    def _read_flow(
        self,
        op: GetOp | SearchOp | ListNamespacesOp,
        queries: dict[str, Any],
        query_tokens: dict[str, TokenVectors] | None,
        now: int,
    ) -> Flow:
        if isinstance(op, GetOp):
            rows = yield _Sql(*_pg.get_sql(op.namespace, op.key, now))
            if not rows:
                return None
            if op.refresh_ttl and rows[0][8] is not None:
                yield _Sql(*_pg.refresh_ttl_sql([rows[0][0]], now))
            return item_from_row(rows[0])
        if isinstance(op, SearchOp):
            vector = queries.get(op.query) if op.query else None
            tokens = (query_tokens or {}).get(op.query) if op.query else None
            return (yield from self._search_flow(op, vector, tokens, now))
        rows = yield _Sql(*_pg.namespaces_sql(now))
        return select_namespaces([ns_tuple(row[0]) for row in rows], op)

    def _search_flow(
        self, op: SearchOp, query_vector: Any, query_tokens: TokenVectors | None, now: int
    ) -> Flow:
        explained: dict[int, dict] | None = {} if isinstance(op, ExplainSearchOp) else None
        period = window_of(op)
        bounds = period.bounds(now)
        terms = query_terms(op.query) if op.query and self._keyword else []
        if query_vector is None and not terms:
            if op.query and self._keyword:
                return []  # only stopwords: nothing to match
            return (yield from self._scan_flow(op, now, bounds, explained))
        prefix = op.namespace_prefix
        allowed = None
        closed: set[int] = set()
        if op.filter or period.restricts:
            rows = yield from self._filtered_flow(prefix, op.filter, now, bounds)
            allowed = [row[0] for row in rows]
            if not allowed:
                return []
        elif bounds.ended_after is not None:
            closed = {row[0] for row in (yield _Sql(*_pg.closed_ids_sql(prefix, now)))}
        vector_only = self.search_mode == "vector"
        pool = op.limit + op.offset + len(closed)
        if not vector_only:
            pool = max(self.ranking.candidates, pool)
        # One round trip for the vector and the keyword searches (pipelined), which
        # return the live items' rows too. The index scan itself keeps to the namespace
        # and filter (iterative scans), so ``pool`` items' vectors are enough.
        k = pool * self._vectors_per_item
        share = self.ranking.keyword_neighbours
        kw_pool = 2 * pool if share else pool
        first = [_Sql(*_pg.keyword_sql(terms, prefix, allowed, now, kw_pool))] if terms else []
        if query_vector is not None:
            q = np.asarray(query_vector, dtype=np.float32).tolist()
            first += [
                _Sql(*_pg.search_effort_sql(k, self.hnsw_ef_search)),
                _Sql(*_pg.vector_sql(q, prefix, allowed, now, k)),
            ]
        results = yield _Pipeline(tuple(first))
        kw_rows = results[0] if terms else []
        vec_rows = results[-1] if query_vector is not None else []
        vec_hits = _vector_hits(vec_rows, pool)
        kw_hits = {row[0]: (r, float(row[1])) for r, row in enumerate(kw_rows)}
        found = {row[0]: row[2:] for row in [*kw_rows, *vec_rows]}
        if share and kw_hits:  # turns lend their matches to the turns near them
            near = [found[i] for i in kw_hits]
            if window := keyword_window(kw_hits, near):
                near += yield _Sql(*_pg.items_by_id_sql(window, now))
            kw_hits = share_keyword_hits(kw_hits, near, prefix, allowed, share, pool)
            found.update((row[0], row) for row in near)
        rows = closed_rows_dropped(
            {i: found[i] for i in dict.fromkeys([*vec_hits, *kw_hits])}, closed
        )
        if vector_only:
            scored = by_similarity(rows, vec_hits, explained)
        else:
            values, turns = turn_values(rows)
            late: dict[int, tuple[float, float | None]] = {}
            if self.ranking.late_interaction and query_tokens is not None and rows:
                late = yield from self._late_flow(query_tokens, list(rows), turns, prefix, allowed, now)
            scored = fuse(
                rows, values, turns, vec_hits, kw_hits, late, self.ranking, op, now, explained
            )
        ranked: list[tuple[tuple, float | None]] = list(scored)
        if len(ranked) < op.offset + op.limit:  # as InMemoryStore: unindexed items come last
            ranked += unindexed_tail((yield _Sql(*_pg.unindexed_sql(prefix, now, bounds))), op)
        page = ranked[op.offset : op.offset + op.limit]
        if page and self.record_access:
            yield _Sql(*_pg.touch_sql([row[0] for row, _ in page], now, op.refresh_ttl))
        return search_items(ranked, op, explained)

    def _late_flow(
        self,
        query: TokenVectors,
        ids: Sequence[int],
        turns: set[int],
        prefix: tuple[str, ...],
        allowed: list[int] | None,
        now: int,
    ) -> Flow:
        """Late-interaction scores of the candidates (as ``_read.Reader._late``)."""
        near = late_neighbours(ids, turns, self.ranking.neighbours)
        rows = (yield _Sql(*_pg.items_by_id_sql(near, now))) if near else []
        window, read = late_window(ids, turns, self.ranking.neighbours, rows)
        token_rows = yield _Sql(*_pg.token_rows_sql(read, prefix, allowed, now))
        index = self.index_config
        assert index is not None  # late interaction needs an embedder, so an index
        return late_from_rows(query, ids, turns, window, token_rows, index["dims"])

    def _scan_flow(
        self, op: SearchOp, now: int, bounds: Bounds, explained: dict | None = None
    ) -> Flow:
        if op.filter:
            rows = yield from self._filtered_flow(op.namespace_prefix, op.filter, now, bounds)
            rows = rows[op.offset : op.offset + op.limit]
        else:
            sql = _pg.scan_sql(op.namespace_prefix, now, op.limit, op.offset, bounds=bounds)
            rows = yield _Sql(*sql)
        expiring = [row[0] for row in rows if row[8] is not None]
        if op.refresh_ttl and expiring and self.record_access:
            yield _Sql(*_pg.refresh_ttl_sql(expiring, now))
        return search_items([(row, None) for row in rows], None, explained)

    def _filtered_flow(
        self, prefix: tuple[str, ...], filter: dict | None, now: int, bounds: Bounds | None = None
    ) -> Flow:
        rows = yield _Sql(*_pg.scan_sql(prefix, now, filter=filter, bounds=bounds))
        return [row for row in rows if not filter or matches_filter(json.loads(row[3]), filter)]

    def _history_flow(self, namespace: tuple[str, ...], key: str) -> Flow:
        _check_namespace(namespace)

        def body() -> Flow:
            return (yield _Sql(*_pg.read_history_sql(namespace, key)))

        rows = yield _Transaction(body)
        return [HistoryEntry.from_row(row) for row in rows]

    def _revert_flow(self, namespace: tuple[str, ...], key: str, version: int) -> Flow:
        value = reverted_value((yield from self._history_flow(namespace, key)), version)
        put = PutOp(tuple(namespace), key, value, ttl=_ensure_ttl(self.ttl_config))
        with recording_reason(f"revert to version {version}"):
            yield from self._batch_flow([put])
        return (yield from self._history_flow(namespace, key))[-1].version

    # -- writes (under LOCK_WRITES)

    def _locked(self, flow: Callable[[int], Flow]) -> Flow:
        def body() -> Flow:
            yield _Sql(_pg.LOCK_WRITES)
            return (yield from flow(now_us()))

        return (yield _Transaction(body))

    def _write_flow(
        self,
        plan: Plan,
        embeddings: np.ndarray | None,
        tokens: list[TokenVectors] | None,
        now: int,
    ) -> Flow:
        rows = yield _Sql(*_pg.found_sql(list(plan.puts)))
        found = found_by_key(rows)
        [(next_item, next_vector)] = yield _Sql(_pg.NEXT_IDS_SQL)
        indexed = self._fields is not None
        writes = plan_writes(plan, found, now, (next_item, next_vector), indexed, embeddings, tokens)
        yield from self._drop_items_flow(writes.drop)
        if writes.reindex:
            yield from self._drop_index_flow(writes.reindex)
        if writes.inserts:
            yield _Sql(_pg.INSERT_ITEMS_SQL, writes.inserts, many=True)
        if writes.updates:
            yield _Sql(_pg.UPDATE_ITEMS_SQL, writes.updates, many=True)
        if writes.fts:
            yield _Sql(*_pg.insert_text_sql(writes.fts))
        if writes.vectors:
            namespaces = {f.id: ns_text(k[0]) for k, f in found.items()}
            namespaces.update((row[0], row[1]) for row in writes.inserts)
            rows = [
                (vid, item, namespaces[item], path, _pg.vector_text(_floats(blob)), toks)
                for vid, item, path, blob, toks in writes.vectors
            ]
            bulk = len(rows) >= _pg.BULK_BUILD and (yield _Sql(_pg.VECTORS_EMPTY_SQL))[0][0]
            if bulk:
                yield _Sql(_pg.DROP_HNSW_SQL)
            yield _Sql(_pg.INSERT_VECTORS_SQL, rows, many=True)
            if bulk:  # then fresh planner statistics (namespaces' sizes) for the new rows
                yield _Sql(_pg.HNSW_INDEX)
                yield _Sql("ANALYZE langmem_vectors")
        if self.record_history and writes.history:
            yield _Sql(_pg.INSERT_HISTORY_SQL, with_reasons(writes.history), many=True)
        yield _Sql(
            _pg.SET_NEXT_IDS_SQL,
            (next_item + len(writes.inserts), next_vector + len(writes.vectors)),
        )

    def _drop_index_flow(self, ids: Sequence[int]) -> Flow:
        if self._has_vectors:
            yield _Sql("DELETE FROM langmem_vectors WHERE item_id = ANY(%s::bigint[])", (list(ids),))
        rows = yield _Sql(*_pg.drop_text_sql(ids))
        unused = [lexeme for lexeme, df in rows if df <= 0]
        if unused:
            yield _Sql(_pg.DROP_TERMS_SQL, (unused,))

    def _drop_items_flow(self, ids: Sequence[int]) -> Flow:
        if ids:
            yield from self._drop_index_flow(ids)
            yield _Sql("DELETE FROM langmem_items WHERE id = ANY(%s::bigint[])", (list(ids),))

    def _sweep_flow(self, now: int) -> Flow:
        expired = yield _Sql(*_pg.expired_sql(now))
        yield from self._drop_items_flow([row[0] for row in expired])
        if self.record_history and expired:
            entries = [
                (ns, key, "expire", value, None, now, "ttl", None) for _, ns, key, value in expired
            ]
            yield _Sql(_pg.INSERT_HISTORY_SQL, entries, many=True)
        return len(expired)

    def _erase_flow(self, namespace: tuple[str, ...], key: str | None, compact: bool) -> Flow:
        _check_namespace(namespace)

        def body(now: int) -> Flow:
            ids = [row[0] for row in (yield _Sql(*_pg.erase_targets_sql(namespace, key)))]
            yield from self._drop_items_flow(ids)
            yield _Sql(*_pg.erase_history_sql(namespace, key))
            return len(ids)

        erased = yield from self._locked(body)
        if compact:
            yield from self._compact_flow()
        return erased

    def _compact_flow(self) -> Flow:
        def body() -> Flow:
            return (yield _Sql("SELECT to_regclass('langmem_vectors') IS NOT NULL"))[0][0]

        vectors = yield _Transaction(body)
        tables = [t for t in _pg.COMPACT_TABLES if vectors or t != "langmem_vectors"]
        yield _Maintenance(tuple(f"VACUUM (FULL, ANALYZE) {t}" for t in tables))
        try:
            yield _Maintenance((_pg.COMPACT_STATISTICS,))
        except psycopg.errors.InsufficientPrivilege:
            logger.info("%s: pg_statistic not rewritten (needs a superuser)", self._where)

    def _accesses_flow(self, namespace: tuple[str, ...]) -> Flow:
        def body() -> Flow:
            return (yield _Sql(*_pg.accesses_sql(namespace)))

        return accesses_of((yield _Transaction(body)))

    def _restore_flow(
        self, items: Iterable[Item], history: Iterable[HistoryEntry], accesses: Accesses
    ) -> Flow:
        items = list(items)
        origin = current_origin(self.default_origin)
        entries: dict[tuple[tuple[str, ...], str], list[HistoryEntry]] = {}
        for entry in history:
            entries.setdefault((tuple(entry.namespace), entry.key), []).append(entry)
        yield from self._batch_flow([PutOp(tuple(i.namespace), i.key, i.value) for i in items])

        def body(now: int) -> Flow:
            keys = [(ns_text(i.namespace), i.key) for i in items]
            stats = [accesses.get((tuple(i.namespace), i.key), (None, 0)) for i in items]
            yield _Sql(
                "UPDATE langmem_items SET created_at = %s, updated_at = %s, accessed_at = %s,"
                " access_count = %s WHERE namespace = %s AND key = %s",
                [
                    (us(i.created_at), us(i.updated_at), at and us(at), count, *k)
                    for i, k, (at, count) in zip(items, keys, stats)
                ],
                many=True,
            )
            yield _Sql(
                "DELETE FROM langmem_history h USING unnest(%s::text[], %s::text[]) AS k (ns, key)"
                " WHERE h.namespace = k.ns AND h.key = k.key",
                ([k[0] for k in keys], [k[1] for k in keys]),
            )
            rows = []
            for item, (ns, key) in zip(items, keys):
                recorded = entries.get((tuple(item.namespace), key)) or [
                    HistoryEntry(
                        tuple(item.namespace), key, "put", None, item.value, item.updated_at, origin
                    )
                ]
                for e in recorded:
                    old, new = (None if v is None else _json(v) for v in (e.old_value, e.new_value))
                    rows.append((ns, key, e.action, old, new, us(e.at), e.origin, e.reason))
            if self.record_history and rows:
                yield _Sql(_pg.INSERT_HISTORY_SQL, rows, many=True)
            return len(items)

        return (yield from self._locked(body))

    @property
    def _keyword(self) -> bool:
        """Keyword retrieval on: an index is configured and the mode is not ``"vector"``."""
        return self._fields is not None and self.search_mode != "vector"

    @property
    def _where(self) -> str:
        return _describe(self.conn_string)

    def _pool_options(self) -> dict[str, Any]:
        """What both pools are made with (autocommit: the flows open their transactions)."""
        return {"min_size": 1, "max_size": self.pool_size, "kwargs": {"autocommit": True}}


class PostgresStore(_PostgresBase):
    """A LangGraph store on PostgreSQL + pgvector with hybrid search, history and erasure.

    Args:
        conn_string: a libpq connection string or ``postgresql://`` URL. The tables are
            made in its current schema (``?options=-csearch_path%3Dmyschema,public``
            picks another).

    Other Parameters:
        index (IndexConfig | None): as :class:`~langmem.store.SQLiteStore`; so are
            ``ttl``, ``ranking``, ``search_mode``, ``origin``, ``history`` and
            ``embed_batch_size``.
        pool_size (int): most connections the pool opens.
        connect_timeout (float): seconds to wait for the server.
        hnsw_ef_search (int | None): HNSW candidate list per vector search (pgvector
            ``ef_search``, at most 1000); default twice the neighbours wanted, at least 100. Higher
            finds more of the true neighbours on hard (unstructured) vectors, slower.
        record_access (bool): ``False``: searches record no access (times recalled,
            last recalled: recency ranking) and refresh no TTL, as an ``SQLiteStore``
            opened read-only; for looking without recalling (``langmem ui``, audits).

    The constructor checks the connection and runs :meth:`setup` (idempotent);
    problems raise :class:`~langmem.errors.ConfigurationError` naming the fix.
    """

    def __init__(self, conn_string: str, **kwargs: Any) -> None:
        super().__init__(conn_string, **kwargs)
        from psycopg_pool import ConnectionPool

        try:
            psycopg.connect(
                conn_string, connect_timeout=max(1, round(self.connect_timeout)), autocommit=True
            ).close()
        except psycopg.Error as exc:
            raise _connect_error(conn_string, exc) from None
        self._pool = ConnectionPool(conn_string, open=True, **self._pool_options())
        try:
            self.setup()
        except BaseException:
            self._pool.close()
            raise

    @classmethod
    @contextlib.contextmanager
    def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Iterator[PostgresStore]:
        """``with PostgresStore.from_conn_string(url, index=...) as store:`` (set up, closed after)."""
        store = cls(conn_string, **kwargs)
        try:
            yield store
        finally:
            store.close()

    def setup(self) -> None:
        """Create or upgrade the schema (versioned migrations, one transaction, locked)."""
        self._drive(self._setup_flow())

    def close(self) -> None:
        """Close the connection pool (idempotent)."""
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drive(self, flow: Flow, cur: psycopg.Cursor | None = None) -> Any:
        return drive(flow, lambda effect: self._perform(effect, cur))

    def _perform(self, effect: Any, cur: psycopg.Cursor | None) -> Any:
        if isinstance(effect, (_Sql, _Pipeline)):
            assert cur is not None  # statements run only in a _Transaction's body
            return effect.run(cur)
        if isinstance(effect, _Transaction):
            with self._pool.connection() as conn, conn.transaction():
                return self._drive(effect.body(), conn.cursor())
        if isinstance(effect, _Maintenance):
            with self._pool.connection() as conn:
                for statement in effect.statements:
                    conn.execute(statement)
            return None
        return effect.run(self.embeddings)

    async def _adrive(self, flow: Flow) -> Any:
        return await asyncio.to_thread(self._drive, flow)


class AsyncPostgresStore(_PostgresBase):
    """The async twin shell of :class:`PostgresStore` (an ``AsyncConnectionPool``).

    Use ``async with AsyncPostgresStore.from_conn_string(url, ...) as store`` or
    ``await store.setup()`` before the first call (the first call sets up otherwise).
    Sync methods work from threads other than the event loop's.
    """

    def __init__(self, conn_string: str, **kwargs: Any) -> None:
        super().__init__(conn_string, **kwargs)
        from psycopg_pool import AsyncConnectionPool

        self._pool = AsyncConnectionPool(conn_string, open=False, **self._pool_options())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._setup_lock: asyncio.Lock | None = None

    @classmethod
    @contextlib.asynccontextmanager
    async def from_conn_string(
        cls, conn_string: str, **kwargs: Any
    ) -> AsyncIterator[AsyncPostgresStore]:
        store = cls(conn_string, **kwargs)
        try:
            await store.setup()
            yield store
        finally:
            await store.aclose()

    async def setup(self) -> None:
        """Check the connection, open the pool and create or upgrade the schema."""
        self._loop = asyncio.get_running_loop()
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.conn_string, connect_timeout=max(1, round(self.connect_timeout))
            )
        except psycopg.Error as exc:
            raise _connect_error(self.conn_string, exc) from None
        await conn.close()
        await self._pool.open()
        await self._run(self._setup_flow())

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._pool.close()

    async def __aenter__(self) -> AsyncPostgresStore:
        await self.setup()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _adrive(self, flow: Flow) -> Any:
        if not self._ready:
            if self._setup_lock is None:
                self._setup_lock = asyncio.Lock()
            async with self._setup_lock:
                if not self._ready:
                    await self.setup()
        return await self._run(flow)

    async def _run(self, flow: Flow, cur: psycopg.AsyncCursor | None = None) -> Any:
        return await adrive(flow, lambda effect: self._perform(effect, cur))

    async def _perform(self, effect: Any, cur: psycopg.AsyncCursor | None) -> Any:
        if isinstance(effect, (_Sql, _Pipeline)):
            assert cur is not None  # statements run only in a _Transaction's body
            return await effect.arun(cur)
        if isinstance(effect, _Transaction):
            async with self._pool.connection() as conn, conn.transaction():
                return await self._run(effect.body(), conn.cursor())
        if isinstance(effect, _Maintenance):
            async with self._pool.connection() as conn:
                for statement in effect.statements:
                    await conn.execute(statement)
            return None
        return await effect.arun(self.embeddings)

    def _drive(self, flow: Flow) -> Any:
        """Sync calls: run on the store's event loop from another thread."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("AsyncPostgresStore: call `await store.setup()` first")
        try:
            if asyncio.get_running_loop() is loop:
                raise asyncio.InvalidStateError(
                    "Synchronous calls to AsyncPostgresStore from its event loop would block it;"
                    " use the a-prefixed methods (aget, asearch, ...)"
                )
        except RuntimeError:
            pass  # no loop in this thread: fine
        return asyncio.run_coroutine_threadsafe(self._adrive(flow), loop).result()


def _describe(conn_string: str) -> str:
    """``user@host:port/dbname`` of a connection string, without its password."""
    try:
        info = conninfo_to_dict(conn_string)
    except psycopg.Error:
        return "the PostgreSQL server"
    host = info.get("host") or "localhost"
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


def _connect_error(conn_string: str, exc: psycopg.Error) -> ConfigurationError:
    text = " ".join(str(exc).split())
    if "password" in text:
        fix = "check the user name and password in the connection string"
    elif "database" in text and "does not exist" in text:
        fix = "create the database (CREATE DATABASE) or fix its name in the connection string"
    elif isinstance(exc, psycopg.ProgrammingError):
        fix = "fix the connection string (a postgresql:// URL or libpq key=value pairs)"
    else:
        fix = "check that the server is running and reachable at that host and port"
    return ConfigurationError(f"Cannot connect to {_describe(conn_string)}: {text}; {fix}")


def _vector_hits(rows: list[tuple], pool: int) -> dict[int, tuple[int, float]]:
    """``item id -> (rank, best similarity)`` of the nearest items among the vector rows
    (an iterative HNSW scan returns them only roughly in order)."""
    best: dict[int, float] = {}
    for item, sim, *_ in sorted(rows, key=lambda r: (-r[1], r[0])):
        best.setdefault(item, sim)
    return _ranked(best, pool)


def _floats(blob: bytes) -> list[float]:
    return np.frombuffer(blob, np.float32).tolist()
