"""Change history of ``SQLiteStore`` items and who made each change.

Every put and delete (and TTL expiry) appends a :class:`HistoryEntry`. The
``origin`` of a change is, in order: the innermost ``with recording_origin(...)``
(or ``store.origin(...)``) around the write, else the store's ``origin=``
argument. The context travels with the call (``contextvars``), so it follows
async tasks and the worker threads ``abatch`` uses.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from langmem.store._read import dt
from langmem.store._sql import ns_tuple

__all__ = ["Accesses", "HistoryEntry", "accesses_of", "current_origin", "recording_origin"]

# ``(namespace, key) -> (last recalled, times recalled)``: the access statistics that
# recency/strength ranking counts, for items searches have recalled.
Accesses = dict[tuple[tuple[str, ...], str], tuple[datetime | None, int]]

_ORIGIN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "langmem_store_origin", default=None
)


@dataclass(frozen=True)
class HistoryEntry:
    """One change of one item: ``old_value`` is None for a creation, ``new_value`` for a removal."""

    namespace: tuple[str, ...]
    key: str
    action: Literal["put", "delete", "expire"]
    old_value: dict[str, Any] | None
    new_value: dict[str, Any] | None
    at: datetime
    origin: str | None

    @classmethod
    def from_row(cls, row: tuple) -> HistoryEntry:
        """An entry from a stored history row (both backends' ``read_history_sql`` columns:
        namespace text, key, action, old and new value JSON, time in µs, origin)."""
        ns, key, action, old, new, at, origin = row
        return cls(
            namespace=ns_tuple(ns),
            key=key,
            action=action,
            old_value=None if old is None else json.loads(old),
            new_value=None if new is None else json.loads(new),
            at=dt(at),
            origin=origin,
        )


def accesses_of(rows: Iterable[tuple]) -> Accesses:
    """:data:`Accesses` from rows of namespace text, key, time in µs (or NULL), count."""
    return {
        (ns_tuple(ns), key): (None if at is None else dt(at), count) for ns, key, at, count in rows
    }


@contextlib.contextmanager
def recording_origin(origin: str) -> Iterator[None]:
    """Attribute the store writes made inside the block to ``origin``."""
    token = _ORIGIN.set(origin)
    try:
        yield
    finally:
        _ORIGIN.reset(token)


def current_origin() -> str | None:
    return _ORIGIN.get()
