"""SQLiteStore beyond the shared contract: persistence, ranking modes, TTL, history, drop-in use."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage
from langgraph.func import entrypoint
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore

from langmem.store import RankingWeights, SQLiteStore, _read, vectors
from langmem.store import migrations as migrations_module
from langmem.store.sqlite import SQLiteStore as Direct
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = pytest.mark.core

DIMS = 64


def _index(**extra):
    return {"dims": DIMS, "embed": HashEmbeddings(DIMS), "fields": ["text"], **extra}


@pytest.fixture
def store():
    with SQLiteStore(":memory:", index=_index()) as s:
        yield s


def test_public_import():
    assert SQLiteStore is Direct


# ---------------------------------------------------------------- persistence


def test_reopen_keeps_items_vectors_and_keyword_index(tmp_path):
    path = tmp_path / "mem.db"
    with SQLiteStore(path, index=_index()) as s:
        s.put(("u",), "k1", {"text": "loves hiking in the alps"})
        s.put(("u",), "k2", {"text": "allergic to peanuts"})
        created = s.get(("u",), "k1").created_at
    with SQLiteStore(path, index=_index(), search_mode="vector") as s:
        assert s.get(("u",), "k1").created_at == created
        assert s.search(("u",), query="peanuts allergy")[0].key == "k2"
    with SQLiteStore(path, index=_index(), search_mode="keyword") as s:
        assert [r.key for r in s.search(("u",), query="hiking")] == ["k1"]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_are_recorded_once_with_exact_schema(tmp_path):
    path = tmp_path / "m.db"
    SQLiteStore(path).close()
    SQLiteStore(path).close()  # reopening applies nothing twice
    db = sqlite3.connect(path)
    names = [r[0] for r in db.execute(f"SELECT name FROM {migrations_module.TABLE}")]
    assert names == [m.__name__ for m in migrations_module.MIGRATIONS]
    assert migrations_module.pending(db) == []
    columns = [r[1] for r in db.execute("PRAGMA table_info(items)")]
    assert columns == [
        "id",
        "namespace",
        "key",
        "value",
        "created_at",
        "updated_at",
        "accessed_at",
        "access_count",
        "ttl_minutes",
        "expires_at",
        "indexed",
        "valid_from",
        "valid_until",
    ]
    assert db.execute("SELECT key, value FROM meta").fetchall() == [("vectors_version", 0)]
    history = [r[1] for r in db.execute("PRAGMA table_info(history)")]
    assert history == [
        "id",
        "namespace",
        "key",
        "action",
        "old_value",
        "new_value",
        "at",
        "origin",
        "version",
        "reason",
    ]


def test_upgrading_an_m001_file_backfills_the_indexed_flag(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    first = migrations_module.MIGRATIONS[:1]
    with monkeypatch.context() as m:
        m.setattr(migrations_module, "MIGRATIONS", first)
        SQLiteStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "INSERT INTO items (id, namespace, key, value, created_at, updated_at)"
        " VALUES (1, 'n', 'a', '{\"text\": \"hi\"}', 0, 0), (2, 'n', 'b', '{}', 0, 0)"
    )
    db.execute("INSERT INTO items_fts (rowid, text) VALUES (1, 'hi')")
    later = [m.__name__ for m in migrations_module.MIGRATIONS[1:]]
    assert migrations_module.migrate(db) == later
    assert db.execute("SELECT key, indexed FROM items ORDER BY id").fetchall() == [
        ("a", 1),
        ("b", 0),
    ]


def test_failed_migration_leaves_no_trace(tmp_path, monkeypatch):
    def m999_broken(db):
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(
        migrations_module, "MIGRATIONS", [*migrations_module.MIGRATIONS, m999_broken]
    )
    with pytest.raises(RuntimeError, match="boom"):
        SQLiteStore(tmp_path / "f.db")
    db = sqlite3.connect(tmp_path / "f.db")
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall() == []
    assert [m.__name__ for m in migrations_module.pending(db)] == ["m999_broken"]


def test_created_at_survives_updates(store):
    store.put(("n",), "k", {"text": "v1"})
    first = store.get(("n",), "k")
    time.sleep(0.002)
    store.put(("n",), "k", {"text": "v2"})
    second = store.get(("n",), "k")
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


def test_listing_is_newest_updated_first(store):
    for key in ["a", "b", "c"]:
        store.put(("n",), key, {"text": key})
    store.put(("n",), "a", {"text": "a again"})
    assert [i.key for i in store.search(("n",))] == ["a", "c", "b"]


def test_emptied_namespace_is_not_listed(store):
    store.put(("gone",), "k", {"x": 1})
    store.put(("kept",), "k", {"x": 1})
    store.delete(("gone",), "k")
    assert store.list_namespaces() == [("kept",)]


def test_closed_store_raises_and_close_is_idempotent():
    s = SQLiteStore(":memory:")
    s.close()
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.get(("a",), "k")


def test_bad_configuration_is_rejected():
    with pytest.raises(ValueError, match="search_mode"):
        SQLiteStore(":memory:", index=_index(), search_mode="fuzzy")
    with pytest.raises(ValueError, match="embed"):
        SQLiteStore(":memory:", index={"dims": 4, "fields": ["text"]})
    with pytest.raises(ValueError, match="dims"):
        SQLiteStore(":memory:", index={"embed": HashEmbeddings(4)})
    with pytest.raises(ValueError, match="needs an index"):
        SQLiteStore(":memory:", search_mode="vector")


def test_embedding_of_the_wrong_size_is_rejected_and_nothing_is_written():
    s = SQLiteStore(":memory:", index={"dims": 32, "embed": HashEmbeddings(16)})
    with pytest.raises(ValueError, match="16 dimensions"):
        s.put(("n",), "k", {"text": "x"})
    assert s.get(("n",), "k") is None


def test_ops_given_straight_to_batch_are_validated(store):
    from langgraph.store.base import InvalidNamespaceError

    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp((), "k", {"x": 1})])
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("a.b",), "k", {"x": 1})])  # would alias ("a", "b")
    assert store.list_namespaces() == []


def test_non_json_values_are_rejected(store):
    with pytest.raises(TypeError, match="dicts"):
        store.batch([PutOp(("n",), "k", ["not", "a", "dict"])])
    with pytest.raises(ValueError, match="NaN"):
        store.put(("n",), "k", {"x": float("nan")})
    with pytest.raises(TypeError):
        store.put(("n",), "k", {"x": object()})
    assert store.get(("n",), "k") is None


# ---------------------------------------------------------------- search


def test_keyword_mode_needs_no_embedder_and_ranks_by_bm25():
    s = SQLiteStore(":memory:", index={"fields": ["text"]}, search_mode="keyword")
    s.put(("d",), "1", {"text": "the cat sat on the mat"})
    s.put(("d",), "2", {"text": "cats and more cats chasing cats"})
    s.put(("d",), "3", {"text": "a dog barked"})
    results = s.search(("d",), query="cat")
    assert [r.key for r in results] == ["2", "1"]  # porter stemming: cats ~ cat
    assert s.search(("d",), query="what is it?") == []  # only stopwords
    assert s.search(("d",), query='" OR NEAR( AND *') == []  # FTS syntax is just text


def test_hybrid_keyword_match_finds_what_vectors_miss():
    # HashEmbeddings only match identical words; FTS5 stems "passwords" to "password".
    modes = {
        m: SQLiteStore(":memory:", index=_index(), search_mode=m) for m in ("vector", "hybrid")
    }
    for s in modes.values():
        for i in range(30):
            s.put(("h",), f"noise{i}", {"text": f"meeting about the project plan number {i}"})
        s.put(("h",), "target", {"text": "the wifi password is hunter2"})
    assert modes["hybrid"].search(("h",), query="passwords", limit=1)[0].key == "target"
    assert "target" not in [
        r.key for r in modes["vector"].search(("h",), query="passwords", limit=3)
    ]


def test_importance_breaks_ties():
    s = SQLiteStore(":memory:", index=_index(), ranking=RankingWeights(importance=5.0))
    s.put(("i",), "low", {"text": "likes green tea", "importance": 0.0})
    s.put(("i",), "high", {"text": "likes green tea", "importance": 1.0})
    s.put(("i",), "none", {"text": "likes green tea"})
    assert s.search(("i",), query="green tea")[0].key == "high"


def test_searches_record_access_and_feed_recency(store):
    store.put(("r",), "a", {"text": "the same sentence"})
    store.put(("r",), "b", {"text": "the same sentence"})
    store.search(("r",), query="sentence", limit=1)
    row = store._db.execute("SELECT key, access_count, accessed_at FROM items ORDER BY key")
    counts = {k: (n, at is not None) for k, n, at in row}
    assert sorted(counts.values()) == [(0, False), (1, True)]


def test_score_is_the_final_score_of_rank(store, monkeypatch):
    from langmem.store import _read as engine

    seen, original = {}, engine.ranked

    def recording_rank(candidates, weights, now, **kwargs):
        ranked = original(candidates, weights, now, **kwargs)
        seen.update({c.rowid: score for c, score, _ in ranked})
        return ranked

    monkeypatch.setattr(engine, "ranked", recording_rank)
    store.put(("s",), "a", {"text": "unique words here", "importance": 1.0})
    store.put(("s",), "b", {"text": "other words"})
    hits = store.search(("s",), query="unique words")
    ids = dict(store._db.execute("SELECT key, id FROM items"))
    assert [h.score for h in hits] == [seen[ids[h.key]] for h in hits]
    assert hits[0].key == "a"


def test_paging_is_stable_without_recency():
    s = SQLiteStore(":memory:", index=_index(), ranking=RankingWeights(recency=0.0))
    for i in range(8):
        s.put(("p",), f"k{i}", {"text": f"shared words and item {i}", "importance": i / 10})
    full = [r.key for r in s.search(("p",), query="shared words item 3", limit=8)]
    pages = [s.search(("p",), query="shared words item 3", limit=3, offset=o) for o in (0, 3, 6)]
    assert [r.key for page in pages for r in page] == full


def test_tenant_isolation_under_many_better_matches_elsewhere(store):
    for i in range(200):
        store.put(("tenant", "b"), f"b{i}", {"text": "secret launch codes"})
    store.put(("tenant", "a"), "mine", {"text": "grocery list"})
    results = store.search(("tenant", "a"), query="secret launch codes", limit=5)
    assert [(r.namespace, r.key) for r in results] == [(("tenant", "a"), "mine")]


def test_vector_search_is_exact_and_isolated_on_every_search_path(monkeypatch):
    """Small namespace, retry with a larger k, restricted scan: same exact answers."""
    monkeypatch.setattr(_read, "_SMALL", 100)  # namespaces of <= 100 vectors are gathered
    monkeypatch.setattr(_read, "_PROBE_MIN", 1_000)
    monkeypatch.setattr(_read, "_RETRY_MAX", 600)
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((2_200, DIMS)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    stored = vecs.astype(np.float16).astype(np.float32)  # the index keeps float16

    def embed(texts):  # "v<row>" -> that row of vecs
        return [vecs[int(t[1:])].tolist() for t in texts]

    sizes = {("t", "big"): 1_500, ("t", "mid"): 400, ("t", "small"): 60}
    store = SQLiteStore(
        ":memory:", index={"dims": DIMS, "embed": embed, "fields": ["text"]}, search_mode="vector"
    )
    rows: dict[tuple[str, ...], list[int]] = {}
    start = 0
    for ns, n in sizes.items():
        rows[ns] = list(range(start, start + n))
        store.batch([PutOp(ns, f"v{r}", {"text": f"v{r}", "half": r % 2}) for r in rows[ns]])
        start += n
    paths = []
    search = store._index.search

    def spy(q, k, *, candidates=None):
        paths.append("restricted" if candidates is not None else f"whole k={k}")
        return search(q, k, candidates=candidates)

    monkeypatch.setattr(store._index, "search", spy)
    cases = [(ns, None, r) for ns, r in rows.items()]  # big: one scan; mid: retry; small: probe
    cases.append((("t", "mid"), {"half": 0}, rows[("t", "mid")][::2]))  # 200: restricted scan
    cases.append((("t", "small"), {"half": 1}, rows[("t", "small")][1::2]))  # 30: gathered
    for ns, filter, allowed in cases:
        for q in range(2_000, 2_020):  # queries: vectors stored in no namespace
            got = [r.key for r in store.search(ns, query=f"v{q}", filter=filter, limit=10)]
            sims = stored[allowed] @ vecs[q]
            exact = np.array(allowed)[np.argsort(-sims, kind="stable")[:10]]
            assert got == [f"v{r}" for r in exact]
    assert {"whole k=20", "restricted"} <= set(paths)  # first try: twice the page of 10
    assert any(p.startswith("whole k=") and p != "whole k=20" for p in paths)  # retried


def test_filter_restricts_candidates_before_ranking(store):
    for i in range(120):
        store.put(("f",), f"x{i}", {"text": "blue whale facts", "kind": "noise"})
    store.put(("f",), "want", {"text": "unrelated words", "kind": "signal"})
    results = store.search(("f",), query="blue whale facts", filter={"kind": "signal"})
    assert [r.key for r in results] == ["want"]


def test_index_false_removes_old_entries_and_ranks_last(store):
    # (InMemoryStore keeps the stale vectors of an item re-put with index=False.)
    store.put(("x",), "k", {"text": "findable phrase"})
    store.put(("x",), "k", {"text": "findable phrase"}, index=False)
    store.put(("x",), "other", {"text": "another phrase"})
    results = store.search(("x",), query="findable phrase")
    assert [(r.key, r.score is None) for r in results] == [("other", False), ("k", True)]
    assert store._db.execute("SELECT count(*) FROM vectors").fetchone()[0] == 1
    assert store._db.execute("SELECT count(*) FROM items_fts").fetchone()[0] == 1


def test_unindexed_items_follow_ranked_ones_as_in_memory(store):
    memory = InMemoryStore(index=_index())
    for s in (store, memory):
        s.put(("x",), "plain", {"content": "no text field"})
        s.put(("x",), "indexed", {"text": "a text field"})
        results = s.search(("x",), query="text field")
        assert [(r.key, r.score is None) for r in results] == [("indexed", False), ("plain", True)]


def test_another_connection_writing_is_seen(tmp_path):
    path = tmp_path / "shared.db"
    a = SQLiteStore(path, index=_index())
    b = SQLiteStore(path, index=_index())
    a.put(("n",), "old", {"text": "old memory about cars"})
    b.put(("n",), "new", {"text": "new memory about boats"})
    assert a.search(("n",), query="boats", limit=1)[0].key == "new"
    b.delete(("n",), "new")
    assert [r.key for r in a.search(("n",), query="boats")] == ["old"]


def test_index_reloads_only_when_another_connection_changed_vectors(tmp_path):
    path = tmp_path / "shared.db"
    a = SQLiteStore(path, index=_index())
    b = SQLiteStore(path, index=_index())
    a.put(("n",), "k", {"text": "some memory"})
    loads = []
    original = a._load_vectors
    a._load_vectors = lambda: (loads.append(1), original())[1]
    b.search(("n",), query="memory")  # writes access stats only
    b.put(("n",), "plain", {"text": "x"}, index=False)  # no vectors either
    a.search(("n",), query="memory")
    assert loads == []
    b.put(("n",), "k2", {"text": "another memory"})
    assert {r.key for r in a.search(("n",), query="another memory")} >= {"k2"}
    assert loads == [1]


async def test_abatch_does_not_block_the_event_loop(store):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    release = threading.Event()
    holder = threading.Thread(
        target=lambda: (store._lock.acquire(), release.wait(), store._lock.release())
    )
    holder.start()
    await asyncio.sleep(0.02)
    threading.Timer(0.2, release.set).start()
    before = ticks
    await store.aput(("n",), "k", {"text": "x"})  # waits for the lock in a worker thread
    assert ticks - before >= 5
    task.cancel()
    holder.join()
    assert (await store.aget(("n",), "k")).value == {"text": "x"}


# ---------------------------------------------------------------- TTL


class Clock:
    """The store's clock (microseconds), advanced by hand."""

    def __init__(self) -> None:
        self.us = 1_700_000_000_000_000

    def __call__(self) -> int:
        return self.us

    def advance(self, minutes: float) -> None:
        self.us += int(minutes * 60_000_000)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    from langmem.store import sqlite as engine

    c = Clock()
    monkeypatch.setattr(engine, "now_us", c)
    return c


