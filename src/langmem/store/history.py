"""Change history of store items: numbered versions, who made each change and why.

Every put and delete (and TTL expiry) appends a :class:`HistoryEntry`, version
1, 2, ... of its item. The ``origin`` of a change is, in order: the innermost
``with recording_origin(...)`` (or ``store.origin(...)``) around the write, else
the store's ``origin=`` argument, else the innermost
``recording_origin(..., fallback=True)`` (how the store manager names itself).
Its ``reason`` is the innermost ``with recording_reason(...)``'s. The context
travels with the call (``contextvars``), so it follows async tasks and the
worker threads ``abatch`` uses.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from langmem.store._read import dt
from langmem.store._sql import ns_tuple

__all__ = [
    "Accesses",
    "HistoryEntry",
    "Reasons",
    "accesses_of",
    "current_origin",
    "current_reason",
    "recording_origin",
    "recording_reason",
    "reverted_value",
    "with_reasons",
]

# ``(namespace, key) -> (last recalled, times recalled)``: the access statistics that
# recency/strength ranking counts, for items searches have recalled.
Accesses = dict[tuple[tuple[str, ...], str], tuple[datetime | None, int]]

# ``(namespace, key) -> reason``: a reason for each item a write changes.
Reasons = Mapping[tuple[tuple[str, ...], str], str]

_ORIGIN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "langmem_store_origin", default=None
)
_FALLBACK: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "langmem_store_fallback_origin", default=None
)
_REASON: contextvars.ContextVar[str | Reasons | None] = contextvars.ContextVar(
    "langmem_store_reason", default=None
)


@dataclass(frozen=True)
class HistoryEntry:
    """One change of one item: ``old_value`` is None for a creation, ``new_value`` for a
    removal. ``version`` counts the item's recorded changes (1, 2, ...; 0 in an entry
    not read from a store); ``reason`` is why it was made, if recorded."""

    namespace: tuple[str, ...]
    key: str
    action: Literal["put", "delete", "expire"]
    old_value: dict[str, Any] | None
    new_value: dict[str, Any] | None
    at: datetime
    origin: str | None
    version: int = 0
    reason: str | None = None

    @classmethod
    def from_row(cls, row: tuple) -> HistoryEntry:
        """An entry from a stored history row (both backends' ``read_history_sql`` columns:
        namespace text, key, action, old and new value JSON, time in µs, origin, version,
        reason)."""
        ns, key, action, old, new, at, origin, version, reason = row
        return cls(
            namespace=ns_tuple(ns),
            key=key,
            action=action,
            old_value=None if old is None else json.loads(old),
            new_value=None if new is None else json.loads(new),
            at=dt(at),
            origin=origin,
            version=version,
            reason=reason,
        )


def reverted_value(entries: Sequence[HistoryEntry], version: int) -> dict[str, Any]:
    """The value ``version`` of an item's history (``entries``) gave it, to restore;
    ``ValueError`` if there is no such version or it removed the item."""
    for entry in entries:
        if entry.version == version:
            if entry.new_value is None:
                raise ValueError(
                    f"version {version} of this memory is a {entry.action}: it has no value"
                    " to restore (revert to a version before it)"
                )
            return entry.new_value
    known = f"versions 1 to {len(entries)}" if entries else "no history"
    raise ValueError(f"no version {version} of this memory (it has {known})")


def accesses_of(rows: Iterable[tuple]) -> Accesses:
    """:data:`Accesses` from rows of namespace text, key, time in µs (or NULL), count."""
    return {
        (ns_tuple(ns), key): (None if at is None else dt(at), count) for ns, key, at, count in rows
    }


@contextlib.contextmanager
def recording_origin(origin: str, *, fallback: bool = False) -> Iterator[None]:
    """Attribute the store writes made inside the block to ``origin``. ``fallback``:
    only those no other origin (an enclosing block, the store's ``origin=``) names."""
    var = _FALLBACK if fallback else _ORIGIN
    token = var.set(origin)
    try:
        yield
    finally:
        var.reset(token)


def current_origin(default: str | None = None) -> str | None:
    """The origin of a write made now by a store whose ``origin=`` is ``default``."""
    return _ORIGIN.get() or default or _FALLBACK.get()


@contextlib.contextmanager
def recording_reason(reason: str | Reasons) -> Iterator[None]:
    """Record ``reason`` in the history of the store writes made inside the block; a
    mapping gives each ``(namespace, key)`` its own (the items it lacks get none)."""
    token = _REASON.set(reason)
    try:
        yield
    finally:
        _REASON.reset(token)


def current_reason(namespace: tuple[str, ...], key: str) -> str | None:
    """The reason to record for a write of ``namespace``/``key`` made now."""
    reason = _REASON.get()
    if reason is None or isinstance(reason, str):
        return reason
    return reason.get((tuple(namespace), key))


def with_reasons(rows: Iterable[tuple]) -> list[tuple]:
    """History rows of writes made now (namespace text, key, ...) with their reason appended."""
    return [(*row, current_reason(ns_tuple(row[0]), row[1])) for row in rows]
