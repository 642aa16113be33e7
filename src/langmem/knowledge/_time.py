"""When a conversation took place: the reference time the managers give the model, read
from the caller or from the messages' own timestamps (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from langchain_core.messages import BaseMessage

from langmem.memory import parse_when

__all__ = ["message_time", "reference_time", "reference_text"]

# Where chat messages carry their time: a dict message's "timestamp" (LangChain keeps
# unknown keys in additional_kwargs), or what providers and loaders put in metadata.
_TIME_KEYS = ("timestamp", "created_at", "time", "date", "datetime")


def message_time(message: BaseMessage) -> datetime | None:
    """When ``message`` was sent, if it says: a time or date under one of
    ``timestamp``, ``created_at``, ``time``, ``date``, ``datetime`` in its
    ``additional_kwargs`` or ``response_metadata`` (ISO 8601, or epoch seconds);
    ``None`` when absent or unreadable (a message's metadata is not the caller's input)."""
    for fields in (message.additional_kwargs, message.response_metadata):
        for key in _TIME_KEYS:
            raw = fields.get(key) if isinstance(fields, Mapping) else None
            if raw is None or isinstance(raw, bool):
                continue
            try:
                if isinstance(raw, (int, float)):
                    return parse_when(datetime.fromtimestamp(raw, timezone.utc))
                return parse_when(raw)
            except (ValueError, OverflowError, OSError):
                continue
    return None


def reference_time(given: Any, messages: Sequence[BaseMessage]) -> datetime | None:
    """The time a run's relative dates count from: ``given`` (a datetime or ISO 8601 text;
    ``ValueError`` if it is neither), else the latest message timestamp, else ``None``."""
    if given is not None:
        return parse_when(given, "reference_time")
    times = [t for t in map(message_time, messages) if t is not None]
    return max(times, default=None)


def reference_text(at: datetime) -> str:
    """The prompt's statement of the reference time."""
    return (
        f"<reference_time>{at.isoformat()}</reference_time>\n"
        "The conversation took place at this time (UTC). Write every date it gives in "
        "relative terms ('yesterday', 'last Tuesday', 'next month', 'two years ago') as an "
        "absolute date computed from it."
    )
