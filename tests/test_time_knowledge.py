"""Event time from callers and conversations (issue 30): the managers' reference time and
message timestamps reach the model; the store manager and the manage tool record when
facts held and supersede instead of overwriting when asked."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langmem import (
    create_manage_memory_tool,
    create_memory_manager,
    create_memory_store_manager,
    create_search_memory_tool,
)
from langmem.knowledge._time import message_time, reference_time
from langmem.knowledge.store_manager import stable_id
from langmem.memory import parse_when
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = pytest.mark.core

NS = ("memories",)


def patch(doc_id: str, text: str) -> tuple:
    return (
        "PatchDoc",
        {
            "json_doc_id": doc_id,
            "planned_edits": "she moved",
            "patches": [{"op": "replace", "path": "/content", "value": text}],
        },
    )


@pytest.fixture
def store(store_factory):
    return store_factory(index={"dims": 64, "embed": HashEmbeddings(64)})


def run(runnable, payload, use_async: bool):
    return asyncio.run(runnable.ainvoke(payload)) if use_async else runnable.invoke(payload)


@pytest.mark.parametrize("use_async", [False, True])
def test_the_reference_time_is_sent_to_the_model(use_async):
    model = ScriptedChatModel([ai(("Memory", {"content": "Alice flew to Oslo on 2023-05-07"}))])
    manager = create_memory_manager(model)
    payload = {
        "messages": [{"role": "user", "content": "I flew to Oslo yesterday"}],
        "reference_time": "2023-05-08T09:30:00+02:00",
    }
    run(manager, payload, use_async)
    prompt = model.calls[0].text
    assert "<reference_time>2023-05-08T07:30:00+00:00</reference_time>" in prompt
    assert "'yesterday'" in prompt and "absolute date" in prompt
    # Without one and without timestamps: no reference time, the prompt as before.
    plain = ScriptedChatModel([ai(("Memory", {"content": "x"}))])
    create_memory_manager(plain).invoke({"messages": [("user", "I flew to Oslo yesterday")]})
    assert "reference_time" not in plain.calls[0].text


def test_message_timestamps_are_shown_and_the_latest_is_the_reference():
    model = ScriptedChatModel([ai(("Memory", {"content": "x"}))])
    messages = [
        {"role": "user", "content": "I adopted a cat", "timestamp": "2023-05-08T13:56:00Z"},
        HumanMessage("It is called Miso", response_metadata={"created_at": "2023-05-08T14:01:00Z"}),
        AIMessage("Lovely!", additional_kwargs={"timestamp": 1683554520}),  # epoch seconds
    ]
    create_memory_manager(model).invoke({"messages": messages})
    prompt = model.calls[0].text
    assert "[2023-05-08T13:56:00+00:00] user: I adopted a cat" in prompt
    assert "[2023-05-08T14:01:00+00:00] user: It is called Miso" in prompt
    assert "<reference_time>2023-05-08T14:02:00+00:00</reference_time>" in prompt


def test_bad_reference_times_are_refused_before_any_call():
    model = ScriptedChatModel([])
    with pytest.raises(ValueError, match="reference_time must be an ISO 8601"):
        create_memory_manager(model).invoke({"messages": [("user", "hi")], "reference_time": "soon"})
    assert model.calls == []
    # A message's own unreadable timestamp is ignored, not fatal.
    assert message_time(HumanMessage("hi", additional_kwargs={"timestamp": "later"})) is None
    assert reference_time(None, [HumanMessage("hi")]) is None


@pytest.mark.parametrize("use_async", [False, True])
def test_store_manager_records_the_reference_time_as_event_time(store, use_async):
    model = ScriptedChatModel([ai(("Memory", {"content": "Alice lives in Paris"}))])
    manager = create_memory_store_manager(model, store=store, namespace=NS)
    payload = {"messages": [("user", "I live in Paris")], "reference_time": "2021-03-01"}
    [put] = run(manager, payload, use_async)
    assert "2021-03-01T00:00:00+00:00" in model.calls[0].text
    item = store.get(NS, put["key"])
    assert item.valid_from == parse_when("2021-03-01")
    assert item.value["kind"] == "Memory"


@pytest.mark.parametrize("use_async", [False, True])
def test_store_manager_supersedes_when_asked(store, use_async):
    store.put(NS, "home", {"kind": "Memory", "content": {"content": "Alice lives in Paris"}},
              valid_from="2019-02-01")
    sid = stable_id(NS, "home")
    model = ScriptedChatModel([ai(patch(sid, "Alice lives in Berlin"))])
    manager = create_memory_store_manager(model, store=store, namespace=NS, supersede=True)
    payload = {"messages": [("user", "I moved to Berlin")], "reference_time": "2021-06-15"}
    puts = run(manager, payload, use_async)
    assert len(puts) == 2
    old = store.get(NS, "home")  # kept, closed, linked
    new_key = old.value["superseded_by"]
    new = store.get(NS, new_key)
    assert old.value["content"] == {"content": "Alice lives in Paris"}
    assert (old.valid_from, old.valid_until) == (parse_when("2019-02-01"), parse_when("2021-06-15"))
    assert new.value["content"] == {"content": "Alice lives in Berlin"}
    assert new.value["supersedes"] == "home" and new.valid_from == parse_when("2021-06-15")
    assert [i.key for i in store.search(NS, query="where does Alice live")] == [new_key]
    assert [i.key for i in store.search(NS, query="Alice", as_of="2020-01-01")] == ["home"]
    assert [e.reason for e in store.history(NS, "home")][-1] == f"superseded by {new_key}"
    # The closed memory is out of the next run's sight; the new one is shown.
    follow = ScriptedChatModel([ai()])
    create_memory_store_manager(follow, store=store, namespace=NS, supersede=True).invoke(
        {"messages": [("user", "Alice lives in Berlin now")]}
    )
    assert stable_id(NS, new_key) in follow.calls[0].text
    assert "Paris" not in follow.calls[0].text


def test_store_manager_default_updates_in_place_and_history_keeps_both(store):
    store.put(NS, "home", {"kind": "Memory", "content": {"content": "Alice lives in Paris"}},
              valid_from="2019-02-01")
    model = ScriptedChatModel([ai(patch(stable_id(NS, "home"), "Alice lives in Berlin"))])
    manager = create_memory_store_manager(model, store=store, namespace=NS)
    [put] = manager.invoke({"messages": [("user", "I moved to Berlin")]})
    assert put["key"] == "home"
    item = store.get(NS, "home")
    assert item.value["content"] == {"content": "Alice lives in Berlin"}
    assert item.valid_from == parse_when("2019-02-01")  # no reference time: its own kept
    old, new = store.history(NS, "home")
    assert old.new_value["content"] == {"content": "Alice lives in Paris"}
    assert new.new_value["content"] == {"content": "Alice lives in Berlin"}


@pytest.mark.parametrize("use_async", [False, True])
def test_manage_tool_when_stores_the_event_time(store, use_async):
    tool = create_manage_memory_tool(NS, store=store)
    args = {"content": "Alice adopted a cat", "when": "2023-05-07"}
    result = run(tool, args, use_async)
    key = result.split()[-1]
    item = store.get(NS, key)
    assert item.valid_from == parse_when("2023-05-07")
    assert item.value == {"content": "Alice adopted a cat", "valid_from": "2023-05-07T00:00:00+00:00"}
    # A bad date is the model's to fix: an error tool message, nothing written.
    call = {"type": "tool_call", "id": "c1", "name": tool.name,
            "args": {"content": "Alice adopted a dog", "when": "last week"}}
    reply = tool.invoke(call)
    assert reply.status == "error" and "ISO 8601" in reply.content
    assert len(store.search(NS, limit=50)) == 1


def test_manage_tool_supersede_keeps_the_old_memory_closed(store):
    tool = create_manage_memory_tool(NS, store=store, supersede=True)
    key = tool.invoke({"content": "Alice works at Acme", "when": "2020-01-06"}).split()[-1]
    result = tool.invoke(
        {"action": "update", "id": key, "content": "Alice works at Globex", "when": "2023-09-01"}
    )
    new_key = result.split()[-1]
    assert result == f"updated memory {key}: superseded by new memory {new_key}"
    assert uuid.UUID(new_key)
    old, new = store.get(NS, key), store.get(NS, new_key)
    assert old.valid_until == parse_when("2023-09-01") and old.value["superseded_by"] == new_key
    assert new.valid_from == parse_when("2023-09-01") and new.value["supersedes"] == key
    assert [i.key for i in store.search(NS, query="where does Alice work")] == [new_key]
    search = create_search_memory_tool(NS, store=store)
    then = json.loads(search.invoke({"query": "where does Alice work", "as_of": "2021-01-01"}))
    assert [h["key"] for h in then] == [key]
    assert then[0]["valid_until"] == "2023-09-01T00:00:00+00:00"
    # An end before the old memory's start is refused.
    with pytest.raises(ValueError, match="must be after the start"):
        tool.invoke({"action": "update", "id": new_key, "content": "x", "when": "2022-01-01"})


def test_search_tool_as_of_on_a_langgraph_store_is_ignored_not_fatal():
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()
    store.put(NS, "k", {"content": "Alice drinks tea"})
    search = create_search_memory_tool(NS, store=store)
    hits = json.loads(search.invoke({"query": "tea", "as_of": "2020-01-01"}))
    assert [h["key"] for h in hits] == ["k"]


def test_a_sqlite_file_as_a_user_meets_it(tmp_path):
    """The manage tool with ``when`` on a real file, read back after reopening."""
    path = tmp_path / "m.sqlite"
    with SQLiteStore(path, index={"dims": 64, "embed": HashEmbeddings(64)}) as store:
        tool = create_manage_memory_tool(NS, store=store)
        key = tool.invoke({"content": "Alice ran a marathon", "when": "2022-10-09T08:00:00-04:00"})
    with SQLiteStore(path, index={"dims": 64, "embed": HashEmbeddings(64)}) as store:
        [hit] = store.search(NS, query="marathon", since="2022-10-01", until="2022-11-01")
        assert hit.key == key.split()[-1]
        assert hit.valid_from == parse_when("2022-10-09T12:00:00Z")


def test_superseding_a_default_written_by_the_same_run_updates_it_in_place(store):
    from pydantic import BaseModel

    class Profile(BaseModel):
        name: str = ""

    sid = stable_id(NS, "default")
    model = ScriptedChatModel([ai(("PatchDoc", {
        "json_doc_id": sid, "planned_edits": "name",
        "patches": [{"op": "replace", "path": "/name", "value": "Alice"}],
    }))])
    manager = create_memory_store_manager(
        model, store=store, namespace=NS, schemas=[Profile], default=Profile(),
        enable_inserts=False, supersede=True,
    )
    manager.invoke({"messages": [("user", "I'm Alice")], "reference_time": "2024-05-01"})
    item = store.get(NS, "default")
    assert item.value["content"] == {"name": "Alice"}
    assert item.valid_from == parse_when("2024-05-01") and item.valid_until is None


LOCOMO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "locomo" / "locomo_dev.json"


@pytest.mark.skipif(not LOCOMO.exists(), reason="the shared LOCOMO data is absent")
def test_locomo_session_dates_as_message_timestamps(store):
    """Two LOCOMO sessions, each turn stamped with its session's date: the model sees every
    turn's date and the latest as the reference time, which the memory records."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from temporal import session_time

    conv = json.loads(LOCOMO.read_text(encoding="utf-8"))[0]["conversation"]
    messages = []
    for n in (1, 2):
        when = session_time(conv[f"session_{n}_date_time"]).isoformat()
        for turn in conv[f"session_{n}"][:3]:
            messages.append({"role": "user", "content": f"{turn['speaker']}: {turn['text']}",
                             "timestamp": when})
    last = session_time(conv["session_2_date_time"])
    model = ScriptedChatModel([ai(("Memory", {"content": "They talked about their week"}))])
    [put] = create_memory_store_manager(model, store=store, namespace=NS).invoke(
        {"messages": messages}
    )
    prompt = model.calls[0].text
    first = session_time(conv["session_1_date_time"]).isoformat()
    assert f"[{first}] user: {conv['session_1'][0]['speaker']}:" in prompt
    assert f"<reference_time>{last.isoformat()}</reference_time>" in prompt
    assert store.get(NS, put["key"]).valid_from == last
