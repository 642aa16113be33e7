"""Export / import as JSON Lines: exact round trips, validation before any write."""

from __future__ import annotations

import io
import json

import pytest
from langgraph.store.memory import InMemoryStore

from langmem.store import SQLiteStore
from langmem.store.transfer import (
    export_header,
    export_items,
    import_items,
    read_export,
    read_jsonl,
    write_jsonl,
)
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core

FACTS = [
    ("users/alice", "tea", "Alice drinks green tea every morning", 0.4),
    ("users/alice", "job", "Alice works as a nurse at the city hospital", 0.9),
    ("users/alice", "dog", "Alice has a beagle called Rufus", None),
    ("users/bob", "job", "Bob is a pilot for a regional airline", 0.7),
    ("users/bob/work", "shift", "Bob flies the early shift on Mondays", None),
    ("team", "standup", "The standup moved to 10am", 0.2),
]
QUERIES = ["what does alice drink", "who is a pilot", "pets", "when is the standup", "work"]


def store(path) -> SQLiteStore:
    return SQLiteStore(path, index={"dims": 64, "embed": HashEmbeddings(64), "fields": ["text"]})


def fill(db: SQLiteStore) -> None:
    for ns, key, text, importance in FACTS:
        value = {"text": text} if importance is None else {"text": text, "importance": importance}
        db.put(tuple(ns.split("/")), key, value)
    db.put(("users", "alice"), "tea", {"text": "Alice drinks black tea now", "importance": 0.5})
    db.put(("users", "bob"), "gone", {"text": "deleted soon"})
    db.delete(("users", "bob"), "gone")


def snapshot(db: SQLiteStore) -> list[tuple]:
    return [
        (tuple(i.namespace), i.key, i.value, i.created_at, i.updated_at)
        for i in db.search((), limit=100)
    ]


def round_trip(source: SQLiteStore, target: SQLiteStore, **kwargs) -> str:
    out = io.StringIO()
    write_jsonl(export_items(source, **kwargs), out)
    import_items(target, read_jsonl(out.getvalue().splitlines()))
    return out.getvalue()


def test_export_import_round_trips_items_timestamps_history_and_search(tmp_path):
    with store(tmp_path / "a.sqlite") as source, store(tmp_path / "b.sqlite") as target:
        fill(source)
        text = round_trip(source, target, history=True)
        assert len(text.splitlines()) == len(FACTS)
        assert snapshot(target) == snapshot(source)  # keys, values, timestamps, listing order
        tea = ("users", "alice"), "tea"
        assert target.history(*tea) == source.history(*tea)
        assert [e.action for e in target.history(*tea)] == ["put", "put"]
        # Searches alternate between the stores so both record the same accesses.
        for query in QUERIES:
            for mode in ("hybrid", "vector", "keyword"):
                source.search_mode = target.search_mode = mode
                got = [(i.key, i.namespace, i.score) for i in source.search((), query=query)]
                again = [(i.key, i.namespace, i.score) for i in target.search((), query=query)]
                assert [g[:2] for g in again] == [g[:2] for g in got], (query, mode)
                assert [g[2] for g in again] == pytest.approx([g[2] for g in got], rel=1e-6)


def test_a_re_export_is_byte_identical(tmp_path):
    with store(tmp_path / "a.sqlite") as source, store(tmp_path / "b.sqlite") as target:
        fill(source)
        first = round_trip(source, target, history=True)
        out = io.StringIO()
        write_jsonl(export_items(target, history=True), out)
        assert out.getvalue() == first


def test_without_history_an_import_records_one_put_at_the_update_time(tmp_path):
    with store(tmp_path / "a.sqlite") as source, store(tmp_path / "b.sqlite") as target:
        fill(source)
        text = round_trip(source, target)
        assert "history" not in text
        [entry] = target.history(("users", "alice"), "tea")
        item = target.get(("users", "alice"), "tea")
        assert entry.action == "put" and entry.at == item.updated_at
        assert entry.new_value == item.value


