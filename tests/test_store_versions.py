"""Versions and undo: every change of a memory is a numbered version with who made it and
why; ``revert`` puts an earlier one back as a new version (both backends, sync and async);
older files and exports get their versions; the CLI shows them with diffs and reverts."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from langgraph.store.base import PutOp

from langmem._effects import StoreBatch
from langmem.knowledge.store_manager import create_memory_store_manager, stable_id
from langmem.store import SQLiteStore, recording_origin, recording_reason
from langmem.store import migrations as migrations_module
from langmem.store.transfer import export_items, import_items
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = pytest.mark.core

INDEX = {"dims": 64, "embed": HashEmbeddings(64)}
NS = ("memories", "alice")


def langmem(*args, cwd, check: int = 0) -> subprocess.CompletedProcess:
    """Run ``langmem ARGS`` as a user does; ``check``: the exit status expected."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "80"}
    run = subprocess.run(
        [sys.executable, "-m", "langmem", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == check, (args, run.returncode, run.stdout, run.stderr)
    return run


def _said(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


@pytest.mark.parametrize("use_async", [False, True])
async def test_store_manager_update_remove_then_revert_to_the_first_version(
    store_factory, use_async
):
    store = store_factory(index=INDEX)
    original = {"kind": "Memory", "content": {"content": "Alice lives in Lisbon"}}

    def only_key() -> str:
        [item] = store.search(NS)
        return item.key

    def update(call):
        return ai(
            (
                "PatchDoc",
                {
                    "json_doc_id": stable_id(NS, only_key()),
                    "planned_edits": "Alice moved to Porto",
                    "patches": [
                        {"op": "replace", "path": "/content", "value": "Alice lives in Porto"}
                    ],
                },
            )
        )

    def replace(call):
        return ai(
            ("RemoveDoc", {"json_doc_id": stable_id(NS, only_key())}),
            ("Memory", {"content": "Alice lives in Berlin since May"}),
        )

    model = ScriptedChatModel(
        [ai(("Memory", {"content": "Alice lives in Lisbon"})), update, replace]
    )
    manager = create_memory_store_manager(model, namespace=NS, store=store, enable_deletes=True)
    runs = [("I live in Lisbon", "t1"), ("I moved to Porto", "t2"), ("Now I live in Berlin", "t3")]
    puts = []
    for said, thread in runs:
        config = {"configurable": {"thread_id": thread}}
        if use_async:
            puts.append(await manager.ainvoke(_said(said), config))
        else:
            puts.append(manager.invoke(_said(said), config))
    key, successor = puts[0][0]["key"], puts[2][0]["key"]
    assert store.get(NS, key) is None

    with store.origin("alice"):
        version = await store.arevert(NS, key, 1) if use_async else store.revert(NS, key, 1)
    assert version == 4
    assert store.get(NS, key).value == original
    history = await store.ahistory(NS, key) if use_async else store.history(NS, key)
    assert [(e.version, e.action, e.origin, e.reason) for e in history] == [
        (1, "put", "store manager", "conversation t1"),
        (2, "put", "store manager", "Alice moved to Porto (conversation t2)"),
        (3, "delete", "store manager", f"superseded by {successor} (conversation t3)"),
        (4, "put", "alice", "revert to version 1"),
    ]
    assert history[1].new_value["content"]["content"] == "Alice lives in Porto"
    assert history[3].new_value == history[0].new_value == original
    assert [e.version for e in store.history(NS, successor)] == [1]  # the new memory stays


async def test_versions_reasons_and_revert_errors(store_factory):
    store = store_factory(index=INDEX, origin="app")
    store.put(NS, "k", {"content": "one"})
    with recording_reason("corrected"):
        store.put(NS, "k", {"content": "two"})
    with recording_reason({(NS, "k"): "obsolete", (NS, "other"): "unused"}):
        store.batch([PutOp(NS, "k", None), PutOp(NS, "x", {"content": "x"})])
    assert [(e.version, e.action, e.reason) for e in store.history(NS, "k")] == [
        (1, "put", None),
        (2, "put", "corrected"),
        (3, "delete", "obsolete"),
    ]
    assert [(e.version, e.reason) for e in store.history(NS, "x")] == [(1, None)]

    for version, message in [(3, "version 3 of this memory is a delete"), (9, "no version 9")]:
        with pytest.raises(ValueError, match=message):
            store.revert(NS, "k", version)
    with pytest.raises(ValueError, match="it has no history"):
        await store.arevert(NS, "never", 1)
    assert len(store.history(NS, "k")) == 3 and store.get(NS, "k") is None  # nothing written

    assert await store.arevert(NS, "k", 2) == 4  # a deleted memory comes back
    assert store.get(NS, "k").value == {"content": "two"}
    assert store.search(NS, query="two")[0].key == "k"  # indexed again
    assert store.revert(NS, "k", 1) == 5
    [*_, last] = await store.ahistory(NS, "k")
    assert (last.origin, last.reason, last.old_value) == (
        "app",
        "revert to version 1",
        {"content": "two"},
    )

    store.erase(NS, "k")  # the only way to remove history: numbering starts again
    with pytest.raises(ValueError, match="no history"):
        store.revert(NS, "k", 1)
    store.put(NS, "k", {"content": "fresh"})
    assert [e.version for e in store.history(NS, "k")] == [1]


@pytest.mark.postgres
async def test_the_async_postgres_store_reverts(pg_url):
    from langmem.store import AsyncPostgresStore

    async with AsyncPostgresStore.from_conn_string(pg_url) as store:
        await store.aput(NS, "k", {"content": "one"})
        await store.aput(NS, "k", {"content": "two"})
        with store.origin("alice"):
            assert await store.arevert(NS, "k", 1) == 3
        assert (await store.aget(NS, "k")).value == {"content": "one"}
        assert await asyncio.to_thread(store.revert, NS, "k", 2) == 4  # sync, from a thread
        history = await store.ahistory(NS, "k")
        assert [(e.version, e.reason) for e in history][2:] == [
            (3, "revert to version 1"),
            (4, "revert to version 2"),
        ]
        assert history[2].origin == "alice"


def test_a_named_writer_yields_to_the_store_and_the_caller(store_factory):
    """How the store manager names itself (``StoreBatch(origin=...)``): only where neither
    the caller nor the store's ``origin=`` names the writer."""
    plain, named = store_factory(), store_factory(origin="langmem cli")

    def write(store, key):
        StoreBatch(store, [PutOp(NS, key, {"content": key})], origin="store manager").run()
        return store.history(NS, key)[-1].origin

    assert write(plain, "a") == "store manager"
    assert write(named, "b") == "langmem cli"
    with recording_origin("alice"):
        assert write(named, "c") == "alice"
    with recording_origin("outer", fallback=True):
        assert write(plain, "d") == "store manager"  # the innermost fallback
        plain.put(NS, "e", {"content": "e"})
    assert plain.history(NS, "e")[-1].origin == "outer"


def test_exports_carry_versions_and_reasons_and_old_files_import(tmp_path):
    with SQLiteStore(tmp_path / "a.db", index=INDEX) as source:
        source.put(NS, "k", {"content": "one"})
        with recording_reason("fixed"):
            source.put(NS, "k", {"content": "two"})
        [record] = export_items(source, history=True)
    changes = [c.model_dump(include={"version", "reason"}) for c in record.history]
    assert changes == [{"version": 1, "reason": None}, {"version": 2, "reason": "fixed"}]

    old = record.model_dump(mode="json")
    for change in old["history"]:  # as files written before versions
        del change["version"], change["reason"]
    for name, data in [("b.db", record), ("c.db", old)]:
        with SQLiteStore(tmp_path / name, index=INDEX) as target:
            assert import_items(target, [data]) == 1
            history = target.history(NS, "k")
            assert [e.version for e in history] == [1, 2]
            assert history[1].reason == (None if name == "c.db" else "fixed")
            assert target.revert(NS, "k", 1) == 3
    with SQLiteStore(tmp_path / "d.db", index=INDEX) as target:  # a record without history
        import_items(target, [record.model_copy(update={"history": None})])
        [entry] = target.history(NS, "k")
        assert (entry.version, entry.origin, entry.new_value) == (1, "langmem import", record.value)


# History rows as a store made before versions wrote them (namespace "n").
OLD_HISTORY = [
    ("a", "put", {"content": "a1"}),
    ("b", "put", {"content": "b1"}),
    ("a", "put", {"content": "a2"}),
    ("a", "delete", None),
]


def _numbered_after_upgrade(store) -> None:
    """OLD_HISTORY, once the store has upgraded, is numbered per key and revertible."""
    assert [(e.version, e.action, e.reason) for e in store.history(("n",), "a")] == [
        (1, "put", None),
        (2, "put", None),
        (3, "delete", None),
    ]
    assert [e.version for e in store.history(("n",), "b")] == [1]
    assert store.revert(("n",), "a", 1) == 4
    assert store.get(("n",), "a").value == {"content": "a1"}


def test_an_sqlite_file_from_before_versions_numbers_its_history(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    before = [m for m in migrations_module.MIGRATIONS if m.__name__ != "m006_history_versions"]
    with monkeypatch.context() as m:
        m.setattr(migrations_module, "MIGRATIONS", before)
        SQLiteStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.executemany(
        "INSERT INTO history (namespace, key, action, old_value, new_value, at, origin)"
        " VALUES ('n', ?, ?, NULL, ?, 0, 'old')",
        [(key, action, None if new is None else json.dumps(new)) for key, action, new in OLD_HISTORY],
    )
    db.close()
    with SQLiteStore(path) as store:
        _numbered_after_upgrade(store)


@pytest.mark.postgres
def test_a_postgres_schema_from_before_versions_numbers_its_history(pg_url):
    import psycopg

    from langmem.store import PostgresStore

    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url) as conn:  # as a schema made before m005
        conn.execute("ALTER TABLE langmem_history DROP COLUMN version, DROP COLUMN reason")
        conn.execute("DELETE FROM langmem_migrations WHERE name = 'm005_history_versions'")
        for key, action, new in OLD_HISTORY:
            conn.execute(
                "INSERT INTO langmem_history (namespace, key, action, new_value, at, origin)"
                " VALUES ('n', %s, %s, %s::jsonb, 0, 'old')",
                (key, action, None if new is None else json.dumps(new)),
            )
    with PostgresStore(pg_url) as store:
        _numbered_after_upgrade(store)


def test_cli_history_shows_versions_with_diffs_and_revert_restores(tmp_path):
    db = tmp_path / "memories.sqlite"
    args = ("--db", db, "--embed", "hash")
    langmem("add", "memories/alice", "Alice lives in Lisbon", "--key", "home", *args, cwd=tmp_path)
    langmem("update", "memories/alice", "home", "Alice lives in Porto", *args, cwd=tmp_path)
    hashed = {"dims": 256, "embed": HashEmbeddings(256)}
    with SQLiteStore(db, index=hashed) as store, recording_reason("she moved away"):
        store.delete(NS, "home")

    shown = langmem("history", "memories/alice", "home", *args, cwd=tmp_path).stdout
    assert "version 1 · " in shown and "version 3 · " in shown and "langmem cli" in shown
    assert "why: she moved away" in shown
    assert "  - Alice lives in Lisbon\n  + Alice lives in Porto\n" in shown
    assert "  - Alice lives in Porto\n" in shown.split("version 3")[1]

    reverted = langmem("revert", "memories/alice", "home", "1", *args, cwd=tmp_path).stdout
    assert "as version 4" in reverted
    got = json.loads(langmem("get", "memories/alice", "home", "--json", *args, cwd=tmp_path).stdout)
    assert got["value"] == {"content": "Alice lives in Lisbon"}
    entries = json.loads(
        langmem("history", "memories/alice", "home", "--json", *args, cwd=tmp_path).stdout
    )
    assert [(e["version"], e["action"], e["origin"], e["reason"]) for e in entries] == [
        (1, "put", "langmem cli", None),
        (2, "put", "langmem cli", None),
        (3, "delete", None, "she moved away"),
        (4, "put", "langmem cli", "revert to version 1"),
    ]
    assert (
        "  + Alice lives in Lisbon"
        in langmem("history", "memories/alice", "home", *args, cwd=tmp_path).stdout.split(
            "version 4"
        )[1]
    )

    as_json = langmem("revert", "memories/alice", "home", "2", "--json", *args, cwd=tmp_path)
    assert json.loads(as_json.stdout) == {
        "namespace": ["memories", "alice"],
        "key": "home",
        "reverted_to": 2,
        "version": 5,
    }
    for version, why in [("3", "is a delete"), ("9", "no version 9")]:
        failed = langmem("revert", "memories/alice", "home", version, *args, cwd=tmp_path, check=1)
        assert why in failed.stderr and failed.stdout == ""
    missing = langmem("revert", "memories/alice", "nope", "1", *args, cwd=tmp_path, check=1)
    assert "no history" in missing.stderr


async def test_the_manage_tool_and_the_mcp_server_record_their_origin_and_reason(tmp_path):
    from langmem import create_manage_memory_tool

    store = SQLiteStore(tmp_path / "m.sqlite", index=INDEX)  # no origin of its own
    manage = create_manage_memory_tool(NS, store=store)
    key = manage.invoke({"content": "Alice lives in Lisbon"}).split()[-1]
    manage.invoke(
        {"action": "update", "id": key, "content": "Alice lives in Porto", "reason": "she moved"}
    )
    manage.invoke({"action": "delete", "id": key, "reason": "asked to forget"})
    assert [(e.version, e.action, e.origin, e.reason) for e in store.history(NS, key)] == [
        (1, "put", "manage_memory", None),
        (2, "put", "manage_memory", "she moved"),
        (3, "delete", "manage_memory", "asked to forget"),
    ]
    mcp = pytest.importorskip("mcp")
    from langmem.mcp import create_server

    async with mcp.Client(create_server(store, namespace=NS)) as client:
        added = await client.call_tool("add_memory", {"content": "Alice keeps bees"})
    [item] = [i for i in store.search(NS) if i.value == {"content": "Alice keeps bees"}]
    assert not added.is_error
    assert [e.origin for e in store.history(NS, item.key)] == ["langmem mcp"]
    store.close()
