"""Erasure leaves no byte of the erased content in the database files."""

from __future__ import annotations

from pathlib import Path

import pytest

from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core

# Words the porter stemmer leaves as they are, so the FTS index stores them verbatim.
SECRET_ITEM = "qwzxplorb"
SECRET_TREE = "vrkmutfz"
KEPT = "glimmerstone"


def _files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def _contains(path: Path, word: str) -> bool:
    needles = {word.encode(), word.upper().encode(), word.capitalize().encode()}
    return any(n in f.read_bytes() for f in _files(path) for n in needles)


def _store(path):
    index = {"dims": 32, "embed": HashEmbeddings(32), "fields": ["text", "title"]}
    return SQLiteStore(path, index=index)


def _fill(store):
    store.put(("u1", "notes"), "a", {"text": f"my code is {SECRET_ITEM}", "title": "code"})
    store.put(("u1", "notes"), "a", {"text": f"new code is {SECRET_ITEM.upper()}"})
    store.put(("u1", "notes"), "b", {"text": f"{KEPT} is kept"})
    for i in range(50):
        ns = ("u2",) if i % 2 else ("u2", "deep", str(i))
        store.put(ns, f"k{i}", {"text": f"{SECRET_TREE} number {i}", "title": SECRET_TREE})
    store.put(("u2",), "gone", {"text": f"{SECRET_TREE} deleted before erasure"})
    store.delete(("u2",), "gone")  # the history still holds it until erased
    store.put(("u20",), "neighbour", {"text": f"{KEPT} next door"})


def test_erase_one_item_and_a_namespace_subtree_leaves_no_bytes(tmp_path):
    path = tmp_path / "erase.db"
    store = _store(path)
    _fill(store)
    store._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    for word in (SECRET_ITEM, SECRET_TREE, KEPT):
        assert _contains(path, word), f"{word} should be on disk before erasure"

    assert store.erase(("u1", "notes"), "a") == 1
    assert store.erase(("u2",)) == 50
    for word in (SECRET_ITEM, SECRET_TREE):
        assert not _contains(path, word), f"{word} left in the files"
    store.close()
    for word in (SECRET_ITEM, SECRET_TREE):
        assert not _contains(path, word), f"{word} left in the files after close"

    reopened = _store(path)
    assert reopened.get(("u1", "notes"), "a") is None
    assert reopened.history(("u1", "notes"), "a") == []
    assert reopened.history(("u2",), "gone") == []
    assert reopened.search(("u2",)) == []
    assert all(r.namespace[0] != "u2" for r in reopened.search((), query=SECRET_TREE))
    assert reopened._db.execute("SELECT count(*) FROM vectors").fetchone()[0] == 2
    kept = reopened.search((), query=KEPT)
    assert {(r.namespace, r.key) for r in kept} == {(("u1", "notes"), "b"), (("u20",), "neighbour")}
    db = reopened._db
    db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, items_fts, 'row')")
    terms = {row[0] for row in db.execute("SELECT term FROM temp.vocab")}
    stems = {term[:7] for term in terms}  # compare stems: porter turns "...stone" into "...ston"
    assert KEPT[:7] in stems and SECRET_ITEM[:7] not in stems and SECRET_TREE[:7] not in stems
    for table in ("items_fts_data", "items_fts_idx", "items_fts_content", "history", "items"):
        dump = repr(db.execute(f"SELECT * FROM {table}").fetchall()).lower()
        assert SECRET_ITEM not in dump and SECRET_TREE not in dump, table
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened._db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


def test_erase_drops_vectors_from_the_live_index(tmp_path):
    store = _store(tmp_path / "v.db")
    store.put(("a",), "k", {"text": "alpha beta"})
    store.put(("b",), "k", {"text": "alpha beta"})
    before = len(store._index)
    store.erase(("a",))
    assert len(store._index) == before - 1
    assert [r.namespace for r in store.search((), query="alpha beta")] == [("b",)]


