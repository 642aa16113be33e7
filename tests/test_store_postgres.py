"""PostgresStore beyond the shared conformance suite: set-up errors, async shell, TTL,
BM25 parity with SQLite's FTS5, restore, migrations, and writers in several processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from langgraph.store.base import PutOp

from langmem.errors import ConfigurationError
from langmem.store import AsyncPostgresStore, PostgresStore, SQLiteStore, transfer
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.postgres

DIMS = 32


def _index(dims: int = DIMS, **extra):
    return {"dims": dims, "embed": HashEmbeddings(dims), "fields": ["text"], **extra}


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
    return sorted(row[0] for row in rows)


# ---------------------------------------------------------------- set-up errors


def test_unreachable_server_names_the_fix(pg_server):
    from _pgserver import _free_port

    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/postgres"
    with pytest.raises(ConfigurationError, match="check that the server is running"):
        PostgresStore(url, index=_index(), connect_timeout=2)


def test_wrong_password_names_the_fix(pg_server):
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS pwdb")
        conn.execute("DROP ROLE IF EXISTS pwuser")
        conn.execute("CREATE ROLE pwuser LOGIN PASSWORD 'right-one'")
        conn.execute("CREATE DATABASE pwdb OWNER pwuser")
    pg_server.allow_password("pwuser")
    wrong = pg_server.url(database="pwdb", user="pwuser:wrong-one")
    with pytest.raises(ConfigurationError, match="password") as info:
        PostgresStore(wrong, index=_index())
    assert "wrong-one" not in str(info.value)  # the password is never echoed
    right = pg_server.url(database="pwdb", user="pwuser:right-one")
    with PostgresStore(right, search_mode="keyword", index={"fields": ["text"]}) as store:
        store.put(("a",), "k", {"text": "the right password works"})
        assert store.search(("a",), query="password")[0].key == "k"
        store.erase(("a",))


def test_a_role_that_may_not_create_tables_names_the_fix(pg_server):
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS reader")
        conn.execute("CREATE ROLE reader LOGIN")
    with pytest.raises(ConfigurationError, match="GRANT CREATE"):
        PostgresStore(pg_server.url(user="reader"), search_mode="keyword", index={"fields": ["t"]})


def test_missing_pgvector_names_the_fix_and_writes_nothing(pg_server):
    # A role that may not create the extension stands in for a server without pgvector.
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS novector")
        conn.execute("DROP ROLE IF EXISTS plain_user")
        conn.execute("CREATE ROLE plain_user LOGIN")
        conn.execute("CREATE DATABASE novector OWNER plain_user")
    url = pg_server.url(database="novector", user="plain_user")
    with pytest.raises(ConfigurationError, match="CREATE EXTENSION vector"):
        PostgresStore(url, index=_index())
    assert _tables(url) == []  # setup is one transaction: nothing half-written
    # Without an embedder the store needs no pgvector.
    with PostgresStore(url, index={"fields": ["text"]}, search_mode="keyword") as store:
        store.put(("a",), "k", {"text": "keyword search without pgvector"})
        assert store.search(("a",), query="pgvector")[0].key == "k"
    assert "langmem_vectors" not in _tables(url)


def test_dims_mismatch_names_the_fix_and_changes_nothing(pg_url):
    with PostgresStore(pg_url, index=_index(32)) as store:
        store.put(("a",), "k", {"text": "thirty-two dims"})
    with pytest.raises(ConfigurationError, match=r"32 dims.*64 dims.*another schema"):
        PostgresStore(pg_url, index=_index(64))
    with PostgresStore(pg_url, index=_index(32)) as store:
        assert store.search(("a",), query="thirty-two dims")[0].key == "k"
    with psycopg.connect(pg_url) as conn:
        meta = dict(conn.execute("SELECT key, value FROM langmem_meta").fetchall())
    assert meta == {"embedder": "hash", "dims": "32"}


def test_bad_connection_string_and_nul_values(pg_url):
    with pytest.raises(ConfigurationError, match="connection string"):
        PostgresStore("postgresql://[bad", index=_index())
    with PostgresStore(pg_url, index=_index()) as store:
        with pytest.raises(ValueError, match="NUL"):
            store.batch([PutOp(("a",), "ok", {"text": "fine"}), PutOp(("a",), "k", {"t": "a\x00b"})])
        assert store.get(("a",), "ok") is None  # the batch wrote nothing
        store.put(("a",), "k", {"t": "a backslash \\u0000 is text"})
        assert store.get(("a",), "k").value == {"t": "a backslash \\u0000 is text"}


# ---------------------------------------------------------------- set-up and migrations


def test_setup_is_idempotent_and_concurrent(pg_url):
    errors: list[BaseException] = []
    stores: list[PostgresStore] = []

    def open_one() -> None:
        try:
            stores.append(PostgresStore(pg_url, index=_index()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for store in stores:
        store.setup()  # again: nothing to do
        store.close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT version, name FROM langmem_migrations ORDER BY 1").fetchall()
    assert [name for _, name in rows] == [
        "m001_initial",
        "m002_no_content_statistics",
        "m003_hnsw_build_params",
        "m004_gin_without_pending_list",
        "m005_history_versions",
        "m006_event_time",
    ]


def test_a_newer_schema_is_refused(pg_url):
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO langmem_migrations VALUES (99, 'm099_future')")
    with pytest.raises(ConfigurationError, match="newer langmem"):
        PostgresStore(pg_url)


# ---------------------------------------------------------------- async shell


async def test_async_store_from_conn_string(pg_url):
    async with AsyncPostgresStore.from_conn_string(pg_url, index=_index()) as store:
        await store.aput(("u", "1"), "a", {"text": "alpha particles"})
        await store.aput(("u", "1"), "b", {"text": "beta decay"})
        with store.origin("test"):
            await store.aput(("u", "1"), "a", {"text": "alpha rays"})
        found = await store.asearch(("u",), query="alpha rays")
        assert found[0].key == "a" and found[0].score is not None
        history = await store.ahistory(("u", "1"), "a")
        assert [(h.action, h.origin) for h in history] == [("put", None), ("put", "test")]
        # Sync methods work from other threads, not from the loop itself.
        item = await asyncio.to_thread(store.get, ("u", "1"), "b")
        assert item.value == {"text": "beta decay"}
        with pytest.raises(asyncio.InvalidStateError):
            store.get(("u", "1"), "b")
        assert await store.aerase(("u",)) == 2
        assert await store.asearch(("u",)) == []


async def test_async_store_sets_itself_up_on_first_use(pg_url):
    store = AsyncPostgresStore(pg_url, index=_index())
    try:
        await store.aput(("a",), "k", {"text": "lazy setup"})
        assert (await store.aget(("a",), "k")).value == {"text": "lazy setup"}
    finally:
        await store.aclose()


async def test_async_unreachable_server(pg_server):
    from _pgserver import _free_port

    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/postgres"
    with pytest.raises(ConfigurationError, match="server is running"):
        async with AsyncPostgresStore.from_conn_string(url, connect_timeout=2):
            pass


# ---------------------------------------------------------------- TTL


def test_ttl_expiry_refresh_and_sweep(pg_url):
    with PostgresStore(pg_url, index=_index(), ttl={"refresh_on_read": True}) as store:
        store.put(("t",), "short", {"text": "short lived"}, ttl=0.5 / 60)  # half a second
        store.put(("t",), "kept", {"text": "refreshed often"}, ttl=1.0 / 60)
        store.put(("t",), "forever", {"text": "no ttl"})
        for _ in range(3):
            time.sleep(0.4)
            assert store.get(("t",), "kept") is not None  # each read refreshes its TTL
        assert store.get(("t",), "short") is None
        assert "short" not in {i.key for i in store.search(("t",), query="short lived")}
        assert store.sweep_ttl() == 1
        assert [h.action for h in store.history(("t",), "short")] == ["put", "expire"]
        assert store.get(("t",), "kept", refresh_ttl=False) is not None
        time.sleep(1.1)
        assert {i.key for i in store.search(("t",))} == {"forever"}


def test_a_store_that_records_no_access_looks_without_recalling(pg_url):
    ns = ("looking",)
    with PostgresStore(pg_url, index=_index(), ttl={"refresh_on_read": True}) as store:
        store.put(ns, "a", {"text": "green tea in the morning"}, ttl=10)
        expiry = "SELECT expires_at FROM langmem_items WHERE key = 'a'"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            expires = conn.execute(expiry).fetchone()
            with PostgresStore(pg_url, index=_index(), record_access=False) as looker:
                assert [i.key for i in looker.search(ns, query="green tea")] == ["a"]
                assert [i.key for i in looker.search(ns)] == ["a"]
            assert store.accesses(ns) == {}
            assert conn.execute(expiry).fetchone() == expires  # no TTL refreshed either
            time.sleep(0.01)
            store.search(ns)  # a store that records refreshes it
            assert conn.execute(expiry).fetchone() != expires
        store.search(ns, query="green tea")
        assert store.accesses(ns)[ns, "a"][1] == 1  # a store that recalls counts it


# ---------------------------------------------------------------- keyword search parity


CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a lazy afternoon in the garden with a book",
    "foxes are quick and clever animals of the forest",
    "brown bread and butter for breakfast",
    "the dog barked at the quick postman twice, the dog was loud",
    "gardening tips: water the roses in the morning",
    "a book about clever animals and their habits in winter forests",
    "breakfast at the garden cafe: bread, jam and coffee",
    "winter coats for dogs and cats",
    "morning coffee, a quiet garden and a lazy cat",
]


@pytest.mark.parametrize(
    "query", ["quick dog", "lazy garden", "clever animals forest", "breakfast bread coffee"]
)
def test_keyword_search_ranks_as_sqlite_fts5(pg_url, query):
    """BM25 from the term statistics matches FTS5's bm25() (same order and scores)."""
    index = {"fields": ["text"]}
    weights = dict(importance=0.0, recency=0.0)
    from langmem.store import RankingWeights

    ranking = RankingWeights(**weights)
    with (
        PostgresStore(pg_url, index=index, search_mode="keyword", ranking=ranking) as pg,
        SQLiteStore(":memory:", index=index, search_mode="keyword", ranking=ranking) as lite,
    ):
        for store in (pg, lite):
            store.batch([PutOp(("c",), f"d{i}", {"text": t}) for i, t in enumerate(CORPUS)])
            store.put(("other",), "x", {"text": "quick lazy clever breakfast dog garden"})
            store.delete(("other",), "x")  # deleted documents leave the statistics
        expected = lite.search(("c",), query=query, limit=10)
        got = pg.search(("c",), query=query, limit=10)
        assert [r.key for r in got] == [r.key for r in expected]
        assert [r.score for r in got] == pytest.approx([r.score for r in expected], abs=1e-6)


