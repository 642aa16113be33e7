"""Whatever arguments a model sends to the memory tools, the agent run goes on (issue 17).

The tools run inside a real LangGraph agent (``create_react_agent``'s ``ToolNode``) over a
``SQLiteStore``; the scripted model makes one tool call with fuzzed arguments, then answers.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.prebuilt import create_react_agent

from langmem import create_manage_memory_tool, create_search_memory_tool
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = [pytest.mark.core, pytest.mark.filterwarnings("ignore:create_react_agent has been moved")]

NS = ("memories", "{user_id}")
ALICE = {"configurable": {"user_id": "alice"}}

text = st.text(max_size=40) | st.sampled_from(["", "  ", "\ud800", "x" * 5000, "$in", "*"])
scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
)
json_like = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
operator_filters = st.dictionaries(
    text | st.sampled_from(["$in", "$eq", "$gt", "$nin", "$or"]),
    json_like | st.dictionaries(st.sampled_from(["$in", "$gt", "$ne", "$foo"]), json_like),
    max_size=3,
)
manage_args = st.fixed_dictionaries(
    {},
    optional={
        "content": json_like,
        "action": st.sampled_from(["create", "update", "delete", "upsert", ""]) | json_like,
        "id": text | json_like,
    },
)
search_args = st.fixed_dictionaries(
    {},
    optional={
        "query": json_like,
        "limit": st.integers(min_value=-(2**64), max_value=2**64) | json_like,
        "offset": st.integers(min_value=-(2**64), max_value=2**64) | json_like,
        "filter": operator_filters | json_like,
    },
)
calls = st.one_of(
    st.tuples(st.just("manage_memory"), manage_args),
    st.tuples(st.just("search_memory"), search_args),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "m.sqlite"
    with SQLiteStore(path, index={"dims": 32, "embed": HashEmbeddings(32)}) as store:
        store.put(("memories", "alice"), "seed", {"content": "Alice likes jazz"})
        yield store


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=calls)
def test_no_tool_call_ends_the_agent_run(store, call):
    name, args = call
    tools = [create_manage_memory_tool(NS, store=store), create_search_memory_tool(NS, store=store)]
    model = ScriptedChatModel([ai((name, args)), ai(content="done")])
    agent = create_react_agent(model, tools=tools, store=store)
    out = agent.invoke({"messages": [HumanMessage("remember or recall")]}, ALICE)
    [reply] = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert reply.tool_call_id == out["messages"][1].tool_calls[0]["id"]
    assert out["messages"][-1].content == "done"
    # nothing ever reaches another user's namespace
    assert all(ns[:2] == ("memories", "alice") for ns in store.list_namespaces())
