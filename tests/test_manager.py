"""The stateless memory manager: requests sent, results returned, one flow for sync and async."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from pydantic import BaseModel

from langmem._effects import drive
from langmem.knowledge.manager import (
    ExtractedMemory,
    Memory,
    RemoveDoc,
    create_memory_manager,
    manager_flow,
    normalize_existing,
    normalize_schemas,
)
from langmem.testing import ScriptedChatModel, ai

pytestmark = pytest.mark.core

CONVO = [("user", "I switched from tea to coffee"), ("assistant", "Noted!")]


def patch(doc_id: str, *ops: dict) -> tuple[str, dict]:
    return ("PatchDoc", {"json_doc_id": doc_id, "planned_edits": "edit", "patches": list(ops)})


def replace(path: str, value) -> dict:
    return {"op": "replace", "path": path, "value": value}


class Profile(BaseModel):
    name: str
    age: int | None = None
    likes: list[str] = []


class Triple(BaseModel):
    subject: str
    predicate: str
    object: str


def is_uuid4(value: str) -> bool:
    return uuid.UUID(value).version == 4


# --- requests -----------------------------------------------------------------


def test_first_call_binds_the_schemas_without_tool_choice():
    model = ScriptedChatModel([ai(("Memory", {"content": "User drinks coffee"}))])
    result = create_memory_manager(model).invoke({"messages": CONVO})
    assert model.calls[0].tool_names == ["Memory"]
    assert model.calls[0].tool_choice is None
    assert [type(r) for r in result] == [ExtractedMemory]
    assert is_uuid4(result[0].id) and result[0].content == Memory(content="User drinks coffee")
    text = model.calls[0].text
    assert "user: I switched from tea to coffee" in text and "assistant: Noted!" in text


@pytest.mark.parametrize(
    ("flags", "tools", "choice"),
    [
        ({}, ["PatchDoc", "Memory"], "any"),
        ({"enable_deletes": True}, ["PatchDoc", "Memory", "RemoveDoc"], "any"),
        ({"enable_inserts": False}, ["PatchDoc"], "PatchDoc"),
        ({"enable_inserts": False, "enable_deletes": True}, ["PatchDoc", "RemoveDoc"], "any"),
        ({"enable_updates": False}, ["Memory"], "any"),
        (
            {"enable_updates": False, "enable_inserts": False, "enable_deletes": True},
            ["RemoveDoc"],
            "any",
        ),
    ],
)
def test_tools_and_tool_choice_with_existing(flags, tools, choice):
    model = ScriptedChatModel([ai()])
    create_memory_manager(model, **flags).invoke(
        {"messages": CONVO, "existing": ["User drinks tea"]}
    )
    assert model.calls[0].tool_names == tools
    assert model.calls[0].tool_choice == choice


def test_flags_are_ignored_without_existing_memories():
    model = ScriptedChatModel([ai()])
    manager = create_memory_manager(model, enable_inserts=False, enable_updates=False)
    assert manager.invoke({"messages": CONVO}) == []
    assert model.calls[0].tool_names == ["Memory"]


def test_all_flags_off_with_existing_raises_before_calling_the_model():
    model = ScriptedChatModel()
    manager = create_memory_manager(
        model, enable_inserts=False, enable_updates=False, enable_deletes=False
    )
    with pytest.raises(ValueError, match="all False"):
        manager.invoke({"messages": CONVO, "existing": ["x"]})
    assert model.calls == []


def test_prompt_shows_existing_ids_kinds_and_json_and_tools_list_ids():
    model = ScriptedChatModel([ai()])
    existing = [("m1", Memory(content="User drinks tea")), ("p1", "Profile", {"name": "Ann"})]
    create_memory_manager(model, schemas=[Memory, Profile], enable_deletes=True).invoke(
        {"messages": CONVO, "existing": existing, "max_steps": None}
    )
    text = model.calls[0].text
    assert 'id=m1 kind=Memory {"content": "User drinks tea"}' in text
    assert 'id=p1 kind=Profile {"name": "Ann"}' in text
    remove = next(t for t in model.calls[0].tools if t["function"]["name"] == "RemoveDoc")
    assert "m1, p1" in remove["function"]["parameters"]["properties"]["json_doc_id"]["description"]


def test_instructions_go_into_the_system_message():
    model = ScriptedChatModel([ai()])
    create_memory_manager(model, instructions="Only track pets.").invoke({"messages": CONVO})
    assert model.calls[0].messages[0].type == "system"
    assert model.calls[0].messages[0].content.startswith("Only track pets.")


# --- results ------------------------------------------------------------------


def test_results_this_run_in_call_order_then_untouched_in_input_order():
    existing = [
        ("a", Memory(content="A")),
        ("b", Memory(content="B")),
        ("c", Memory(content="C")),
    ]
    model = ScriptedChatModel(
        [
            ai(
                patch("c", replace("/content", "C2")),
                ("Memory", {"content": "new"}),
                ("RemoveDoc", {"json_doc_id": "a"}),
            )
        ]
    )
    manager = create_memory_manager(model, enable_deletes=True)
    result = manager.invoke({"messages": CONVO, "existing": existing})
    assert [r.id for r in result][0] == "c"
    assert result[0].content == Memory(content="C2")
    assert is_uuid4(result[1].id) and result[1].content == Memory(content="new")
    assert result[2] == ExtractedMemory("a", RemoveDoc(json_doc_id="a"))
    assert result[3] == ExtractedMemory("b", Memory(content="B"))
    assert result[3].content is existing[1][1]
    assert len(result) == 4


def test_patch_returns_full_object_revalidated_under_same_id():
    existing = [("p", Profile(name="Ann", likes=["tea"]))]
    model = ScriptedChatModel(
        [
            ai(
                patch(
                    "p",
                    {"op": "add", "path": "/likes/-", "value": "coffee"},
                    replace("/age", 31),
                    {"op": "remove", "path": "/likes/0"},
                )
            )
        ]
    )
    result = create_memory_manager(model, schemas=[Profile]).invoke(
        {"messages": CONVO, "existing": existing}
    )
    assert result == [ExtractedMemory("p", Profile(name="Ann", age=31, likes=["coffee"]))]


def test_dict_values_patched_by_kind_and_untouched_dicts_returned_as_given():
    kept = {"subject": "Bob", "predicate": "likes", "object": "jazz"}
    existing = [
        ("t1", "Triple", {"subject": "Ann", "predicate": "lives_in", "object": "Oslo"}),
        ("t2", "Triple", kept),
        ("u", None, {"content": "untyped"}),
    ]
    model = ScriptedChatModel(
        [ai(patch("t1", replace("/object", "Rome")), patch("u", replace("/content", "typed")))]
    )
    result = create_memory_manager(model, schemas=[Memory, Triple]).invoke(
        {"messages": CONVO, "existing": existing}
    )
    assert result[0] == ExtractedMemory(
        "t1", Triple(subject="Ann", predicate="lives_in", object="Rome")
    )
    assert result[1] == ExtractedMemory("u", Memory(content="typed"))  # first schema that fits
    assert result[2].id == "t2" and result[2].content is kept


def test_existing_forms_are_normalised():
    prev = ExtractedMemory("e", Memory(content="E"))
    out = normalize_existing(
        [
            "plain text",
            ("a", Memory(content="A")),
            prev,
            ("d", {"content": "D"}),
            ("k", "Memory", {"content": "K"}),
            ("r", RemoveDoc(json_doc_id="r")),
        ],
        [Memory],
    )
    assert is_uuid4(out[0][0]) and out[0][1:] == ("Memory", Memory(content="plain text"))
    assert out[1:] == [
        ("a", "Memory", Memory(content="A")),
        ("e", "Memory", Memory(content="E")),
        ("d", None, {"content": "D"}),
        ("k", "Memory", {"content": "K"}),
    ]
    with pytest.raises(TypeError, match="existing items"):
        normalize_existing([42], [Memory])


def test_json_schema_dicts_become_models_named_by_title():
    schema = {
        "title": "UserPrefs",
        "description": "What the user prefers.",
        "type": "object",
        "properties": {
            "theme": {"type": "string", "enum": ["dark", "light"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
        "required": ["theme"],
    }
    (model_cls,) = normalize_schemas([schema])
    assert model_cls.__name__ == "UserPrefs"
    assert model_cls.model_validate({"theme": "light"}).tags is None
    with pytest.raises(ValueError):
        model_cls.model_validate({"theme": "blue"})
    model = ScriptedChatModel([ai(("UserPrefs", {"theme": "dark", "address": {"city": "Oslo"}}))])
    result = create_memory_manager(model, schemas=[schema, Memory]).invoke({"messages": CONVO})
    assert model.calls[0].tool_names == ["UserPrefs", "Memory"]
    assert model.calls[0].tools[0]["function"]["description"] == "What the user prefers."
    value = result[0].content
    assert (
        type(value).__name__ == "UserPrefs"
        and value.theme == "dark"
        and value.address.city == "Oslo"
    )
    with pytest.raises(ValueError, match="title"):
        normalize_schemas([{"type": "object"}])
    with pytest.raises(ValueError, match="reserved"):
        normalize_schemas([{"title": "Done", "type": "object"}])


# --- profile pattern ------------------------------------------------------------


def test_profile_pattern_keeps_one_document_and_only_patches_it():
    model = ScriptedChatModel([ai(("Profile", {"name": "Ann"}))])
    manager = create_memory_manager(model, schemas=[Profile], enable_inserts=False)
    first = manager.invoke({"messages": [("user", "I'm Ann")]})
    assert len(first) == 1
    pid = first[0].id
    model.add(lambda call: ai(patch(pid, replace("/age", 30))))
    second = manager.invoke({"messages": [("user", "I'm 30")], "existing": first})
    assert model.calls[1].tool_names == ["PatchDoc"] and model.calls[1].tool_choice == "PatchDoc"
    assert second == [ExtractedMemory(pid, Profile(name="Ann", age=30))]
    # An insert attempt while inserts are off is rejected, the profile stays single.
    model.add(ai(("Profile", {"name": "Other"})), ai(), ai())
    third = manager.invoke({"messages": [("user", "hi")], "existing": second})
    assert third == second
    assert manager.rejected[-1].name == "Profile"


def test_profile_pattern_allows_one_document_per_schema_on_first_call():
    class Prefs(BaseModel):
        theme: str

    model = ScriptedChatModel(
        [
            ai(
                ("Profile", {"name": "Ann"}),
                ("Prefs", {"theme": "dark"}),
                ("Profile", {"name": "B"}),
            ),
            ai(),
        ]
    )
    manager = create_memory_manager(model, schemas=[Profile, Prefs], enable_inserts=False)
    result = manager.invoke({"messages": CONVO})
    assert [r.content for r in result] == [Profile(name="Ann"), Prefs(theme="dark")]
    assert "already exists" in manager.rejected[0].error


# --- multi-step -------------------------------------------------------------------


def test_multi_step_adds_done_matches_tool_replies_and_overwrites_per_id():
    existing = [("a", "Memory", {"content": "A"}), ("b", "Memory", {"content": "B"})]

    def step2(call):
        ai_msg = call.messages[-3]
        assert isinstance(ai_msg, AIMessage)
        replies = [m for m in call.messages if isinstance(m, ToolMessage)]
        assert [m.tool_call_id for m in replies] == [c["id"] for c in ai_msg.tool_calls]
        assert "Updated memory a" in replies[0].content and "Inserted Memory" in replies[1].content
        assert '"content": "A2"' in call.text  # the current memories are shown again
        return ai(patch("a", replace("/content", "A3")), ("RemoveDoc", {"json_doc_id": "b"}))

    model = ScriptedChatModel(
        [
            ai(patch("a", replace("/content", "A2")), ("Memory", {"content": "N"})),
            step2,
            ai(("Done", {})),
        ]
    )
    manager = create_memory_manager(model, enable_deletes=True)
    result = manager.invoke({"messages": CONVO, "existing": existing, "max_steps": 5})
    assert len(model.calls) == 3
    assert "Done" not in model.calls[0].tool_names
    assert model.calls[1].tool_names == ["PatchDoc", "Memory", "RemoveDoc", "Done"]
    assert model.calls[1].tool_choice == "any"
    assert result[0] == ExtractedMemory("a", Memory(content="A3"))
    assert result[1].content == Memory(content="N")
    assert result[2] == ExtractedMemory("b", RemoveDoc(json_doc_id="b"))
    assert len(result) == 3


def test_multi_step_stops_at_max_steps_and_on_a_reply_without_calls():
    model = ScriptedChatModel(default=ai(("Memory", {"content": "again"})))
    result = create_memory_manager(model).invoke({"messages": CONVO, "max_steps": 3})
    assert len(model.calls) == 3 and len(result) == 3
    model = ScriptedChatModel([ai(("Memory", {"content": "x"})), ai()])
    create_memory_manager(model).invoke({"messages": CONVO, "max_steps": 4})
    assert len(model.calls) == 2


def test_removing_a_same_run_insert_drops_it_without_a_marker():
    def step2(call):
        new_id = next(m for m in call.messages if isinstance(m, ToolMessage)).content.split()[-1]
        return ai(("RemoveDoc", {"json_doc_id": new_id.rstrip(".")}))

    model = ScriptedChatModel([ai(("Memory", {"content": "oops"})), step2, ai(("Done", {}))])
    manager = create_memory_manager(model, enable_deletes=True)
    assert manager.invoke({"messages": CONVO, "max_steps": 3}) == []
    assert list(manager.rejected) == []


# --- untrusted model ----------------------------------------------------------------


BAD_CALLS = [
    (("Nope", {"content": "x"}), "unknown or unavailable tool"),
    (("Memory", "{not json"), "not valid JSON"),
    (("Memory", {"content": 5}), "content"),
    (patch("ghost", replace("/content", "x")), "no memory has id 'ghost'"),
    (patch("a", replace("/missing/deep", "x")), "cannot be applied"),
    (patch("a", {"op": "remove", "path": "/content"}), "invalid"),
    (patch("a", {"op": "replace", "path": "/content"}), "needs a 'value'"),
    (patch("a", {"op": "move", "from": "/a", "path": "/content"}), "op"),
    (("RemoveDoc", {"json_doc_id": "a"}), "unknown or unavailable tool"),  # deletes off
]


@pytest.mark.parametrize(("bad", "error"), BAD_CALLS)
def test_bad_calls_are_never_applied_and_repaired_at_most_twice(bad, error, caplog):
    existing = [("a", Memory(content="A"))]
    model = ScriptedChatModel(default=ai(bad))
    manager = create_memory_manager(model)
    with caplog.at_level(logging.WARNING, logger="langmem"):
        result = manager.invoke({"messages": CONVO, "existing": existing})
    assert result == [ExtractedMemory("a", Memory(content="A"))]
    assert len(model.calls) == 3  # the call + 2 repairs
    records = list(manager.rejected)
    assert [r.attempt for r in records] == [0, 1, 2]
    assert [r.repair_requested for r in records] == [True, True, False]
    assert all(error in r.error for r in records)
    # the model is shown its error as a ToolMessage answering its call
    last = model.calls[1].messages
    tool_msg = next(m for m in last if isinstance(m, ToolMessage))
    assert tool_msg.tool_call_id == records[0].call_id and error in tool_msg.content
    assert tool_msg.status == "error"
    assert len([r for r in caplog.records if "rejected tool call" in r.getMessage()]) == 3


def test_a_repair_reply_is_applied_and_good_calls_are_kept():
    model = ScriptedChatModel(
        [
            ai(("Memory", {"content": "good"}), ("Memory", {"text": "bad"})),
            ai(("Memory", {"content": "fixed"})),
        ]
    )
    manager = create_memory_manager(model)
    result = manager.invoke({"messages": CONVO})
    assert [r.content.content for r in result] == ["good", "fixed"]
    assert len(model.calls) == 2 and model.calls[1].tool_names == ["Memory"]
    ok, err = [m for m in model.calls[1].messages if isinstance(m, ToolMessage)]
    assert ok.status == "success" and err.status == "error"
    assert [r.repair_requested for r in manager.rejected] == [True]
    # the repair call only appends to the first call's prompt (prompt-cache friendly)
    assert model.calls[1].messages[:2] == model.calls[0].messages


def test_patch_leaving_the_document_invalid_keeps_the_original():
    existing = [("p", "Profile", {"name": "Ann", "age": 3})]
    model = ScriptedChatModel([ai(patch("p", replace("/age", "old"))), ai(), ai()])
    result = create_memory_manager(model, schemas=[Profile]).invoke(
        {"messages": CONVO, "existing": existing}
    )
    assert result == [ExtractedMemory("p", {"name": "Ann", "age": 3})]


# --- one flow, several shells ---------------------------------------------------


def script() -> list:
    return [ai(("Memory", {"content": "User drinks coffee"}))]


def id_of(call, content: str) -> str:
    """The id the prompt shows for the memory with this content."""
    return re.search(rf"id=(\S+) kind=\S+ {{\"content\": \"{content}\"}}", call.text)[1]


def scenario() -> list:
    """Multi-step with a repair: exercises every branch of the flow."""
    return [
        ai(("Memory", {"content": "one"}), ("Memory", {"bad": 1})),
        ai(("Memory", {"content": "two"})),
        lambda call: ai(patch(id_of(call, "one"), replace("/content", "1"))),
        ai(("Done", {})),
    ]


async def test_sync_and_async_send_the_same_requests_and_return_the_same_results():
    sync_model, async_model = ScriptedChatModel(scenario()), ScriptedChatModel(scenario())
    state = {"messages": CONVO, "existing": [("x", Memory(content="X"))], "max_steps": 3}
    sync = create_memory_manager(sync_model).invoke(state)
    asynced = await create_memory_manager(async_model).ainvoke(state)
    assert [r.content for r in sync] == [r.content for r in asynced]
    assert [r.content for r in sync] == [
        Memory(content="1"),
        Memory(content="two"),
        Memory(content="X"),
    ]
    assert len(sync_model.calls) == len(async_model.calls) == 4
    for a, b in zip(sync_model.calls, async_model.calls):
        assert (a.tool_names, a.tool_choice, len(a.messages)) == (
            b.tool_names,
            b.tool_choice,
            len(b.messages),
        )
        assert [m.type for m in a.messages] == [m.type for m in b.messages]


async def test_invoke_ainvoke_call_batch_abatch_agree():
    def run(kind):
        model = ScriptedChatModel(default=script()[0])
        return model, create_memory_manager(model)

    model, manager = run("sync")
    sync = manager.invoke({"messages": CONVO})
    model2, manager2 = run("async")
    asynced = await manager2.ainvoke({"messages": CONVO})
    called = await manager2(CONVO)
    batched = manager.batch([{"messages": CONVO}, {"messages": CONVO}])
    abatched = await manager2.abatch([{"messages": CONVO}])
    contents = lambda rs: [r.content for r in rs]  # noqa: E731
    for other in (asynced, called, *batched, *abatched):
        assert contents(other) == contents(sync)
    assert model.calls[0].messages == model2.calls[0].messages


def test_manager_flow_is_usable_with_yield_from():
    model = ScriptedChatModel(script())

    def outer():
        result = yield from manager_flow(
            model,
            [],
            [],
            schemas=[Memory],
            instructions="consolidate",
            enable_inserts=True,
            enable_updates=True,
            enable_deletes=False,
        )
        return len(result)

    assert drive(outer()) == 1
    assert "no new conversation" in model.calls[0].text


def test_rejected_records_are_bounded_and_collected_across_batch(monkeypatch):
    import langmem.knowledge.manager as manager_module

    monkeypatch.setattr(manager_module, "REJECTED_KEPT", 4)
    model = ScriptedChatModel(default=ai(("Nope", {})))
    manager = create_memory_manager(model)
    results = manager.batch([{"messages": CONVO}] * 3)
    assert results == [[], [], []]  # nothing invalid returned, nothing raised mid-batch
    assert len(model.calls) == 9  # 3 runs x (call + 2 repairs)
    assert manager.rejected.maxlen == 4 and len(manager.rejected) == 4
    assert {r.name for r in manager.rejected} == {"Nope"}


def test_tool_calls_without_ids_are_handled():
    reply = AIMessage(
        content="",
        tool_calls=[
            {"name": "Memory", "args": {"content": "ok"}, "id": None, "type": "tool_call"},
            {"name": "Memory", "args": {"x": 1}, "id": None, "type": "tool_call"},
        ],
    )
    model = ScriptedChatModel([reply], default=ai())
    result = create_memory_manager(model).invoke({"messages": CONVO})
    assert [r.content for r in result] == [Memory(content="ok")]
    assert manager_rejections(model) == 1


def manager_rejections(model) -> int:
    return sum(isinstance(m, ToolMessage) and m.status == "error" for m in model.calls[-1].messages)


def test_model_string_is_checked_at_construction(monkeypatch):
    from langmem.errors import ConfigurationError

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="anthropic"):
        create_memory_manager("anthropic:claude-3-5-sonnet-latest")


def test_public_names_resolve_from_the_contract_paths():
    import langmem
    from langmem.knowledge import extraction

    assert langmem.create_memory_manager is create_memory_manager
    assert extraction.RemoveDoc is RemoveDoc and extraction.ExtractedMemory is ExtractedMemory
    assert extraction.MemoryManager.__name__ == "MemoryManager"
    assert RemoveDoc.__name__ == "RemoveDoc" and Memory.model_fields.keys() == {"content"}


@pytest.mark.parametrize(
    ("patches", "reason"),
    [([], "no patches"), ([{"op": "add", "path": "/undeclared", "value": 1}], "as it was")],
)
def test_a_patch_that_changes_nothing_is_reported_as_no_change(patches, reason):
    existing = [("m1", "Memory", {"content": "likes tea"})]
    call = patch("m1", *patches)
    model = ScriptedChatModel([ai(call), ai(content="ok")])
    result = create_memory_manager(model).invoke(
        {"messages": CONVO, "existing": existing, "max_steps": 2}
    )
    assert [(r.id, r.content) for r in result] == [("m1", {"content": "likes tea"})]
    [reply] = [m for m in model.calls[1].messages if isinstance(m, ToolMessage)]
    assert reply.content.startswith("No change to memory m1") and reason in reply.content
    assert "updated" not in reply.content.lower()