def test_vector_search_in_a_namespace_matches_exact_search(pg_url):
    texts = [f"note {i} about topic {i % 37} and item {i * 7 % 101}" for i in range(900)]
    puts = [PutOp(("n", str(i % 3)), f"k{i}", {"text": t}) for i, t in enumerate(texts)]
    with (
        PostgresStore(pg_url, index=_index(64), search_mode="vector") as pg,
        SQLiteStore(":memory:", index=_index(64), search_mode="vector") as lite,
    ):
        for store in (pg, lite):
            store.batch(puts)
        overlap = []
        for q in ["topic 5 and item 9", "note 100", "item 42", "topic 36"]:
            for ns in [("n",), ("n", "1")]:
                exact = [r.key for r in lite.search(ns, query=q, limit=10)]
                hits = pg.search(ns, query=q, limit=10)
                got = [r.key for r in hits]
                assert got[0] == exact[0]
                assert all(r.namespace[: len(ns)] == ns for r in hits)
                overlap.append(len(set(got) & set(exact)) / 10)
        assert sum(overlap) / len(overlap) >= 0.95


def _hnsw_options(url: str) -> list[str] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT c.reloptions FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
            " WHERE c.oid = to_regclass('langmem_vectors_hnsw') AND i.indisvalid"
        ).fetchone()
    return None if row is None else row[0]


