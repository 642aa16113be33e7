"""8 threads writing and searching at once: nothing lost, no "database is locked"
(SQLiteStore and PostgresStore, from ``store_factory``)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest

from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core

THREADS = 8
ROUNDS = 30


def _index():
    return {"dims": 32, "embed": HashEmbeddings(32), "fields": ["text"]}


def test_eight_threads_on_two_connections_lose_nothing(store_factory):
    # Two stores = two connections (pools): threads contend for the write lock.
    stores = [store_factory(index=_index()) for _ in range(2)]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(t: int) -> None:
        store = stores[t % 2]
        try:
            start.wait()
            for i in range(ROUNDS):
                store.put(("t", str(t)), f"k{i}", {"text": f"thread {t} round {i}", "i": i})
                store.put(("shared",), "hot", {"text": f"last writer {t}", "t": t, "i": i})
                hits = store.search(("t", str(t)), query=f"thread {t} round {i}", limit=3)
                assert hits and hits[0].key == f"k{i}", (t, i, [h.key for h in hits])
                assert all(h.namespace == ("t", str(t)) for h in hits)
                assert store.get(("t", str(t)), f"k{i}").value["i"] == i
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors

    check = store_factory(index=_index())
    for t in range(THREADS):
        items = check.search(("t", str(t)), limit=1000)
        assert sorted(i.value["i"] for i in items) == list(range(ROUNDS))
    history = check.history(("shared",), "hot")
    assert len(history) == THREADS * ROUNDS  # every put acknowledged is recorded
    writes = [(h.new_value["t"], h.new_value["i"]) for h in history]
    assert sorted(writes) == sorted((t, i) for t in range(THREADS) for i in range(ROUNDS))
    # Each entry's old value is the previous entry's new value: a single serial order.
    assert all(a.new_value == b.old_value for a, b in zip(history, history[1:]))
    assert check.get(("shared",), "hot").value == history[-1].new_value
    if store_factory.backend == "sqlite":
        assert check._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_concurrent_async_calls_on_one_store(store_factory):
    store = store_factory(index=_index())

    async def writer(t: int) -> None:
        for i in range(10):
            await store.aput(("a", str(t)), f"k{i}", {"text": f"async {t} item {i}"})
            await store.asearch(("a",), query=f"async {t}")

    await asyncio.gather(*(writer(t) for t in range(THREADS)))
    assert len(await store.asearch(("a",), limit=1000)) == THREADS * 10


def test_waits_for_a_write_lock_held_by_another_connection(tmp_path):
    path = tmp_path / "b.db"
    store = SQLiteStore(path, index=_index(), busy_timeout=10)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO history (namespace, key, action, at) VALUES ('x', 'y', 'put', 0)")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    store.put(("n",), "k", {"text": "after the other writer"})
    assert time.monotonic() - started >= 0.25
    assert store.search(("n",), query="other writer")[0].key == "k"
    release.join()
    other.close()
    store.close()