def test_ttl_expires_and_is_swept(clock):
    s = SQLiteStore(":memory:", index=_index())
    s.put(("t",), "short", {"text": "fleeting"}, ttl=1)
    s.put(("t",), "long", {"text": "lasting"})
    clock.advance(0.9)
    assert s.get(("t",), "short", refresh_ttl=False) is not None
    clock.advance(0.2)
    assert s.get(("t",), "short") is None
    assert [r.key for r in s.search(("t",))] == ["long"]
    assert [r.key for r in s.search(("t",), query="fleeting lasting")] == ["long"]
    assert s.list_namespaces() == [("t",)]
    assert s.sweep_ttl() == 1
    assert [h.action for h in s.history(("t",), "short")] == ["put", "expire"]


def test_writes_sweep_expired_items_on_the_configured_interval(clock):
    s = SQLiteStore(":memory:", ttl={"sweep_interval_minutes": 0})
    s.put(("t",), "short", {"v": 1}, ttl=1)
    clock.advance(2)
    s.put(("t",), "other", {"v": 2})  # this write's batch sweeps first
    assert s._db.execute("SELECT key FROM items").fetchall() == [("other",)]
    assert [h.origin for h in s.history(("t",), "short")] == [None, "ttl"]


def test_history_can_be_turned_off():
    s = SQLiteStore(":memory:", history=False)
    s.put(("h",), "k", {"v": 1})
    s.delete(("h",), "k")
    assert s.history(("h",), "k") == []
    assert s._db.execute("SELECT count(*) FROM history").fetchone()[0] == 0


