"""Durable embedded storage: ``SQLiteStore``, a LangGraph ``BaseStore``."""

from langmem._lazy import lazy_exports

_EXPORTS = {
    "SQLiteStore": "langmem.store.sqlite",
    "RankingWeights": "langmem.store.ranking",
    "HistoryEntry": "langmem.store.history",
    "recording_origin": "langmem.store.history",
}
__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
