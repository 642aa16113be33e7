"""Hostile arguments never end an agent run, nor reach another namespace (issue 26).

The stores answer any filter a model can send (a key no field can have matches
nothing, numbers compare exactly at any size); the memory tools turn every mistake in
their arguments into an error ``ToolMessage``, through LangGraph's ``ToolNode`` and
through a hand-written ``tool.invoke(tool_call)`` loop alike.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.store.memory import InMemoryStore

from langmem import create_manage_memory_tool, create_search_memory_tool
from langmem.knowledge.tools import MemoryToolError
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core

HUGE = 10**400  # 401 digits: float(HUGE) overflows


@pytest.fixture
def keyword_store(store_factory):
    store = store_factory(search_mode="keyword", index={"dims": 1})
    store.put(("a",), "k", {"n": 3, "text": "jazz", "k\x01": "x"})
    return store


@pytest.mark.parametrize(
    "filter", [{"k\x00": 1}, {"k\ud800": 1}, {"text": "jazz\x00"}, {"text": "\ud800"}]
)
@pytest.mark.parametrize("query", [None, "jazz"])
def test_a_filter_no_value_can_satisfy_matches_nothing(keyword_store, filter, query):
    # issue 26: {"k\x00": 1} raised sqlite3.OperationalError: JSON path error near '"k'
    assert keyword_store.search(("a",), query=query, filter=filter) == []


def test_a_key_json_escapes_is_matched(keyword_store):
    # "k\x01" is stored as "k\u0001": SQLite's JSON path did not find it
    [item] = keyword_store.search(("a",), filter={"k\x01": "x", "text": "jazz"})
    assert item.key == "k"


def test_many_equalities_filter_as_few(keyword_store):
    filter = {"text": "jazz", **{f"f{i}": "x" for i in range(2000)}}
    assert keyword_store.search(("a",), filter=filter) == []
    assert [i.key for i in keyword_store.search(("a",), filter={"text": "jazz"})] == ["k"]


@pytest.mark.parametrize(
    ("filter", "keys"),
    [
        ({"n": {"$gt": HUGE}}, []),  # issue 26: OverflowError
        ({"n": {"$lt": HUGE}}, ["small"]),
        ({"n": {"$gte": HUGE}}, ["huge"]),
        ({"n": {"$gt": 1e308}}, ["huge"]),
        ({"n": {"$lt": -HUGE}}, []),
        ({"n": {"$gt": HUGE - 1, "$lte": HUGE}}, ["huge"]),
        ({"n": HUGE}, ["huge"]),
        ({"n": {"$eq": HUGE}}, ["huge"]),
        ({"n": {"$ne": HUGE}}, ["small"]),
    ],
)
def test_numbers_of_any_size_compare_exactly(store_factory, filter, keys):
    store = store_factory(search_mode="keyword", index={"dims": 1})
    store.put(("a",), "small", {"n": 3, "text": "x", "importance": -HUGE})
    store.put(("a",), "huge", {"n": HUGE, "text": "x", "importance": HUGE})
    assert sorted(i.key for i in store.search(("a",), filter=filter)) == keys
    assert sorted(i.key for i in store.search(("a",), query="x", filter=filter)) == keys


# --- the tools: any call, any loop --------------------------------------------------

ALICE = {"configurable": {"user_id": "alice"}}
NS = ("memories", "{user_id}")
BOB_NS = ("memories", "bob")
BOB_KEY = "7b0b7b0b-0000-4000-8000-000000000000"
SECRET = "bob-secret-" + uuid.uuid4().hex  # nothing generated can contain it

ODD = ["\x00", "\x01", "\x1f", "\ud800", "\udfff", "\ufffe", "\u2028", '"', "\\", "$", ".", "*"]
text = st.text(st.characters() | st.sampled_from(ODD), max_size=12) | st.sampled_from(
    ["", "   ", "jazz", "x" * 100_000, "$gt", "../bob", "bob", "memories.bob", BOB_KEY]
)
LONGEST = 10**4299  # 4,300 digits: the most json.loads reads
number = (
    st.integers()
    | st.floats()
    | st.sampled_from([HUGE, -HUGE, 10**309, 2**53 + 1, 2**63, 2**64, LONGEST, -LONGEST])
)
scalar = st.none() | st.booleans() | number | text
supported = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"])
operator = supported | st.sampled_from(["$in", "$foo", "$gt\x00", "$"])
json_value = st.recursive(
    scalar,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(text | operator, inner, max_size=4)
        | st.dictionaries(operator, inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


def _nested(depth: int, leaf: Any) -> Any:
    for i in range(depth):
        leaf = {"k": leaf} if i % 2 else [leaf]
    return leaf


BIG = {  # drawn by name: hypothesis would print them whole
    "object": {f"k{i}": f"v{i}" for i in range(5_000)},
    "operand": {"n": {"$gt": list(range(10_000))}},
    "list": list(range(50_000)),
    "text": "jazz " * 50_000,
}


def _big(name: str) -> Any:
    return BIG[name]


big = st.sampled_from(sorted(BIG)).map(_big)
deep = st.builds(_nested, st.integers(10, 990), json_value)
anything = json_value | deep | big
field = st.sampled_from(["content", "n", "n\x00", "\x00"]) | text | operator  # Alice's: n, content
conditions = st.dictionaries(operator, number | anything, min_size=1, max_size=3)
comparisons = st.dictionaries(  # with fields Alice's memories have
    st.sampled_from(["n", "content"]), st.dictionaries(supported, number, min_size=1), min_size=1
)
filters = comparisons | st.dictionaries(field, scalar | conditions | anything, max_size=4) | big
escape = st.sampled_from(["bob", BOB_NS, list(BOB_NS), {"user_id": "bob"}])
smuggled = {name: escape for name in ("namespace", "user_id", "config", "store")}
ids = st.sampled_from([BOB_KEY, "seed"]) | st.uuids().map(str)
# Well-typed arguments with hostile values reach the store; wild ones test validation.
manage_args = st.fixed_dictionaries(
    {"action": st.sampled_from(["create", "update", "delete"])},
    optional={"content": text, "id": ids, **smuggled},
) | st.fixed_dictionaries(
    {},
    optional={
        "content": anything,
        "action": st.sampled_from(["upsert", "Create", ""]) | anything,
        "id": ids | anything,
    },
)
search_args = st.fixed_dictionaries(
    {"query": text, "filter": filters},
    optional={"limit": st.integers(1, 1000), "offset": st.integers(0, 3), **smuggled},
) | st.fixed_dictionaries(
    {},
    optional={
        "query": anything,
        "limit": st.integers(-2, 1002) | anything,
        "offset": st.integers(-2, 100_002) | anything,
        "filter": filters | anything,
    },
)
calls = st.tuples(st.just("manage_memory"), manage_args) | st.tuples(
    st.just("search_memory"), search_args
)


def _bob(store) -> list:
    return sorted((i.key, i.value) for i in store.search(BOB_NS, limit=100))


def _check_reply(message: Any, call_id: str) -> None:
    assert isinstance(message, ToolMessage) and message.tool_call_id == call_id
    assert isinstance(message.content, str)
    message.content.encode("utf-8")  # the next model call can send it
    assert SECRET not in message.content
    assert "errors.pydantic.dev" not in message.content


def _tools(store) -> dict[str, Any]:
    made = create_manage_memory_tool(NS, store=store), create_search_memory_tool(NS, store=store)
    return {tool.name: tool for tool in made}


def _tool_node(tools: Iterable[Any]) -> Any:
    """A graph of one ``ToolNode`` (outside a graph it has no runtime)."""
    graph = StateGraph(MessagesState).add_node("tools", ToolNode(list(tools)))
    return graph.add_edge(START, "tools").compile()


def _ask(runnable: Any, input: Any, use_async: bool) -> Any:
    return (
        asyncio.run(runnable.ainvoke(input, ALICE)) if use_async else runnable.invoke(input, ALICE)
    )


def _replies(graph: Any, tool: Any, call: dict, use_async: bool) -> list:
    """The replies to ``call`` of a ``ToolNode`` and of a raw ``tool.invoke(call)`` loop."""
    state = {"messages": [AIMessage("", tool_calls=[call])]}
    return [_ask(graph, state, use_async)["messages"][-1], _ask(tool, call, use_async)]


@pytest.mark.slow
def test_no_generated_call_escapes_or_reaches_another_namespace(store_factory):
    # issue 26: 0 escaping exceptions on 4,000 generated calls (ToolNode and raw loop)
    store = store_factory(index={"dims": 32, "embed": HashEmbeddings(32)})
    store.put(("memories", "alice"), "seed", {"content": "Alice likes jazz", "n": 3})
    store.put(BOB_NS, BOB_KEY, {"content": f"Bob likes jazz {SECRET}"})
    store.put(BOB_NS, "pref", {"content": f"Bob's {SECRET}", "n": 3})
    tools = _tools(store)
    graph, bob, replies = _tool_node(tools.values()), _bob(store), []

    @settings(  # derandomized: every run (CI's too) checks the same 2,000 calls per backend
        max_examples=2_000,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(call=calls, use_async=st.booleans())
    def run(call: tuple[str, dict], use_async: bool) -> None:
        name, args = call
        tool_call = {"type": "tool_call", "id": f"c{len(replies)}", "name": name, "args": args}
        for reply in _replies(graph, tools[name], tool_call, use_async):
            _check_reply(reply, tool_call["id"])
            replies.append(reply)
        assert _bob(store) == bob
        assert {tuple(ns) for ns in store.list_namespaces()} <= {("memories", "alice"), BOB_NS}

    run()
    assert len(replies) >= 4_000


@pytest.fixture
def tools(tmp_path):
    with SQLiteStore(tmp_path / "m.db", index={"dims": 32, "embed": HashEmbeddings(32)}) as store:
        yield _tools(store)


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize(
    ("name", "args", "needle"),
    [
        (
            "search_memory",
            {"query": "x", "limit": 0},
            "limit: Input should be greater than or equal to 1",
        ),
        ("search_memory", {"query": "x", "limit": "ten"}, "limit: Input should be a valid integer"),
        ("search_memory", {"query": ["x"]}, "query: Input should be a valid string"),
        ("search_memory", {"offset": -1}, "query: Field required; offset: Input should be"),
        ("manage_memory", {"action": "upsert"}, "action: Input should be 'create', 'update' or"),
        ("manage_memory", {"action": "delete", "id": "../bob"}, "id: Input should be a valid UUID"),
        (
            "search_memory",
            {"query": "x", "filter": _nested(990, 1)},
            "nest lists or objects more than 64 levels deep",
        ),
        ("search_memory", None, "Pass the arguments as a JSON object"),
        ("search_memory", '{"query": "x"}', "Pass the arguments as a JSON object"),
    ],
)
def test_a_raw_loop_gets_argument_mistakes_as_error_messages(tools, name, args, needle, use_async):
    # issue 26: wrong-typed arguments raised pydantic's ValidationError from tool.invoke(call)
    call = {"type": "tool_call", "id": "c1", "name": name, "args": args}
    reply = _ask(tools[name], call, use_async)
    _check_reply(reply, "c1")
    assert reply.status == "error" and needle in reply.content, reply.content


def test_a_raw_arguments_string_too_deep_raises_a_value_error(tools):
    # a loop passing the model's raw `arguments` string: a mistake raises, as in LangMem
    search = tools["search_memory"]
    with pytest.raises(MemoryToolError, match="more than 64 levels deep"):
        search.invoke(json.dumps({"query": "x", "filter": _nested(900, 1)}), ALICE)
    assert search.invoke("[" * 5_000, ALICE) == "[]"  # too deep for json: the query text


class _BrokenStore(InMemoryStore):
    def __init__(self, fault: Exception) -> None:
        super().__init__()
        self.fault = fault

    def batch(self, ops: Iterable[Any]) -> list:
        raise self.fault

    async def abatch(self, ops: Iterable[Any]) -> list:
        raise self.fault


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize(
    "fault",
    [
        OSError(5, "Input/output error"),
        sqlite3.DatabaseError("database disk image is malformed"),
        ValueError("a store's own mistake"),
    ],
)
def test_internal_faults_are_not_reported_as_the_models(fault, use_async):
    tools = _tools(_BrokenStore(fault))
    graph = _tool_node(tools.values())
    for name, args in [("search_memory", {"query": "x"}), ("manage_memory", {"content": "x"})]:
        call = {"type": "tool_call", "id": "c1", "name": name, "args": args}
        with pytest.raises(type(fault), match=fault.args[-1]):  # ToolNode re-raises it
            _ask(graph, {"messages": [AIMessage("", tool_calls=[call])]}, use_async)
        with pytest.raises(type(fault), match=fault.args[-1]):
            _ask(tools[name], call, use_async)


@pytest.mark.parametrize(
    "args",
    [
        {"action": "create", "content": "\x00"},
        {"action": "create", "content": "keeps\x00bees"},
        {"action": "create", "content": "fine", "reason": "why\x00"},
    ],
)
def test_a_nul_in_what_is_written_is_the_models_mistake_on_every_store(store_factory, args):
    # Found by the property test: Postgres cannot hold NUL, so the tool refuses it on every store.
    store = store_factory(index={"dims": 32, "embed": HashEmbeddings(32)})
    tool = _tools(store)["manage_memory"]
    call = {"type": "tool_call", "id": "c1", "name": "manage_memory", "args": args}
    for reply in _replies(_tool_node([tool]), tool, call, use_async=False):
        _check_reply(reply, "c1")
        assert reply.status == "error" and "NUL" in reply.content, reply.content
    assert store.search(NS) == []
