"""Keep a model's runaway output from overflowing the context of a repair request."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage

__all__ = ["ECHO_LIMIT", "clip_reply", "clip_text"]

ECHO_LIMIT = 2000  # characters of one tool call's arguments echoed back to the model


def clip_text(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters cut]"


def clip_reply(reply: AIMessage, limit: int = ECHO_LIMIT) -> AIMessage:
    """``reply`` with over-long content and tool-call arguments shortened.

    Used when a reply is sent back to the model (multi-step or repair
    transcripts): a rejected call with pages of arguments must not make the
    next request exceed the model's context. Tool call ids and names are kept,
    so the tool messages still pair with their calls.
    """
    calls = []
    changed = False
    for call in reply.tool_calls:
        text = json.dumps(call.get("args"), ensure_ascii=False, default=str)
        if len(text) > limit:
            call = {**call, "args": {"truncated_arguments": clip_text(text, limit)}}
            changed = True
        calls.append(call)
    invalid = []
    for bad in reply.invalid_tool_calls:
        args = bad.get("args")
        if isinstance(args, str) and len(args) > limit:
            bad = {**bad, "args": clip_text(args, limit)}
            changed = True
        invalid.append(bad)
    content = reply.content
    if isinstance(content, str) and len(content) > limit:
        content, changed = clip_text(content, limit), True
    if not changed:
        return reply
    return AIMessage(
        content=content, tool_calls=calls, invalid_tool_calls=invalid, id=reply.id, name=reply.name
    )