def test_reads_refresh_ttl_unless_told_not_to(clock):
    s = SQLiteStore(":memory:", index=_index(), ttl={"default_ttl": 2})
    s.put(("t",), "get", {"text": "a"})
    s.put(("t",), "search", {"text": "b"})
    s.put(("t",), "untouched", {"text": "c"})
    for _ in range(3):
        clock.advance(1.5)
        assert s.get(("t",), "get") is not None  # each read pushes expiry 2 minutes out
        assert s.search(("t",), query="b", filter={"text": "b"})[0].key == "search"
        s.get(("t",), "untouched", refresh_ttl=False)
        s.search(("t",), query="c", filter={"text": "c"}, refresh_ttl=False)
    assert s.get(("t",), "untouched") is None
    assert {i.key for i in s.search(("t",))} == {"get", "search"}


def test_refresh_on_read_false_in_config(clock):
    s = SQLiteStore(":memory:", ttl={"default_ttl": 1, "refresh_on_read": False})
    s.put(("t",), "k", {"v": 1})
    clock.advance(0.6)
    assert s.get(("t",), "k") is not None
    clock.advance(0.6)
    assert s.get(("t",), "k") is None


def test_put_over_an_expired_item_starts_fresh(clock):
    s = SQLiteStore(":memory:")
    s.put(("t",), "k", {"v": 1}, ttl=1)
    clock.advance(2)
    s.put(("t",), "k", {"v": 2})
    item = s.get(("t",), "k")
    assert item.value == {"v": 2}
    assert item.created_at == item.updated_at
    assert [(h.action, h.old_value) for h in s.history(("t",), "k")] == [
        ("put", None),
        ("put", None),
    ]


