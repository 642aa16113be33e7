"""Durable storage, LangGraph ``BaseStore``s: ``SQLiteStore`` (one file) and
``PostgresStore`` / ``AsyncPostgresStore`` (PostgreSQL + pgvector)."""

from langmem._lazy import lazy_exports

_EXPORTS = {
    "SQLiteStore": "langmem.store.sqlite",
    "PostgresStore": "langmem.store.postgres",  # needs psycopg: the [postgres] extra
    "AsyncPostgresStore": "langmem.store.postgres",
    "RankingWeights": "langmem.store.ranking",
    "HistoryEntry": "langmem.store.history",
    "recording_origin": "langmem.store.history",
    "recording_reason": "langmem.store.history",
}
__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