def test_a_bulk_load_builds_the_hnsw_index_once_with_its_parameters(pg_url):
    texts = [f"memory {i} of topic {i % 53} in batch {i // 100}" for i in range(1200)]
    with PostgresStore(pg_url, index=_index(), search_mode="vector") as store:
        assert _hnsw_options(pg_url) == ["m=16", "ef_construction=128"]
        store.batch([PutOp(("b",), f"k{i}", {"text": t}) for i, t in enumerate(texts)])
        assert _hnsw_options(pg_url) == ["m=16", "ef_construction=128"]  # rebuilt, valid
        with psycopg.connect(pg_url) as conn:  # and analyzed: the planner knows the rows
            rows = conn.execute(
                "SELECT most_common_vals::text FROM pg_stats"
                " WHERE tablename = 'langmem_vectors' AND attname = 'namespace'"
            ).fetchall()
        assert rows == [("{b}",)]
        store.put(("b",), "late", {"text": "a memory added after the bulk load"})
        assert store.search(("b",), query="a memory added after the bulk load")[0].key == "late"
        assert store.search(("b",), query=texts[777], limit=3)[0].key == "k777"


def test_the_hnsw_migration_upgrades_an_older_index(pg_url):
    PostgresStore(pg_url, index=_index()).close()
    with psycopg.connect(pg_url) as conn:  # as a schema made before m003
        conn.execute("ALTER INDEX langmem_vectors_hnsw RESET (m, ef_construction)")
        conn.execute("DELETE FROM langmem_migrations WHERE name = 'm003_hnsw_build_params'")
    assert _hnsw_options(pg_url) is None
    PostgresStore(pg_url, index=_index()).close()
    assert _hnsw_options(pg_url) == ["ef_construction=128"]


