"""Property: tools and store-manager calls by two tenants stay in their own namespace
(on InMemoryStore, SQLiteStore and PostgresStore).

Random sequences of manage/search tool calls and store-manager runs (whose
scripted model aims patches and removals at ids of *both* tenants, with valid
and invalid values) never read or write the other tenant's namespace, never
change its data, and leave only values that match the declared schema.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.base import BaseStore, GetOp, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel

from langmem import (
    create_manage_memory_tool,
    create_memory_store_manager,
    create_search_memory_tool,
)
from langmem.knowledge.store_manager import stable_id
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = pytest.mark.core

TENANTS = ("alice", "bob")


class Note(BaseModel):
    text: str
    tags: list[str] = []


class RecordingStore(BaseStore):
    """Records the ops of the code under test on a real store (``InMemoryStore``,
    ``SQLiteStore`` or ``PostgresStore``); the test's own reads go through ``peek``."""

    def __init__(self, inner: BaseStore):
        self.inner = inner
        self.ops: list = []

    def batch(self, ops):
        ops = list(ops)
        self.ops.extend(ops)
        return self.inner.batch(ops)

    async def abatch(self, ops):
        ops = list(ops)
        self.ops.extend(ops)
        return await self.inner.abatch(ops)

    def peek(self, prefix: tuple[str, ...]) -> list:
        [items] = self.inner.batch([SearchOp(prefix, None, 10_000, 0, None, False)])
        return items


@contextlib.contextmanager
def open_store(backend: str, request) -> Iterator[BaseStore]:
    index = {"dims": 32, "embed": HashEmbeddings(32)}
    if backend == "memory":
        yield InMemoryStore(index=index)
    elif backend == "sqlite":
        with SQLiteStore(":memory:", index=index) as store:
            yield store
    else:
        from langmem.store import PostgresStore

        with request.getfixturevalue("pg_server").schema() as url, PostgresStore(
            url, index=index
        ) as store:
            yield store


def ns_of(tenant: str) -> tuple[str, ...]:
    return ("notes", tenant)


def config(tenant: str) -> dict:
    return {"configurable": {"tenant": tenant}}


def snapshot(store: RecordingStore, tenant: str) -> dict:
    return {i.key: i.value for i in store.peek(ns_of(tenant))}


def all_items(store: RecordingStore) -> list:
    return store.peek(("notes",))


def target_key(store: RecordingStore, index: int) -> tuple[tuple[str, ...], str]:
    """Any stored memory of either tenant, or (index past the end) one that does not exist."""
    items = sorted(all_items(store), key=lambda i: (i.namespace, i.key))
    if index < len(items):
        return items[index].namespace, items[index].key
    return ns_of("alice"), str(uuid.UUID(int=index))


texts = st.text(alphabet="abc xyz", min_size=1, max_size=12)
notes = st.builds(lambda t, g: {"text": t, "tags": g}, texts, st.lists(texts, max_size=2))
tenants = st.sampled_from(TENANTS)
indexes = st.integers(0, 8)
model_calls = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), notes),
        st.tuples(st.just("patch"), indexes, st.one_of(texts, st.integers())),
        st.tuples(st.just("remove"), indexes),
    ),
    max_size=3,
)
actions = st.one_of(
    st.tuples(st.just("create"), tenants, notes),
    st.tuples(st.just("update"), tenants, indexes, notes),
    st.tuples(st.just("delete"), tenants, indexes),
    st.tuples(st.just("search"), tenants, texts, st.sampled_from([None, {"text": "a"}])),
    st.tuples(st.just("manager"), tenants, model_calls),
)


def scripted_reply(store: RecordingStore, calls: list):
    """The model's reply, computed when it is asked: ids aimed at both tenants' memories."""

    def reply(_call):
        tool_calls = []
        for call in calls:
            if call[0] == "insert":
                tool_calls.append(("Note", call[1]))
                continue
            namespace, key = target_key(store, call[1])
            doc_id = stable_id(namespace, key)
            if call[0] == "remove":
                tool_calls.append(("RemoveDoc", {"json_doc_id": doc_id}))
            else:
                patches = [{"op": "replace", "path": "/text", "value": call[2]}]
                tool_calls.append(
                    ("PatchDoc", {"json_doc_id": doc_id, "planned_edits": "", "patches": patches})
                )
        return ai(*tool_calls)

    return reply


def run_action(store, action) -> None:
    kind, tenant = action[0], action[1]
    cfg = config(tenant)
    manage = create_manage_memory_tool(("notes", "{tenant}"), schema=Note, store=store)
    if kind == "create":
        manage.invoke({"content": action[2]}, cfg)
    elif kind in ("update", "delete"):
        _, key = target_key(store, action[2])
        args = {"action": kind, "id": key}
        if kind == "update":
            args["content"] = action[3]
        manage.invoke(args, cfg)
    elif kind == "search":
        search = create_search_memory_tool(("notes", "{tenant}"), store=store)
        search.invoke({"query": action[2], "filter": action[3]}, cfg)
    else:
        model = ScriptedChatModel([scripted_reply(store, action[2])], default=ai())
        manager = create_memory_store_manager(
            model,
            schemas=[Note],
            namespace=("notes", "{tenant}"),
            store=store,
            enable_deletes=True,
            query_limit=4,
        )
        manager.invoke({"messages": [("user", "remember this")]}, cfg)


def assert_valid(value: dict) -> None:
    if "kind" in value:
        assert value["kind"] == "Note" and set(value) == {"kind", "content"}
    else:
        assert set(value) == {"content"}
    Note.model_validate(value["content"])


@pytest.mark.parametrize(
    ("backend", "examples"),
    [("memory", 150), ("sqlite", 40), pytest.param("postgres", 25, marks=pytest.mark.postgres)],
)
def test_tenants_stay_isolated_and_values_match_the_schema(backend, examples, request):
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(actions, min_size=1, max_size=10))
    def check(sequence):
        with open_store(backend, request) as inner:
            run_sequence(RecordingStore(inner), sequence)

    check()


def run_sequence(store: RecordingStore, sequence: list) -> None:
    for action in sequence:
        tenant = action[1]
        other = next(t for t in TENANTS if t != tenant)
        before = snapshot(store, other)
        store.ops.clear()
        run_action(store, action)
        for op in store.ops:
            if isinstance(op, (PutOp, GetOp)):
                assert op.namespace == ns_of(tenant), (action, op)
            elif isinstance(op, SearchOp):
                assert op.namespace_prefix == ns_of(tenant), (action, op)
        assert snapshot(store, other) == before
        for item in all_items(store):
            assert_valid(item.value)
