"""LocalReflectionExecutor: debouncing, isolation, errors, draining, context."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
import types
import uuid
from concurrent.futures import CancelledError

import pytest
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda, ensure_config
from langgraph.config import get_config, get_store
from langgraph.func import entrypoint
from langgraph.store.memory import InMemoryStore

import langmem
from _helpers import NEEDS_ASYNC_CONTEXT
from langmem.errors import ConfigurationError
from langmem.reflection import (
    LocalReflectionExecutor,
    ReflectionExecutor,
    RemoteReflectionExecutor,
    _local,
)
from langmem.testing import ScriptedChatModel
from langmem.utils import NamespaceTemplate

pytestmark = pytest.mark.core

CFG = {"configurable": {"user_id": "u1"}}


def echo_model() -> ScriptedChatModel:
    return ScriptedChatModel(default=lambda call: f"noted: {call.text}")


def asked(model: ScriptedChatModel) -> list[str]:
    """The texts the model was asked about, in order."""
    return [call.text for call in model.calls]


class NoteTaker(Runnable):
    """A memory runnable: asks the model about the payload and writes the reply to the
    store it finds with ``get_store()`` under a namespace resolved from ``get_config()``."""

    def __init__(self, model: ScriptedChatModel, store=None) -> None:
        self.model = model
        self.namespace = NamespaceTemplate(("notes", "{user_id}"))
        if store is not None:
            self.store = store

    def invoke(self, input, config: RunnableConfig | None = None, **kwargs):
        ambient = get_config()
        ns = self.namespace(ambient)
        reply = self.model.invoke(input["text"])
        get_store().put(ns, input["text"], {"note": reply.content})
        return {"namespace": ns, "config": ensure_config(config), "ambient": ambient}


def notes(store: InMemoryStore, user: str = "u1") -> list[str]:
    return sorted(item.key for item in store.search(("notes", user)))


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def model() -> ScriptedChatModel:
    return echo_model()


@pytest.fixture
def executor(model, store):
    ex = ReflectionExecutor(NoteTaker(model), store=store)
    yield ex
    ex.shutdown(wait=True, cancel_futures=True)


# --- construction ---------------------------------------------------------------


def test_factory_picks_local_or_remote():
    assert isinstance(ReflectionExecutor(RunnableLambda(lambda x: x)), LocalReflectionExecutor)
    remote = ReflectionExecutor("graph", ("memories",), url="http://127.0.0.1:9")
    assert isinstance(remote, RemoteReflectionExecutor)
    assert langmem.ReflectionExecutor is ReflectionExecutor
    contract = {"ReflectionExecutor", "LocalReflectionExecutor", "RemoteReflectionExecutor"}
    assert contract | {"MemoryItem"} <= set(langmem.reflection.__all__)


def test_factory_rejects_mixed_arguments():
    with pytest.raises(ValueError, match="namespace"):
        ReflectionExecutor("graph")
    with pytest.raises(ValueError, match="remote"):
        ReflectionExecutor(RunnableLambda(lambda x: x), url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="store"):
        ReflectionExecutor("graph", ("m",), store=InMemoryStore())
    with pytest.raises(TypeError):
        LocalReflectionExecutor(42)


def test_any_runnable_or_callable_can_be_wrapped(store):
    with ReflectionExecutor(lambda payload: payload["n"] * 2, store=store) as ex:
        assert ex.submit({"n": 21}, CFG).result(timeout=5) == 42
    plain = ReflectionExecutor(RunnableLambda(lambda payload: payload), store=store)
    assert plain.namespace is None  # no .namespace needed to construct or submit
    assert plain.submit("x", CFG).result(timeout=5) == "x"
    plain.shutdown()


# --- debouncing ------------------------------------------------------------------


def test_debounce_within_a_thread(executor, model, store):
    futures = [
        executor.submit({"text": f"draft {i}"}, CFG, thread_id="t1", after_seconds=0.3)
        for i in range(5)
    ]
    result = futures[-1].result(timeout=5)
    assert all(f.cancelled() for f in futures[:-1])
    assert asked(model) == ["draft 4"]  # superseded payloads never reached the model
    assert notes(store) == ["draft 4"]
    assert result["namespace"] == ("notes", "u1")
    with pytest.raises(CancelledError):
        futures[0].result()


def test_threads_never_cancel_each_other(executor, model, store):
    a = executor.submit({"text": "a"}, CFG, thread_id="ta", after_seconds=0.2)
    b = executor.submit({"text": "b"}, CFG, thread_id="tb", after_seconds=0.2)
    a2 = executor.submit({"text": "a2"}, CFG, thread_id="ta", after_seconds=0.2)
    b.result(timeout=5), a2.result(timeout=5)
    assert a.cancelled() and not b.cancelled()
    assert sorted(asked(model)) == ["a2", "b"]


def test_the_config_thread_id_is_the_default_key(executor, model):
    cfg = {"configurable": {"user_id": "u1", "thread_id": "conv-1"}}
    first = executor.submit({"text": "one"}, cfg, after_seconds=0.2)
    second = executor.submit({"text": "two"}, cfg, after_seconds=0.2)
    second.result(timeout=5)
    assert first.cancelled()
    assert asked(model) == ["two"]


def test_submissions_without_a_thread_stand_alone(executor, model):
    """LangMem debounces thread-less submissions against each other; we don't."""
    futures = [executor.submit({"text": f"n{i}"}, CFG, after_seconds=0.1) for i in range(3)]
    assert [f.result(timeout=5)["namespace"] for f in futures] == [("notes", "u1")] * 3
    assert sorted(asked(model)) == ["n0", "n1", "n2"]