def test_recency_favours_recently_used_items(clock):
    s = SQLiteStore(":memory:", index=_index(), ranking=RankingWeights(recency=1.0))
    s.put(("r",), "old", {"text": "same words"})
    clock.advance(60 * 24 * 90)  # 90 days
    s.put(("r",), "new", {"text": "same words"})
    assert [r.key for r in s.search(("r",), query="same words")] == ["new", "old"]


# ---------------------------------------------------------------- history


def test_history_records_every_change_with_origin(store):
    store.default_origin = "app"
    store.put(("h",), "k", {"text": "v1"})
    with store.origin("memory_manager"):
        store.put(("h",), "k", {"text": "v2"})
    store.delete(("h",), "k")
    entries = store.history(("h",), "k")
    assert [(e.action, e.old_value, e.new_value, e.origin) for e in entries] == [
        ("put", None, {"text": "v1"}, "app"),
        ("put", {"text": "v1"}, {"text": "v2"}, "memory_manager"),
        ("delete", {"text": "v2"}, None, "app"),
    ]
    assert entries[0].at <= entries[1].at <= entries[2].at
    assert store.history(("h",), "other") == []


async def test_origin_follows_async_calls(store):
    with store.origin("async-worker"):
        await store.aput(("h",), "k", {"text": "v"})
    [entry] = await store.ahistory(("h",), "k")
    assert entry.origin == "async-worker"


