"""Event time in both stores (issue 30): when a memory happened or held, beside when it
was recorded; ``as_of``, time ranges, closed memories, ranking, migrations, transfer."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from langgraph.store.base import PutOp

from langmem.memory import event_time, parse_when, with_event_time
from langmem.store import SQLiteStore
from langmem.store import migrations as migrations_module
from langmem.store._read import ExplainedItem, TimedItem, TimedSearchItem
from langmem.store.ranking import Candidate, RankingWeights, ranked
from langmem.store.transfer import export_items, import_items, read_jsonl, write_jsonl
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core

NS = ("memories", "alice")
Q = "where does Alice live"


def utc(text: str) -> datetime:
    return parse_when(text)


def _index() -> dict:
    return {"dims": 64, "embed": HashEmbeddings(64)}


def moved_twice(store) -> None:
    """One fact that changed twice: Paris, then Berlin, then Lisbon (each closed by the next)."""
    store.put(NS, "paris", {"content": "Alice lives in Paris"}, valid_from="2019-02-01",
              valid_until="2021-06-15")
    store.put(NS, "berlin", {"content": "Alice lives in Berlin"}, valid_from="2021-06-15",
              valid_until="2024-01-10")
    store.put(NS, "lisbon", {"content": "Alice lives in Lisbon"}, valid_from="2024-01-10")
    store.put(NS, "tea", {"content": "Alice drinks green tea"})  # no event time: record time


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_as_of_returns_the_version_true_then(store_factory, mode):
    kwargs = {"index": _index(), "search_mode": mode}
    if mode == "keyword":
        kwargs["index"] = {"dims": 64}
    store = store_factory(**kwargs)
    moved_twice(store)
    homes = {"paris", "berlin", "lisbon"}
    for when, home in [("2020-05-01", "paris"), ("2021-06-15", "berlin"),
                       ("2023-12-31T23:59:59+00:00", "berlin"), ("2024-02-01", "lisbon")]:
        keys = [i.key for i in store.search(NS, query=Q, as_of=when)]
        assert [k for k in keys if k in homes] == [home], (when, keys)
    # The memory without an event time was recorded just now: unknown before that.
    assert "tea" not in [i.key for i in store.search(NS, query="tea", as_of="2024-02-01")]
    assert "tea" in [i.key for i in store.search(NS, query="tea")]
    # Without a query too (a listing), and with a filter.
    assert {i.key for i in store.search(NS, as_of="2020-01-01")} == {"paris"}
    only = store.search(NS, query=Q, as_of="2022-01-01", filter={"content": "Alice lives in Berlin"})
    assert [i.key for i in only] == ["berlin"]


def test_closed_memories_are_left_out_by_default_and_found_on_request(store_factory):
    store = store_factory(index=_index())
    moved_twice(store)
    default = [i.key for i in store.search(NS, query=Q, limit=10)]
    assert "lisbon" in default and "paris" not in default and "berlin" not in default
    assert {i.key for i in store.search(NS)} == {"lisbon", "tea"}  # listing too
    assert {i.key for i in store.search(NS, include_closed=True)} == {
        "paris", "berlin", "lisbon", "tea"
    }
    assert [i.key for i in store.search(NS, query=Q, as_of="2020-01-01")] == ["paris"]
    # get() still reads a closed memory, with its times.
    paris = store.get(NS, "paris")
    assert isinstance(paris, TimedItem)
    assert (paris.valid_from, paris.valid_until) == (utc("2019-02-01"), utc("2021-06-15"))
    # A filter search applies the same rule.
    hits = store.search(NS, query=Q, filter={"content": "Alice lives in Paris"})
    assert hits == []


def test_a_full_page_despite_closed_memories_ranking_first(store_factory):
    store = store_factory(index=_index(), search_mode="vector")
    for n in range(6):
        store.put(NS, f"old{n}", {"content": f"Alice lives in Paris {n}"},
                  valid_from="2019-01-01", valid_until="2020-01-01")
    for n in range(3):
        store.put(NS, f"new{n}", {"content": f"Bob likes chess {n}"})
    hits = store.search(NS, query="Alice lives in Paris", limit=3)
    assert sorted(i.key for i in hits) == ["new0", "new1", "new2"]


def test_since_until_keep_what_happened_in_the_range(store_factory):
    store = store_factory(index=_index())
    moved_twice(store)
    keys = {i.key for i in store.search(NS, query=Q, since="2021-01-01", until="2022-01-01")}
    assert keys == {"berlin"}  # closed since, found all the same
    assert {i.key for i in store.search(NS, since="2024-01-10")} == {"lisbon", "tea"}
    assert {i.key for i in store.search(NS, until="2021-06-15")} == {"paris"}
    with pytest.raises(ValueError, match="until .* must be after since"):
        store.search(NS, since="2024-01-01", until="2023-01-01")
    with pytest.raises(ValueError, match="as_of must be an ISO 8601"):
        store.search(NS, query=Q, as_of="last tuesday")


def test_items_carry_event_times_and_stay_langgraph_items(store_factory):
    store = store_factory(index=_index())
    moved_twice(store)
    [hit] = store.search(NS, query="Alice lives in Lisbon", limit=1)
    assert isinstance(hit, TimedSearchItem)
    assert hit.valid_from == utc("2024-01-10") and hit.valid_until is None
    assert hit.dict()["valid_from"] == "2024-01-10T00:00:00+00:00"
    assert "valid_until" not in hit.dict()
    tea = store.get(NS, "tea")
    assert tea.valid_from is None and "valid_from" not in tea.dict()  # LangGraph's dict
    assert tea.dict() == {
        "namespace": list(NS), "key": "tea", "value": {"content": "Alice drinks green tea"},
        "created_at": tea.created_at.isoformat(), "updated_at": tea.updated_at.isoformat(),
    }
    # The value holds them too (so history, revert and export keep them).
    assert store.get(NS, "berlin").value == {
        "content": "Alice lives in Berlin",
        "valid_from": "2021-06-15T00:00:00+00:00",
        "valid_until": "2024-01-10T00:00:00+00:00",
    }
    [explained] = store.search(NS, query="Alice lives in Lisbon", limit=1, explain=True)
    assert isinstance(explained, ExplainedItem) and explained.valid_from == utc("2024-01-10")


def test_a_put_op_with_times_in_the_value_and_bad_times_refused(store_factory):
    store = store_factory(index=_index())
    value = with_event_time({"content": "Alice met Bob"}, valid_from="2023-04-05T18:30:00+02:00")
    store.batch([PutOp(NS, "met", value)])
    assert store.get(NS, "met").valid_from == datetime(2023, 4, 5, 16, 30, tzinfo=timezone.utc)
    for bad, message in [
        ({"content": "x", "valid_from": "soon"}, "valid_from"),
        ({"content": "x", "valid_from": 7}, "valid_from"),
        ({"content": "x", "valid_from": "2024-01-02", "valid_until": "2024-01-01"}, "after"),
    ]:
        with pytest.raises(ValueError, match=message):
            store.put(NS, "bad", bad)
        assert store.get(NS, "bad") is None  # nothing written
    with pytest.raises(ValueError, match="valid_until"):
        store.put(NS, "bad", {"content": "x"}, valid_until="whenever")


def test_history_keeps_both_versions_and_revert_restores_the_times(store_factory):
    store = store_factory(index=_index())
    store.put(NS, "home", {"content": "Alice lives in Paris"}, valid_from="2019-02-01")
    store.put(NS, "home", {"content": "Alice lives in Berlin"}, valid_from="2021-06-15")
    first, second = store.history(NS, "home")
    assert event_time(first.new_value)[0] == utc("2019-02-01")
    assert event_time(second.old_value)[0] == utc("2019-02-01")
    assert event_time(second.new_value)[0] == utc("2021-06-15")
    store.revert(NS, "home", 1)
    assert store.get(NS, "home").valid_from == utc("2019-02-01")
    assert [i.key for i in store.search(NS, query=Q, as_of="2020-01-01")] == ["home"]


def test_async_search_and_put_take_the_same_options(store_factory):
    store = store_factory(index=_index())

    async def run():
        await store.aput(NS, "paris", {"content": "Alice lives in Paris"},
                         valid_from="2019-02-01", valid_until="2021-06-15")
        await store.aput(NS, "berlin", {"content": "Alice lives in Berlin"},
                         valid_from="2021-06-15")
        then = await store.asearch(NS, query=Q, as_of="2020-01-01")
        now = await store.asearch(NS, query=Q)
        return [i.key for i in then], [i.key for i in now]

    assert asyncio.run(run()) == (["paris"], ["berlin"])


def test_an_import_of_old_memories_keeps_their_event_times(store_factory, tmp_path):
    source = SQLiteStore(tmp_path / "old.sqlite", index=_index())
    moved_twice(source)
    out = io.StringIO()
    write_jsonl(export_items(source, history=True), out)
    source.close()
    assert out.getvalue().count('"valid_from"') >= 3  # closed memories exported too
    target = store_factory(index=_index())
    assert import_items(target, read_jsonl(out.getvalue().splitlines())) == 4
    for when, home in [("2020-05-01", "paris"), ("2022-01-01", "berlin"), ("2025-01-01", "lisbon")]:
        assert [i.key for i in target.search(NS, query=Q, as_of=when)] == [home]
    berlin = target.get(NS, "berlin")
    assert (berlin.valid_from, berlin.valid_until) == (utc("2021-06-15"), utc("2024-01-10"))
    keys = [i.key for i in target.search(NS, query=Q)]
    assert "lisbon" in keys and not {"paris", "berlin"} & set(keys)


def test_event_recency_prefers_the_latest_fact_when_similarity_ties():
    """Pure ranking: with equal other signals, the later event ranks first; as_of counts
    back from then; ``event_recency=0`` goes by record time only."""
    now = utc("2026-01-01")
    recorded = now - timedelta(days=1)
    old = Candidate(rowid=1, vector_sim=0.8, created_at=recorded, valid_from=utc("2023-01-01"))
    new = Candidate(rowid=2, vector_sim=0.8, created_at=recorded, valid_from=utc("2023-03-01"))
    order = [c.rowid for c, _, _ in ranked([old, new], RankingWeights(), now)]
    assert order == [2, 1]
    off = ranked([old, new], RankingWeights(event_recency=0), now)
    assert off[0][1] == off[1][1]  # the same record time: a tie
    [(_, _, why), _] = ranked([new, old], RankingWeights(), now, explain=2, as_of=utc("2023-03-11"))
    assert why is not None and why["event_age_days"] == pytest.approx(10)


def test_upgrading_an_m006_file_adds_the_event_time_columns(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite"
    names = [m.__name__ for m in migrations_module.MIGRATIONS]
    upto = names.index("m006_history_versions") + 1
    with monkeypatch.context() as m:
        m.setattr(migrations_module, "MIGRATIONS", migrations_module.MIGRATIONS[:upto])
        SQLiteStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "INSERT INTO items (id, namespace, key, value, created_at, updated_at)"
        " VALUES (1, 'memories.alice', 'tea', '{\"content\": \"Alice drinks green tea\"}', 0, 0)"
    )
    db.close()
    with SQLiteStore(path, index=_index()) as store:
        assert store.get(NS, "tea").valid_from is None
        store.put(NS, "home", {"content": "Alice lives in Lisbon"}, valid_from="2024-01-10")
        # tea, recorded in 1970 with no event time, counts from then
        assert {i.key for i in store.search(NS, as_of="2024-06-01")} == {"home", "tea"}
        assert {i.key for i in store.search(NS, as_of="2023-06-01")} == {"tea"}
    db = sqlite3.connect(path)
    columns = [r[1] for r in db.execute("PRAGMA table_info(items)")]
    assert columns[-2:] == ["valid_from", "valid_until"]
    indexes = {r[1] for r in db.execute("PRAGMA index_list(items)")}
    assert {"items_event_start", "items_valid_until"} <= indexes


@pytest.mark.postgres
def test_upgrading_an_m005_postgres_schema_adds_the_event_time_columns(pg_url):
    psycopg = pytest.importorskip("psycopg")
    from langmem.store import PostgresStore

    with PostgresStore(pg_url, index=_index()) as store:
        store.put(NS, "tea", {"content": "Alice drinks green tea"})
    with psycopg.connect(pg_url, autocommit=True) as conn:  # back to the m005 schema
        conn.execute("DROP INDEX langmem_items_event_start, langmem_items_valid_until")
        conn.execute("ALTER TABLE langmem_items DROP COLUMN valid_from, DROP COLUMN valid_until")
        conn.execute("DELETE FROM langmem_migrations WHERE name = 'm006_event_time'")
    with PostgresStore(pg_url, index=_index()) as store:
        assert store.get(NS, "tea").valid_from is None
        store.put(NS, "home", {"content": "Alice lives in Lisbon"}, valid_from="2024-01-10")
        assert [i.key for i in store.search(NS, query=Q, as_of="2024-06-01")] == ["home"]
    with psycopg.connect(pg_url) as conn:
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'langmem_items'"
        )}
    assert {"langmem_items_event_start", "langmem_items_valid_until"} <= indexes


def test_parse_when_reads_iso_dates_and_times_and_names_bad_ones():
    assert parse_when("2024-03-01") == datetime(2024, 3, 1, tzinfo=timezone.utc)
    assert parse_when("2024-03-01T14:30:00Z") == datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)
    assert parse_when("2024-03-01T14:30+02:00") == datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc)
    assert parse_when(datetime(2024, 3, 1, 9)) == datetime(2024, 3, 1, 9, tzinfo=timezone.utc)
    for bad in ["", "yesterday", "2024-02-30", "0001-01-01T00:00:00+05:00", 20240301, None]:
        with pytest.raises(ValueError, match="when"):
            parse_when(bad)