def test_erase_in_memory_and_missing_targets():
    store = SQLiteStore(":memory:", index={"fields": ["text"]}, search_mode="keyword")
    store.put(("a",), "k", {"text": "forget me"})
    assert store.erase(("nothing",)) == 0
    with pytest.raises(ValueError):
        store.erase(())  # never "everything" by accident
    assert store.erase(("a",), "k") == 1
    assert store.search(("a",), query="forget") == []
    assert store.history(("a",), "k") == []


async def test_aerase(tmp_path):
    store = _store(tmp_path / "a.db")
    await store.aput(("a",), "k", {"text": SECRET_ITEM})
    assert await store.aerase(("a",)) == 1
    assert not _contains(tmp_path / "a.db", SECRET_ITEM)


def test_erase_many_then_compact_once(tmp_path):
    path = tmp_path / "many.db"
    store = _store(path)
    for i in range(5):
        store.put(("u", str(i)), "k", {"text": f"{SECRET_ITEM} {i}"})
    store._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    for i in range(5):
        store.erase(("u", str(i)), compact=False)
    assert _contains(path, SECRET_ITEM)  # deleted rows, bytes not yet rewritten
    store.compact()
    assert not _contains(path, SECRET_ITEM)


def test_erase_semantics_alike_on_both_backends(store_factory):
    store = store_factory(index={"dims": 32, "embed": HashEmbeddings(32), "fields": ["text", "title"]})
    _fill(store)
    assert store.erase(("nothing",)) == 0
    with pytest.raises(ValueError):
        store.erase(())  # never "everything" by accident
    assert store.erase(("u1", "notes"), "a") == 1
    assert store.erase(("u2",)) == 50
    assert store.get(("u1", "notes"), "a") is None
    assert store.history(("u1", "notes"), "a") == []
    assert store.history(("u2",), "gone") == []
    assert store.search(("u2",)) == []
    assert all(r.namespace[0] != "u2" for r in store.search((), query=SECRET_TREE, limit=100))
    kept = store.search((), query=KEPT)
    assert {(r.namespace, r.key) for r in kept} == {(("u1", "notes"), "b"), (("u20",), "neighbour")}
    assert len(store.history(("u20",), "neighbour")) == 1


@pytest.mark.postgres
def test_postgres_erase_leaves_no_bytes_in_the_table_files(pg_server):
    """After erase (VACUUM FULL) and a checkpoint, no data file of the database holds
    the erased words; the kept ones are still there. (The server's WAL is not checked:
    it recycles old segments, see langmem.store.postgres.)"""
    import psycopg

    from langmem.store import PostgresStore

    def on_disk(word: str) -> bool:
        with psycopg.connect(pg_server.url(), autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        needles = {word.encode(), word.upper().encode()}
        files = [p for p in (pg_server.data / "base").rglob("*") if p.is_file()]
        return any(n in f.read_bytes() for f in files for n in needles)

    index = {"dims": 32, "embed": HashEmbeddings(32), "fields": ["text", "title"]}
    with pg_server.schema() as url, PostgresStore(url, index=index) as store:
        _fill(store)
        for word in (SECRET_ITEM, SECRET_TREE, KEPT):
            assert on_disk(word), f"{word} should be on disk before erasure"
        assert store.erase(("u1", "notes"), "a") == 1
        assert store.erase(("u2",)) == 50
        for word in (SECRET_ITEM, SECRET_TREE):
            assert not on_disk(word), f"{word} left in the data files"
        assert on_disk(KEPT)
        with psycopg.connect(url) as conn:
            terms = {row[0] for row in conn.execute("SELECT lexeme FROM langmem_terms")}
            vectors = conn.execute("SELECT count(*) FROM langmem_vectors").fetchone()[0]
        assert not any(t.startswith((SECRET_ITEM[:7], SECRET_TREE[:7])) for t in terms)
        assert any(t.startswith(KEPT[:7]) for t in terms)
        assert vectors == 2
