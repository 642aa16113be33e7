"""``SQLiteStore``: a durable LangGraph ``BaseStore`` in one SQLite file.

- **Storage**: one file in WAL mode (or ``":memory:"``), schema migrations
  (:mod:`langmem.store.migrations`) applied at open. Commits survive a killed
  process; ``synchronous="FULL"`` also survives power loss.
- **Search** (``search_mode``): ``"hybrid"`` (default) fuses FTS5/BM25 keyword
  matches and vector neighbours with importance (value field ``importance`` or
  ``content.importance``, in [0, 1]) and recency/strength by
  :func:`langmem.store.ranking.rank` (weights: ``ranking=RankingWeights(...)``);
  ``"vector"`` is LangGraph's pure cosine similarity (score = similarity);
  ``"keyword"`` uses BM25 only and needs no embedder. With an embedder that
  gives token vectors (the local MiniLM) hybrid search also keeps each indexed
  text's token vectors (``vectors.tokens``) and adds a MaxSim score
  (``RankingWeights.late_interaction``); conversation turns (chat-message values,
  :func:`~langmem.store.ranking.is_turn`) lend adjacent turns evidence.
  Namespace prefix, filter and expiry restrict the candidates *before* ranking.
  Searches with a query record an access (``accessed_at``, ``access_count``) on
  the items they return. Without a query: most recently updated first, score
  ``None``.
- **TTL** as LangGraph (``ttl`` in minutes, refreshed on reads unless
  ``refresh_ttl=False``, ``ttl={"default_ttl", "refresh_on_read",
  "sweep_interval_minutes"}``); expired items are invisible, swept by writes every
  ``sweep_interval_minutes`` (default 1) and by :meth:`SQLiteStore.sweep_ttl`.
- **History and erasure**: :meth:`SQLiteStore.history` lists every change of an
  item as numbered versions (see :mod:`langmem.store.history` for ``origin`` and
  ``reason``), :meth:`SQLiteStore.revert` puts an earlier one back, and
  :meth:`SQLiteStore.erase` removes an item or a namespace subtree and every trace
  of it from the files (a compaction another connection's read holds back is
  retried, with a warning).
- **Concurrency**: one connection guarded by a lock; embedding runs outside it;
  ``abatch`` runs the engine in a worker thread. Other processes may share the
  file (busy timeout + retry; the vector index fully reloads after they write).

Differences from ``InMemoryStore``: ``created_at`` survives updates; values
round-trip through JSON; query searches rank by the fused score (``"vector"``
mode matches LangGraph's order) over a candidate pool
(``RankingWeights.candidates``), unindexed items following with score ``None``;
listing without a query is newest-updated first; emptied namespaces are not
listed; re-putting with ``index=False`` drops the old index entries;
``$gt``-style filters on a missing field are false instead of raising. As in
``InMemoryStore``, reads in a batch see the state before its writes and the
last put of a key in a batch wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

import numpy as np
from langgraph.store.base import (
    GetOp,
    IndexConfig,
    InvalidNamespaceError,
    Item,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
    validate_op_namespace,
)

from langmem.errors import ConfigurationError
from langmem.store import _sql
from langmem.store._checkpoint import Checkpointer
from langmem.store._open import (  # inspect_database: re-exported for the CLI
    check_database,
    check_embedder,
    connect,
    embedder_name,
    inspect_database,
    naming_damage,
    opens_read_only,
)
from langmem.store._ops import (
    Plan,
    found_by_key,
    plan_ops,
    plan_writes,
    tokenize_fields,
)
from langmem.store._read import ExplainingStore, Reader, now_us
from langmem.store._time import us
from langmem.store.embeddings import TokenEmbeddings, resolve_embeddings
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
from langmem.store.migrations import migrate, pending
from langmem.store.ranking import RankingWeights
from langmem.store.vectors import VectorIndex

__all__ = ["SQLiteStore", "inspect_database"]

logger = logging.getLogger(__name__)

SearchMode = Literal["hybrid", "vector", "keyword"]
_MODES = ("hybrid", "vector", "keyword")
# Checkpoint (in the background) every ~40 MB of WAL, not SQLite's 4 MB: a put touches
# ~17 pages (items, FTS5, vectors, history), so the default would copy and sync the same
# hot pages every ~60 single puts.
_CHECKPOINT_PAGES = 10_000
# Seconds an erase, an open or a close waits for other connections before leaving the
# compaction pending; a pending one is retried after writes at most this often.
_COMPACTION_WAIT = 1.0


class SQLiteStore(ExplainingStore):
    """A LangGraph store in one SQLite file with hybrid search, history and erasure.

    Args:
        path: database file (created if missing) or ``":memory:"``.
        index: LangGraph ``IndexConfig`` ``{"dims", "embed", "fields"}``; ``embed``
            is anything :func:`~langmem.store.embeddings.resolve_embeddings` takes
            and may be omitted with ``search_mode="keyword"``. ``fields`` defaults
            to ``["$"]``: each value's text as :func:`langmem.memory.memory_text`
            reads it, whichever shape the value has.
        ttl: LangGraph ``TTLConfig``.
        ranking: weights of the hybrid score.
        search_mode: ``"hybrid"``, ``"vector"`` or ``"keyword"``.
        origin: default origin recorded in the history of this store's writes.
        history: record every change (``False`` skips the history table, e.g. for bulk loads).
        synchronous: SQLite ``synchronous`` pragma (``"NORMAL"`` or ``"FULL"``).
        busy_timeout: seconds to wait for another process's write lock.
        embed_batch_size: texts per embedder call.
        read_only: open the file read-only: reads and searches work but record no
            access statistics and refresh no TTL; writes, erasure and compaction raise
            ``PermissionError``; no file is left behind (see :mod:`langmem.store._open`);
            an empty (0-byte) file is refused. ``None`` (default): read-only when this
            process may not write the file, its folder or its ``-wal``/``-shm`` files
            (all but the first logged); ``False`` refuses such a file at open.

    An existing empty (0-byte) file opened writable becomes a new store (``touch``,
    then use). A damaged file raises :class:`~langmem.errors.ConfigurationError` at
    open; damage found later raises ``sqlite3.DatabaseError`` naming the file.
    """

    supports_ttl = True

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        ranking: RankingWeights | None = None,
        search_mode: SearchMode = "hybrid",
        origin: str | None = None,
        history: bool = True,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 30.0,
        embed_batch_size: int = 256,
        read_only: bool | None = None,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self.path = str(path)
        self.search_mode: SearchMode = search_mode
        self.index_config, self.embeddings, self._fields, self.ranking = _search_settings(
            index, search_mode, ranking
        )
        self._late = bool(self.ranking.late_interaction)
        self.ttl_config = ttl
        self.default_origin = origin
        self.record_history = history
        self.busy_timeout = busy_timeout
        self.embed_batch_size = embed_batch_size
        self._index = VectorIndex(self._dims) if self.embeddings else None
        self._lock = threading.RLock()
        self._next_sweep = 0.0
        # True after an erase until its compaction ran (another connection's read snapshot
        # can hold it back); _compaction_retry: when to retry one that was held back.
        self.compaction_pending = False
        self._compaction_retry: float | None = None
        self.read_only = opens_read_only(self.path) if read_only is None else read_only
        self._db: sqlite3.Connection | None = connect(
            self.path, read_only=self.read_only, timeout=busy_timeout
        )
        weakref.finalize(self, self._db.close)
        self._checkpointer: Checkpointer | None = None
        try:
            with naming_damage(self.path, opening=True):
                self._open(synchronous)
        except BaseException:
            self._release()
            raise

    def _open(self, synchronous: str) -> None:
        db = self._conn()
        # Before anything writes, even the WAL switch.
        check_database(db, self.path, new=not self.read_only)
        if self.read_only:
            if pending(db):
                raise ConfigurationError(
                    f"{self.path}: made by an older version; open it once writable to upgrade it"
                )
        else:
            self._configure(synchronous)
            migrate(db)
        if not self.read_only and self.path != ":memory:":
            self._checkpointer = Checkpointer(self.path, db, pages=_CHECKPOINT_PAGES)
            weakref.finalize(self, self._checkpointer.close)
        if self.embeddings is not None:
            name = embedder_name(self._config["embed"], self.embeddings)
            check_embedder(db, self.path, name, self._dims, record=not self.read_only)
        self._load_vectors()
        if not self.read_only and _compaction_recorded(db):
            self.compaction_pending = True  # an erase was interrupted before its compaction
            self._compact_soon(min(self.busy_timeout, _COMPACTION_WAIT))

    # ------------------------------------------------------------------ front ends

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        plan = self._plan(ops)
        if self.embeddings is None:
            return self._run(plan, {}, [])
        if self._late:
            return self._run_with_tokens(plan)
        queries = {q: self.embeddings.embed_query(q) for q in plan.queries}
        docs = [
            v
            for chunk in _chunks(plan.doc_texts, self.embed_batch_size)
            for v in self.embeddings.embed_documents(chunk)
        ]
        return self._run(plan, queries, docs)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        plan = self._plan(ops)
        if self.embeddings is None:
            return await asyncio.to_thread(self._run, plan, {}, [])
        if self._late:  # the local model runs in this thread either way
            return await asyncio.to_thread(self._run_with_tokens, plan)
        vectors = await asyncio.gather(*(self.embeddings.aembed_query(q) for q in plan.queries))
        queries = dict(zip(plan.queries, vectors))
        docs = [
            v
            for chunk in _chunks(plan.doc_texts, self.embed_batch_size)
            for v in await self.embeddings.aembed_documents(chunk)
        ]
        return await asyncio.to_thread(self._run, plan, queries, docs)

    def _run_with_tokens(self, plan: Plan) -> list[Result]:
        """Late interaction: vectors and token vectors from one pass per text, then run."""
        assert isinstance(self.embeddings, TokenEmbeddings)
        embed = self.embeddings.embed_with_tokens
        query_vectors, query_tokens = embed(plan.queries) if plan.queries else ([], [])
        docs: list[Any] = []
        doc_tokens: list[TokenVectors] = []
        for chunk in _chunks(plan.doc_texts, self.embed_batch_size):
            vectors, tokens = embed(chunk)
            docs += vectors
            doc_tokens += tokens
        queries = dict(zip(plan.queries, query_vectors))
        return self._run(plan, queries, docs, dict(zip(plan.queries, query_tokens)), doc_tokens)

    def _plan(self, ops: Iterable[Op]) -> Plan:
        return plan_ops(
            ops,
            self._fields,
            embed_queries=self.embeddings is not None and self.search_mode != "keyword",
            origin=current_origin(self.default_origin),
        )

    # ------------------------------------------------------------------ public extras

    def origin(self, origin: str) -> contextlib.AbstractContextManager[None]:
        """``with store.origin("name"):`` attributes the writes inside to ``name``."""
        return recording_origin(origin)

    def history(self, namespace: tuple[str, ...], key: str) -> list[HistoryEntry]:
        """Every recorded change of one item, oldest first (empty after :meth:`erase`)."""
        _check_namespace(namespace)
        sql, params = _sql.read_history_sql(namespace, key)
        with self._lock, naming_damage(self.path):
            rows = self._conn().execute(sql, params).fetchall()
        return [HistoryEntry.from_row(row) for row in rows]

    async def ahistory(self, namespace: tuple[str, ...], key: str) -> list[HistoryEntry]:
        """Async :meth:`history`."""
        return await asyncio.to_thread(self.history, namespace, key)

    def revert(self, namespace: tuple[str, ...], key: str, version: int) -> int:
        """Put back the value ``version`` of an item's history gave it (an earlier value,
        or one deleted since) as a new version, with the reason "revert to version N";
        returns the new version's number. ``ValueError`` if there is no such version or
        it removed the item. History is never rewritten (only :meth:`erase` removes it)."""
        with self._lock:
            value = reverted_value(self.history(namespace, key), version)
            with recording_reason(f"revert to version {version}"):
                self.put(namespace, key, value)
            return self.history(namespace, key)[-1].version

    async def arevert(self, namespace: tuple[str, ...], key: str, version: int) -> int:
        """Async :meth:`revert`."""
        return await asyncio.to_thread(self.revert, namespace, key, version)

    def accesses(self, namespace: tuple[str, ...] = ()) -> Accesses:
        """``(last recalled, times recalled)`` of each item under ``namespace`` that query
        searches have recalled: what recency/strength ranking counts (exports carry it)."""
        sql, params = _sql.accesses_sql(namespace)
        with self._lock, naming_damage(self.path):
            rows = self._conn().execute(sql, params).fetchall()
        return accesses_of(rows)

    def erase(
        self, namespace: tuple[str, ...], key: str | None = None, *, compact: bool = True
    ) -> int:
        """Erase one item (or, with ``key=None``, a namespace and everything below it).

        Removes the items, their keyword index entries, vectors and history, then
        (:meth:`compact`) merges the FTS index, vacuums and truncates the WAL, so no
        byte of the erased content stays in the database files. To erase many
        targets, pass ``compact=False`` and call :meth:`compact` once at the end.
        Returns the number of items erased.

        Should another connection's read snapshot hold the compaction back for more
        than a second, the erase returns (its deletion committed), logs a warning and
        leaves :attr:`compaction_pending`: the compaction is retried after later
        writes, at :meth:`close` and at the next open.
        """
        _check_namespace(namespace)

        def body(db: sqlite3.Connection, changes: _IndexChanges) -> int:
            sql, params = _sql.erase_targets_sql(namespace, key)
            ids = [row[0] for row in db.execute(sql, params)]
            self._drop_items(db, ids, changes)
            db.execute(*_sql.erase_history_sql(namespace, key))
            # Durable with the erase: a crash before compaction leaves it to the next open.
            db.execute("INSERT OR REPLACE INTO meta VALUES ('compaction_pending', 1)")
            self.compaction_pending = True
            return len(ids)

        with self._lock:
            erased = self._transaction(body, write=True)
            if compact and self.compaction_pending:
                self._compact_soon(min(self.busy_timeout, _COMPACTION_WAIT))
        return erased

    async def aerase(
        self, namespace: tuple[str, ...], key: str | None = None, *, compact: bool = True
    ) -> int:
        """Async :meth:`erase`."""
        return await asyncio.to_thread(self.erase, namespace, key, compact=compact)

    def restore(
        self,
        items: Iterable[Item],
        history: Iterable[HistoryEntry] = (),
        accesses: Accesses | None = None,
    ) -> int:
        """Write ``items`` with their own ``created_at``/``updated_at`` (an import of an export).

        Values are indexed (embedded) as by ``put``. The history of each restored item
        becomes its entries in ``history`` (oldest first, numbered 1, 2, ... in that
        order) or, if there are none, one ``put`` at its ``updated_at``. Access statistics are those in ``accesses`` (as
        :meth:`accesses` returns them), else none. Two transactions (the puts, then the
        timestamps and history): rerunning an interrupted restore completes it.
        Returns the number of items written.
        """
        accesses = accesses or {}
        items = list(items)
        origin = current_origin(self.default_origin)
        entries: dict[tuple[tuple[str, ...], str], list[HistoryEntry]] = {}
        for entry in history:
            entries.setdefault((tuple(entry.namespace), entry.key), []).append(entry)

        def body(db: sqlite3.Connection, changes: _IndexChanges) -> int:
            for item in items:
                ns = tuple(item.namespace)
                at, count = accesses.get((ns, item.key), (None, 0))
                db.execute(
                    "UPDATE items SET created_at = ?, updated_at = ?, accessed_at = ?,"
                    " access_count = ? WHERE namespace = ? AND key = ?",
                    (
                        us(item.created_at),
                        us(item.updated_at),
                        None if at is None else us(at),
                        count,
                        _sql.ns_text(ns),
                        item.key,
                    ),
                )
                db.execute(*_sql.erase_history_sql(ns, item.key))
                recorded = entries.get((ns, item.key)) or [
                    HistoryEntry(ns, item.key, "put", None, item.value, item.updated_at, origin)
                ]
                for e in recorded:
                    old, new = (None if v is None else _json(v) for v in (e.old_value, e.new_value))
                    self._record(
                        db, ns, item.key, e.action, old, new, us(e.at), e.origin, e.reason
                    )
            return len(items)

        with self._lock:
            self.batch([PutOp(tuple(i.namespace), i.key, i.value) for i in items])
            return self._transaction(body, write=True)

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were removed."""
        return self._transaction(lambda db, ch: self._sweep(db, ch, now_us()), write=True)

    @property
    def _config(self) -> dict[str, Any]:
        """The index configuration (of a store that has one)."""
        assert self.index_config is not None, "the store has no index"
        return self.index_config

    @property
    def _dims(self) -> int:
        """The size of the store's vectors (it has an embedder)."""
        return int(self._config["dims"])

    def close(self) -> None:
        """Close the database (idempotent), running a pending compaction if no other
        connection holds it back for a second (else the next open runs it)."""
        with self._lock:
            try:
                if self._db is not None and self.compaction_pending:
                    with naming_damage(self.path):
                        done = self._try_compact(min(self.busy_timeout, _COMPACTION_WAIT))
                    if not done:
                        logger.warning(
                            "%s: closed with erased content still in the file (another"
                            " connection is reading); the next open removes it",
                            self.path,
                        )
            finally:
                self._release()

    def _release(self) -> None:
        with self._lock:
            if self._db is not None:
                if self._checkpointer is not None:
                    self._checkpointer.close()
                self._db.close()
                self._db = None
            if self._index is not None:
                self._index.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ engine

    def _configure(self, synchronous: str) -> None:
        db = self._conn()
        if self.path != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous}")
        db.execute("PRAGMA secure_delete = ON")

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("SQLiteStore is closed")
        return self._db

    def _run(
        self,
        plan: Plan,
        queries: dict[str, Any],
        docs: list[Any],
        query_tokens: dict[str, TokenVectors] | None = None,
        doc_tokens: list[TokenVectors] | None = None,
    ) -> list[Result]:
        embeddings = embedding_matrix(docs, plan, self._dims) if self.embeddings is not None else None

        def body(db: sqlite3.Connection, changes: _IndexChanges) -> list[Result]:
            now = now_us()
            reader = Reader(
                index=self._index,
                keyword=self._fields is not None and self.search_mode != "vector",
                vector_only=self.search_mode == "vector",
                weights=self.ranking,
                vectors_per_item=max(len(self._fields or ()), 1),
                record_access=not self.read_only,
            )
            if plan.puts and time.monotonic() >= self._next_sweep:
                self._sweep(db, changes, now)
                minutes = (self.ttl_config or {}).get("sweep_interval_minutes")
                minutes = 1 if minutes is None else minutes
                self._next_sweep = time.monotonic() + 60 * minutes
            for i, op in plan.reads:
                plan.results[i] = reader.read(db, op, queries, now, query_tokens)
            if plan.puts:
                self._write(db, changes, plan, embeddings, doc_tokens, now)
            return plan.results

        # Query searches record accesses: take the write lock up front rather
        # than upgrading a read snapshot (which another writer can invalidate).
        touches = not self.read_only and any(
            isinstance(op, SearchOp) and op.query for _, op in plan.reads
        )
        return self._transaction(body, write=bool(plan.puts) or touches)

    def _transaction(self, body: Any, *, write: bool) -> Any:
        """Run ``body(db, changes)`` in one transaction, retrying while the file is busy.

        The vector index is first brought up to date with other connections'
        commits; the transaction's own index changes apply only once it commits.
        """
        if write and self.read_only:
            raise PermissionError(f"{self.path}: the store is open read-only; nothing was written")
        with self._lock, naming_damage(self.path):
            result = self._retrying(body, write)
            retry = self._compaction_retry
            if write and retry is not None and time.monotonic() >= retry:
                self._compact_soon(0.0)
            return result

    def _retrying(self, body: Any, write: bool) -> Any:
        db = self._conn()
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.005
        while True:
            changes = _IndexChanges()
            try:
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    # Inside the transaction: under the write lock no commit can slip
                    # in between this check and our own version bump.
                    self._sync_index()
                    result = body(db, changes)
                    if changes:
                        version = db.execute(_sql.BUMP_VECTORS_VERSION_SQL).fetchone()[0]
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError(
                        f"{self.path}: another connection kept the file locked for"
                        f" {self.busy_timeout:g} s (busy_timeout): {exc}"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
                continue
            if changes and self._index is not None:
                changes.apply(self._index)
                self._vectors_version = version
            if write and self._checkpointer is not None:
                self._checkpointer.committed(db)
            return result

    def _write(
        self,
        db: sqlite3.Connection,
        changes: _IndexChanges,
        plan: Plan,
        embeddings: np.ndarray | None,
        tokens: list[TokenVectors] | None,
        now: int,
    ) -> None:
        """Apply a batch's puts in bulk: one lookup of the rows they replace, then
        one ``executemany`` per table (prepared once, cached by ``sqlite3``)."""
        found = found_by_key(db.execute(*_sql.found_sql(list(plan.puts))))
        next_ids = db.execute(_sql.NEXT_IDS_SQL).fetchone()
        indexed = self._fields is not None
        writes = plan_writes(plan, found, now, next_ids, indexed, embeddings, tokens)
        self._drop_items(db, writes.drop, changes)
        if writes.reindex:
            self._drop_index_entries(db, writes.reindex, changes)
        db.executemany(_sql.INSERT_ITEMS_SQL, writes.inserts)
        db.executemany(_sql.UPDATE_ITEMS_SQL, writes.updates)
        db.executemany(_sql.INSERT_FTS_SQL, writes.fts)
        db.executemany(_sql.INSERT_VECTORS_SQL, writes.vectors)
        if self.record_history:
            db.executemany(_sql.INSERT_HISTORY_SQL, with_reasons(writes.history))
        if writes.vectors:
            assert embeddings is not None
            changes.add([row[0] for row in writes.vectors], embeddings)

    def _record(self, db: sqlite3.Connection, *entry: Any) -> None:
        if self.record_history:
            db.execute(*_sql.history_sql(*entry))

    def _drop_index_entries(
        self, db: sqlite3.Connection, ids: Sequence[int], changes: _IndexChanges
    ) -> None:
        where, params = _sql.ids_clause(ids, "item_id")
        for (vid,) in db.execute(f"SELECT id FROM vectors WHERE {where}", params):
            changes.remove(vid)
        db.execute(f"DELETE FROM vectors WHERE {where}", params)
        where, params = _sql.ids_clause(ids, "rowid")
        db.execute(f"DELETE FROM items_fts WHERE {where}", params)

    def _drop_items(
        self, db: sqlite3.Connection, ids: Sequence[int], changes: _IndexChanges
    ) -> None:
        if not ids:
            return
        self._drop_index_entries(db, ids, changes)
        where, params = _sql.ids_clause(ids, "id")
        db.execute(f"DELETE FROM items WHERE {where}", params)

    def _sweep(self, db: sqlite3.Connection, changes: _IndexChanges, now: int) -> int:
        expired = db.execute(*_sql.expired_sql(now)).fetchall()
        self._drop_items(db, [row[0] for row in expired], changes)
        for _, ns, key, value in expired:
            self._record(db, _sql.ns_tuple(ns), key, "expire", value, None, now, "ttl", None)
        return len(expired)

    def compact(self) -> None:
        """Rewrite the files so deleted content leaves no bytes behind.

        Merges the FTS5 index (dropping deleted entries), checkpoints the WAL,
        vacuums (freed pages are already zeroed: ``secure_delete``) and truncates
        the WAL. Needs no other connection to hold a read snapshot: waits up to
        ``busy_timeout`` for them, then raises ``TimeoutError``.
        """
        if self.read_only:
            raise PermissionError(f"{self.path}: the store is open read-only")
        with self._lock, naming_damage(self.path):
            deadline = time.monotonic() + self.busy_timeout
            while not self._try_compact(max(deadline - time.monotonic(), 0.0)):
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"{self.path}: not compacted: another connection kept a read snapshot"
                        f" for {self.busy_timeout:g} s (busy_timeout)"
                    )
                time.sleep(0.05)

    def _compact_soon(self, wait: float) -> None:
        """Compact unless other connections hold it back for ``wait`` seconds: then warn
        (once while it stays held back) and leave it to be retried."""
        warned = self._compaction_retry is not None
        if not self._try_compact(wait) and not warned:
            logger.warning(
                "%s: erased content stays in the file while another connection reads:"
                " the compaction is pending (retried after writes, at close and at the"
                " next open)",
                self.path,
            )

    def _try_compact(self, wait: float) -> bool:
        """One compaction, waiting at most ``wait`` seconds for other connections; False
        if one held it back (learnt before the costly steps, bar a race)."""
        db = self._conn()
        db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            if not _checkpointed(db):
                return self._held_back()
            db.execute("INSERT INTO items_fts (items_fts) VALUES ('optimize')")
            db.execute("VACUUM")
            if not _checkpointed(db):
                return self._held_back()
            db.execute("DELETE FROM meta WHERE key = 'compaction_pending'")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            return self._held_back()
        finally:
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        self.compaction_pending = False
        self._compaction_retry = None
        return True

    def _held_back(self) -> bool:
        self._compaction_retry = time.monotonic() + _COMPACTION_WAIT
        return False

    def _load_vectors(self) -> None:
        if self._index is None:
            return
        # Read the version first: a commit racing the load triggers another reload.
        db = self._conn()
        self._data_version = db.execute("PRAGMA data_version").fetchone()[0]
        self._vectors_version = db.execute(_sql.VECTORS_VERSION_SQL).fetchone()[0]
        self._index.close()
        self._index = VectorIndex(self._dims)
        rows = self._conn().execute("SELECT id, embedding FROM vectors ORDER BY id")
        while chunk := rows.fetchmany(50_000):
            ids = [r[0] for r in chunk]
            vecs = np.frombuffer(b"".join(r[1] for r in chunk), dtype=np.float32)
            self._index.add(ids, vecs.reshape(len(ids), -1))

    def _sync_index(self) -> None:
        """Reload the vector index if another connection changed the file.

        ``PRAGMA data_version`` changes only with other connections' commits.
        """
        if self._index is None:
            return
        db = self._conn()
        data_version = db.execute("PRAGMA data_version").fetchone()[0]
        if data_version == self._data_version:
            return
        self._data_version = data_version
        if db.execute(_sql.VECTORS_VERSION_SQL).fetchone()[0] != self._vectors_version:
            self._load_vectors()


