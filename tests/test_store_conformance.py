"""One suite, three stores: ``SQLiteStore`` and ``PostgresStore`` (the ``postgres``-marked
params, on the session's test server) must behave as LangGraph's ``InMemoryStore``.

Documented differences (see ``langmem.store.sqlite``) are checked as such: listing
without a query is compared as a set (SQLite: newest updated first), query
searches compare membership and the best hit (hybrid fusion orders the rest by
its own score), and ``search_mode="vector"`` must match InMemoryStore's order
(scores to 2e-3: the vector index may quantize).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore

from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core

DIMS = 64


def _index():
    return {"dims": DIMS, "embed": HashEmbeddings(DIMS), "fields": ["text"]}


PG = pytest.param("postgres", marks=pytest.mark.postgres)


def _postgres(request, **kwargs):
    from langmem.store import PostgresStore

    return PostgresStore(request.getfixturevalue("pg_url"), **kwargs)


@pytest.fixture(params=["memory", "sqlite", "sqlite-file", PG])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStore(index=_index())
        return
    if request.param == "postgres":
        with _postgres(request, index=_index()) as s:
            yield s
        return
    path = tmp_path / "s.db" if request.param == "sqlite-file" else ":memory:"
    with SQLiteStore(path, index=_index()) as s:
        yield s


@pytest.fixture(params=["memory", "sqlite", PG])
def plain(request):
    """Stores without an index (no vectors, no keyword search)."""
    if request.param == "postgres":
        with _postgres(request) as s:
            yield s
        return
    yield InMemoryStore() if request.param == "memory" else SQLiteStore(":memory:")


FRUIT = {
    "apple": {"text": "a crisp red apple from the orchard", "color": "red", "n": 3, "flag": True},
    "banana": {"text": "a ripe yellow banana", "color": "yellow", "n": 7},
    "cherry": {"text": "dark cherry pie with cream", "color": "red", "n": 12},
    "lemon": {"text": "sour lemon juice", "color": "yellow", "n": 1, "meta": {"k": "v"}},
}


def _fill(store, ns=("fruit",)):
    for key, value in FRUIT.items():
        store.put(ns, key, value)


def _keys(items):
    return {i.key for i in items}


def test_put_get_roundtrip(store):
    store.put(("users", "u1"), "prefs", {"theme": "dark", "tags": ["a", "b"], "n": 1.5})
    item = store.get(("users", "u1"), "prefs")
    assert item.value == {"theme": "dark", "tags": ["a", "b"], "n": 1.5}
    assert (item.namespace, item.key) == (("users", "u1"), "prefs")
    assert item.created_at.tzinfo is not None
    assert store.get(("users", "u1"), "missing") is None
    assert store.get(("users", "u2"), "prefs") is None


def test_update_replaces_value(store):
    store.put(("n",), "k", {"text": "first"})
    first = store.get(("n",), "k")
    store.put(("n",), "k", {"text": "second"})
    second = store.get(("n",), "k")
    assert second.value == {"text": "second"}
    assert second.updated_at >= first.updated_at


def test_delete(store):
    _fill(store)
    store.delete(("fruit",), "apple")
    store.delete(("fruit",), "never-existed")
    assert store.get(("fruit",), "apple") is None
    assert _keys(store.search(("fruit",), limit=10)) == {"banana", "cherry", "lemon"}
    assert "apple" not in _keys(store.search(("fruit",), query="red apple", limit=10))


def test_search_without_query_lists_the_namespace_subtree(store):
    _fill(store, ("a", "fruit"))
    store.put(("a",), "top", {"text": "at the top"})
    store.put(("ab",), "other", {"text": "sibling prefix, not a child"})
    items = store.search(("a",), limit=10)
    assert _keys(items) == set(FRUIT) | {"top"}
    assert all(i.score is None for i in items)
    assert _keys(store.search(("a", "fruit"), limit=10)) == set(FRUIT)
    assert len(store.search((), limit=10)) == 6


def test_paging_covers_everything_once(store):
    _fill(store)
    pages = [store.search(("fruit",), limit=3, offset=o) for o in (0, 3)]
    assert [len(p) for p in pages] == [3, 1]
    assert _keys(pages[0]) | _keys(pages[1]) == set(FRUIT)
    assert not _keys(pages[0]) & _keys(pages[1])


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"color": "red"}, {"apple", "cherry"}),
        ({"color": {"$eq": "yellow"}}, {"banana", "lemon"}),
        ({"color": {"$ne": "red"}}, {"banana", "lemon"}),
        ({"n": {"$gt": 3}}, {"banana", "cherry"}),
        ({"n": {"$gte": 3}}, {"apple", "banana", "cherry"}),
        ({"n": {"$lt": 3}}, {"lemon"}),
        ({"n": {"$lte": 3, "$gt": 1}}, {"apple"}),
        ({"meta": {"k": "v"}}, {"lemon"}),
        ({"color": "red", "n": 12}, {"cherry"}),
        ({"color": "blue"}, set()),
        ({"n": 3.0}, {"apple"}),
        ({"n": "3"}, set()),
        ({"flag": True}, {"apple"}),
        ({"flag": 1}, {"apple"}),
        ({"text": "sour lemon juice"}, {"lemon"}),
    ],
)
def test_filters(store, filter, expected):
    _fill(store)
    assert _keys(store.search(("fruit",), filter=filter, limit=10)) == expected
    with_query = store.search(("fruit",), query="fruit", filter=filter, limit=10)
    assert _keys(with_query) == expected


def test_query_search_finds_the_best_match_first(store):
    _fill(store)
    store.put(("veg",), "tomato", {"text": "a crisp red apple lookalike tomato"})
    results = store.search(("fruit",), query="crisp red apple", limit=10)
    assert results[0].key == "apple"
    assert _keys(results) == set(FRUIT)  # every fruit has a vector; never the other namespace
    scores = [r.score for r in results]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)


def test_query_search_limit_and_offset(store):
    # Searches update recency/strength in SQLiteStore, so compare membership;
    # exact paging order is tested in test_store_sqlite.py with recency off.
    _fill(store)
    full = store.search(("fruit",), query="red apple cherry", limit=10)
    page = store.search(("fruit",), query="red apple cherry", limit=2, offset=1)
    assert len(full) == 4 and len(page) == 2
    assert _keys(page) <= _keys(full)
    assert store.search(("fruit",), query="red apple cherry", limit=2, offset=3)[1:] == []


def test_index_fields_per_put(store):
    store.put(("docs",), "d1", {"text": "irrelevant words", "title": "quantum physics"})
    store.put(("docs",), "d2", {"text": "quantum physics", "title": "cooking"}, index=["title"])
    # d1 is indexed by its text (the store's fields), d2 by its title only.
    assert store.search(("docs",), query="cooking", limit=2)[0].key == "d2"
    assert store.search(("docs",), query="irrelevant words", limit=2)[0].key == "d1"


def test_list_namespaces(store):
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("x", "b", "c"), ("y",)]:
        store.put(ns, "k", {"text": "x"})
    assert store.list_namespaces() == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "e"),
        ("x", "b", "c"),
        ("y",),
    ]
    assert store.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "e")]
    assert store.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("x", "b", "c")]
    assert store.list_namespaces(prefix=("*", "b")) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("x", "b", "c"),
    ]
    assert store.list_namespaces(max_depth=1) == [("a",), ("x",), ("y",)]
    assert store.list_namespaces(prefix=("a",), max_depth=2) == [("a", "b"), ("a", "e")]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "e")]


def test_batch_results_follow_op_order_and_reads_see_the_state_before(store):
    store.put(("b",), "old", {"text": "old one"})
    results = store.batch(
        [
            PutOp(("b",), "new", {"text": "new one"}),
            GetOp(("b",), "new"),
            GetOp(("b",), "old"),
            SearchOp(("b",), limit=10),
            ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("b",)),)),
        ]
    )
    assert results[0] is None and results[1] is None
    assert results[2].value == {"text": "old one"}
    assert _keys(results[3]) == {"old"}
    assert results[4] == [("b",)]
    assert store.get(("b",), "new").value == {"text": "new one"}


def test_last_put_in_a_batch_wins(store):
    store.batch([PutOp(("w",), "k", {"text": "one"}), PutOp(("w",), "k", {"text": "two"})])
    assert store.get(("w",), "k").value == {"text": "two"}
    store.batch([PutOp(("w",), "k", {"text": "three"}), PutOp(("w",), "k", None)])
    assert store.get(("w",), "k") is None


def test_invalid_namespaces_are_rejected(store):
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"x": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put((), "k", {"x": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(("langgraph",), "k", {"x": 1})


def test_unknown_op_is_a_value_error(store):
    with pytest.raises(ValueError):
        store.batch([object()])


async def test_async_matches_sync(store):
    await store.aput(("as",), "k1", {"text": "alpha beta"})
    await store.aput(("as",), "k2", {"text": "gamma delta"})
    assert (await store.aget(("as",), "k1")).value == {"text": "alpha beta"}
    found = await store.asearch(("as",), query="gamma delta")
    assert found[0].key == "k2"
    assert [r.key for r in found] == [r.key for r in store.search(("as",), query="gamma delta")]
    assert await store.alist_namespaces() == [("as",)]
    await store.adelete(("as",), "k1")
    assert await store.aget(("as",), "k1") is None


def test_without_index_query_is_ignored(plain):
    _fill(plain)
    results = plain.search(("fruit",), query="apple", limit=10)
    assert _keys(results) == set(FRUIT)
    assert all(r.score is None for r in results)


@pytest.mark.parametrize("backend", ["sqlite", PG])
def test_vector_mode_matches_in_memory_order(request, backend):
    memory = InMemoryStore(index=_index())
    if backend == "postgres":
        sqlite = _postgres(request, index=_index(), search_mode="vector")
    else:
        sqlite = SQLiteStore(":memory:", index=_index(), search_mode="vector")
    for s in (memory, sqlite):
        _fill(s)
    for query in ["red fruit", "sour juice", "pie with cream", "yellow banana"]:
        expected = memory.search(("fruit",), query=query, limit=4)
        got = sqlite.search(("fruit",), query=query, limit=4)
        assert [r.key for r in got] == [r.key for r in expected]
        assert [r.score for r in got] == pytest.approx([r.score for r in expected], abs=2e-3)


def test_namespace_order_and_prefix_with_lookalike_labels(store):
    for ns in [("a", "b-c"), ("a", "b", "c"), ("a", "b/c"), ("a", "b"), ("a", "bb")]:
        store.put(ns, "k", {"text": "x"})
    assert store.list_namespaces() == sorted(
        [("a", "b-c"), ("a", "b", "c"), ("a", "b/c"), ("a", "b"), ("a", "bb")]
    )
    under = {i.namespace for i in store.search(("a", "b"), limit=10)}
    assert under == {("a", "b"), ("a", "b", "c")}


_ns = st.sampled_from([("a",), ("a", "b"), ("a", "c"), ("d",)])
_key = st.sampled_from(["k1", "k2", "k3"])
_value = st.fixed_dictionaries({"text": st.sampled_from(["red", "blue"]), "n": st.integers(0, 3)})
_op = st.one_of(
    st.tuples(st.just("put"), _ns, _key, _value),
    st.tuples(st.just("delete"), _ns, _key),
)
_filter = st.one_of(
    st.none(),
    st.fixed_dictionaries({"text": st.sampled_from(["red", "blue"])}),
    st.fixed_dictionaries({"n": st.fixed_dictionaries({"$gte": st.integers(0, 3)})}),
)


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(_op, max_size=12), prefix=st.sampled_from([(), ("a",), ("a", "b")]), f=_filter)
def test_random_histories_read_back_alike(ops, prefix, f):
    memory, sqlite = InMemoryStore(), SQLiteStore(":memory:")
    for s in (memory, sqlite):
        for op in ops:
            s.put(*op[1:]) if op[0] == "put" else s.delete(*op[1:])

    def view(s):
        items = s.search(prefix, filter=f, limit=100)
        found = {(i.namespace, i.key): i.value for i in items}
        gets = {(ns, k): getattr(s.get(ns, k), "value", None) for ns, k in found}
        # (InMemoryStore also lists namespaces left empty by deletes; compare non-empty ones.)
        namespaces = {
            ns for ns in s.list_namespaces() if any(i.namespace == ns for i in s.search(ns))
        }
        return found, gets, namespaces

    assert view(sqlite) == view(memory)
