"""Near-duplicates named where they are written (issue 28): the manage tool's create,
``langmem add`` and the MCP ``add_memory`` name an existing memory of the same
namespace that says nearly the same, and write the new one all the same."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from langmem import create_manage_memory_tool
from langmem.cli import open_store
from langmem.store.near import SIMILAR, find_similar

FACT = "The boiler was serviced in March"
NEAR = "The boiler was serviced in March last year"  # hash cosine 0.86 with FACT
OTHER = "Alice plays tennis on Sundays"
CFG = {"configurable": {"user_id": "maya"}}


def filled(store):
    store.put(("memories", "maya"), "fact", {"content": FACT})
    store.put(("memories", "maya"), "other", {"content": OTHER})
    store.put(("memories", "maya", "sub"), "below", {"content": NEAR})  # below: never named
    store.put(("memories", "ravi"), "theirs", {"content": NEAR})  # another user's
    return store


def test_function_confined_to_the_exact_namespace():
    store = filled(open_store(":memory:", "hash"))
    found = find_similar(store, ("memories", "maya"), NEAR)
    assert [h.key for h in found] == ["fact"]
    assert find_similar(store, ("memories", "maya"), "Bob lives in Berlin") == []
    assert find_similar(store, ("memories", "maya"), FACT, exclude="fact") == []
    assert find_similar(store, ("memories", "nobody"), FACT) == []


def test_manage_tool_names_a_near_duplicate_and_still_creates():
    store = filled(open_store(":memory:", "hash"))
    tool = create_manage_memory_tool(("memories", "{user_id}"), store=store)
    reply = tool.invoke({"content": NEAR}, CFG)
    assert reply.startswith("created memory ")
    new_key = reply.split()[2].rstrip(";")
    assert f'similar existing memory fact: "{FACT}"' in reply
    assert "update it instead" in reply
    assert "theirs" not in reply and "below" not in reply and "other" not in reply
    assert store.get(("memories", "maya"), new_key).value == {"content": NEAR}  # written anyway
    unrelated = tool.invoke({"content": "Bob lives in Berlin"}, CFG)
    assert unrelated == f"created memory {unrelated.split()[2]}"  # LangMem's reply, exactly
    # another user's namespace: the near-duplicates there are theirs, never named here
    assert "similar" not in tool.invoke({"content": OTHER}, {"configurable": {"user_id": "ravi"}})


def test_manage_tool_on_a_store_without_vectors_names_nothing():
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()
    tool = create_manage_memory_tool(("memories", "{user_id}"), store=store)
    tool.invoke({"content": FACT}, CFG)
    assert "similar" not in tool.invoke({"content": FACT}, CFG)


def langmem(*args):
    return subprocess.run(
        [sys.executable, "-m", "langmem", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_add_notes_a_near_duplicate(tmp_path):
    db = ["--db", tmp_path / "m.sqlite", "--embed", "hash"]
    for ns, key, text in [
        ("memories/maya", "fact", FACT),
        ("memories/maya", "other", OTHER),
        ("memories/ravi", "theirs", NEAR),
    ]:
        assert langmem("add", ns, text, "--key", key, *db).returncode == 0
    run = langmem("add", "memories/maya", NEAR, *db)
    assert run.returncode == 0, run.stderr
    assert "Stored" in run.stdout and "similar existing memory fact" in run.stdout
    assert FACT in run.stdout and "theirs" not in run.stdout
    run = langmem("add", "memories/maya", NEAR + " again", "--json", *db)
    out = json.loads(run.stdout)
    assert "fact" in {s["id"] for s in out["similar"]}
    assert all(s["id"] != "theirs" for s in out["similar"])
    run = langmem("add", "memories/maya", "Bob lives in Berlin", "--json", *db)
    assert json.loads(run.stdout)["similar"] == []
    run = langmem("add", "memories/maya", "Carol is allergic to peanuts", *db)
    assert run.returncode == 0 and "similar" not in run.stdout
    # replacing a memory under its own key does not name that memory
    run = langmem("add", "memories/maya", FACT, "--key", "fact", "--json", *db)
    assert all(s["id"] != "fact" for s in json.loads(run.stdout)["similar"])


async def test_mcp_add_memory_gives_similar():
    pytest.importorskip("mcp")
    from mcp import Client

    from langmem.mcp import create_server

    store = filled(open_store(":memory:", "hash"))
    server = create_server(store, namespace=("memories", "maya"))
    async with Client(server) as client:
        result = await client.call_tool("add_memory", {"content": NEAR})
        assert not result.is_error
        out = result.structured_content
        assert out["content"] == NEAR
        assert out["similar"] == [{"id": "fact", "content": FACT}]
        result = await client.call_tool("add_memory", {"content": "Bob lives in Berlin"})
        assert not result.structured_content.get("similar")
    assert len(store.search(("memories", "maya"), limit=10)) == 5  # 2 + 1 below, 2 added


def test_threshold_on_the_local_embedder_separates_paraphrases(tmp_path):
    """The measured threshold (bench/near_duplicates.py) on a few of its cases."""
    pytest.importorskip("onnxruntime")
    try:
        store = open_store(tmp_path / "l.sqlite", "local")
    except Exception as exc:  # no local model on this machine
        pytest.skip(f"local embedder unavailable: {exc}")
    ns = ("memories", "maya")
    store.put(ns, "tea", {"content": "Alice likes green tea"})
    store.put(ns, "berlin", {"content": "Bob lives in Berlin"})
    assert [h.key for h in find_similar(store, ns, "Alice enjoys drinking green tea")] == ["tea"]
    assert [h.key for h in find_similar(store, ns, "Bob's home is in Berlin")] == ["berlin"]
    assert find_similar(store, ns, "Alice plays tennis on Sundays") == []
    assert find_similar(store, ns, "The project's API is written in Go") == []
    assert 0 < SIMILAR < 1
