"""RemoteReflectionExecutor against recording fakes of the langgraph-sdk clients."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from langgraph.func import entrypoint

from langmem.errors import ConfigurationError
from langmem.reflection import ReflectionExecutor
from langmem.reflection._remote import server_thread_id

pytestmark = pytest.mark.core

ITEM = {
    "namespace": ["memories", "u1"],
    "key": "k1",
    "value": {"kind": "Memory", "content": {"content": "likes tea"}},
    "created_at": "2026-01-01T00:00:00+00:00",
    "updated_at": "2026-01-01T00:00:00+00:00",
}


class FakeRuns:
    def __init__(self, delays=None, fail=None):
        self.created: list[dict] = []
        self.delays = delays or {}
        self.fail = fail
        self.lock = threading.Lock()

    def create(self, thread_id, assistant_id, **kwargs):
        time.sleep(self.delays.get(kwargs["input"].get("n"), 0))
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.created.append({"thread_id": thread_id, "assistant_id": assistant_id, **kwargs})
        return {"run_id": str(uuid.uuid4()), "thread_id": thread_id}


class FakeStore:
    def __init__(self):
        self.searches: list[tuple] = []

    def search_items(self, namespace_prefix, /, **kwargs):
        self.searches.append((namespace_prefix, kwargs))
        return {"items": [dict(ITEM, score=0.5)]}


class FakeAsyncStore(FakeStore):
    async def search_items(self, namespace_prefix, /, **kwargs):
        return FakeStore.search_items(self, namespace_prefix, **kwargs)


def remote(namespace=("memories",), **runs_kwargs):
    sync_client = SimpleNamespace(runs=FakeRuns(**runs_kwargs), store=FakeStore())
    client = SimpleNamespace(store=FakeAsyncStore())
    ex = ReflectionExecutor("memory_manager", namespace, client=client, sync_client=sync_client)
    return ex, sync_client, client


def test_submit_creates_a_delayed_rollback_run():
    ex, sync_client, _ = remote()
    payload = {"messages": [{"role": "user", "content": "hi"}]}
    tid = uuid.uuid4()
    assert ex.submit(payload, thread_id=tid, after_seconds=30).result(timeout=5) is None
    [run] = sync_client.runs.created
    assert run == {
        "thread_id": str(tid),
        "assistant_id": "memory_manager",
        "input": payload,
        "config": {"configurable": {"thread_id": str(tid), "namespace": ("memories",)}},
        "multitask_strategy": "rollback",
        "after_seconds": 30,
        "if_not_exists": "create",
    }


def test_repeated_submissions_share_a_thread_in_order():
    """The server debounces by rolling back the older run on the same thread, so the
    requests must reach it on one thread id, newest last, even if an earlier one is slow."""
    ex, sync_client, _ = remote(delays={0: 0.3})
    futures = [
        ex.submit({"n": n}, {"configurable": {"thread_id": "chat-1"}}, after_seconds=5)
        for n in range(4)
    ]
    for f in futures:
        f.result(timeout=5)
    runs = sync_client.runs.created
    assert [r["input"]["n"] for r in runs] == [0, 1, 2, 3]
    assert {r["thread_id"] for r in runs} == {server_thread_id("chat-1")}
    assert all(r["multitask_strategy"] == "rollback" for r in runs)
    assert all(r["config"]["configurable"]["thread_id"] == runs[0]["thread_id"] for r in runs)


def test_thread_ids_become_uuids_the_server_accepts():
    key = server_thread_id("chat-1")
    assert uuid.UUID(key) and key == server_thread_id("chat-1") != server_thread_id("chat-2")
    tid = str(uuid.uuid4())
    assert server_thread_id(tid) == tid


def test_without_a_thread_each_submission_gets_its_own():
    ex, sync_client, _ = remote()
    for f in [
        ex.submit({"n": 1}),
        ex.submit({"n": 2}, {"configurable": {}}),
        ex.submit({"n": 3}, {"configurable": {"thread_id": "t"}}, thread_id=None),
    ]:
        f.result(timeout=5)
    threads = [r["thread_id"] for r in sync_client.runs.created]
    assert len(set(threads)) == 3
    assert server_thread_id("t") not in threads


def test_the_graph_config_supplies_thread_and_namespace_variables():
    ex, sync_client, _ = remote(namespace=("memories", "{user_id}"))

    @entrypoint()
    def chat(message: str):
        return ex.submit({"messages": [message]})

    chat.invoke("hi", {"configurable": {"thread_id": "c9", "user_id": "alice"}}).result(5)
    [run] = sync_client.runs.created
    assert run["thread_id"] == server_thread_id("c9")
    assert run["config"]["configurable"]["namespace"] == ("memories", "alice")
    with pytest.raises(ConfigurationError, match="user_id"):
        ex.submit({"messages": []}, {"configurable": {}})


def test_request_failures_reach_the_future():
    ex, _, _ = remote(fail=ConnectionError("server down"))
    with pytest.raises(ConnectionError, match="server down"):
        ex.submit({"n": 1}, thread_id="t").result(timeout=5)
    with pytest.raises(ValueError, match="after_seconds"):
        ex.submit({"n": 1}, after_seconds=-2)


def test_flush_and_shutdown_wait_for_requests():
    ex, sync_client, _ = remote(delays={1: 0.2})
    ex.submit({"n": 1}, thread_id="a")
    ex.flush(timeout=5)
    assert len(sync_client.runs.created) == 1
    with ex:
        ex.submit({"n": 1}, thread_id="b")
    assert len(sync_client.runs.created) == 2
    with pytest.raises(RuntimeError):
        ex.submit({"n": 2})


async def test_search_sync_and_async():
    ex, sync_client, client = remote(namespace=("memories", "u1"))
    [item] = ex.search("tea", filter={"kind": "Memory"}, limit=3, offset=1)
    assert item["namespace"] == ("memories", "u1") and item["score"] == 0.5
    assert item["value"] == ITEM["value"]
    assert sync_client.store.searches == [
        (
            ("memories", "u1"),
            {"query": "tea", "filter": {"kind": "Memory"}, "limit": 3, "offset": 1},
        )
    ]
    [item] = await ex.asearch(namespace="elsewhere")
    assert item["key"] == "k1"
    assert client.store.searches == [
        (("elsewhere",), {"query": None, "filter": None, "limit": 10, "offset": 0})
    ]


# --- over HTTP: the SDK's real requests, to a loopback double of the server API ----


class _Recorder(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, dict]]

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        self.requests.append(("POST", self.path, body))
        if self.path == "/store/items/search":
            reply = {"items": [ITEM]}
        else:
            thread = self.path.split("/")[2]
            reply = {"run_id": str(uuid.uuid4()), "thread_id": thread, "status": "pending"}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_double():
    handler = type("Handler", (_Recorder,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    server.shutdown()
    server.server_close()


async def test_requests_on_the_wire(http_double):
    url, requests = http_double
    ex = ReflectionExecutor("memory_manager", ("memories", "{user_id}"), url=url)
    cfg = {"configurable": {"user_id": "ana", "thread_id": "chat-1"}}
    for n in range(2):
        ex.submit({"n": n}, cfg, after_seconds=1800).result(timeout=10)
    thread = server_thread_id("chat-1")
    runs = [r for r in requests if r[1].endswith("/runs")]
    assert [path for _, path, _ in runs] == [f"/threads/{thread}/runs"] * 2
    body = runs[-1][2]
    assert body["assistant_id"] == "memory_manager" and body["input"] == {"n": 1}
    assert body["multitask_strategy"] == "rollback" and body["if_not_exists"] == "create"
    assert body["after_seconds"] == 1800
    assert body["config"]["configurable"] == {"thread_id": thread, "namespace": ["memories", "ana"]}

    [item] = ex.search("tea", namespace=("memories", "ana"))
    assert item["namespace"] == ("memories", "u1") and item["key"] == "k1"
    [item] = await ex.asearch(namespace=("memories", "ana"), limit=3)
    searches = [body for _, path, body in requests if path == "/store/items/search"]
    assert searches[0]["namespace_prefix"] == ["memories", "ana"] and searches[0]["query"] == "tea"
    assert searches[1]["limit"] == 3
    ex.shutdown()