def test_explicit_none_thread_disables_debouncing(executor, model):
    cfg = {"configurable": {"user_id": "u1", "thread_id": "conv-1"}}
    futures = [
        executor.submit({"text": f"n{i}"}, cfg, thread_id=None, after_seconds=0.1) for i in range(3)
    ]
    for f in futures:
        f.result(timeout=5)
    assert len(model.calls) == 3


def test_uuid_and_string_thread_ids_share_a_key(executor, model):
    tid = uuid.uuid4()
    first = executor.submit({"text": "one"}, CFG, thread_id=tid, after_seconds=0.2)
    executor.submit({"text": "two"}, CFG, thread_id=str(tid), after_seconds=0.2).result(timeout=5)
    assert first.cancelled()
    assert asked(model) == ["two"]


def test_a_running_task_is_not_interrupted(store):
    started, release = threading.Event(), threading.Event()
    seen = []

    def slow(payload):
        seen.append(payload)
        if payload == "first":
            started.set()
            assert release.wait(5)
        return payload.upper()

    with ReflectionExecutor(slow, store=store) as ex:
        first = ex.submit("first", CFG, thread_id="t")
        assert started.wait(5)
        t0 = time.monotonic()
        second = ex.submit("second", CFG, thread_id="t")  # never blocks on the busy worker
        assert time.monotonic() - t0 < 0.5
        assert not first.cancel() and not second.done()
        release.set()
        assert first.result(timeout=5) == "FIRST"
        assert second.result(timeout=5) == "SECOND"
    assert seen == ["first", "second"]


def test_equal_due_times_never_compare_payloads(store, monkeypatch):
    monkeypatch.setattr(_local, "time", types.SimpleNamespace(monotonic=lambda: 1000.0))
    with ReflectionExecutor(lambda p: p["i"], store=store) as ex:
        futures = [ex.submit({"i": i}, CFG, thread_id=None) for i in range(20)]
        assert [f.result(timeout=5) for f in futures] == list(range(20))


def test_an_idle_worker_exits_and_a_new_one_starts(store, monkeypatch):
    monkeypatch.setattr(_local, "_IDLE_SECONDS", 0.05)
    with ReflectionExecutor(lambda p: p, store=store) as ex:
        assert ex.submit(1, CFG).result(timeout=5) == 1
        first = ex._worker
        first.join(timeout=5)
        assert not first.is_alive() and ex._worker is None
        assert ex.submit(2, CFG).result(timeout=5) == 2
        assert ex._worker is not first


def test_superseded_tasks_do_not_pile_up(executor):
    for i in range(300):
        executor.submit({"text": str(i)}, CFG, thread_id="t", after_seconds=60)
    assert len(executor._heap) < 150


