"""Run a memory runnable on a background thread of this process, debounced per thread.

Scheduling is a heap of ``(due, seq, task)`` guarded by one condition variable;
``seq`` breaks ties so payloads are never compared. ``_pending`` maps each
thread key to its task that has not started yet: a newer submission cancels
that task's Future (a started task cannot be cancelled, so it finishes and its
Future resolves normally). One daemon worker (started on demand, gone when
idle) runs tasks one at a time, so reflections never race each other on the
same memories, and it never keeps a finished program alive.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.runnables.config import set_config_context
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore, SearchItem

from langmem._effects import CallRunnable, Flow, StoreBatch
from langmem.knowledge._values import CONFIG_KEY_RUNTIME, context_store, search_op
from langmem.reflection._common import (
    Executor,
    MemoryItem,
    ambient_config,
    search_namespace,
    thread_key,
)
from langmem.utils import NamespaceTemplate

__all__ = ["LocalReflectionExecutor"]

logger = logging.getLogger("langmem")

_IDLE_SECONDS = 30.0  # an idle worker exits after this long
_HURRY = float("-inf")  # the due time of work that must run now (flush, shutdown)
# Config entries that belong to the submitting graph's run and mean nothing after it.
_RUN_KEYS = ("checkpoint_ns", "checkpoint_id", "checkpoint_map")
_KEPT = ("tags", "metadata", "recursion_limit", "max_concurrency")


@dataclass(eq=False)
class _Task:
    key: str | None
    payload: Any
    config: RunnableConfig
    future: Future


class LocalReflectionExecutor(Executor):
    """Runs ``reflector`` in the background, one task at a time, debounced per thread.

    ``submit`` captures the config (the argument, else the calling graph's) and
    the store (``store=``, else the reflector's ``.store``, else the calling
    graph's) and returns a Future at once. The reflector later runs with that
    config ambient and that store reachable through ``get_store()``.
    """

    def __init__(
        self,
        reflector: Runnable | Callable[..., Any],
        store: BaseStore | None = None,
        *,
        namespace: str | tuple[str, ...] | NamespaceTemplate | None = None,
    ) -> None:
        if not isinstance(reflector, Runnable):
            if not callable(reflector):
                raise TypeError(f"reflector must be a Runnable or a callable, got {reflector!r}")
            reflector = RunnableLambda(reflector)
        self.reflector = reflector
        if namespace is None:
            namespace = getattr(reflector, "namespace", None)
            if not isinstance(namespace, (NamespaceTemplate, tuple, str)):
                namespace = None
        self.namespace = None if namespace is None else NamespaceTemplate(namespace)
        if store is None:
            try:
                own_store = getattr(reflector, "store", None)
            except ValueError:  # a store manager with no store of its own (as in LangMem)
                own_store = None
            if isinstance(own_store, BaseStore):
                store = own_store
        if store is not None and not isinstance(store, BaseStore):
            raise TypeError(f"store must be a BaseStore, got {store!r}")
        self.store = store
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Task]] = []
        self._seq = itertools.count()
        self._pending: dict[str, _Task] = {}
        self._superseded = 0
        self._running: _Task | None = None
        self._closed = False
        self._worker: threading.Thread | None = None
        self._last_store: BaseStore | None = None

    # --- submitting --------------------------------------------------------------

    def _submit(
        self, payload: Any, config: RunnableConfig | None, after_seconds: float, thread_id: Any
    ) -> Future:
        """Queue a task running ``reflector.invoke(payload)``, replacing the thread's pending
        one. Raises ``ValueError`` at once when there is no config or no store, and
        ``ConfigurationError`` when the namespace template needs a key the config lacks.
        """
        if config is None:
            config = ambient_config()
            if config is None:
                raise ValueError(
                    "submit() was called outside a LangGraph graph or entrypoint: pass the "
                    "run's config explicitly, e.g. config={'configurable': {'user_id': ...}}"
                )
        store = self.store if self.store is not None else context_store(config)
        if store is None:
            raise ValueError(
                "No store for the reflector to write to: pass ReflectionExecutor(..., store=...), "
                "give the reflector a store, or call submit() inside a graph compiled with one"
            )
        if self.namespace is not None:
            self.namespace(config)  # a missing template key fails here, not in the worker
        key = thread_key(config, thread_id)
        task = _Task(key, payload, _run_config(config, store), Future())
        due = time.monotonic() + after_seconds
        with self._cond:
            if self._closed:
                raise RuntimeError("cannot submit to a ReflectionExecutor after shutdown()")
            if key is not None:
                superseded = self._pending.get(key)
                if superseded is not None and superseded.future.cancel():
                    self._superseded += 1
                self._pending[key] = task
            heapq.heappush(self._heap, (due, next(self._seq), task))
            self._last_store = store
            self._compact()
            self._start_worker()
            self._cond.notify()
        return task.future

    def _compact(self) -> None:
        """Drop superseded tasks from the heap once they make up most of it."""
        if self._superseded > 64 and self._superseded * 2 > len(self._heap):
            self._heap = [e for e in self._heap if not e[2].future.cancelled()]
            heapq.heapify(self._heap)
            self._superseded = 0

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._work, name="langmem-reflection", daemon=True
            )
            self._worker.start()

    # --- the worker --------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                self._running = None
                task = self._next_task()
                if task is None:
                    return
                self._running = task
            self._run(task)

    def _next_task(self) -> _Task | None:
        """Wait for the next due task and mark it running; ``None`` once closed and idle,
        or idle for a while (``submit`` starts a new worker when needed)."""
        while True:
            if not self._heap:
                if self._closed:
                    return None
                if not self._cond.wait(_IDLE_SECONDS) and not self._heap:
                    self._worker = None
                    return None
                continue
            due, _, task = self._heap[0]
            delay = due - time.monotonic()
            if delay > 0:
                self._cond.wait(delay)
                continue
            heapq.heappop(self._heap)
            if task.key is not None and self._pending.get(task.key) is task:
                del self._pending[task.key]
            if task.future.set_running_or_notify_cancel():
                return task

    def _run(self, task: _Task) -> None:
        effect = CallRunnable(self.reflector, task.payload, task.config)
        try:
            with set_config_context(task.config) as context:
                result = context.run(effect.run)
        except BaseException as exc:  # handed to the Future, never lost
            logger.exception("Background reflection failed (thread %s)", task.key)
            task.future.set_exception(exc)
        else:
            task.future.set_result(result)

    # --- draining ----------------------------------------------------------------

    def _hurry(self) -> list[Future]:
        """Make everything queued due now; return the Futures to wait for."""
        self._heap = [(_HURRY, seq, task) for _, seq, task in self._heap]
        heapq.heapify(self._heap)
        self._cond.notify_all()
        waiting = [task.future for _, _, task in self._heap]
        return waiting + ([self._running.future] if self._running is not None else [])

    def flush(self, timeout: float | None = None) -> None:
        """Run all queued work now, ignoring delays, and wait until it (and any running task)
        is done. Failures stay on their Futures."""
        if threading.current_thread() is self._worker:
            raise RuntimeError("flush() inside a reflection task would wait for itself")
        with self._cond:
            futures = self._hurry()
        wait_futures(futures, timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work. Queued work runs at once, ignoring delays, unless
        ``cancel_futures`` cancels it; a running task always finishes. ``wait``
        blocks until the worker is done."""
        with self._cond:
            self._closed = True
            if cancel_futures:
                for _, _, task in self._heap:
                    task.future.cancel()
                self._heap.clear()
                self._pending.clear()
            self._hurry()
            worker = self._worker
        if wait and worker is not None and worker is not threading.current_thread():
            worker.join()

    # --- reading memories --------------------------------------------------------

    def _search_flow(
        self, query: str | None, filter: dict | None, limit: int, offset: int, namespace: Any
    ) -> Flow[list[MemoryItem]]:
        ns = search_namespace(self.namespace, namespace)
        store = self.store  # else the running graph's, else the one last submitted to
        if store is None:
            store = context_store(ambient_config())
        if store is None:
            store = self._last_store
        if store is None:
            raise ValueError("No store to search: pass ReflectionExecutor(..., store=...)")
        op = search_op(store, ns, query=query, filter=filter, limit=limit, offset=offset)
        [items] = yield StoreBatch(store, [op])
        return [_memory_item(item) for item in items]


def _run_config(config: RunnableConfig, store: BaseStore) -> RunnableConfig:
    """The submitted config minus what belongs to the submitting graph's run, with a
    LangGraph runtime carrying ``store`` (and the run's context, if any)."""
    configurable = {
        k: v
        for k, v in (config.get("configurable") or {}).items()
        if not k.startswith("__pregel_") and k not in _RUN_KEYS
    }
    runtime = (config.get("configurable") or {}).get(CONFIG_KEY_RUNTIME)
    configurable[CONFIG_KEY_RUNTIME] = Runtime(
        context=getattr(runtime, "context", None), store=store
    )
    # keys from _KEPT, all RunnableConfig keys (a dict with non-literal keys to mypy)
    run_config = cast(RunnableConfig, {k: config.get(k) for k in _KEPT if k in config})
    if "metadata" in run_config:
        run_config["metadata"] = {
            k: v for k, v in run_config["metadata"].items() if not k.startswith("langgraph_")
        }
    if isinstance(config.get("callbacks"), list):  # handlers; a manager belongs to its run
        run_config["callbacks"] = config["callbacks"]
    run_config["configurable"] = configurable
    return run_config


def _memory_item(item: SearchItem) -> MemoryItem:
    return {
        "namespace": tuple(item.namespace),
        "key": item.key,
        "value": item.value,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
        "score": getattr(item, "score", None),
    }
