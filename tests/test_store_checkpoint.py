"""WAL checkpoints run off the write path (langmem.store._checkpoint)."""

from __future__ import annotations

import os
import time

import pytest

from langmem.store import SQLiteStore
from langmem.store import sqlite as sqlite_module
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core


def _store(path, monkeypatch, pages=40):
    monkeypatch.setattr(sqlite_module, "_CHECKPOINT_PAGES", pages)
    return SQLiteStore(path, index={"dims": 16, "embed": HashEmbeddings(16), "fields": ["text"]})


def test_commits_never_checkpoint_and_the_thread_keeps_the_log_bounded(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    store = _store(path, monkeypatch)
    page = store._db.execute("PRAGMA page_size").fetchone()[0]
    assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    wal = f"{path}-wal"
    sizes = []
    for i in range(400):
        store.put(("ns",), f"k{i}", {"text": f"memory number {i} about topic {i % 7}"})
        sizes.append(os.stat(wal).st_size)
    # Unchecked, the log would reach 400 puts' frames (~5,000 pages). The thread copies it
    # past one threshold, and past four the writer waits for it: the log restarts often
    # and never holds more than four thresholds plus one put's frames.
    restarts = sum(1 for a, b in zip(sizes, sizes[1:]) if b < a)
    assert restarts >= 10
    assert max(sizes) <= 4 * 40 * page + 128 * 1024
    assert len(store.search(("ns",), query="topic 3", limit=100)) > 0
    assert store.get(("ns",), "k399").value["text"].startswith("memory number 399")
    store.close()


def test_the_thread_copies_the_log_while_the_writer_is_idle(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    store = _store(path, monkeypatch)
    page = store._db.execute("PRAGMA page_size").fetchone()[0]
    i = 0
    # Up to the threshold, no further (at least one put: opening may have passed it).
    while i == 0 or os.stat(f"{path}-wal").st_size < 40 * page:
        store.put(("ns",), f"k{i}", {"text": f"fact {i}"})
        i += 1
    before = os.stat(path).st_size
    deadline = time.monotonic() + 10
    while os.stat(path).st_size == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.stat(path).st_size > before, "nothing copied the log into the database file"
    store.put(("ns",), "next", {"text": "after the pass"})  # copies the rest: the log restarts
    store.put(("ns",), "then", {"text": "a fresh log"})
    assert os.stat(f"{path}-wal").st_size < 40 * page
    assert store.get(("ns",), f"k{i - 1}") is not None
    store.close()


def test_close_stops_the_thread_and_leaves_no_log(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    store = _store(path, monkeypatch)
    thread = store._checkpointer._thread
    assert thread.is_alive() and thread.name == "langmem-checkpoint" and thread.daemon
    for i in range(50):
        store.put(("ns",), f"k{i}", {"text": f"fact {i}"})
    store.close()
    store.close()  # idempotent
    assert not thread.is_alive()
    assert not os.path.exists(f"{path}-wal")  # the last connection checkpointed and removed it
    reopened = SQLiteStore(path, index={"dims": 16, "embed": HashEmbeddings(16), "fields": ["text"]})
    assert len(reopened.search(("ns",), limit=100)) == 50
    reopened.close()


def test_no_thread_for_memory_or_read_only_stores(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    _store(path, monkeypatch).close()
    memory = SQLiteStore(":memory:")
    read_only = SQLiteStore(path, read_only=True)
    assert memory._checkpointer is None and read_only._checkpointer is None
    assert read_only._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] > 0  # untouched
    memory.close()
    read_only.close()


def test_erasure_still_truncates_the_log_with_the_thread_running(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    store = _store(path, monkeypatch, pages=20)
    for i in range(200):
        store.put(("u",), f"k{i}", {"text": f"quartzite secret {i}"})
    store.erase(("u",))
    for file in (path, tmp_path / "c.db-wal"):
        if file.exists():
            assert b"quartzite" not in file.read_bytes()
    store.close()
