"""The MCP server, driven by the MCP SDK's own client: over stdio and streamable HTTP
(``langmem mcp`` as a subprocess) and in process (for the model-backed tool)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta

import pytest

from _helpers import stop_server

pytest.importorskip("mcp")

from langgraph.store.memory import InMemoryStore  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402

from langmem.cli import open_store  # noqa: E402
from langmem.mcp import MAX_CONTENT, create_server, resolve_namespace  # noqa: E402
from langmem.memory import memory_value  # noqa: E402
from langmem.testing import ScriptedChatModel, ai  # noqa: E402

TOOLS = {"add_memory", "search_memories", "update_memory", "delete_memory", "list_memories"}
# What a client may assume of each tool (MCP ToolAnnotations); None: not stated.
HINTS = {  # (readOnly, destructive, idempotent)
    "add_memory": (False, False, None),
    "search_memories": (True, None, None),
    "update_memory": (False, False, True),
    "delete_memory": (False, True, True),
    "list_memories": (True, None, None),
    "extract_memories": (False, False, None),
}
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def server_args(db, user, *extra):
    return ["-m", "langmem", "mcp", "--db", str(db), "--embed", "hash", "--user", user, *extra]


def stdio(db, user):
    params = StdioServerParameters(command=sys.executable, args=server_args(db, user), env=ENV)
    return Client(params, read_timeout_seconds=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def http_server(db, user):
    """``langmem mcp --http`` on a free loopback port; stopped by its pid."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, *server_args(db, user, "--http", "--port", str(port))],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "the HTTP server did not start"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_server(proc)


def data(result):
    """The structured result of a successful call (lists come wrapped in ``result``)."""
    assert not result.is_error, result.content
    found = result.structured_content
    return found["result"] if set(found) == {"result"} else found


def error_text(result) -> str:
    assert result.is_error
    return " ".join(c.text for c in result.content)


def utc_time(text: str) -> datetime:
    """``text`` parsed as an ISO 8601 time, which must be in UTC."""
    when = datetime.fromisoformat(text)
    assert when.utcoffset() == timedelta(0), text
    return when


def check_listing(tools) -> None:
    """One-paragraph descriptions, described arguments, and the annotations in ``HINTS``."""
    for tool in tools:
        assert len(tool.description) > 30 and "\n " not in tool.description, tool.description
        for name, spec in tool.input_schema.get("properties", {}).items():
            assert spec.get("description"), (tool.name, name)
        hints = tool.annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == HINTS[
            tool.name
        ]


