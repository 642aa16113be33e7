"""Render sessions as text for the model, within a token budget.

Sessions are rendered once per optimizer run. When they do not fit in
``max_tokens`` (at ``CHARS_PER_TOKEN`` characters per token), the longest
message and feedback texts are shortened first (each keeps its head and tail,
never below ``MIN_PIECE_CHARS``), then whole sessions are left out, keeping
those with feedback and, among equals, the latest ones; a note at the end tells
the model what was cut. Batching or summarising would cost extra model calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from langmem.prompts.types import AnnotatedTrajectory

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_MAX_TRAJECTORY_TOKENS",
    "MIN_BUDGET_TOKENS",
    "MIN_PIECE_CHARS",
    "Sessions",
    "render_sessions",
]

CHARS_PER_TOKEN = 4  # the rough estimate used for budgets (and by langmem.testing)
DEFAULT_MAX_TRAJECTORY_TOKENS = 32_000
MIN_PIECE_CHARS = 600  # a shortened message or feedback keeps at least this much
_MARK_CHARS = 40  # room for the "[... n characters cut ...]" mark of a shortened text
_NOTE_CHARS = 200  # room for the note saying what was cut
MIN_BUDGET_TOKENS = 100

Sessions = str | list[AnnotatedTrajectory]

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif isinstance(block, Mapping):
            parts.append(f"[{block.get('type', 'content')}]")
    return "\n".join(parts)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _label(message: BaseMessage) -> str:
    role = _ROLES.get(message.type, message.type)
    if isinstance(message, ToolMessage):
        return f"tool result ({message.name or message.tool_call_id})"
    return f"{role} ({message.name})" if message.name else role


def _message_text(message: BaseMessage) -> str:
    text = _text(message.content)
    if isinstance(message, AIMessage):
        calls = [f"[calls {c['name']} {_dumps(c['args'])}]" for c in message.tool_calls]
        text = "\n".join(filter(None, [text, *calls]))
    return text


def _feedback_text(feedback: Any) -> str:
    if feedback is None:
        return "(none)"
    return feedback if isinstance(feedback, str) else _dumps(feedback)


def _clip(text: str, limit: int) -> str:
    """``text`` shortened to about ``limit`` characters, keeping its head and tail."""
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 3
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters cut ...]\n{text[len(text) - tail :]}"


def _render(index: int, trajectory: AnnotatedTrajectory, limit: int | None) -> str:
    def cut(text: str) -> str:
        return text if limit is None else _clip(text, limit)

    lines = [f"{_label(m)}: {cut(_message_text(m))}" for m in trajectory.messages]
    return (
        f'<session index="{index}">\n<messages>\n'
        + "\n".join(lines)
        + f"\n</messages>\n<feedback>{cut(_feedback_text(trajectory.feedback))}</feedback>\n"
        + "</session>"
    )


def _piece_lengths(trajectory: AnnotatedTrajectory) -> list[int]:
    lengths = [len(_message_text(m)) for m in trajectory.messages]
    return [*lengths, len(_feedback_text(trajectory.feedback))]


def _cap_for(lengths: list[int], room: int) -> int | None:
    """The largest per-piece cap making ``sum(min(len, cap)) <= room`` (None: no cap needed)."""
    if sum(lengths) <= room:
        return None
    ordered = sorted(lengths)
    used = 0
    for i, length in enumerate(ordered):
        remaining = len(ordered) - i
        if used + length * remaining > room:
            return max(0, (room - used) // remaining)
        used += length
    return None  # pragma: no cover - sum(lengths) > room guarantees a return above


def render_sessions(sessions: Sessions, max_tokens: int = DEFAULT_MAX_TRAJECTORY_TOKENS) -> str:
    """The sessions as text of at most ``max_tokens`` tokens (at 4 characters each).

    See the module docstring for what is cut when they do not fit; the returned
    text then ends with a note saying so.
    """
    budget = max_tokens * CHARS_PER_TOKEN
    room = budget - _NOTE_CHARS  # what the sessions may use when a note is needed
    if isinstance(sessions, str):
        if len(sessions) <= budget:
            return sessions
        return _clip(sessions, room - _MARK_CHARS) + "\n[Note: the sessions were shortened to fit.]"
    full = [_render(i, t, None) for i, t in enumerate(sessions, 1)]
    if sum(len(b) + 2 for b in full) <= budget:
        return "\n\n".join(full)

    pieces = [_piece_lengths(t) for t in sessions]
    overhead = sum(len(b) + 2 for b in full) - sum(map(sum, pieces))
    lengths = [n for p in pieces for n in p]
    cap = _cap_for(lengths, room - overhead - _MARK_CHARS * len(lengths))
    if cap is not None and cap < MIN_PIECE_CHARS:
        cap = MIN_PIECE_CHARS
    blocks = [_render(i, t, cap) for i, t in enumerate(sessions, 1)]

    # Keep sessions with feedback first, then the latest, while they fit.
    order = sorted(
        range(len(sessions)), key=lambda i: (sessions[i].feedback is not None, i), reverse=True
    )
    kept, used = set(), 0
    for i in order:
        if used + len(blocks[i]) + 2 <= room:
            kept.add(i)
            used += len(blocks[i]) + 2
    if not kept:  # even one shortened session is too long: cut it as a whole
        kept = {order[0]}
        blocks[order[0]] = _clip(blocks[order[0]], room - _MARK_CHARS)
    omitted = len(sessions) - len(kept)
    note = f"[Note: to fit a budget of {max_tokens} tokens, long messages were shortened"
    if omitted:
        note += (
            f" and {omitted} of {len(sessions)} sessions left out (those without feedback "
            "and the earliest first)"
        )
    return "\n\n".join([*(blocks[i] for i in sorted(kept)), note + ".]"])
