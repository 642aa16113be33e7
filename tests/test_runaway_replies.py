"""A runaway or failing model must not lose records or overflow the repair request."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from langmem import create_memory_manager, create_prompt_optimizer
from langmem._clip import ECHO_LIMIT, clip_reply
from langmem.testing import ScriptedChatModel, ScriptExhausted, ai

pytestmark = pytest.mark.core

HUGE = "x" * 50_000


def test_clip_reply_shortens_only_what_is_too_long():
    reply = ai(("Memory", {"content": HUGE}), ("Memory", {"content": "short"}), ("Bad", "{" + HUGE))
    clipped = clip_reply(reply)
    assert [c["id"] for c in clipped.tool_calls] == [c["id"] for c in reply.tool_calls]
    assert len(str(clipped.tool_calls[0]["args"])) < ECHO_LIMIT + 100
    assert clipped.tool_calls[1]["args"] == {"content": "short"}
    assert len(clipped.invalid_tool_calls[0]["args"]) < ECHO_LIMIT + 100
    small = ai(("Memory", {"content": "fine"}))
    assert clip_reply(small) is small


def test_repair_request_does_not_echo_a_runaway_reply():
    runaway = ai(("PatchDoc", {"json_doc_id": HUGE, "planned_edits": HUGE, "patches": []}))
    model = ScriptedChatModel([runaway, ai()])
    manager = create_memory_manager(model)
    existing = [("m1", "Memory", {"content": "User likes tea"})]
    result = manager.invoke({"messages": [("user", "hi")], "existing": existing})
    assert [m.id for m in result] == ["m1"]  # nothing invented, nothing lost
    assert len(model.calls) == 2
    assert model.calls[1].prompt_tokens < model.calls[0].prompt_tokens + 2_000
    assert len(manager.rejected) == 1


def test_rejections_are_reported_even_when_a_later_call_fails(caplog):
    model = ScriptedChatModel([ai(("Memory", {"wrong": 1}))])  # the repair call then fails
    manager = create_memory_manager(model)
    with pytest.raises(ScriptExhausted):
        manager.invoke({"messages": [("user", "I like tea")]})
    assert len(manager.rejected) == 1
    assert "rejected tool call" in caplog.text


def test_optimizer_repair_does_not_echo_a_runaway_reply():
    runaway = AIMessage(
        content="",
        tool_calls=[{"name": "GeneralResponse", "args": {"logic": HUGE}, "id": "c1"}],
    )
    model = ScriptedChatModel([runaway])
    model.default = ai(
        ("GeneralResponse", {"logic": "fine", "update_prompt": False, "new_prompt": ""})
    )
    optimizer = create_prompt_optimizer(model, kind="prompt_memory")
    out = optimizer.invoke({"trajectories": [([("user", "hi")], None)], "prompt": "Be nice."})
    assert out == "Be nice."
    assert model.calls[1].prompt_tokens < model.calls[0].prompt_tokens + 2_000