def test_the_keyword_index_keeps_no_pending_list_after_upgrade(pg_url):
    def options() -> list[str] | None:
        with psycopg.connect(pg_url) as conn:
            sql = "SELECT reloptions FROM pg_class WHERE relname = 'langmem_text_body'"
            return conn.execute(sql).fetchone()[0]

    with PostgresStore(pg_url, index=_index()) as store:
        assert options() == ["fastupdate=off"]
        with psycopg.connect(pg_url) as conn:  # as a schema made before m004
            conn.execute("ALTER INDEX langmem_text_body RESET (fastupdate)")
            conn.execute(
                "DELETE FROM langmem_migrations WHERE name = 'm004_gin_without_pending_list'"
            )
        store.batch([PutOp(("g",), f"k{i}", {"text": f"pending words {i}"}) for i in range(50)])
    assert options() is None
    with PostgresStore(pg_url, index=_index()) as store:
        assert options() == ["fastupdate=off"]
        assert len(store.search(("g",), query="pending words", limit=100)) == 50
        with psycopg.connect(pg_url) as conn:  # nothing left in a pending list
            assert conn.execute("SELECT gin_clean_pending_list('langmem_text_body')").fetchone() == (0,)


def test_keyword_search_takes_quotes_and_backslashes(pg_url):
    with PostgresStore(pg_url, index={"fields": ["text"]}, search_mode="keyword") as store:
        store.put(("q",), "a", {"text": "O'Brien's notes live in C:\\temp\\files"})
        store.put(("q",), "b", {"text": "nothing relevant here"})
        for query in ["O'Brien", "temp\\files", "'notes'"]:
            assert [r.key for r in store.search(("q",), query=query)] == ["a"], query


# ---------------------------------------------------------------- restore and transfer


def test_sqlite_to_postgres_and_back_keeps_timestamps_and_history(tmp_path, pg_url):
    with SQLiteStore(tmp_path / "a.db", index=_index()) as lite:
        with lite.origin("alice"):
            lite.put(("m", "u"), "k1", {"text": "first version"})
            lite.put(("m", "u"), "k1", {"text": "second version"})
        lite.put(("m",), "k2", {"text": "another memory"})
        records = transfer.export_items(lite, history=True)
    with PostgresStore(pg_url, index=_index()) as pg:
        assert transfer.import_items(pg, records) == 2
        again = transfer.export_items(pg, history=True)
        assert [r.model_dump() for r in again] == [r.model_dump() for r in records]
        assert pg.search(("m",), query="second version")[0].key == "k1"
    with SQLiteStore(tmp_path / "b.db", index=_index()) as back:
        transfer.import_items(back, again)
        assert [r.model_dump() for r in transfer.export_items(back, history=True)] == [
            r.model_dump() for r in records
        ]


# ---------------------------------------------------------------- several processes

WRITER = """
import sys
from langmem.store import PostgresStore
from langmem.testing import HashEmbeddings
url, me, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
index = {"dims": 32, "embed": HashEmbeddings(32), "fields": ["text"]}
with PostgresStore(url, index=index, pool_size=2) as store:
    for i in range(rounds):
        store.put(("p", str(me)), f"k{i}", {"text": f"process {me} round {i}", "i": i})
        store.put(("shared",), "hot", {"text": f"last writer {me}", "p": me, "i": i})
"""


def test_writers_in_several_processes_lose_no_update(pg_url):
    PostgresStore(pg_url, index=_index()).close()  # set up once
    procs, rounds = 3, 15
    running = [
        subprocess.Popen([sys.executable, "-c", WRITER, pg_url, str(p), str(rounds)])
        for p in range(procs)
    ]
    assert [p.wait(timeout=240) for p in running] == [0] * procs
    with PostgresStore(pg_url, index=_index()) as store:
        for p in range(procs):
            items = store.search(("p", str(p)), limit=100)
            assert sorted(i.value["i"] for i in items) == list(range(rounds))
        history = store.history(("shared",), "hot")
        assert len(history) == procs * rounds
        assert all(a.new_value == b.old_value for a, b in zip(history, history[1:]))
        assert store.get(("shared",), "hot").value == history[-1].new_value


