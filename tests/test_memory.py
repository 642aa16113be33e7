"""One definition of a memory: every shape we and LangMem write reads, indexes and updates alike."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from langmem import create_manage_memory_tool
from langmem.knowledge._values import read_memory, stored_value
from langmem.memory import check_text, memory_text, memory_value, with_text
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core


class UserProfile(BaseModel):
    name: str
    hobbies: list[str] = []
    age: int | None = None


SHAPES = {  # value -> its text
    "manage tool": ({"content": "Alice prefers dark mode"}, "Alice prefers dark mode"),
    "store manager": (
        {"kind": "Memory", "content": {"content": "Alice prefers dark mode"}},
        "Alice prefers dark mode",
    ),
    "user schema": (
        stored_value(UserProfile(name="Alice", hobbies=["bees", "chess"], age=30)),
        "name: Alice\nhobbies: bees, chess",
    ),
    "manage tool with a schema": ({"content": {"name": "Bob"}}, "name: Bob"),
    "turn": ({"role": "Caroline", "content": "I adopted a dog"}, "I adopted a dog"),
    "document": ({"kind": "turn", "text": "[May] Maya: hi"}, "[May] Maya: hi"),
    "bare fields": ({"title": "Trip", "where": {"city": "Lisbon"}}, "title: Trip\nwhere: city: Lisbon"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_memory_text_reads_every_shape(shape):
    value, text = SHAPES[shape]
    assert memory_text(value) == text


def test_a_value_without_text_is_its_json():
    assert memory_text({"n": 3, "ok": True}) == '{"n": 3, "ok": true}'


def test_memory_value_is_the_manage_tools_shape_and_checks_its_text():
    assert memory_value("  Alice keeps bees \n") == {"content": "Alice keeps bees"}
    assert memory_value("x", 0.5) == {"content": "x", "importance": 0.5}
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(ValueError, match="empty or blank"):
            memory_value(blank)
    with pytest.raises(ValueError, match="lone surrogate"):
        check_text("bad \ud800")
    with pytest.raises(ValueError, match="importance"):
        memory_value("x", 1.5)
    # The store manager reads it as a Memory, like the manage tool's own values.
    class Memory(BaseModel):
        content: str

    kind, memory = read_memory(memory_value("Alice keeps bees"), [Memory])
    assert (kind, memory.content) == ("Memory", "Alice keeps bees")


def test_with_text_keeps_each_shape_and_its_other_fields():
    assert with_text({"content": "old", "importance": 0.3}, "new") == {
        "content": "new",
        "importance": 0.3,
    }
    assert with_text({"kind": "Memory", "content": {"content": "old"}}, "new") == {
        "kind": "Memory",
        "content": {"content": "new"},
    }
    assert with_text({"kind": "turn", "text": "old", "date": "May"}, "new") == {
        "kind": "turn",
        "text": "new",
        "date": "May",
    }
    assert with_text(stored_value(UserProfile(name="A")), "Alice is 30") == {"content": "Alice is 30"}
    with pytest.raises(ValueError):
        with_text({"content": "old"}, " ")


def test_a_default_store_indexes_every_shape_by_its_text(tmp_path):
    """No ``fields``: each value is keyword-indexed and embedded by its memory text, so
    values from the tools, the store manager and user schemas all get scores."""
    store = SQLiteStore(tmp_path / "m.sqlite", index={"dims": 64, "embed": HashEmbeddings(64)})
    manage = create_manage_memory_tool(namespace=("users", "alice"), store=store)
    manage.invoke({"content": "Alice bakes sourdough bread on Sundays"})
    for name, (value, _) in SHAPES.items():
        store.put(("users", "alice"), name, value)
    for query, expected in [
        ("sourdough bread", "Alice bakes sourdough bread on Sundays"),
        ("chess", "name: Alice\nhobbies: bees, chess"),
        ("Lisbon", "title: Trip\nwhere: city: Lisbon"),
    ]:
        for mode in ("hybrid", "keyword", "vector"):
            with SQLiteStore(
                tmp_path / "m.sqlite", index={"dims": 64, "embed": HashEmbeddings(64)}, search_mode=mode
            ) as reader:
                hits = reader.search(("users", "alice"), query=query, limit=3)
            assert all(hit.score is not None for hit in hits), (mode, query)
            assert memory_text(hits[0].value) == expected, (mode, query)
    store.close()