async def exercise(client) -> None:
    """The full tool round: list, add, search, update, delete, and errors that leave it working."""
    listing = (await client.list_tools()).tools
    tools = {t.name: t for t in listing}
    assert set(tools) == TOOLS  # no model configured: no extract_memories
    check_listing(listing)
    assert tools["add_memory"].input_schema["properties"]["content"]["maxLength"] == MAX_CONTENT

    tea = data(await client.call_tool("add_memory", {"content": " Alice drinks green tea\n"}))
    uuid.UUID(tea["id"])
    assert tea["content"] == "Alice drinks green tea"
    added_at = utc_time(tea["updated_at"])
    data(await client.call_tool("add_memory", {"content": "Alice works as a nurse", "importance": 0.9}))
    hits = data(await client.call_tool("search_memories", {"query": "what tea does alice drink"}))
    assert hits[0]["id"] == tea["id"] and hits[0]["content"] == "Alice drinks green tea"
    assert isinstance(hits[0]["score"], float)
    assert utc_time(hits[0]["updated_at"]) == added_at

    updated = data(
        await client.call_tool("update_memory", {"id": tea["id"], "content": "Alice drinks black tea"})
    )
    assert (updated["id"], updated["content"]) == (tea["id"], "Alice drinks black tea")
    assert utc_time(updated["updated_at"]) >= added_at
    listed = data(await client.call_tool("list_memories", {}))
    assert [m["content"] for m in listed] == ["Alice drinks black tea", "Alice works as a nurse"]
    assert listed[0]["updated_at"] == updated["updated_at"]

    # Malformed calls: each an error naming the argument and what it allows, without
    # pydantic's report or links; nothing changes and the server keeps serving.
    blank = "content: a memory's text must not be empty or blank"
    bad_calls = [
        ("add_memory", {}, "content: required"),
        ("add_memory", {"content": ""}, "content: must be at least 1 character"),
        ("add_memory", {"content": "   "}, blank),
        ("add_memory", {"content": "x" * (MAX_CONTENT + 1)}, f"at most {MAX_CONTENT} characters"),
        ("add_memory", {"content": "ok", "importance": 7}, "importance: must be at most 1"),
        ("add_memory", {"content": "ok", "importance": "high"}, "importance: must be a number"),
        ("search_memories", {"query": "tea", "limit": 0}, "limit: must be at least 1"),
        ("search_memories", {"query": "tea", "limit": "many"}, "limit: must be a whole number"),
        ("search_memories", {"query": "tea", "limit": 10**12}, "limit: must be at most 50"),
        ("update_memory", {"id": tea["id"], "content": " \t\n"}, blank),
        ("update_memory", {"id": "not-an-id", "content": "x"}, "not a memory id"),
        ("delete_memory", {"id": str(uuid.uuid4())}, "No memory with id"),
        ("list_memories", {"offset": -1}, "offset: must be at least 0"),
        ("no_such_tool", {}, "no_such_tool"),
    ]
    for name, arguments, message in bad_calls:
        text = error_text(await client.call_tool(name, arguments))
        assert message in text, (name, arguments, text)
        assert "http" not in text and "pydantic" not in text and "\n" not in text, text
        assert data(await client.call_tool("list_memories", {"limit": 1}))  # still alive
    assert data(await client.call_tool("list_memories", {})) == listed

    assert data(await client.call_tool("delete_memory", {"id": tea["id"]})) == {
        "id": tea["id"],
        "deleted": True,
    }
    left = data(await client.call_tool("list_memories", {}))
    assert [m["content"] for m in left] == ["Alice works as a nurse"]
    assert "No memory" in error_text(
        await client.call_tool("update_memory", {"id": tea["id"], "content": "back"})
    )


async def test_stdio_server_tools(tmp_path):
    async with stdio(tmp_path / "m.sqlite", "alice") as client:
        await exercise(client)


async def test_streamable_http_server_tools(tmp_path):
    with http_server(tmp_path / "m.sqlite", "alice") as url:
        async with Client(url, read_timeout_seconds=60) as client:
            await exercise(client)


async def test_values_have_the_shape_langmem_tools_write(tmp_path):
    """add_memory stores what ``memory_value`` makes; update_memory keeps other shapes."""
    db, ns = tmp_path / "m.sqlite", ("memories", "alice")
    managed = str(uuid.uuid4())  # a memory as the store manager writes it
    with open_store(db, "hash") as store:
        store.put(ns, managed, {"kind": "Memory", "content": {"content": "Alice lives in Porto"}})
    async with stdio(db, "alice") as client:
        tea = data(
            await client.call_tool(
                "add_memory", {"content": "Alice drinks tea ", "importance": 0.5}
            )
        )
        moved = data(
            await client.call_tool(
                "update_memory", {"id": managed, "content": "Alice lives in Lisbon"}
            )
        )
        assert moved["content"] == "Alice lives in Lisbon"
        listed = data(await client.call_tool("list_memories", {}))
        assert {m["id"]: m["content"] for m in listed} == {
            tea["id"]: "Alice drinks tea",
            managed: "Alice lives in Lisbon",
        }
    with open_store(db, "hash") as store:
        assert store.get(ns, tea["id"]).value == memory_value("Alice drinks tea", 0.5)
        assert store.get(ns, managed).value == {
            "kind": "Memory",
            "content": {"content": "Alice lives in Lisbon"},
        }
        assert store.get(ns, managed).updated_at == utc_time(moved["updated_at"])


