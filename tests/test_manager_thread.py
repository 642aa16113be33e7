"""create_thread_extractor: one forced tool call, repaired when invalid."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from langmem import create_thread_extractor
from langmem.knowledge.manager import SummarizeThread
from langmem.testing import ScriptedChatModel, ai

pytestmark = pytest.mark.core

CONVO = [("user", "Let's ship on Friday"), ("assistant", "Agreed, Friday it is.")]


async def test_default_schema_forced_and_returned_sync_and_async():
    reply = ai(("SummarizeThread", {"title": "Release", "summary": "Ship on Friday."}))
    model = ScriptedChatModel([reply, reply])
    extractor = create_thread_extractor(model)
    assert extractor.invoke({"messages": CONVO}) == SummarizeThread(
        title="Release", summary="Ship on Friday."
    )
    assert (await extractor.ainvoke({"messages": CONVO})).title == "Release"
    assert model.calls[0].tool_names == ["SummarizeThread"]
    assert model.calls[0].tool_choice == "any"
    assert "user: Let's ship on Friday" in model.calls[0].text


def test_custom_schema_and_repair_then_give_up():
    class Decision(BaseModel):
        decision: str

    model = ScriptedChatModel(
        [ai(("Decision", {"wrong": 1})), ai(("Decision", {"decision": "Friday"}))]
    )
    extractor = create_thread_extractor(model, schema=Decision, instructions="Find the decision.")
    assert extractor.invoke({"messages": CONVO}) == Decision(decision="Friday")
    assert model.calls[0].messages[0].content == "Find the decision."
    assert "decision: Field required" in model.calls[1].messages[-1].content

    model = ScriptedChatModel(default=ai())
    with pytest.raises(ValueError, match="no valid Decision call"):
        create_thread_extractor(model, schema=Decision).invoke({"messages": CONVO})
    assert len(model.calls) == 3