def test_deleting_a_missing_item_records_nothing(store):
    store.delete(("h",), "never")
    assert store.history(("h",), "never") == []


# ---------------------------------------------------------------- drop-in


def test_works_as_entrypoint_store(store):
    @entrypoint(store=store)
    def remember(text: str) -> list[str]:
        from langgraph.config import get_store

        s = get_store()
        s.put(("notes",), "n1", {"text": text})
        return [i.value["text"] for i in s.search(("notes",), query=text)]

    assert remember.invoke("buy oat milk") == ["buy oat milk"]
    assert store.get(("notes",), "n1").value == {"text": "buy oat milk"}


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
def test_works_with_create_react_agent_and_memory_tools(store):
    from langgraph.prebuilt import create_react_agent

    from langmem import create_manage_memory_tool, create_search_memory_tool

    model = ScriptedChatModel(
        script=[
            ai(("manage_memory", {"content": "User prefers dark mode", "action": "create"})),
            ai(("search_memory", {"query": "dark mode"})),
            AIMessage(content="noted"),
        ]
    )
    agent = create_react_agent(
        model,
        tools=[
            create_manage_memory_tool(namespace=("memories",)),
            create_search_memory_tool(namespace=("memories",)),
        ],
        store=store,
    )
    out = agent.invoke({"messages": [{"role": "user", "content": "I like dark mode"}]})
    assert out["messages"][-1].content == "noted"
    [item] = store.search(("memories",))
    assert item.value == {"content": "User prefers dark mode"}
    assert "User prefers dark mode" in out["messages"][-2].content  # the search tool's answer


