"""The agent memory tools: argument schemas, actions, errors, namespaces, sync/async parity."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException
from langgraph.store.base import SearchItem
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel, ValidationError

from langmem import create_manage_memory_tool, create_search_memory_tool
from langmem.errors import ConfigurationError
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core

NS = ("memories", "{user_id}")
ALICE = {"configurable": {"user_id": "alice"}}
BOB = {"configurable": {"user_id": "bob"}}


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(index={"dims": 64, "embed": HashEmbeddings(64)})


def snapshot(store: InMemoryStore) -> dict:
    return {(i.namespace, i.key): i.value for i in store.search((), limit=1000)}


def created_key(message: str) -> str:
    prefix = "created memory "
    assert message.startswith(prefix), message
    key = message[len(prefix) :]
    uuid.UUID(key)
    return key


async def call(tool, args, config, use_async):
    return await tool.ainvoke(args, config) if use_async else tool.invoke(args, config)


# --- schemas and descriptions ---------------------------------------------------


def test_manage_schema_matches_contract():
    tool = create_manage_memory_tool(NS)
    schema = tool.tool_call_schema.model_json_schema()
    assert tool.name == "manage_memory"
    assert list(schema["properties"]) == ["content", "action", "id", "reason", "when"]  # ours: reason, when
    assert schema["required"] == []
    props = schema["properties"]
    assert props["content"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["content"]["default"] is None
    assert props["action"]["enum"] == ["create", "update", "delete"]
    assert props["action"]["default"] == "create"
    assert {"type": "string", "format": "uuid"} in props["id"]["anyOf"]
    assert props["id"]["default"] is None


def test_all_actions_when_none_given():
    tool = create_manage_memory_tool(NS, actions_permitted=None)
    props = tool.tool_call_schema.model_json_schema()["properties"]
    assert props["action"]["enum"] == ["create", "update", "delete"]


def test_manage_schema_with_restricted_actions():
    only_update = create_manage_memory_tool(NS, actions_permitted=("update",))
    props = only_update.tool_call_schema.model_json_schema()["properties"]
    assert props["action"]["const"] == "update"
    assert props["action"]["default"] == "update"
    assert "create" not in only_update.description
    two = create_manage_memory_tool(NS, actions_permitted=("update", "delete"))
    props = two.tool_call_schema.model_json_schema()["properties"]
    assert props["action"]["enum"] == ["update", "delete"]
    assert props["action"]["default"] == "update"


@pytest.mark.parametrize("actions", [(), ("create", "explode")])
def test_manage_rejects_bad_actions_at_creation(actions):
    with pytest.raises(ValueError):
        create_manage_memory_tool(NS, actions_permitted=actions)


def test_manage_description_and_name():
    tool = create_manage_memory_tool(NS, instructions="Only store food facts.", name="memo")
    assert tool.name == "memo"
    assert tool.description.endswith("Only store food facts.")
    assert "create" in tool.description and "id" in tool.description


def test_manage_schema_with_pydantic_content():
    class Fact(BaseModel):
        subject: str
        fact: str

    tool = create_manage_memory_tool(NS, schema=Fact)
    content = tool.tool_call_schema.model_json_schema()["properties"]["content"]
    assert "Fact" in json.dumps(content)


def test_search_schema_matches_contract():
    tool = create_search_memory_tool(NS, instructions="Search before answering.")
    schema = tool.tool_call_schema.model_json_schema()
    assert tool.name == "search_memory"
    assert list(schema["properties"]) == ["query", "limit", "offset", "filter", "as_of"]  # as_of: ours
    assert schema["required"] == ["query"]
    assert schema["properties"]["limit"]["default"] == 10
    assert schema["properties"]["offset"]["default"] == 0
    assert schema["properties"]["filter"]["default"] is None
    assert tool.description.endswith(" Search before answering.")


def test_search_rejects_unknown_response_format():
    with pytest.raises(ValueError):
        create_search_memory_tool(NS, response_format="artifact")


# --- manage: actions ------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True])
async def test_create_update_delete_round_trip(store, use_async):
    tool = create_manage_memory_tool(NS, store=store)
    key = created_key(await call(tool, {"content": "likes tea"}, ALICE, use_async))
    assert store.get(("memories", "alice"), key).value == {"content": "likes tea"}

    result = await call(
        tool, {"action": "update", "id": key, "content": "likes green tea"}, ALICE, use_async
    )
    assert result == f"updated memory {key}"
    assert store.get(("memories", "alice"), key).value == {"content": "likes green tea"}

    result = await call(tool, {"action": "delete", "id": key}, ALICE, use_async)
    assert result == f"Deleted memory {key}"
    assert store.get(("memories", "alice"), key) is None


@pytest.mark.parametrize("use_async", [False, True])
async def test_unknown_id_update_creates_and_delete_succeeds(store, use_async):
    # LangMem's semantics: an update of an unknown id creates the memory under it
    tool = create_manage_memory_tool(NS, store=store)
    kept = created_key(tool.invoke({"content": "likes tea"}, ALICE))
    unknown = str(uuid.uuid4())
    args = {"action": "update", "id": unknown, "content": "likes coffee"}
    assert await call(tool, args, ALICE, use_async) == f"updated memory {unknown}"
    args = {"action": "delete", "id": str(uuid.uuid4())}
    assert (await call(tool, args, ALICE, use_async)).startswith("Deleted memory ")
    assert snapshot(store) == {
        (("memories", "alice"), kept): {"content": "likes tea"},
        (("memories", "alice"), unknown): {"content": "likes coffee"},
    }


@pytest.mark.parametrize("action", ["update", "delete"])
def test_ids_of_another_tenant_cannot_be_touched(store, action):
    tool = create_manage_memory_tool(NS, store=store)
    bobs_key = created_key(tool.invoke({"content": "bob's secret"}, BOB))
    result = tool.invoke({"action": action, "id": bobs_key, "content": "overwritten"}, ALICE)
    assert bobs_key in result
    assert store.get(("memories", "bob"), bobs_key).value == {"content": "bob's secret"}
    alices = store.get(("memories", "alice"), bobs_key)
    assert (alices.value if alices else None) == (
        {"content": "overwritten"} if action == "update" else None
    )


MISTAKES = [
    ({"content": "x", "id": "6f1c6a52-4a8b-4cf0-9d5e-1d4b0b5ddf11"}, "Do not pass an id"),
    ({"action": "update", "content": "x"}, "Pass the id"),
    ({"action": "delete"}, "Pass the id"),
    ({"action": "update", "id": "6f1c6a52-4a8b-4cf0-9d5e-1d4b0b5ddf11"}, "content of the memory"),
    ({}, "content of the memory"),
    ({"content": "  \n\t "}, "must not be empty"),
    ({"content": "bad \ud800 text"}, "surrogate"),
]


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize(("args", "needle"), MISTAKES)
async def test_model_mistakes_raise_value_errors_on_direct_calls(store, args, needle, use_async):
    tool = create_manage_memory_tool(NS, store=store)
    with pytest.raises(ValueError, match=needle) as caught:
        await call(tool, args, ALICE, use_async)
    assert isinstance(caught.value, ToolException)
    assert snapshot(store) == {}


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize(("args", "needle"), MISTAKES)
async def test_model_mistakes_in_tool_calls_become_error_messages(store, args, needle, use_async):
    tool = create_manage_memory_tool(NS, store=store)
    call_ = {"type": "tool_call", "id": "c1", "name": "manage_memory", "args": args}
    message = await call(tool, call_, ALICE, use_async)
    assert isinstance(message, ToolMessage) and message.tool_call_id == "c1"
    assert message.status == "error" and needle in message.content
    assert snapshot(store) == {}


def test_action_not_permitted_and_bad_id_fail_validation(store):
    tool = create_manage_memory_tool(NS, store=store, actions_permitted=("create",))
    with pytest.raises(ValidationError):
        tool.invoke({"action": "delete", "id": str(uuid.uuid4())}, ALICE)
    full = create_manage_memory_tool(NS, store=store)
    with pytest.raises(ValidationError):
        full.invoke({"action": "delete", "id": "../../other/ns"}, ALICE)
    assert snapshot(store) == {}


def test_pydantic_content_is_stored_as_json(store):
    class Fact(BaseModel):
        subject: str
        fact: str

    tool = create_manage_memory_tool(NS, store=store, schema=Fact)
    key = created_key(tool.invoke({"content": {"subject": "Ann", "fact": "likes jazz"}}, ALICE))
    assert store.get(("memories", "alice"), key).value == {
        "content": {"subject": "Ann", "fact": "likes jazz"}
    }
    with pytest.raises(ValidationError):
        tool.invoke({"content": {"subject": "Ann"}}, ALICE)


# --- manage: string inputs --------------------------------------------------------


def test_json_string_arguments_are_decoded(store):
    tool = create_manage_memory_tool(NS, store=store)
    key = created_key(tool.invoke('{"action":"create","content":"likes cherry pie"}', ALICE))
    assert store.get(("memories", "alice"), key).value == {"content": "likes cherry pie"}
    update = json.dumps({"action": "update", "id": key, "content": "loves cherry pie"})
    assert tool.invoke(update, ALICE) == f"updated memory {key}"
    assert store.get(("memories", "alice"), key).value == {"content": "loves cherry pie"}


@pytest.mark.parametrize("text", ["likes rocky road", '{"flavour": "vanilla"}', "[1, 2]", "{"])
def test_other_strings_become_the_content(store, text):
    tool = create_manage_memory_tool(NS, store=store)
    key = created_key(tool.invoke(text, ALICE))
    assert store.get(("memories", "alice"), key).value == {"content": text}


def test_json_string_search_arguments(store):
    manage = create_manage_memory_tool(NS, store=store)
    search = create_search_memory_tool(NS, store=store)
    manage.invoke({"content": "likes tea"}, ALICE)
    manage.invoke({"content": "likes coffee"}, ALICE)
    found = json.loads(search.invoke('{"query": "tea", "limit": 1}', ALICE))
    assert [f["value"] for f in found] == [{"content": "likes tea"}]
    assert json.loads(search.invoke("tea", ALICE))[0]["value"] == {"content": "likes tea"}


# --- store and namespace resolution -------------------------------------------------


def test_no_store_outside_a_graph_is_a_configuration_error():
    for tool in (create_manage_memory_tool(NS), create_search_memory_tool(NS)):
        args = {"content": "x"} if tool.name == "manage_memory" else {"query": "x"}
        with pytest.raises(ConfigurationError, match="store"):
            tool.invoke(args, ALICE)


def test_store_is_taken_from_the_runtime_in_the_config(store):
    # LangGraph passes its Runtime down in the config (e.g. ToolNode -> tool.invoke)
    tool = create_manage_memory_tool(NS)
    config = {
        "configurable": {"user_id": "alice", "__pregel_runtime": SimpleNamespace(store=store)}
    }
    created_key(tool.invoke({"content": "from the runtime"}, config))
    assert [i.value for i in store.search(("memories", "alice"))] == [
        {"content": "from the runtime"}
    ]


def test_missing_config_key_is_a_configuration_error(store):
    tool = create_manage_memory_tool(NS, store=store)
    with pytest.raises(ConfigurationError, match="user_id"):
        tool.invoke({"content": "x"}, {"configurable": {"org": "acme"}})
    assert snapshot(store) == {}


def test_namespace_is_resolved_at_each_call(store):
    tool = create_manage_memory_tool(NS, store=store)
    tool.invoke({"content": "a"}, ALICE)
    tool.invoke({"content": "b"}, BOB)
    assert {ns for ns, _ in snapshot(store)} == {("memories", "alice"), ("memories", "bob")}


def test_namespace_labels_from_config_are_checked(store):
    tool = create_manage_memory_tool(NS, store=store)
    with pytest.raises(ConfigurationError, match="period"):
        tool.invoke({"content": "x"}, {"configurable": {"user_id": "a.b"}})
    assert snapshot(store) == {}


# --- search -------------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True])
async def test_search_returns_compact_json(store, use_async):
    manage = create_manage_memory_tool(NS, store=store)
    search = create_search_memory_tool(NS, store=store)
    key = created_key(manage.invoke({"content": "prefers dark mode"}, ALICE))
    text = await call(search, {"query": "dark mode"}, ALICE, use_async)
    assert ", " not in text and ": " not in text.replace("dark mode", "")
    [found] = json.loads(text)
    assert set(found) == {"namespace", "key", "value", "created_at", "updated_at", "score"}
    assert found["namespace"] == ["memories", "alice"]
    assert found["key"] == key and found["value"] == {"content": "prefers dark mode"}
    assert isinstance(found["score"], float)
    assert "T" in found["created_at"]


def test_search_stays_in_its_namespace_whatever_the_filter(store):
    store.put(("memories", "bob"), "k", {"content": "bob secret", "owner": "bob"})
    store.put(("other",), "k", {"content": "other secret", "owner": "bob"})
    search = create_search_memory_tool(NS, store=store)
    for filter_ in (None, {"owner": "bob"}, {"owner": {"$ne": "nobody"}}):
        args = {"query": "secret", "filter": filter_, "limit": 100}
        assert json.loads(search.invoke(args, ALICE)) == []


def test_search_filter_limit_and_offset(store):
    for i in range(5):
        store.put(("memories", "alice"), f"k{i}", {"content": f"note {i}", "n": i % 2})
    search = create_search_memory_tool(NS, store=store)
    odd = json.loads(search.invoke({"query": "note", "filter": {"n": 1}}, ALICE))
    assert sorted(f["key"] for f in odd) == ["k1", "k3"]
    page = json.loads(search.invoke({"query": "note", "limit": 2, "offset": 1}, ALICE))
    assert len(page) == 2
    with pytest.raises(ValidationError):
        search.invoke({"query": "note", "limit": -1}, ALICE)


def test_search_content_and_artifact(store):
    create_manage_memory_tool(NS, store=store).invoke({"content": "likes tea"}, ALICE)
    search = create_search_memory_tool(NS, store=store, response_format="content_and_artifact")
    text = search.invoke({"query": "tea"}, ALICE)  # plain input: the content only
    assert json.loads(text)[0]["value"] == {"content": "likes tea"}
    call_ = {"type": "tool_call", "id": "c9", "name": "search_memory", "args": {"query": "tea"}}
    message = search.invoke(call_, ALICE)
    assert isinstance(message, ToolMessage)
    items = message.artifact
    assert all(isinstance(i, SearchItem) for i in items) and len(items) == 1
    assert items[0].value == {"content": "likes tea"}
    assert json.loads(message.content)[0]["key"] == items[0].key


def test_search_returns_both_value_shapes_as_stored(store):
    store.put(("memories", "alice"), "a", {"content": "from the tool"})
    store.put(("memories", "alice"), "b", {"kind": "Memory", "content": {"content": "managed"}})
    search = create_search_memory_tool(NS, store=store)
    values = {f["key"]: f["value"] for f in json.loads(search.invoke({"query": "x"}, ALICE))}
    assert values == {
        "a": {"content": "from the tool"},
        "b": {"kind": "Memory", "content": {"content": "managed"}},
    }
