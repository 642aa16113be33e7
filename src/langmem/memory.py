"""What a memory is, on every surface: its stored value, its text, and what makes it valid.

The agent tools, the store manager, the CLI, the MCP server and both stores use
these functions, so a memory written by one is read, searched and updated alike
by all. Values a store may hold:

- ``{"content": "Alice prefers dark mode"}``: a memory as the manage tool, the CLI
  and the MCP server write it (optionally with ``"importance"`` in [0, 1]);
- ``{"kind": "Memory", "content": {"content": "..."}}``: as LangMem's store
  manager writes it (and ``{"kind": "<Schema>", "content": {...}}`` with a user
  schema; ``{"content": {...}}`` from a manage tool with a schema);
- ``{"text": "..."}``: conversation turns (the demo) and LangGraph-style documents;
- any other JSON object: its string fields are its text.

:func:`memory_text` reads all of them; it is what a store indexes (keywords and
vectors) by default.

**Event time.** Any value may say when what it records happened or held, beside the
store's own record times (``created_at``/``updated_at``): ``"valid_from"`` and, once
it stops being true, ``"valid_until"`` (ISO 8601 texts, UTC; :data:`TIME_FIELDS`).
They live in the value so that every path a value takes keeps them (history
versions, revert, export and import, any LangGraph store); our stores also copy
them into indexed columns, return them as ``item.valid_from``/``item.valid_until``
and search by them. A superseded memory links to its successor with
``"superseded_by"`` (the successor names it in ``"supersedes"``). These names are
reserved: a store refuses a value whose ``valid_from``/``valid_until`` is no time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from typing import Any

__all__ = [
    "check_text",
    "closed_value",
    "event_time",
    "memory_text",
    "memory_value",
    "parse_when",
    "with_event_time",
    "with_text",
]

TIME_FIELDS = ("valid_from", "valid_until")  # when it happened / held (event time)
LINK_FIELDS = ("supersedes", "superseded_by")  # keys of the memory it replaced / replaced it


def memory_text(value: Any) -> str:
    """The text of a stored value, whichever shape it has (see the module doc).

    A schema-shaped value gives its string fields as ``field: text`` lines; a
    value with no text at all gives its JSON, so it can still be found.
    """
    if not isinstance(value, Mapping):
        return _json(value)
    for field in ("text", "content"):
        if isinstance(value.get(field), str):
            return value[field]
    content = value.get("content")
    if isinstance(content, Mapping):
        if isinstance(content.get("content"), str):
            return content["content"]
        return _fields_text(content) or _json(value)
    return _fields_text(value) or _json(value)


def memory_value(text: str, importance: float | None = None) -> dict[str, Any]:
    """A new memory's value: ``{"content": text}`` (the manage tool's shape).

    ``text`` is checked by :func:`check_text` (and stored stripped);
    ``importance`` must lie in [0, 1].
    """
    value: dict[str, Any] = {"content": check_text(text)}
    if importance is not None:
        if isinstance(importance, bool) or not 0.0 <= float(importance) <= 1.0:
            raise ValueError(f"importance must be a number in [0, 1], got {importance!r}")
        value["importance"] = float(importance)
    return value


def with_text(value: Mapping[str, Any], text: str) -> dict[str, Any]:
    """``value`` with its text replaced where its shape keeps it; other fields kept.

    ``text`` is checked by :func:`check_text`. A value whose text is spread over
    schema fields gets ``{"content": text}`` in place of them.
    """
    text = check_text(text)
    new = dict(value)
    content = new.get("content")
    if isinstance(new.get("text"), str):
        new["text"] = text
    elif isinstance(content, Mapping) and isinstance(content.get("content"), str):
        new["content"] = {**content, "content": text}
    elif isinstance(content, Mapping):  # a user schema's fields: the new text replaces them
        new.pop("kind", None)
        new["content"] = text
    else:
        new["content"] = text
    return new


def check_text(text: Any) -> str:
    """``text`` stripped of surrounding whitespace; ``ValueError`` if it is not a string,
    is blank, holds a NUL character, or is not valid Unicode (a lone surrogate such as
    ``\\ud800``)."""
    if not isinstance(text, str):
        raise ValueError(f"a memory's text must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("a memory's text must not be empty or blank")
    if "\x00" in stripped:
        raise ValueError("a memory's text must not contain NUL characters (\\u0000)")
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            "a memory's text contains an invalid character (a lone surrogate such as \\ud800)"
        ) from None
    return stripped


def _fields_text(fields: Mapping[str, Any]) -> str:
    """``field: text`` lines for the string (and string-list) fields, nested ones included."""
    lines = []
    for name, field in fields.items():
        if name in ("kind", "importance", *TIME_FIELDS, *LINK_FIELDS):
            continue
        if isinstance(field, str) and field:
            lines.append(f"{name}: {field}")
        elif isinstance(field, list) and field and all(isinstance(x, str) for x in field):
            lines.append(f"{name}: {', '.join(field)}")
        elif isinstance(field, Mapping) and (inner := _fields_text(field)):
            lines.append(f"{name}: {inner}")
    return "\n".join(lines)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def parse_when(when: Any, what: str = "when") -> datetime:
    """An ISO 8601 date (``2024-03-01``: its midnight) or date and time as an aware UTC
    datetime (a time without an offset counts as UTC); ``ValueError`` naming ``what``
    for anything else."""
    if isinstance(when, datetime):
        at = when
    elif isinstance(when, date):
        at = datetime.combine(when, time())
    elif isinstance(when, str) and when.strip():
        text = when.strip()
        try:
            at = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
        except ValueError:
            raise ValueError(
                f"{what} must be an ISO 8601 date or date and time, such as 2024-03-01 or"
                f" 2024-03-01T14:30:00+02:00; got {when!r}"
            ) from None
    else:
        raise ValueError(f"{what} must be an ISO 8601 date or date and time, got {when!r}")
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    try:
        return at.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00
        raise ValueError(f"{what} is out of range: {when!r}") from None


def event_time(value: Any) -> tuple[datetime | None, datetime | None]:
    """``(valid_from, valid_until)`` of a stored value (``None``: unknown / still true);
    ``ValueError`` if either is present but no time, or the end is not after the start."""
    if not isinstance(value, Mapping):
        return None, None
    start, end = (
        None if value.get(f) is None else parse_when(value[f], f"the value's {f!r}")
        for f in TIME_FIELDS
    )
    if start is not None and end is not None and end <= start:
        raise ValueError(
            f"valid_until ({end.isoformat()}) must be after valid_from ({start.isoformat()})"
        )
    return start, end


def with_event_time(
    value: Mapping[str, Any],
    valid_from: datetime | str | None = None,
    valid_until: datetime | str | None = None,
) -> dict[str, Any]:
    """``value`` with the given event times set (ISO 8601 texts, UTC); ``None`` leaves a
    field as it is. Checked as :func:`event_time` checks them."""
    new = dict(value)
    for field, at in zip(TIME_FIELDS, (valid_from, valid_until)):
        if at is not None:
            new[field] = parse_when(at, field).isoformat()
    event_time(new)
    return new


def closed_value(
    value: Mapping[str, Any], end: datetime, successor: str | None = None
) -> dict[str, Any] | None:
    """``value`` no longer true from ``end`` (its ``valid_until``), linked to the key of
    the memory that replaces it (``superseded_by``) when given; ``None`` when ``end``
    would not be after the value's own start."""
    start, _ = event_time(value)
    if start is not None and end <= start:
        return None
    links = {} if successor is None else {"superseded_by": successor}
    return with_event_time({**value, **links}, valid_until=end)