def test_one_namespace_and_everything_below_it(tmp_path):
    with store(tmp_path / "a.sqlite") as source, store(tmp_path / "b.sqlite") as target:
        fill(source)
        round_trip(source, target, namespace=("users", "bob"))
        assert sorted((tuple(i.namespace), i.key) for i in target.search((), limit=100)) == [
            (("users", "bob"), "job"),
            (("users", "bob", "work"), "shift"),
        ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "line 2: not JSON"),
        ('{"namespace": [], "key": "k", "value": {}}', "line 2: namespace"),
        (
            '{"namespace": ["a"], "key": "k", "value": [1], '
            '"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}',
            "line 2: value",
        ),
        (
            '{"namespace": ["a.b"], "key": "k", "value": {}, '
            '"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}',
            "line 2: namespace",
        ),
        (
            '{"namespace": ["a"], "key": "k", "value": {}, '
            '"created_at": "2026-01-01T00:00:00", "updated_at": "2026-01-01T00:00:00Z"}',
            "line 2: created_at",
        ),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_written(tmp_path, line, problem):
    good = json.dumps(
        {
            "namespace": ["a"],
            "key": "ok",
            "value": {"text": "fine"},
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
    )
    with store(tmp_path / "b.sqlite") as target:
        with pytest.raises(ValueError, match=problem):
            import_items(target, read_jsonl([good, line]))
        with pytest.raises(ValueError, match="record 2"):
            import_items(target, [json.loads(good), {"key": "no namespace"}])
        assert target.search((), limit=10) == []


def test_a_store_without_restore_gets_the_values(tmp_path):
    with store(tmp_path / "a.sqlite") as source:
        fill(source)
        records = export_items(source)
    plain = InMemoryStore()
    assert import_items(plain, records) == len(FACTS)
    assert {(i.key, i.value["text"]) for i in plain.search(("users", "bob"))} == {
        ("job", "Bob is a pilot for a regional airline"),
        ("shift", "Bob flies the early shift on Mondays"),
    }
    with pytest.raises(TypeError, match="no history"):
        export_items(plain, history=True)


def test_the_header_records_the_index_and_a_truncated_file_is_refused(tmp_path):
    with store(tmp_path / "a.sqlite") as source:
        fill(source)
        records = export_items(source, history=True)
        out = io.StringIO()
        write_jsonl(records, out, header=export_header(source, records))
    first, *lines = out.getvalue().splitlines()
    assert json.loads(first) == {
        "langmem_export": 1,
        "count": len(FACTS),
        "index": {"fields": ["text"], "embedder": "hash", "dims": 64},
    }
    header, read = read_export(out.getvalue().splitlines())
    assert header.index.embedder == "hash" and read == records
    assert read_jsonl(out.getvalue().splitlines()) == records  # the header is not a record
    with pytest.raises(ValueError, match="counts 6 records but 5 follow"):
        read_jsonl([first, *lines[:-1]])
    with pytest.raises(ValueError, match="format 2"):
        read_jsonl([first.replace('"langmem_export":1', '"langmem_export":2'), *lines])
    with pytest.raises(ValueError, match="line 3: a second export header"):
        read_jsonl([first, lines[0], first])


def test_a_rerun_import_skips_what_it_already_wrote(tmp_path):
    """An interrupted import is finished by running it again: records already in the
    target unchanged are skipped (not re-embedded), the rest written, none duplicated."""
    with store(tmp_path / "a.sqlite") as source:
        fill(source)
        records = export_items(source, history=True)
    with store(tmp_path / "b.sqlite") as target:
        done = []
        assert import_items(target, records[:4], chunk=2, on_progress=done.append) == 4
        assert done == [2, 2]
        assert import_items(target, records, chunk=2, on_progress=done.append) == len(FACTS) - 4
        assert done[2:] == [2, 2, 2]  # every record counted, written or skipped
        assert import_items(target, records) == 0
        with store(tmp_path / "a.sqlite") as again:
            assert snapshot(target) == snapshot(again)
        for r in records:
            assert len(target.history(tuple(r.namespace), r.key)) == len(r.history)
        # A record that changed since is written again.
        changed = records[0].model_copy(update={"value": {"text": "changed"}})
        assert import_items(target, [changed]) == 1
        assert target.get(tuple(changed.namespace), changed.key).value == {"text": "changed"}