@pytest.mark.parametrize("use_async", [False, True])
async def test_works_under_the_memory_store_manager(tmp_path, use_async):
    from langmem import create_memory_store_manager

    store = SQLiteStore(tmp_path / "m.db", index={"dims": DIMS, "embed": HashEmbeddings(DIMS)})
    model = ScriptedChatModel(
        [ai(("Memory", {"content": "User has a dog named Fido"})), AIMessage(content="nothing new")]
    )
    manager = create_memory_store_manager(model, namespace=("memories",), store=store)
    for text in ["My dog is Fido", "Fido likes walks"]:
        payload = {"messages": [("user", text)]}
        await manager.ainvoke(payload) if use_async else manager.invoke(payload)
    [item] = store.search(("memories",))
    assert item.value == {"kind": "Memory", "content": {"content": "User has a dog named Fido"}}
    assert "User has a dog named Fido" in model.calls[1].text  # recalled from the store
    assert [h.action for h in store.history(("memories",), item.key)] == ["put"]


# ---------------------------------------------------------------- pure pieces


def test_prefix_clause_is_an_index_friendly_range():
    from langmem.store._sql import prefix_clause

    assert prefix_clause(()) == ("1", ())
    sql, params = prefix_clause(("a", "b"))
    assert sql == "(namespace = ? OR (namespace >= ? AND namespace < ?))"
    assert params == ("a.b", "a.b.", "a.b/")


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y"]))
_ops_filter = st.dictionaries(
    st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]), st.integers(-3, 3), min_size=1
)