class _IndexChanges:
    """Vector index updates made by a transaction, applied once it commits."""

    def __init__(self) -> None:
        self._adds: list[tuple[list[int], np.ndarray]] = []  # (vector ids, their rows)
        self._removes: set[int] = set()

    def add(self, vids: list[int], vectors: np.ndarray) -> None:
        self._adds.append((vids, vectors))

    def remove(self, vid: int) -> None:
        self._removes.add(vid)

    def __bool__(self) -> bool:
        return bool(self._adds or self._removes)

    def apply(self, index: VectorIndex) -> None:
        if self._removes:
            index.remove(self._removes)
        if not self._adds:
            return
        ids = np.array([vid for vids, _ in self._adds for vid in vids], dtype=np.int64)
        rows = np.concatenate([m for _, m in self._adds])
        if self._removes:  # added, then dropped by the same transaction
            keep = ~np.isin(ids, list(self._removes))
            ids, rows = ids[keep], rows[keep]
        index.add(ids, rows)


def embedding_matrix(docs: list[Any], plan: Plan, dims: int) -> np.ndarray:
    """The embedder's vectors as one float32 matrix, checked before anything is written
    (both backends)."""
    texts = sum(len(pairs) for pairs in plan.texts.values())
    if len(docs) != texts:
        raise ValueError(f"The embedder returned {len(docs)} vectors for {texts} texts")
    if not docs:
        return np.empty((0, dims), dtype=np.float32)
    try:
        matrix = np.asarray(docs, dtype=np.float32).reshape(len(docs), -1)
    except ValueError:  # ragged
        matrix = None
    if matrix is None or matrix.shape[1] != dims:
        bad = next(np.size(v) for v in docs if np.size(v) != dims)
        raise ValueError(f"Embedding has {bad} dimensions, the index expects {dims}")
    if not np.isfinite(matrix).all():
        raise ValueError("Embeddings must be finite (the embedder returned NaN or Infinity)")
    return matrix


