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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["HistoryEntry", "current_origin", "recording_origin"]

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