@given(
    value=st.dictionaries(st.sampled_from(["a", "b"]), _scalars),
    filter=st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(_scalars, _ops_filter)),
)
def test_filter_semantics_match_langgraph(value, filter):
    from langgraph.store.memory import _compare_values

    from langmem.store._ops import matches_filter

    try:
        expected = all(_compare_values(value.get(k), v) for k, v in filter.items())
    except (TypeError, ValueError):
        expected = None  # LangGraph raises on a non-numeric comparison; we answer False
    got = matches_filter(value, filter)
    assert got == expected or (expected is None and got is False)


def test_quantized_shortlist_keeps_namespaces_isolated(monkeypatch):
    """Above the quantized-copy threshold, searches stay isolated and rescored."""
    monkeypatch.setattr(vectors, "_COARSE_MIN", 400)
    monkeypatch.setattr(vectors, "_SHORTLIST_MIN", 32)
    rng = np.random.default_rng(8)
    vecs = rng.standard_normal((2_100, DIMS)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)

    def embed(texts):
        return [vecs[int(t[1:])].tolist() for t in texts]

    store = SQLiteStore(
        ":memory:", index={"dims": DIMS, "embed": embed, "fields": ["text"]}, search_mode="vector"
    )
    ns_of = {r: ("t", "a") if r < 1_500 else ("t", "b") for r in range(2_000)}
    store.batch([PutOp(ns, f"v{r}", {"text": f"v{r}"}) for r, ns in ns_of.items()])
    assert store._index.wait(30) and all(s.coarse is not None for s in store._index._shards)
    recall = []
    for q in range(2_000, 2_040):
        for ns in (("t", "a"), ("t", "b")):
            got = store.search(ns, query=f"v{q}", limit=10)
            assert all(ns_of[int(r.key[1:])] == ns for r in got) and len(got) == 10
            rows = [r for r in ns_of if ns_of[r] == ns]
            exact = {f"v{r}" for r in np.array(rows)[np.argsort(-(vecs[rows] @ vecs[q]))[:10]]}
            recall.append(len(exact & {r.key for r in got}) / 10)
            for r in got:  # scores are the exact cosines, not quantized estimates
                assert r.score == pytest.approx(float(vecs[int(r.key[1:])] @ vecs[q]), abs=3e-3)
    assert np.mean(recall) >= 0.9
    for r in range(0, 2_000, 37):  # every memory is its own nearest neighbour
        assert store.search(ns_of[r], query=f"v{r}", limit=1)[0].key == f"v{r}"
