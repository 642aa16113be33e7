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
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["check_text", "memory_text", "memory_value", "with_text"]


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
        if name in ("kind", "importance"):
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