def test_many_threads_and_rapid_submissions(store):
    """50 conversation threads x 20 submissions from 10 submitting threads at once."""
    processed: list[tuple[int, int]] = []
    lock = threading.Lock()

    def record(payload):
        with lock:
            processed.append((payload["thread"], payload["i"]))
        return payload["i"]

    futures: dict[tuple[int, int], object] = {}

    def client(threads: range) -> None:
        for i in range(20):
            for t in threads:
                futures[(t, i)] = ex.submit(
                    {"thread": t, "i": i}, CFG, thread_id=f"t{t}", after_seconds=0.05
                )

    with ReflectionExecutor(record, store=store) as ex:
        clients = [threading.Thread(target=client, args=(range(k, 50, 10),)) for k in range(10)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        ex.flush(timeout=30)
        assert all(f.done() for f in futures.values())
    assert len(futures) == 1000
    assert len(processed) == len(set(processed))  # nothing ran twice
    ran = {key for key, f in futures.items() if not f.cancelled()}
    assert set(processed) == ran  # what ran is exactly what was not cancelled
    assert {(t, 19) for t in range(50)} <= ran  # every thread's final payload ran
    assert all(futures[key].result() == key[1] for key in ran)


# --- errors --------------------------------------------------------------------


def test_failures_reach_the_future_and_the_log(store, caplog):
    def boom(payload):
        if payload == "bad":
            raise RuntimeError("model exploded")
        return "fine"

    with ReflectionExecutor(boom, store=store) as ex, caplog.at_level(logging.ERROR, "langmem"):
        bad = ex.submit("bad", CFG)
        with pytest.raises(RuntimeError, match="model exploded"):
            bad.result(timeout=5)
        assert ex.submit("good", CFG).result(timeout=5) == "fine"  # the worker survived
    assert any(r.name == "langmem" and r.exc_info for r in caplog.records)


def test_base_exceptions_do_not_kill_the_worker(store):
    def misconfigured(payload):
        if payload == "bad":
            raise ConfigurationError("missing key")
        return "ok"

    with ReflectionExecutor(misconfigured, store=store) as ex:
        assert isinstance(ex.submit("bad", CFG).exception(timeout=5), ConfigurationError)
        assert ex.submit("good", CFG).result(timeout=5) == "ok"


def test_no_store_is_an_error_at_submit():
    ex = ReflectionExecutor(RunnableLambda(lambda p: p))
    with pytest.raises(ValueError, match="store"):
        ex.submit("x", CFG)
    assert ex._worker is None  # nothing was scheduled


def test_no_config_outside_a_graph_is_an_error_at_submit(store):
    ex = ReflectionExecutor(lambda p: p, store=store)
    with pytest.raises(ValueError, match="config"):
        ex.submit("x")
    assert ex.submit("x", {"configurable": {}}).result(timeout=5) == "x"
    ex.shutdown()


def test_missing_template_key_is_an_error_at_submit(executor, model):
    with pytest.raises(ConfigurationError, match="user_id"):
        executor.submit({"text": "x"}, {"configurable": {"thread_id": "t"}})
    assert model.calls == []


def test_negative_delay_is_rejected(executor):
    with pytest.raises(ValueError, match="after_seconds"):
        executor.submit({"text": "x"}, CFG, after_seconds=-1)


# --- store and config ----------------------------------------------------------


def test_store_comes_from_the_reflector(model, store):
    with ReflectionExecutor(NoteTaker(model, store=store)) as ex:
        ex.submit({"text": "hello"}, CFG).result(timeout=5)
    assert notes(store) == ["hello"]


def test_constructor_store_wins(model, store):
    other = InMemoryStore()
    with ReflectionExecutor(NoteTaker(model, store=other), store=store) as ex:
        assert ex.store is store
        ex.submit({"text": "hello"}, CFG).result(timeout=5)
    assert notes(store) == ["hello"]  # get_store() inside the reflector is the executor's


def test_graph_store_and_config_are_captured_at_submit(model, store):
    ex = ReflectionExecutor(NoteTaker(model))

    @entrypoint(store=store)
    def chat(message: str):
        return ex.submit({"text": message}, after_seconds=0.1)

    cfg = {
        "configurable": {"user_id": "u7", "thread_id": "c1"},
        "tags": ["chat"],
        "metadata": {"app": "demo"},
    }
    future = chat.invoke("remember me", cfg)
    result = future.result(timeout=5)  # runs after the graph run has ended
    ex.shutdown()
    assert notes(store, "u7") == ["remember me"]
    seen = result["ambient"]
    assert seen["configurable"]["user_id"] == "u7"
    assert seen["configurable"]["thread_id"] == "c1"
    assert seen["tags"] == ["chat"]
    assert seen["metadata"]["app"] == "demo"
    assert not any(k.startswith("langgraph_") for k in seen["metadata"])
    internal = [k for k in seen["configurable"] if k.startswith(("__pregel_", "checkpoint_"))]
    assert internal == ["__pregel_runtime"]  # only the runtime carrying the store
    assert result["config"]["configurable"]["user_id"] == "u7"


@pytest.mark.parametrize("explicit", [True, pytest.param(False, marks=NEEDS_ASYNC_CONTEXT)])
async def test_submit_inside_an_async_graph(model, store, explicit):
    ex = ReflectionExecutor(NoteTaker(model))

    @entrypoint(store=store)
    async def chat(message: str, config: RunnableConfig):
        return ex.submit({"text": message}, config if explicit else None)

    future = await chat.ainvoke("async hello", CFG)
    future.result(timeout=5)
    ex.shutdown()
    assert notes(store) == ["async hello"]


# --- draining ------------------------------------------------------------------


def test_flush_runs_delayed_work_now(executor, model):
    futures = [
        executor.submit({"text": t}, CFG, thread_id=t, after_seconds=3600) for t in ("a", "b")
    ]
    t0 = time.monotonic()
    executor.flush(timeout=10)
    assert time.monotonic() - t0 < 5
    assert all(f.done() and not f.cancelled() for f in futures)
    assert sorted(asked(model)) == ["a", "b"]


def test_flush_inside_a_task_is_refused(store):
    holder = {}
    with ReflectionExecutor(lambda p: holder["ex"].flush(), store=store) as ex:
        holder["ex"] = ex
        assert isinstance(ex.submit("x", CFG).exception(timeout=5), RuntimeError)


def test_shutdown_runs_pending_work_at_once(model, store):
    ex = ReflectionExecutor(NoteTaker(model), store=store)
    future = ex.submit({"text": "late"}, CFG, thread_id="t", after_seconds=3600)
    t0 = time.monotonic()
    ex.shutdown(wait=True)
    assert time.monotonic() - t0 < 5
    assert future.done() and not future.cancelled()
    assert notes(store) == ["late"]
    assert not ex._worker.is_alive()
    with pytest.raises(RuntimeError, match="shutdown"):
        ex.submit({"text": "more"}, CFG)


def test_shutdown_can_cancel_pending_work(store):
    started, release = threading.Event(), threading.Event()
    ran = []

    def work(payload):
        ran.append(payload)
        if payload == "busy":
            started.set()
            assert release.wait(5)
        return payload

    ex = ReflectionExecutor(work, store=store)
    busy = ex.submit("busy", CFG)
    assert started.wait(5)
    pending = [ex.submit(f"p{i}", CFG, thread_id=f"t{i}") for i in range(3)]
    threading.Timer(0.2, release.set).start()
    ex.shutdown(wait=True, cancel_futures=True)
    assert busy.result() == "busy"  # the running task finished normally
    assert all(f.cancelled() for f in pending)
    assert ran == ["busy"]  # cancelled tasks never ran
    assert not ex._worker.is_alive()


def test_context_manager_drains_on_exit(model, store):
    with ReflectionExecutor(NoteTaker(model), store=store) as ex:
        future = ex.submit({"text": "bye"}, CFG, after_seconds=3600)
    assert future.done() and notes(store) == ["bye"]


def test_pending_work_does_not_keep_the_interpreter_alive(tmp_path):
    script = tmp_path / "exit.py"
    script.write_text(
        "from langgraph.store.memory import InMemoryStore\n"
        "from langmem import ReflectionExecutor\n"
        "ex = ReflectionExecutor(lambda p: p, store=InMemoryStore())\n"
        "ex.submit('x', {'configurable': {}}, after_seconds=3600)\n"
        "print('submitted')\n"
    )
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "submitted"
    assert time.monotonic() - t0 < 30  # not the hour the task was scheduled for


# --- search --------------------------------------------------------------------


def test_search_in_the_reflectors_namespace(executor, store):
    executor.submit({"text": "likes tea"}, CFG).result(timeout=5)
    executor.submit({"text": "other user"}, {"configurable": {"user_id": "u2"}}).result(timeout=5)
    items = executor.search(namespace=("notes", "u1"))
    assert [i["key"] for i in items] == ["likes tea"]
    item = items[0]
    assert item["namespace"] == ("notes", "u1")
    assert item["value"] == {"note": "noted: likes tea"}
    assert set(item) == {"namespace", "key", "value", "created_at", "updated_at", "score"}
    assert [i["key"] for i in executor.search(namespace="notes", limit=1, offset=1)] == [
        "other user"
    ]


@NEEDS_ASYNC_CONTEXT
async def test_search_resolves_the_template_from_the_running_graph(executor, store):
    executor.submit({"text": "likes tea"}, CFG).result(timeout=5)

    @entrypoint(store=store)
    async def lookup(_):
        return await executor.asearch()

    items = await lookup.ainvoke("go", CFG)
    assert [i["key"] for i in items] == ["likes tea"]
    with pytest.raises(ConfigurationError, match="user_id"):
        executor.search()  # outside a graph there is no user_id to fill in


def test_search_without_a_namespace_is_an_error(store):
    ex = ReflectionExecutor(lambda p: p, store=store)
    with pytest.raises(ValueError, match="namespace"):
        ex.search()
    ex_ns = ReflectionExecutor(lambda p: p, ("notes", "{user_id}"), store=store)
    store.put(("notes", "u1"), "k", {"note": "n"})
    assert [i["key"] for i in ex_ns.search(namespace=("notes",))] == ["k"]


def test_search_uses_the_store_last_submitted_to(model, store):
    ex = ReflectionExecutor(NoteTaker(model))

    @entrypoint(store=store)
    def chat(message: str):
        return ex.submit({"text": message})

    chat.invoke("remember", CFG).result(timeout=5)
    assert [i["key"] for i in ex.search(namespace=("notes", "u1"))] == ["remember"]
    ex.shutdown()
    with pytest.raises(ValueError, match="store"):
        ReflectionExecutor(NoteTaker(model)).search(namespace=("notes",))
