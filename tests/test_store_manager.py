"""The store manager: searches, ids, writes, defaults, phases, proxies, sync/async parity."""

from __future__ import annotations

import uuid

import pytest
from langgraph.store.base import GetOp, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel

from langmem import create_memory_searcher, create_memory_store_manager
from langmem.knowledge import MemoryPhase
from langmem.knowledge.extraction import Memory, MemoryStoreManager
from langmem.knowledge.store_manager import stable_id
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai
from langmem.utils import NamespaceTemplate

pytestmark = pytest.mark.core

CFG = {"configurable": {"langgraph_user_id": "alice"}}
NS = ("memories", "alice")


class RecordingStore(InMemoryStore):
    """An InMemoryStore that records every batch of ops."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches: list[list] = []

    def batch(self, ops):
        ops = list(ops)
        self.batches.append(ops)
        return super().batch(ops)

    async def abatch(self, ops):
        ops = list(ops)
        self.batches.append(ops)
        return await super().abatch(ops)

    def ops(self, kind) -> list:
        return [op for batch in self.batches for op in batch if isinstance(op, kind)]


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore(index={"dims": 64, "embed": HashEmbeddings(64)})


async def run(manager, messages, use_async, config=CFG, **extra):
    payload = {"messages": messages, **extra}
    if use_async:
        return await manager.ainvoke(payload, config)
    return manager.invoke(payload, config)


def patch(doc_id: str, path: str, value) -> tuple:
    return (
        "PatchDoc",
        {
            "json_doc_id": doc_id,
            "planned_edits": "update",
            "patches": [{"op": "replace", "path": path, "value": value}],
        },
    )


class Profile(BaseModel):
    name: str | None = None
    language: str | None = None


@pytest.mark.parametrize("use_async", [False, True])
async def test_first_run_inserts_with_kind_and_returns_puts(store, use_async):
    model = ScriptedChatModel([ai(("Memory", {"content": "User has a dog named Fido"}))])
    manager = create_memory_store_manager(model, store=store)
    puts = await run(manager, [("user", "My dog is Fido")], use_async)
    [item] = store.search(NS)
    assert item.value == {"kind": "Memory", "content": {"content": "User has a dog named Fido"}}
    assert puts == [{"namespace": NS, "key": item.key, "value": item.value}]
    uuid.UUID(item.key)
    assert model.calls[0].tool_names == ["Memory"]


@pytest.mark.parametrize("use_async", [False, True])
async def test_one_search_per_query_with_the_same_limit(store, use_async):
    manager = create_memory_store_manager(
        ScriptedChatModel(default=ai()), store=store, query_limit=3
    )
    await run(manager, [("user", "a"), ("ai", "b"), ("user", "c")], use_async)
    searches = store.ops(SearchOp)
    assert len(searches) == 1  # query_limit < 4 still searches once
    assert searches[0].namespace_prefix == NS
    assert searches[0].limit == 3
    assert searches[0].query == "c"


def test_sync_and_async_search_identically(store):
    messages = [("user", f"message {i}") for i in range(6)]
    manager = create_memory_store_manager(
        ScriptedChatModel(default=ai()), store=store, query_limit=12
    )
    manager.invoke({"messages": messages}, CFG)
    sync_ops = store.ops(SearchOp)
    store.batches.clear()
    import asyncio

    asyncio.run(manager.ainvoke({"messages": messages}, CFG))
    assert store.ops(SearchOp) == sync_ops
    assert [op.query for op in sync_ops] == [
        "message 5",
        "message 4\nmessage 5",
        "message 2\nmessage 3\nmessage 4\nmessage 5",
    ]
    assert len(store.batches[0]) == 3  # all windows in one batch


@pytest.mark.parametrize("use_async", [False, True])
async def test_ids_shown_are_stable_ids_and_patches_land_in_place(store, use_async):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "User likes dogs"}})
    sid = stable_id(NS, "k1")
    assert sid == uuid.uuid5(uuid.NAMESPACE_DNS, str((*NS, "k1"))).hex
    model = ScriptedChatModel([ai(patch(sid, "/content", "User loves dogs"))])
    manager = create_memory_store_manager(model, store=store)
    puts = await run(manager, [("user", "I love dogs")], use_async)
    assert sid in model.calls[0].text and "k1" not in model.calls[0].text
    assert model.calls[0].tool_names == ["PatchDoc", "Memory"]
    assert puts == [
        {
            "namespace": NS,
            "key": "k1",
            "value": {"kind": "Memory", "content": {"content": "User loves dogs"}},
        }
    ]
    assert [i.key for i in store.search(NS)] == ["k1"]


@pytest.mark.parametrize("use_async", [False, True])
async def test_deletes_when_enabled(store, use_async):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "Alice manages ML"}})
    store.put(NS, "k2", {"kind": "Memory", "content": {"content": "Bob is on the team"}})
    model = ScriptedChatModel([ai(("RemoveDoc", {"json_doc_id": stable_id(NS, "k1")}))])
    manager = create_memory_store_manager(model, store=store, enable_deletes=True)
    puts = await run(manager, [("user", "Alice left")], use_async)
    assert puts == []
    assert [i.key for i in store.search(NS)] == ["k2"]
    assert "RemoveDoc" in model.calls[0].tool_names


def test_deletes_disabled_by_default(store):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "x"}})
    model = ScriptedChatModel(
        [ai(("RemoveDoc", {"json_doc_id": stable_id(NS, "k1")}))], default=ai()
    )
    create_memory_store_manager(model, store=store).invoke({"messages": [("user", "hi")]}, CFG)
    assert "RemoveDoc" not in model.calls[0].tool_names
    assert [i.key for i in store.search(NS)] == ["k1"]


def test_unchanged_memories_are_not_rewritten(store):
    store.put(NS, "k1", {"content": "tool-written"})
    model = ScriptedChatModel([ai(("Memory", {"content": "new fact"}))])
    puts = create_memory_store_manager(model, store=store).invoke(
        {"messages": [("user", "x")]}, CFG
    )
    assert [p["value"]["content"] for p in puts] == [{"content": "new fact"}]
    assert store.get(NS, "k1").value == {"content": "tool-written"}  # shape kept


@pytest.mark.parametrize("use_async", [False, True])
async def test_reads_tool_values_and_skips_foreign_ones(store, use_async):
    store.put(NS, "tool", {"content": "likes cats"})  # manage tool, no kind
    store.put(NS, "weird", {"something": "else"})  # fits no schema
    store.put(NS, "other", {"kind": "Unknown", "content": {"a": 1}})
    sid = stable_id(NS, "tool")
    model = ScriptedChatModel([ai(patch(sid, "/content", "likes cats a lot"))])
    manager = create_memory_store_manager(model, store=store, query_limit=10)
    puts = await run(manager, [("user", "I adore cats")], use_async)
    shown = model.calls[0].text
    assert "likes cats" in shown and "something" not in shown and "Unknown" not in shown
    assert puts[0]["key"] == "tool"
    assert store.get(NS, "tool").value == {
        "kind": "Memory",
        "content": {"content": "likes cats a lot"},
    }
    assert store.get(NS, "weird").value == {"something": "else"}
    assert store.get(NS, "other").value == {"kind": "Unknown", "content": {"a": 1}}


def test_tool_values_with_a_schema_are_read(store):
    store.put(NS, "p", {"content": {"name": "Alice"}})  # manage tool with schema=Profile
    sid = stable_id(NS, "p")
    model = ScriptedChatModel([ai(patch(sid, "/language", "Spanish"))])
    manager = create_memory_store_manager(
        model, store=store, schemas=[Profile], enable_inserts=False
    )
    manager.invoke({"messages": [("user", "I speak Spanish")]}, CFG)
    assert store.get(NS, "p").value == {
        "kind": "Profile",
        "content": {"name": "Alice", "language": "Spanish"},
    }


def test_model_cannot_touch_memories_it_was_not_shown(store):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "shown"}})
    store.put(("memories", "bob"), "k2", {"kind": "Memory", "content": {"content": "bob's"}})
    hidden = stable_id(("memories", "bob"), "k2")
    model = ScriptedChatModel(
        [ai(("RemoveDoc", {"json_doc_id": hidden}), patch(hidden, "/content", "pwned"))],
        default=ai(),
    )
    manager = create_memory_store_manager(model, store=store, enable_deletes=True)
    store.batches.clear()
    assert manager.invoke({"messages": [("user", "x")]}, CFG) == []
    assert store.get(("memories", "bob"), "k2").value["content"] == {"content": "bob's"}
    assert all(op.namespace == NS for op in store.ops(PutOp))


@pytest.mark.parametrize("use_async", [False, True])
async def test_max_steps_over_one(store, use_async):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "likes tea"}})
    sid = stable_id(NS, "k1")
    model = ScriptedChatModel(
        [
            ai(patch(sid, "/content", "likes green tea")),
            ai(("Memory", {"content": "drinks it at 5pm"})),
            ai(("Done", {})),
        ]
    )
    manager = create_memory_store_manager(model, store=store)
    puts = await run(manager, [("user", "green tea at 5")], use_async, max_steps=3)
    assert len(model.calls) == 3
    assert "Done" in model.calls[1].tool_names
    contents = sorted(p["value"]["content"]["content"] for p in puts)
    assert contents == ["drinks it at 5pm", "likes green tea"]


@pytest.mark.parametrize("use_async", [False, True])
async def test_default_is_saved_at_once_and_updated_in_place(store, use_async):
    model = ScriptedChatModel([lambda call: ai(patch(stable_id(NS, "default"), "/name", "Alice"))])
    manager = create_memory_store_manager(
        model, store=store, schemas=[Profile], default={"language": "English"}
    )
    puts = await run(manager, [("user", "I'm Alice")], use_async)
    assert [p["key"] for p in puts] == ["default"]
    assert store.get(NS, "default").value == {
        "kind": "Profile",
        "content": {"name": "Alice", "language": "English"},
    }
    assert "English" in model.calls[0].text
    # the default was saved before the model ran, then patched under the same key
    default_puts = [op for op in store.ops(PutOp) if op.key == "default"]
    assert [op.value["content"]["name"] for op in default_puts] == [None, "Alice"]


def test_default_factory_gets_the_config(store):
    seen = []

    def factory(config):
        seen.append(config["configurable"]["langgraph_user_id"])
        return "New user"

    model = ScriptedChatModel(default=ai())
    manager = create_memory_store_manager(model, store=store, default_factory=factory)
    manager.invoke({"messages": [("user", "hi")]}, CFG)
    assert seen == ["alice"]
    assert store.get(NS, "default").value == {"kind": "Memory", "content": {"content": "New user"}}


class ThresholdStore(RecordingStore):
    """A store whose searches drop weak matches (as score cut-offs do)."""

    def batch(self, ops):
        results = super().batch(ops)
        return [
            [i for i in r if (i.score or 0) > 0.99] if isinstance(op, SearchOp) else r
            for op, r in zip(ops, results)
        ]


def test_default_missed_by_search_is_found_by_key():
    store = ThresholdStore(index={"dims": 64, "embed": HashEmbeddings(64)})
    store.put(NS, "default", {"kind": "Profile", "content": {"name": "Alice", "language": None}})
    model = ScriptedChatModel(default=ai())
    manager = create_memory_store_manager(
        model, store=store, schemas=[Profile], default=Profile(), enable_inserts=False
    )
    store.batches.clear()
    manager.invoke({"messages": [("user", "unrelated words")]}, CFG)
    assert [op.key for op in store.ops(GetOp)] == ["default"]
    assert store.get(NS, "default").value["content"]["name"] == "Alice"
    assert "Alice" in model.calls[0].text


def test_saved_default_is_never_reset(store):
    store.put(NS, "default", {"kind": "Profile", "content": {"name": "Alice", "language": None}})
    model = ScriptedChatModel(default=ai())
    manager = create_memory_store_manager(
        model, store=store, schemas=[Profile], default=Profile(), enable_inserts=False
    )
    manager.invoke({"messages": [("user", "hello")]}, CFG)
    assert store.get(NS, "default").value["content"]["name"] == "Alice"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"default": "x", "default_factory": lambda c: "y"}, "not both"),
        ({"default": "x", "schemas": [Profile]}, "needs the Memory schema"),
        ({"default": {"unknown": 1}, "schemas": [Memory]}, "fits none"),
        ({"default": Memory(content="x"), "schemas": [Profile]}, "not one of"),
        ({"query_limit": 0}, "query_limit"),
        ({"phases": [{"instruction": "typo"}]}, "Unknown phase keys"),
    ],
)
def test_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_memory_store_manager(ScriptedChatModel(), **kwargs)


def test_no_store_is_a_clear_error():
    manager = create_memory_store_manager(ScriptedChatModel())
    with pytest.raises(ValueError, match="store"):
        manager.invoke({"messages": [("user", "hi")]}, CFG)


@pytest.mark.parametrize("use_async", [False, True])
async def test_phases_consolidate(store, use_async):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "likes tea"}})

    def consolidate(call):
        assert "I like tea" not in call.text  # include_messages defaults to False
        [new_id] = [
            line.split("id=")[1].split()[0]
            for line in call.text.splitlines()
            if "id=" in line and "also tea" in line
        ]
        return ai(("RemoveDoc", {"json_doc_id": new_id}))

    model = ScriptedChatModel([ai(("Memory", {"content": "also tea"})), consolidate])
    phases: list[MemoryPhase] = [{"instructions": "Merge duplicates."}]
    manager = create_memory_store_manager(model, store=store, phases=phases)
    puts = await run(manager, [("user", "I like tea")], use_async)
    assert puts == []
    assert [i.key for i in store.search(NS)] == ["k1"]
    assert "Merge duplicates." in model.calls[1].text
    assert "RemoveDoc" in model.calls[1].tool_names  # phases allow deletes by default


def test_phase_removes_a_stored_memory(store):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "likes tea"}})
    store.put(NS, "k2", {"kind": "Memory", "content": {"content": "likes tea!"}})
    model = ScriptedChatModel([ai(), ai(("RemoveDoc", {"json_doc_id": stable_id(NS, "k2")}))])
    manager = create_memory_store_manager(model, store=store, phases=[{"include_messages": True}])
    manager.invoke({"messages": [("user", "hello there")]}, CFG)
    assert "hello there" in model.calls[1].text
    assert [i.key for i in store.search(NS)] == ["k1"]


@pytest.mark.parametrize("use_async", [False, True])
async def test_query_model_writes_the_searches(store, use_async):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "likes tea"}})
    query_model = ScriptedChatModel(
        [ai(("search_memory", {"query": "tea", "limit": 99}), ("search_memory", {"query": "x"}))]
    )
    model = ScriptedChatModel(default=ai())
    manager = create_memory_store_manager(
        model, store=store, query_model=query_model, query_limit=4
    )
    await run(manager, [("user", "what do I drink?")], use_async)
    [call] = query_model.calls
    assert call.tool_names == ["search_memory"] and call.tool_choice == "any"
    searches = store.ops(SearchOp)
    assert [(s.query, s.limit) for s in searches] == [("tea", 4), ("x", 4)]
    assert "likes tea" in model.calls[0].text


def test_query_model_invalid_calls_fall_back_to_the_conversation(store):
    query_model = ScriptedChatModel([ai(("search_memory", {"limit": "many"}))])
    manager = create_memory_store_manager(
        ScriptedChatModel(default=ai()), store=store, query_model=query_model
    )
    manager.invoke({"messages": [("user", "tea?")]}, CFG)
    assert [s.query for s in store.ops(SearchOp)] == ["tea?"]


def test_shows_at_most_query_limit_memories(store):
    for i in range(20):
        store.put(NS, f"k{i}", {"kind": "Memory", "content": {"content": f"fact {i}"}})
    model = ScriptedChatModel(default=ai())
    create_memory_store_manager(model, store=store, query_limit=3).invoke(
        {"messages": [("user", "fact")]}, CFG
    )
    assert model.calls[0].text.count("kind=Memory") == 3


async def test_call_shortcut_and_namespace_template(store):
    model = ScriptedChatModel([ai(("Memory", {"content": "x"}))])
    manager = create_memory_store_manager(model, store=store, namespace=("m", "{org}"))
    assert isinstance(manager, MemoryStoreManager)
    assert isinstance(manager.namespace, NamespaceTemplate)
    puts = await manager([("user", "x")], config={"configurable": {"org": "acme"}})
    assert puts[0]["namespace"] == ("m", "acme")
    assert manager.get_namespace({"configurable": {"org": "acme"}}) == ("m", "acme")


def test_manager_inside_an_entrypoint_uses_its_store_and_config(store):
    from langgraph.func import entrypoint

    model = ScriptedChatModel([ai(("Memory", {"content": "likes jazz"}))])
    manager = create_memory_store_manager(model)

    @entrypoint(store=store)
    def app(messages: list):
        return manager.invoke({"messages": messages})

    puts = app.invoke([{"role": "user", "content": "I like jazz"}], CFG)
    assert puts[0]["namespace"] == NS
    assert store.search(NS)[0].value["content"] == {"content": "likes jazz"}


# --- store proxies ----------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True])
async def test_proxies(store, use_async):
    manager = create_memory_store_manager(ScriptedChatModel(), store=store, schemas=[Profile])

    async def do(name, *args, **kwargs):
        if use_async:
            return await getattr(manager, "a" + name)(*args, config=CFG, **kwargs)
        return getattr(manager, name)(*args, config=CFG, **kwargs)

    await do("put", "p", Profile(name="Alice"))
    assert store.get(NS, "p").value == {
        "kind": "Profile",
        "content": {"name": "Alice", "language": None},
    }
    await do("put", "raw", {"free": "form"})
    item = await do("get", "p")
    assert item.value == Profile(name="Alice")
    assert item.dict()["value"] == {"name": "Alice", "language": None}
    results = {i.key: i.value for i in await do("search", query="Alice")}
    assert results == {"p": Profile(name="Alice"), "raw": {"free": "form"}}
    assert await do("get", "default") is None
    await do("delete", "p")
    assert await do("get", "p") is None


def test_proxies_with_a_default(store):
    manager = create_memory_store_manager(
        ScriptedChatModel(), store=store, schemas=[Profile], default=Profile(language="en")
    )
    item = manager.get("default", config=CFG)
    assert item.key == "default" and item.value == Profile(language="en")
    [found] = manager.search(config=CFG)
    assert found.value == Profile(language="en")
    assert store.search(NS) == []  # unsaved


# --- memory searcher ------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True])
async def test_memory_searcher(store, use_async):
    store.put(NS, "tea", {"content": "likes green tea"})
    store.put(NS, "dog", {"content": "has a dog"})
    store.put(("memories", "bob"), "tea", {"content": "bob likes tea"})
    model = ScriptedChatModel(
        [ai(("search_memory", {"query": "tea"}), ("search_memory", {"query": "green tea"}))]
    )
    searcher = create_memory_searcher(model, store=store)
    payload = {"messages": [("user", "what should I drink?")]}
    found = await searcher.ainvoke(payload, CFG) if use_async else searcher.invoke(payload, CFG)
    [call] = model.calls
    assert call.tool_choice == "search_memory"
    keys = [(tuple(i.namespace), i.key) for i in found]
    assert len(keys) == len(set(keys))  # deduplicated
    assert set(keys) <= {(NS, "tea"), (NS, "dog")}
    assert keys[0] == (NS, "tea")
    scores = [i.score or 0 for i in found]
    assert scores == sorted(scores, reverse=True)
    assert len(store.ops(GetOp)) == 0 and len(store.batches) == 4  # 3 puts + one search batch


@pytest.mark.parametrize("use_async", [False, True])
async def test_exact_duplicates_are_written_once(store, use_async):
    store.put(NS, "k1", {"kind": "Memory", "content": {"content": "likes tea"}})
    model = ScriptedChatModel(
        [
            ai(
                ("Memory", {"content": "likes tea"}),  # duplicates a stored memory
                ("Memory", {"content": "has a cat"}),
                ("Memory", {"content": "has a cat"}),  # duplicates the previous insert
            )
        ]
    )
    manager = create_memory_store_manager(model, store=store)
    puts = await run(manager, [("user", "I like tea and have a cat")], use_async)
    assert [p["value"]["content"]["content"] for p in puts] == ["has a cat"]
    contents = sorted(i.value["content"]["content"] for i in store.search(NS))
    assert contents == ["has a cat", "likes tea"]


def test_invalid_values_of_a_known_kind_are_skipped(store):
    store.put(NS, "bad", {"kind": "Memory", "content": {"text": "no content field"}})
    model = ScriptedChatModel([ai(("Memory", {"content": "fresh"}))])
    create_memory_store_manager(model, store=store).invoke({"messages": [("user", "x")]}, CFG)
    assert "no content field" not in model.calls[0].text
    assert store.get(NS, "bad").value == {"kind": "Memory", "content": {"text": "no content field"}}


def test_nothing_to_do_makes_no_model_call(store):
    model = ScriptedChatModel()
    puts = create_memory_store_manager(model, store=store).invoke({"messages": []}, CFG)
    assert puts == [] and model.calls == []
    assert [op.query for op in store.ops(SearchOp)] == [None]  # still one search


# --- reading stored values ------------------------------------------------------------


class Triple(BaseModel):
    subject: str
    object: str


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"kind": "Memory", "content": {"content": "x"}}, Memory(content="x")),
        ({"content": "x"}, Memory(content="x")),  # manage tool, string content
        ({"content": {"subject": "a", "object": "b"}}, Triple(subject="a", object="b")),
        ({"subject": "a", "object": "b"}, Triple(subject="a", object="b")),  # bare dict
        ({"kind": "Triple", "content": {"subject": "a"}}, None),  # invalid content
        ({"kind": "Other", "content": {"content": "x"}}, None),  # unknown kind
        ({"content": {"subject": "a", "object": "b", "extra": 1}}, None),  # unknown key
        ({"content": 42}, None),
        ("not a dict", None),
        ({}, None),
    ],
)
def test_read_memory_shapes(value, expected):
    from langmem.knowledge._values import read_memory

    read = read_memory(value, [Memory, Triple])
    assert (read[1] if read else None) == expected
    if read:
        assert read[0] == type(expected).__name__


def test_tool_string_content_without_a_memory_schema():
    from langmem.knowledge._values import read_memory

    class Note(BaseModel):
        content: str

    assert read_memory({"content": "x"}, [Note]) == ("Note", Note(content="x"))
    assert read_memory({"content": "x"}, [Triple]) is None
