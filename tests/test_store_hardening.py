"""Store files the store must not damage: inspection of foreign, newer, damaged and missing files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time

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
        (lambda p: p.write_bytes(b""), r"empty file \(0 bytes\)"),
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro.sqlite"]  # no -wal/-shm left


def test_a_file_this_process_may_not_write_opens_read_only(tmp_path, monkeypatch):
    path = tmp_path / "ro.sqlite"
    with SQLiteStore(path) as store:
        store.put(("m",), "a", {"text": "hello"})
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK)  # root may write anything
    with SQLiteStore(path) as ro:
        assert ro.read_only and ro.get(("m",), "a").value == {"text": "hello"}


# --- damaged files and waits on other connections (issue 26) ---------------------


def _root_page(path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    finally:
        db.close()


def _overwrite_page(path, page: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(data)


def _filled(path, index):
    with SQLiteStore(path, index=index, search_mode="keyword" if "embed" not in index else "hybrid") as s:
        for i in range(200):
            s.put(("m", str(i % 5)), f"k{i}", {"text": f"memory {i} about " + "bees " * (i % 20)})
    return path


def test_a_damaged_file_is_refused_at_open_and_named_at_run_time(tmp_path):
    index = {"dims": 16, "embed": HashEmbeddings(16)}
    path = _filled(tmp_path / "v.db", index)
    _overwrite_page(path, _root_page(path, "vectors"), b"\xa5" * 4096)  # read at open
    with pytest.raises(ConfigurationError, match="damaged database file") as err:
        SQLiteStore(path, index=index)
    assert str(path) in str(err.value) and "\n" not in str(err.value)

    path = _filled(tmp_path / "i.db", {"fields": ["text"]})
    for table in ("items", "history"):  # not read at open
        _overwrite_page(path, _root_page(path, table), b"\xa5" * 4096)
    store = SQLiteStore(path, index={"fields": ["text"]}, search_mode="keyword")
    for call in (
        lambda: store.search(("m",), query="bees"),
        lambda: store.put(("m",), "new", {"text": "hello"}),
        lambda: store.history(("m", "1"), "k1"),
    ):
        with pytest.raises(sqlite3.DatabaseError, match="damaged database file") as err:
            call()
        assert not isinstance(err.value, ValueError)  # an internal fault, not the caller's
        assert str(path) in str(err.value) and isinstance(err.value.__cause__, sqlite3.Error)
    store.close()


def test_randomly_damaged_pages_raise_only_errors_naming_the_file(tmp_path):
    import random
    import shutil

    index = {"dims": 16, "embed": HashEmbeddings(16)}
    base = _filled(tmp_path / "base.db", index)
    pages = base.stat().st_size // 4096
    for seed in range(20):
        rng = random.Random(seed)
        path = tmp_path / f"c{seed}.db"
        shutil.copy(base, path)
        for _ in range(3):
            _overwrite_page(path, rng.randrange(2, pages + 1), rng.randbytes(4096))
        try:
            store = SQLiteStore(path, index=index)
        except ConfigurationError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
            continue
        try:
            store.search(("m",), query="bees", limit=50)
            store.put(("m",), "new", {"text": "hello"})
            store.erase(("m", "1"))
        except sqlite3.DatabaseError as exc:
            assert str(exc).startswith(f"{path}: damaged database file")
        finally:
            store.close()


def _killed_erasure(path):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", ERASER, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"erased"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _reader(path) -> sqlite3.Connection:
    """Another connection holding a read snapshot (what blocks a WAL reset)."""
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM items").fetchone()
    return reader


def _holds(folder, word: str) -> bool:
    return any(word.encode() in p.read_bytes() for p in folder.iterdir() if p.is_file())


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="SIGKILL")
def test_open_after_an_interrupted_erase_next_to_a_reader_does_not_hang(tmp_path, caplog):
    path = tmp_path / "k.db"
    _killed_erasure(path)
    reader = _reader(path)
    started = time.monotonic()
    store = SQLiteStore(path, index={"fields": ["text"]}, search_mode="keyword", busy_timeout=10)
    assert time.monotonic() - started < 6  # was 2 x busy_timeout = 20 s
    assert store.compaction_pending and "compaction is pending" in caplog.text
    assert [r.key for r in store.search((), query="glimmerstone qwzxplorb")] == ["kept"]
    reader.execute("COMMIT")
    reader.close()
    store.close()
    assert not _holds(tmp_path, "qwzxplorb")


def test_erase_next_to_a_reader_returns_promptly_and_compacts_after_a_later_write(
    tmp_path, caplog
):
    path = tmp_path / "r.db"
    store = SQLiteStore(path, index={"fields": ["text"]}, search_mode="keyword", busy_timeout=10)
    store.put(("a",), "k", {"text": "qwzxplorb secret"})
    store.put(("b",), "k", {"text": "glimmerstone"})
    reader = _reader(path)
    started = time.monotonic()
    assert store.erase(("a",)) == 1
    assert time.monotonic() - started < 6  # was busy_timeout (and more) = 10 s
    assert store.compaction_pending and "compaction is pending" in caplog.text
    assert store.search((), query="qwzxplorb") == []
    reader.execute("COMMIT")
    reader.close()
    time.sleep(1.2)  # a held-back compaction is retried at most once a second
    store.put(("b",), "k2", {"text": "another"})
    assert not store.compaction_pending and not _holds(tmp_path, "qwzxplorb")  # still open
    store.close()


def test_compact_next_to_a_reader_waits_busy_timeout_once(tmp_path):
    path = tmp_path / "c.db"
    store = SQLiteStore(path, index={"fields": ["text"]}, search_mode="keyword", busy_timeout=4)
    store.put(("a",), "k", {"text": "text"})
    reader = _reader(path)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="another connection kept a read snapshot"):
        store.compact()
    assert time.monotonic() - started < 7  # was 2 x busy_timeout = 8 s and more
    reader.execute("COMMIT")
    reader.close()
    store.compact()
    store.close()
