"""Event time in the stores: the search window and the rule that decides what was true
when (pure: both backends build their SQL from a :class:`Bounds`).

A memory's event time is ``valid_from`` (when it happened or began to hold) and
``valid_until`` (when it stopped); absent means unknown, and then its record time
(``created_at``) stands in for the start. A search sees:

- by default, the memories not closed by now (``valid_until`` unset or later);
- ``as_of=t``: those true at ``t``: started at or before ``t``, not ended by it;
- ``since=s`` / ``until=u``: those that happened in ``[s, u)`` (by their start),
  closed or not;
- ``include_closed=True``: closed ones too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langmem.memory import event_time, parse_when

__all__ = ["EPOCH", "Bounds", "TimeWindow", "times_us", "us"]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def us(at: datetime) -> int:
    """Microseconds since the epoch (UTC; a naive datetime counts as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return (at - EPOCH) // timedelta(microseconds=1)


def times_us(value: Any) -> tuple[int | None, int | None]:
    """A value's ``(valid_from, valid_until)`` in µs, as the columns hold them."""
    return tuple(None if at is None else us(at) for at in event_time(value))  # type: ignore[return-value]


@dataclass(frozen=True)
class Bounds:
    """A window in µs, for the SQL builders: the item passes when ``coalesce(valid_from,
    created_at)`` is ``<= started_by``, ``>= since`` and ``< until`` (each when set) and,
    unless ``ended_after`` is ``None``, ``valid_until`` is unset or ``> ended_after``."""

    started_by: int | None = None
    since: int | None = None
    until: int | None = None
    ended_after: int | None = None


@dataclass(frozen=True)
class TimeWindow:
    """Which memories a search sees by event time (see the module doc)."""

    as_of: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_closed: bool = False

    @classmethod
    def of(
        cls,
        as_of: datetime | str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        include_closed: bool = False,
    ) -> TimeWindow:
        """A window from datetimes or ISO 8601 texts (checked: ``ValueError``)."""
        a, s, u = (
            None if v is None else parse_when(v, n)
            for v, n in ((as_of, "as_of"), (since, "since"), (until, "until"))
        )
        if s is not None and u is not None and u <= s:
            raise ValueError(f"until ({u.isoformat()}) must be after since ({s.isoformat()})")
        return cls(a, s, u, bool(include_closed))

    @property
    def restricts(self) -> bool:
        """Whether it keeps only some memories by their times (``as_of``, ``since`` or
        ``until``): the search reads the ids that pass first, as a filter's."""
        return self.as_of is not None or self.since is not None or self.until is not None

    def bounds(self, now: int) -> Bounds:
        """The window in µs at ``now`` (µs)."""
        if self.as_of is not None:
            at = us(self.as_of)
            ended: int | None = None if self.include_closed else at
        else:
            at = None
            ended = None if self.include_closed or self.since or self.until else now
        return Bounds(
            started_by=at,
            since=None if self.since is None else us(self.since),
            until=None if self.until is None else us(self.until),
            ended_after=ended,
        )


DEFAULT_WINDOW = TimeWindow()
