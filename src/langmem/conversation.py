"""Conversations given as text: JSON messages or ``role: message`` lines (the CLI's
``extract`` and the MCP server's ``extract_memories``)."""

from __future__ import annotations

import json

__all__ = ["parse_conversation"]

ROLES = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
}


def parse_conversation(text: str) -> list[dict]:
    """Messages from a conversation given as JSON or as ``role: message`` lines.

    JSON: a list of ``{"role", "content"}`` messages, or an object with
    ``"messages"``. Text: each non-empty line is a turn; a line starting with a
    known role (user, human, assistant, ai, system) and ``:`` takes that role,
    any other line is a user turn.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the conversation is empty")
    if stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
        messages = data.get("messages") if isinstance(data, dict) else data
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages
        ):
            raise ValueError('JSON must be a list of {"role", "content"} messages')
        return [
            {"role": ROLES.get(str(m.get("role", "user")).lower(), "user"), "content": m["content"]}
            for m in messages
        ]
    turns = []
    for line in stripped.splitlines():
        if not line.strip():
            continue
        head, sep, rest = line.partition(":")
        role = ROLES.get(head.strip().lower()) if sep else None
        turns.append({"role": role or "user", "content": (rest if role else line).strip()})
    return turns