async def test_two_users_on_one_file_are_isolated(tmp_path):
    db = tmp_path / "shared.sqlite"
    with http_server(db, "bob") as bob_url:
        async with stdio(db, "alice") as alice, Client(bob_url) as bob:
            mine = data(await alice.call_tool("add_memory", {"content": "Alice's PIN is 4321"}))
            data(await bob.call_tool("add_memory", {"content": "Bob likes jazz"}))
            assert data(await bob.call_tool("search_memories", {"query": "Alice PIN"}))[0][
                "content"
            ] == "Bob likes jazz"
            assert [m["content"] for m in data(await bob.call_tool("list_memories", {}))] == [
                "Bob likes jazz"
            ]
            for name, args in [
                ("update_memory", {"id": mine["id"], "content": "hacked"}),
                ("delete_memory", {"id": mine["id"]}),
            ]:
                assert "No memory" in error_text(await bob.call_tool(name, args))
            # Extra arguments cannot redirect the namespace either.
            sneaky = {"content": "planted", "namespace": ["memories", "alice"]}
            await bob.call_tool("add_memory", sneaky)
            assert [m["content"] for m in data(await alice.call_tool("list_memories", {}))] == [
                "Alice's PIN is 4321"
            ]
    with open_store(db, "hash") as store:
        assert {"/".join(ns) for ns in store.list_namespaces()} == {
            "memories/alice",
            "memories/bob",
        }


def test_namespace_comes_from_the_configuration():
    assert resolve_namespace("memories/{user_id}", "alice") == ("memories", "alice")
    assert resolve_namespace("team/notes", None) == ("team", "notes")
    with pytest.raises(ValueError, match="--user"):
        resolve_namespace("memories/{user_id}", None)
    with pytest.raises(ValueError, match="period|'.'"):
        resolve_namespace("memories/{user_id}", "a.b")


async def test_extract_memories_with_a_model_and_its_failures():
    store = open_store(":memory:", "hash")
    replies = [
        ai(("Memory", {"content": "The user moved to Lisbon in May"})),
        ai(("Memory", {"content": 42})),  # invalid: a repair is requested...
        ai(content="Nothing to add."),  # ...and declined: nothing stored
    ]
    model = ScriptedChatModel(replies)  # then exhausted: the model "fails"
    server = create_server(store, namespace=("memories", "maya"), model=model)
    async with Client(server) as client:
        listing = (await client.list_tools()).tools
        assert {t.name for t in listing} == TOOLS | {"extract_memories"}
        check_listing(listing)
        written = data(
            await client.call_tool(
                "extract_memories",
                {"conversation": "user: I moved to Lisbon in May\nassistant: Congratulations!"},
            )
        )
        assert [m["content"] for m in written] == ["The user moved to Lisbon in May"]
        assert "I moved to Lisbon in May" in model.calls[0].text
        conversation = json.dumps([{"role": "user", "content": "my dog is called Rex"}])
        result = await client.call_tool("extract_memories", {"conversation": conversation})
        assert not result.is_error
        failed = await client.call_tool("extract_memories", {"conversation": "user: hello"})
        assert "the model failed" in error_text(failed)
        unreadable = await client.call_tool("extract_memories", {"conversation": '[{"x": 1}]'})
        assert "Could not read the conversation" in error_text(unreadable)
        listed = data(await client.call_tool("list_memories", {}))
        assert [m["content"] for m in listed] == ["The user moved to Lisbon in May"]
    assert [i.value for i in store.search(("memories",))] == [
        {"kind": "Memory", "content": {"content": "The user moved to Lisbon in May"}}
    ]


class BrokenStore(InMemoryStore):
    """A store whose every operation fails, as a full disk or a lost database would."""

    async def abatch(self, ops):
        raise OSError("disk full")


async def test_store_failures_are_tool_errors():
    server = create_server(BrokenStore(), namespace=("memories", "maya"))
    async with Client(server) as client:
        for name, arguments in [
            ("add_memory", {"content": "The user likes figs"}),
            ("search_memories", {"query": "figs"}),
            ("update_memory", {"id": str(uuid.uuid4()), "content": "The user likes dates"}),
            ("list_memories", {}),
        ]:
            text = error_text(await client.call_tool(name, arguments))
            assert "the memory store failed: OSError: disk full" in text, (name, text)