def _search_settings(
    index: IndexConfig | None, mode: str, ranking: RankingWeights | None
) -> tuple[dict | None, Any, list | None, RankingWeights]:
    """A store's ``(index config, embedder, index fields, ranking)``, checked (both
    backends): late interaction resolved from whether the embedder gives token vectors."""
    if mode not in _MODES:
        raise ValueError(f"search_mode must be one of {_MODES}, got {mode!r}")
    config, embeddings, fields = _resolve_index(index, mode)
    tokens = mode == "hybrid" and isinstance(embeddings, TokenEmbeddings)
    ranking = (ranking or RankingWeights()).resolved(token_vectors=tokens)
    if ranking.late_interaction:
        _check_late_interaction(embeddings, mode)
    return config, embeddings, fields, ranking


def _resolve_index(index: IndexConfig | None, mode: str) -> tuple[dict | None, Any, list | None]:
    if not index:
        if mode != "hybrid":
            raise ValueError(f"search_mode={mode!r} needs an index configuration")
        return None, None, None
    config: dict[str, Any] = dict(index)
    fields = tokenize_fields(config.get("fields") or ["$"])
    embed = config.get("embed")
    if embed is None:
        if mode != "keyword":
            raise ValueError("index['embed'] is required unless search_mode='keyword'")
        return config, None, fields
    if not isinstance(config.get("dims"), int) or config["dims"] <= 0:
        raise ValueError("index['dims'] must be a positive int")
    return config, resolve_embeddings(embed), fields


def _check_late_interaction(embeddings: Any, mode: str) -> None:
    if mode != "hybrid":
        raise ValueError(f"late_interaction needs search_mode='hybrid', got {mode!r}")
    if not isinstance(embeddings, TokenEmbeddings):
        found = "no embedder" if embeddings is None else type(embeddings).__name__
        raise ConfigurationError(
            "RankingWeights.late_interaction needs an embedder with token vectors "
            f"(index embed='local'), got {found}"
        )


def _chunks(seq: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _check_namespace(namespace: tuple[str, ...]) -> None:
    if not namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    validate_op_namespace(GetOp(tuple(namespace), ""))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _compaction_recorded(db: sqlite3.Connection) -> bool:
    """Whether an erase committed without its compaction (a crash, or a reader)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
        return False  # a file migrated only partly (tests)
    return bool(db.execute("SELECT 1 FROM meta WHERE key = 'compaction_pending'").fetchone())


def _checkpointed(db: sqlite3.Connection) -> bool:
    """Whether a ``TRUNCATE`` checkpoint copied the whole log and emptied it."""
    return not db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text
