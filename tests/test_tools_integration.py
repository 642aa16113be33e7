"""The memory tools inside LangGraph: prebuilt agents, create_agent, entrypoints, StateGraph nodes."""

from __future__ import annotations

import json
import uuid

import pytest
from langchain_core.messages import ToolMessage
from langgraph.func import entrypoint
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import create_react_agent
from langgraph.store.memory import InMemoryStore

from _helpers import ASYNC_IN_GRAPH
from langmem import create_manage_memory_tool, create_search_memory_tool
from langmem.errors import ConfigurationError
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = [
    pytest.mark.core,
    pytest.mark.filterwarnings("ignore:create_react_agent has been moved"),
]

NS = ("memories", "{user_id}")


def alice(**extra):
    return {"configurable": {"user_id": "alice", **extra}}


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(index={"dims": 64, "embed": HashEmbeddings(64)})


def tool_messages(result) -> list[ToolMessage]:
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


@pytest.mark.parametrize("use_async", [False, True])
async def test_react_agent_saves_and_recalls(store, use_async):
    model = ScriptedChatModel(
        [
            ai(("manage_memory", {"content": "favourite colour is blue"})),
            "Saved.",
            ai(("search_memory", {"query": "favourite colour"})),
            "Blue.",
        ]
    )
    agent = create_react_agent(
        model,
        tools=[create_manage_memory_tool(NS), create_search_memory_tool(NS)],
        store=store,
    )

    async def run(inputs, config):
        return await agent.ainvoke(inputs, config) if use_async else agent.invoke(inputs, config)

    first = await run({"messages": [("user", "my favourite colour is blue")]}, alice())
    [saved] = store.search(("memories", "alice"))
    assert saved.value == {"content": "favourite colour is blue"}
    assert tool_messages(first)[0].content == f"created memory {saved.key}"
    second = await run({"messages": [("user", "what is my favourite colour?")]}, alice())
    [found] = json.loads(tool_messages(second)[0].content)
    assert found["key"] == saved.key


def test_react_agent_relays_model_mistakes_without_crashing(store):
    bogus = str(uuid.uuid4())
    model = ScriptedChatModel(
        [
            ai(
                ("manage_memory", {"action": "delete", "id": bogus}),
                ("manage_memory", {"action": "update", "id": "not-a-uuid", "content": "x"}),
                ("manage_memory", {"action": "update"}),
            ),
            "Sorry.",
        ]
    )
    agent = create_react_agent(model, tools=[create_manage_memory_tool(NS)], store=store)
    result = agent.invoke({"messages": [("user", "forget everything")]}, alice())
    deleted, bad_id, no_id = tool_messages(result)
    assert deleted.content == f"Deleted memory {bogus}"  # LangMem: deleting an unknown id is fine
    assert bad_id.status == no_id.status == "error"
    assert "id" in bad_id.content.lower() and "Pass the id" in no_id.content
    assert result["messages"][-1].content == "Sorry."
    # the model saw the errors on its second call
    assert "Pass the id" in model.calls[1].text
    assert store.search(("memories",)) == []


def test_react_agent_missing_config_key_is_not_swallowed(store):
    model = ScriptedChatModel([ai(("manage_memory", {"content": "x"})), "done"])
    agent = create_react_agent(model, tools=[create_manage_memory_tool(NS)], store=store)
    with pytest.raises(ConfigurationError, match="user_id"):
        agent.invoke({"messages": [("user", "hi")]}, {"configurable": {"thread_id": "t"}})


@pytest.mark.parametrize("use_async", [False, True])
async def test_langchain_create_agent(store, use_async):
    from langchain.agents import create_agent

    model = ScriptedChatModel([ai(("manage_memory", {"content": "works night shifts"})), "Noted."])
    agent = create_agent(
        model, tools=[create_manage_memory_tool(NS), create_search_memory_tool(NS)], store=store
    )
    inputs = {"messages": [{"role": "user", "content": "I work night shifts"}]}
    result = await agent.ainvoke(inputs, alice()) if use_async else agent.invoke(inputs, alice())
    [saved] = store.search(("memories", "alice"))
    assert saved.value == {"content": "works night shifts"}
    assert tool_messages(result)[0].status == "success"


@pytest.mark.parametrize("use_async", [False, ASYNC_IN_GRAPH])
async def test_tools_inside_an_entrypoint_use_its_store(store, use_async):
    manage = create_manage_memory_tool(NS)
    search = create_search_memory_tool(NS)

    if use_async:

        @entrypoint(store=store)
        async def remember(text: str) -> str:
            await manage.ainvoke({"content": text})
            return await search.ainvoke({"query": text})

        found = await remember.ainvoke("likes hiking", alice())
    else:

        @entrypoint(store=store)
        def remember(text: str) -> str:
            manage.invoke({"content": text})
            return search.invoke({"query": text})

        found = remember.invoke("likes hiking", alice())
    [item] = json.loads(found)
    assert item["namespace"] == ["memories", "alice"]
    assert item["value"] == {"content": "likes hiking"}


def test_tools_in_state_graph_nodes(store):
    manage = create_manage_memory_tool(NS)

    def save(state: MessagesState):
        text = state["messages"][-1].content
        return {"messages": [("ai", manage.invoke({"content": text}))]}

    graph = StateGraph(MessagesState).add_node(save).add_edge(START, "save").compile(store=store)
    result = graph.invoke({"messages": [("user", "plays the cello")]}, alice())
    [saved] = store.search(("memories", "alice"))
    assert saved.value == {"content": "plays the cello"}
    assert result["messages"][-1].content == f"created memory {saved.key}"


def test_explicit_store_works_in_a_graph_without_one():
    own = InMemoryStore()
    model = ScriptedChatModel([ai(("manage_memory", {"content": "from a tool node"})), "ok"])
    agent = create_react_agent(model, tools=[create_manage_memory_tool(("shared",), store=own)])
    result = agent.invoke({"messages": [("user", "hi")]})
    [saved] = own.search(("shared",))
    assert tool_messages(result)[0].content == f"created memory {saved.key}"
