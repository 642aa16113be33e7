"""Store files the store must not damage: inspection of foreign, newer, damaged and missing files."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest

from langmem.errors import ConfigurationError
from langmem.store import SQLiteStore
from langmem.store import migrations as migrations_module
from langmem.store._open import inspect_database
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _foreign(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO items (name) VALUES ('theirs')")
    db.commit()
    db.close()


def test_inspect_reports_a_store_and_changes_nothing(tmp_path):
    path = tmp_path / "s.db"
    with SQLiteStore(path, index={"fields": ["text"]}, search_mode="keyword") as store:
        store.put(("a",), "k1", {"text": "one"})
        store.put(("a",), "k2", {"text": "two"})
        store.put(("a",), "gone", {"text": "expired"}, ttl=1e-9)
    before = _digest(path)
    info = inspect_database(path)
    assert info.items == 2
    assert info.migrations == tuple(m.__name__ for m in migrations_module.MIGRATIONS)
    assert info.schema_version == len(migrations_module.MIGRATIONS)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such database file"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b"not sqlite at all " * 300), "not an SQLite database"),
        (lambda p: p.write_bytes(b""), "empty SQLite database"),
        (_foreign, "another application's database"),
    ],
)
def test_inspect_refuses_what_is_not_a_store(tmp_path, make, message):
    path = tmp_path / "x.db"
    make(path)
    before = _digest(path) if path.is_file() else None
    with pytest.raises(ConfigurationError, match=message) as err:
        inspect_database(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert (_digest(path) if path.is_file() else None) == before


def _newer_store(path):
    """A store file on which a later version recorded a migration this one lacks."""
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"INSERT INTO {migrations_module.TABLE} VALUES ('m999_future', 0)")
    db.commit()
    db.close()
    return path


def test_inspect_refuses_a_missing_folder_and_a_newer_version(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        inspect_database(tmp_path / "nowhere" / "x.db")
    path = _newer_store(tmp_path / "new.db")
    with pytest.raises(ConfigurationError, match="created by a newer version"):
        inspect_database(path)


def test_opening_a_foreign_or_newer_database_changes_nothing(tmp_path):
    foreign = tmp_path / "app.db"
    _foreign(foreign)
    before = _digest(foreign)
    with pytest.raises(ConfigurationError, match="another application's database"):
        SQLiteStore(foreign)
    assert _digest(foreign) == before
    assert sqlite3.connect(foreign).execute("PRAGMA journal_mode").fetchone()[0] == "delete"

    newer = _newer_store(tmp_path / "new.db")
    before = _digest(newer)
    with pytest.raises(ConfigurationError, match="created by a newer version"):
        SQLiteStore(newer)
    assert _digest(newer) == before


def test_the_file_remembers_its_embedder(tmp_path):

    path = tmp_path / "e.db"
    with SQLiteStore(path, index={"dims": 16, "embed": HashEmbeddings(16)}) as store:
        store.put(("a",), "k", {"text": "hello"})
    info = inspect_database(path)
    assert (info.embedder, info.dims) == ("hash", 16)
    with pytest.raises(ConfigurationError, match=r"built with embedder 'hash' \(16 dims\)"):
        SQLiteStore(path, index={"dims": 32, "embed": HashEmbeddings(32)})
    with SQLiteStore(path, index={"dims": 16, "embed": HashEmbeddings(16)}) as store:
        assert store.get(("a",), "k").value == {"text": "hello"}


def test_erase_under_a_read_snapshot_returns_and_compacts_later(tmp_path):
    path = tmp_path / "r.db"
    store = SQLiteStore(path, index={"fields": ["text"]}, search_mode="keyword", busy_timeout=0.3)
    store.put(("a",), "k", {"text": "qwzxplorb secret"})
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM items").fetchone()
    assert store.erase(("a",), "k") == 1
    assert store.compaction_pending
    reader.execute("COMMIT")
    reader.close()
    store.close()
    assert not any(b"qwzxplorb" in p.read_bytes() for p in tmp_path.iterdir() if p.is_file())


ERASER = """
import sys, time
from langmem.store import SQLiteStore
store = SQLiteStore(sys.argv[1], index={"fields": ["text"]}, search_mode="keyword")
for i in range(30):
    store.put(("a",), f"k{i}", {"text": f"qwzxplorb number {i}"})
store.put(("b",), "kept", {"text": "glimmerstone"})
store.erase(("a",), compact=False)  # committed; the crash comes before compaction
print("erased", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="SIGKILL")
def test_erasure_killed_before_compaction_is_finished_by_the_next_open(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "k.db"
    proc = subprocess.Popen([sys.executable, "-c", ERASER, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"erased"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert any(b"qwzxplorb" in p.read_bytes() for p in files)  # the crash left it there
    store = SQLiteStore(path, index={"fields": ["text"]}, search_mode="keyword")
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert not any(b"qwzxplorb" in p.read_bytes() for p in files)
    assert [r.key for r in store.search((), query="glimmerstone")] == ["kept"]
    store.close()


# --- read-only stores (issue 17, item 3) ------------------------------------------


def test_query_search_on_a_read_only_store_works_and_writes_nothing(tmp_path):
    path = tmp_path / "ro.sqlite"
    index = {"dims": 32, "embed": HashEmbeddings(32)}
    with SQLiteStore(path, index=index, ttl={"default_ttl": 60}) as store:
        store.put(("m",), "a", {"text": "alice keeps bees in the garden"})
        store.put(("m",), "b", {"text": "bob collects stamps"})
    before = path.read_bytes()
    with SQLiteStore(path, index=index, read_only=True) as ro:
        [hit, *_] = ro.search(("m",), query="who keeps bees?")
        assert hit.key == "a"
        assert ro.get(("m",), "b").value == {"text": "bob collects stamps"}
        assert [i.key for i in ro.search(("m",), filter={"text": "bob collects stamps"})] == ["b"]
        with pytest.raises(PermissionError, match="read-only"):
            ro.put(("m",), "c", {"text": "new"})
        with pytest.raises(PermissionError, match="read-only"):
            ro.erase(("m",))
    assert path.read_bytes() == before  # no access stats, TTL refresh or WAL switch


def test_a_file_this_process_may_not_write_opens_read_only(tmp_path, monkeypatch):
    path = tmp_path / "ro.sqlite"
    with SQLiteStore(path) as store:
        store.put(("m",), "a", {"text": "hello"})
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK)  # root may write anything
    with SQLiteStore(path) as ro:
        assert ro.read_only and ro.get(("m",), "a").value == {"text": "hello"}
