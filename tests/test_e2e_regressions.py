"""Replies of a real tiny model (SmolLM2-135M via llama.cpp), replayed offline.

``bench/e2e_local_llm.py`` ran langmem against SmolLM2-135M-Instruct; these are
replies it actually sent (long garbage strings shortened), replayed with
``ScriptedChatModel`` so the behaviour they exercised stays covered: garbage is
rejected, repaired within the budget, and never applied or returned.
"""

from __future__ import annotations

import pytest

from langmem import create_memory_manager
from langmem.knowledge.extraction import ExtractedMemory, Memory
from langmem.testing import ScriptedChatModel, ai

pytestmark = pytest.mark.core

# PatchDoc has $defs, so llama.cpp's grammar fell back to free JSON: the model echoed
# fragments of the tool's own JSON schema instead of arguments.
SCHEMA_ECHO = {
    "$defs": {
        "PatchOp": {
            "$ref": "Add a patch to the JSON of this memory.",
            "name": "Add patch to the JSON",
        },
        "description": "12/08 20:54:38.649Z - 13/07 2011:23:12.078A.12.0 (C) 2011-07-24",
    },
    "&#34;name=Add patch to JSON,JSONP(optional) {'type':'function'}": -1,
}
GARBAGE_ID = ");\n&#39;$defs&#34;: { &#39;add&#39;delete_file{}, $defs+&#39;remove_doc{}. }}"
TRUNCATED_JSON = '{ "json_doc_id": "&amp;#39;add&quot＆%50０%39１+1, %46!＋+2'
TRUNCATED_PATCH = '{"$defs": {"PatchOp": {\n  "id": 149,\n  "description_type": "object",\n'


async def run(runnable, state, use_async, config=None):
    if use_async:
        return await runnable.ainvoke(state, config)
    return runnable.invoke(state, config)


@pytest.mark.parametrize("use_async", [False, True])
async def test_profile_keeps_its_document_when_every_patch_is_garbage(use_async):
    from pydantic import BaseModel, Field

    class UserProfile(BaseModel):
        name: str | None = None
        city: str | None = None
        pets: list[str] = Field(default_factory=list)

    profile = UserProfile(name="Maya", city="Toronto")
    model = ScriptedChatModel(
        [ai(("PatchDoc", SCHEMA_ECHO)), ai(("PatchDoc", TRUNCATED_PATCH)), ai(("PatchDoc", {}))]
    )
    manager = create_memory_manager(model, schemas=[UserProfile], enable_inserts=False)
    state = {"messages": [("user", "I moved to Lisbon")], "existing": [("profile", profile)]}

    out = await run(manager, state, use_async)

    assert out == [ExtractedMemory("profile", profile)]
    assert [c.tool_choice for c in model.calls] == ["PatchDoc"] * 3  # 1 call + 2 repairs
    assert [r.attempt for r in manager.rejected] == [0, 1, 2]
    assert "json_doc_id: Field required" in manager.rejected[0].error
    assert "not valid JSON" in manager.rejected[1].error


@pytest.mark.parametrize("use_async", [False, True])
async def test_deletes_ignore_garbage_ids_and_unparsable_removals(use_async):
    existing = {
        "m1": Memory(content="Maya lives in Toronto."),
        "m2": Memory(content="Maya has a cat called Pepper."),
    }
    model = ScriptedChatModel(
        [
            ai(("PatchDoc", SCHEMA_ECHO)),
            ai(("RemoveDoc", {"json_doc_id": GARBAGE_ID})),
            ai(("RemoveDoc", TRUNCATED_JSON)),
        ]
    )
    manager = create_memory_manager(model, enable_deletes=True)
    state = {"messages": [("user", "I moved to Lisbon")], "existing": list(existing.items())}

    out = await run(manager, state, use_async)

    assert out == [ExtractedMemory(k, v) for k, v in existing.items()]
    assert model.calls[0].tool_names == ["PatchDoc", "Memory", "RemoveDoc"]
    errors = [r.error for r in manager.rejected]
    assert len(errors) == 3
    assert "no memory has id" in errors[1]
    assert "not valid JSON" in errors[2]
    # the repair request shows the model why its calls failed
    assert "no memory has id" in model.calls[2].text


