"""Code written for LangMem 0.0.30 gets LangMem's outcome here (issue 14), one test per point.

Each test runs the user code as LangMem's docs write it, with the scripted model, and checks
what LangMem does (or, for the duplicate-after-repair bug, what LangMem gets right and we once
did not)."""

from __future__ import annotations

import uuid
import warnings

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.prebuilt import create_react_agent
from langgraph.store.memory import InMemoryStore

from langmem import (
    create_manage_memory_tool,
    create_memory_manager,
    create_memory_store_manager,
    create_prompt_optimizer,
)
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = pytest.mark.core

NS = ("memories", "{user_id}")
ALICE = {"configurable": {"user_id": "alice"}}
CONVO = [{"role": "user", "content": "I love jazz and I live in Lyon"}]


def _store() -> InMemoryStore:
    return InMemoryStore(index={"dims": 32, "embed": HashEmbeddings(32)})


def test_1_a_repair_reply_resending_the_valid_call_stores_it_once():
    model = ScriptedChatModel(
        [
            ai(("Memory", {"content": "User likes jazz"}), ("Memory", {"text": "bad"})),
            ai(("Memory", {"content": "User likes jazz"}), ("Memory", {"content": "Lives in Lyon"})),
        ]
    )
    result = create_memory_manager(model).invoke({"messages": CONVO})
    assert sorted(r.content.content for r in result) == ["Lives in Lyon", "User likes jazz"]


def test_2_unknown_ids_update_creates_and_delete_succeeds_in_the_callers_namespace():
    store, k1 = _store(), str(uuid.uuid4())
    store.put(("memories", "bob"), k1, {"content": "bob's"})
    tool = create_manage_memory_tool(NS, store=store)
    assert k1 in tool.invoke({"action": "update", "id": k1, "content": "alice's"}, ALICE)
    tool.invoke({"action": "delete", "id": str(uuid.uuid4())}, ALICE)
    assert store.get(("memories", "alice"), k1).value == {"content": "alice's"}
    assert store.get(("memories", "bob"), k1).value == {"content": "bob's"}


@pytest.mark.parametrize(
    "args",
    [{"content": "x", "id": "some-id"}, {"action": "update", "content": "x"}, {"action": "delete"}],
)
def test_3_argument_mistakes_raise_value_error_and_toolnode_reports_them(args):
    tool = create_manage_memory_tool(NS, store=_store())
    with pytest.raises(ValueError):
        tool.invoke(args, ALICE)
    call = {"id": "c1", "name": "manage_memory", "args": args}
    model = ScriptedChatModel([ai(call), ai(content="Sorry, fixed.")])
    agent = create_react_agent(model, tools=[tool])
    out = agent.invoke({"messages": [HumanMessage("remember x")]}, ALICE)  # the run goes on
    [message] = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert message.status == "error" and message.tool_call_id == "c1" and "id" in message.content
    assert out["messages"][-1].content == "Sorry, fixed."


def test_4_manage_tool_schema_lists_required():
    tool = create_manage_memory_tool(NS)
    assert tool.tool_call_schema.model_json_schema()["required"] == []
    assert convert_to_openai_tool(tool)["function"]["parameters"]["required"] == []


def test_5_unknown_optimizer_config_keys_are_ignored_with_one_warning():
    reply = ai(("OptimizedPromptOutput", {"analysis": "a", "improved_prompt": "B"}))
    model = ScriptedChatModel(default=reply)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer = create_prompt_optimizer(
            model, kind="metaprompt", config={"temperature": 0.2, "max_reflection_steps": 1}
        )
    assert [str(w.message) for w in caught if "temperature" in str(w.message)] != []
    assert len(caught) == 1
    trajectories = [([{"role": "user", "content": "hi"}], {"score": 0})]
    assert optimizer.invoke({"trajectories": trajectories, "prompt": "A"}) == "B"


def test_6_metaprompt_with_defaults_accepts_an_answer_on_the_first_call():
    reply = ai(("OptimizedPromptOutput", {"analysis": "ok", "improved_prompt": "New prompt"}))
    model = ScriptedChatModel(default=reply)
    optimizer = create_prompt_optimizer(model, kind="metaprompt")
    trajectories = [([{"role": "user", "content": "hi"}], {"score": 0})]
    assert optimizer.invoke({"trajectories": trajectories, "prompt": "Old"}) == "New prompt"
    assert len(model.calls) == 1


def test_7_store_manager_without_a_store_outside_a_graph_raises_value_error():
    manager = create_memory_store_manager(ScriptedChatModel(), namespace=("memories",))
    with pytest.raises(ValueError, match="store"):
        manager.invoke({"messages": [HumanMessage("I love jazz")]})