def test_cli_moves_memories_from_sqlite_to_postgres_and_back(tmp_path, pg_url):
    from typer.testing import CliRunner

    from langmem import cli

    runner = CliRunner()

    def ok(*args, input=None):
        result = runner.invoke(cli.app, [str(a) for a in args], input=input)
        assert result.exit_code == 0, result.output
        return result

    lite = ["--db", tmp_path / "a.sqlite", "--embed", "hash"]
    ok("add", "users/alice", "Alice drinks tea", "--key", "tea", *lite)
    ok("update", "users/alice", "tea", "Alice drinks coffee", *lite)
    ok("add", "team", "standup at 10am", "--key", "standup", *lite)
    exported = ok("export", "--history", *lite).stdout
    pg = ["--db", pg_url]  # the embedder is the one the schema records, after the import
    with pytest.raises(AssertionError, match="holds no langmem store"):
        ok("export", *pg)  # read commands create nothing
    assert "Imported 2 memories into postgresql://postgres@127.0.0.1" in ok(
        "import", "-", "--embed", "hash", *pg, input=exported
    ).output
    assert ok("export", "--history", *pg).stdout == exported
    assert ok("search", "users", "coffee", "--json", *pg).stdout.count('"tea"') == 1
    back = ["--db", tmp_path / "b.sqlite", "--embed", "hash"]
    searched = ok("export", "--history", *pg).stdout  # now with the search's access to "tea"
    assert '"access_count": 1' in searched and searched != exported
    ok("import", "-", *back, input=searched)
    assert ok("export", "--history", *back).stdout == searched


def test_late_interaction_and_neighbours_rank_as_sqlite(pg_url):
    from langmem.store import RankingWeights
    from test_late_interaction import DIMS as WORD_DIMS
    from test_late_interaction import WordEmbeddings

    index = {"dims": WORD_DIMS, "embed": WordEmbeddings(), "fields": ["text"]}
    ranking = RankingWeights(importance=0.0, recency=0.0, late_interaction=2.0, neighbours=0.5)
    turns = ["hello there", "my dog is called rex", "and a cat", "the tax form is due", "bye"]
    with (
        PostgresStore(pg_url, index=index, ranking=ranking) as pg,
        SQLiteStore(":memory:", index=index, ranking=ranking) as lite,
    ):
        for store in (pg, lite):
            store.put(("a",), "exact", {"text": "dog cat tax"})
            store.put(("a",), "near", {"text": "puppy"})
            store.batch(
                [PutOp(("t",), f"t{i}", {"kind": "turn", "text": t}) for i, t in enumerate(turns)]
            )
        for ns, query in [(("a",), "dog"), (("a",), "puppy"), (("t",), "dog cat"), (("t",), "tax")]:
            expected = lite.search(ns, query=query)
            got = pg.search(ns, query=query)
            assert [r.key for r in got] == [r.key for r in expected], (ns, query)
            assert [r.score for r in got] == pytest.approx([r.score for r in expected], abs=2e-3)
        with psycopg.connect(pg_url) as conn:
            stored = conn.execute("SELECT count(tokens) FROM langmem_vectors").fetchone()[0]
        assert stored == 7


def test_transcript_settings_rank_as_sqlite(pg_url):
    """Keyword neighbours and speaker matching (on by default) give SQLite's order and scores."""
    from test_transcript_search import CHAT, TURNS

    index = {"fields": ["content"]}
    with (
        PostgresStore(pg_url, index=index, search_mode="keyword") as pg,
        SQLiteStore(":memory:", index=index, search_mode="keyword") as lite,
    ):
        for store in (pg, lite):
            for n, (who, text) in enumerate(TURNS):
                store.put(CHAT, f"t{n}", {"role": who, "content": text})
            store.put(("notes",), "n0", {"content": "Lisbon trip notes"})
            store.put(CHAT, "m0", {"content": "a memory about Lisbon"})  # not a turn
        queries = [
            "When is the Lisbon trip?",
            "What did Sam say about the plant, the film and sailing?",
            "Lisbon",
        ]
        for query in queries:
            expected = lite.search(CHAT, query=query)
            got = pg.search(CHAT, query=query)
            assert [r.key for r in got] == [r.key for r in expected], query
            assert [r.score for r in got] == pytest.approx([r.score for r in expected], abs=1e-6)
        found = [r.key for r in lite.search(CHAT, query=queries[0])]
        assert {"t0", "t1", "t2"} <= set(found)  # t1, t2 match nothing: lent by t0