@pytest.mark.parametrize("use_async", [False, True])
async def test_store_manager_leaves_the_store_alone_when_patches_are_garbage(use_async):
    from langmem import create_memory_store_manager
    from langmem.store import SQLiteStore
    from langmem.testing import HashEmbeddings

    store = SQLiteStore(":memory:", index={"dims": 128, "embed": HashEmbeddings(128)})
    ns = ("memories", "maya")
    store.put(ns, "k1", {"kind": "Memory", "content": {"content": "Maya moved to Lisbon."}})
    model = ScriptedChatModel(
        [
            # json_doc_id sent as an object, then a bare schema echo, then nothing
            ai(("PatchDoc", {"json_doc_id": {"description": "The patch for the recent"}})),
            ai(("PatchDoc", SCHEMA_ECHO)),
            ai(("PatchDoc", {})),
        ]
    )
    manager = create_memory_store_manager(model, namespace=("memories", "{user}"), store=store)
    state = {"messages": [("user", "I moved to Lisbon with my dog Pepper.")]}
    config = {"configurable": {"user": "maya"}}

    puts = await run(manager, state, use_async, config)

    assert puts == []
    assert [(i.key, i.value) for i in store.search(ns)] == [
        ("k1", {"kind": "Memory", "content": {"content": "Maya moved to Lisbon."}})
    ]
    assert len(model.calls) == 3


@pytest.mark.parametrize("use_async", [False, True])
async def test_gradient_keeps_the_prompt_when_the_rewrite_has_no_prompt(use_async):
    from langmem import create_prompt_optimizer

    prompt = "You are {assistant_name}, a friendly assistant. Answer {user_name} briefly."
    model = ScriptedChatModel(
        [
            ai(("critique", {"criticism": "use_specific_name &amp;#34; for the correction"})),
            ai(("critique", {"criticism": "The original prompt did not provide clear guidance."})),
            ai(("recommend", {"warrants_adjustment": True})),  # no recommendations given
            ai(("OptimizedPromptOutput", '{ "analysis": "][1]\n* ANALSIS: [4,0.279')),
            ai(("OptimizedPromptOutput", {"analysis": "algo"})),  # improved_prompt left out
        ]
    )
    optimizer = create_prompt_optimizer(
        model, config={"max_reflection_steps": 3, "min_reflection_steps": 1}
    )
    state = {"trajectories": [([("user", "hi")], "too generic")], "prompt": prompt}

    out = await run(optimizer, state, use_async)

    assert out == prompt
    assert len(model.calls) == 5  # 3 reflection steps, rewrite, 1 repair of its invalid JSON


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
@pytest.mark.parametrize("use_async", [False, True])
async def test_agent_tools_relay_the_tiny_models_mistakes_and_store_only_valid_values(use_async):
    from langchain_core.messages import ToolMessage
    from langgraph.prebuilt import create_react_agent

    from langmem import create_manage_memory_tool, create_search_memory_tool
    from langmem.store import SQLiteStore
    from langmem.testing import HashEmbeddings

    store = SQLiteStore(":memory:", index={"dims": 128, "embed": HashEmbeddings(128)})
    ns = ("memories", "{langgraph_user_id}")
    odd_filter = {"id&#39;listOfUniqueSlices()+100}\n```\n `{2,4;filter{$prop=": "}}*"}
    model = ScriptedChatModel(
        [
            ai(("manage_memory", {"id": None})),  # create without content
            ai(("manage_memory", {"id": "5b3c28e4-7f9d-10a6-abda-affafafaaac6"})),  # create + id
            ai(("search_memory", {"query": "listOfUniqueSlices", "filter": odd_filter})),
            ai(("search_memory", {"query": "SELECT * FROM data WHERE id = #1;", "limit": 0})),
            ai(("manage_memory", {"content": "][", "id": None})),
            "Noted.",
        ]
    )
    agent = create_react_agent(
        model, tools=[create_manage_memory_tool(ns), create_search_memory_tool(ns)], store=store
    )
    config = {"configurable": {"langgraph_user_id": "maya"}}
    state = {"messages": [("user", "Please remember that I am allergic to peanuts.")]}

    out = await run(agent, state, use_async, config)

    tools = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in tools] == ["error", "error", "success", "error", "success"]
    assert "content" in tools[0].content and "id" in tools[1].content
    assert tools[2].content == "[]"  # odd filter keys just match nothing
    assert "limit" in tools[3].content  # limit 0 is refused, not run
    assert [(i.namespace, i.value) for i in store.search(("memories",))] == [
        (("memories", "maya"), {"content": "]["})
    ]
