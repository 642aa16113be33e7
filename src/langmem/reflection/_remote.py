"""Schedule memory runs on a LangGraph server through ``langgraph-sdk``.

Each submission becomes a delayed run on the server thread named by the
thread key, created with the ``rollback`` multitask strategy: a newer run on
the same thread cancels the older one while it waits, which is the local
executor's debouncing, done by the server. Submissions without a thread get a
fresh server thread each, so they never cancel each other.

Requests go out from a small thread pool; those for one thread are sent in
submission order (each waits for the previous one), so the newest payload is
always the one that survives.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from langmem._effects import Effect, Flow
from langmem.reflection._common import (
    Executor,
    MemoryItem,
    ambient_config,
    search_namespace,
    thread_key,
)
from langmem.utils import NamespaceTemplate

if TYPE_CHECKING:  # pragma: no cover
    from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient

__all__ = ["RemoteReflectionExecutor", "server_thread_id"]


def server_thread_id(key: str) -> str:
    """The server thread for a thread key: the key itself if it is a UUID (LangGraph
    servers only accept UUID thread ids), else a UUID derived from it."""
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"langmem-thread:{key}"))


class RemoteReflectionExecutor(Executor):
    """Submits payloads as delayed runs of the graph ``reflector`` on a LangGraph server.

    The run's config carries ``{"thread_id": ..., "namespace": [...]}``; the
    served graph reads the namespace from there (see ``deploy/`` in the
    repository). Futures resolve to ``None`` once the server accepted the run,
    or to the request's exception.
    """

    def __init__(
        self,
        namespace: str | tuple[str, ...] | NamespaceTemplate,
        reflector: str,
        *,
        url: str | None = None,
        client: LangGraphClient | None = None,
        sync_client: SyncLangGraphClient | None = None,
        max_workers: int = 4,
    ) -> None:
        self.namespace = NamespaceTemplate(namespace)
        self.assistant_id = reflector
        self.url = url
        self._client = client
        self._sync_client = sync_client
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="langmem-remote")
        self._lock = threading.Lock()
        self._latest: dict[str, Future] = {}  # per thread: the last request sent or queued
        self._in_flight: set[Future] = set()

    @property
    def client(self) -> LangGraphClient:
        if self._client is None:
            from langgraph_sdk import get_client

            self._client = get_client(url=self.url)
        return self._client

    @property
    def sync_client(self) -> SyncLangGraphClient:
        if self._sync_client is None:
            from langgraph_sdk import get_sync_client

            self._sync_client = get_sync_client(url=self.url)
        return self._sync_client

    def _submit(
        self, payload: Any, config: RunnableConfig | None, after_seconds: float, thread_id: Any
    ) -> Future:
        """Send a delayed ``rollback`` run of the graph on ``payload``; no thread (or
        ``thread_id=None``) means a fresh server thread. Namespace template variables
        are filled from the config now. The Future resolves to ``None`` once sent.
        """
        if config is None:
            config = ambient_config() or {}
        key = thread_key(config, thread_id)
        thread = server_thread_id(key) if key is not None else str(uuid.uuid4())
        request = {
            "thread_id": thread,
            "assistant_id": self.assistant_id,
            "input": payload,
            "config": {"configurable": {"thread_id": thread, "namespace": self.namespace(config)}},
            "multitask_strategy": "rollback",
            "after_seconds": after_seconds,
            "if_not_exists": "create",
        }
        with self._lock:
            previous = self._latest.get(thread)
            future = self._pool.submit(self._send, self.sync_client, request, previous)
            self._latest[thread] = future
            self._in_flight.add(future)
        future.add_done_callback(lambda f: self._forget(thread, f))
        return future

    @staticmethod
    def _send(client: SyncLangGraphClient, request: dict, previous: Future | None) -> None:
        if previous is not None:
            wait_futures([previous])  # keep one thread's runs in submission order
        client.runs.create(**request)

    def _forget(self, thread: str, future: Future) -> None:
        with self._lock:
            self._in_flight.discard(future)
            if self._latest.get(thread) is future:
                del self._latest[thread]

    def _search_flow(
        self, query: str | None, filter: dict | None, limit: int, offset: int, namespace: Any
    ) -> Flow[list[MemoryItem]]:
        ns = search_namespace(self.namespace, namespace)
        kwargs = {"query": query, "filter": filter, "limit": limit, "offset": offset}
        return _items((yield _SearchItems(self, ns, kwargs)))

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every submission has reached the server (the runs themselves
        happen there, after their delay)."""
        with self._lock:
            futures = list(self._in_flight)
        wait_futures(futures, timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting submissions; ``cancel_futures`` drops those not sent yet."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@dataclass(frozen=True)
class _SearchItems(Effect):
    """``store.search_items`` on the server, through the executor's sync or async client."""

    executor: RemoteReflectionExecutor
    namespace: tuple[str, ...]
    kwargs: dict[str, Any]

    def run(self) -> Any:
        return self.executor.sync_client.store.search_items(self.namespace, **self.kwargs)

    async def arun(self) -> Any:
        return await self.executor.client.store.search_items(self.namespace, **self.kwargs)


def _items(response: Any) -> list[MemoryItem]:
    return [
        {
            "namespace": tuple(item["namespace"]),
            "key": item["key"],
            "value": item["value"],
            "created_at": item.get("created_at"),
            "updated_at": item.get("updated_at"),
            "score": item.get("score"),
        }
        for item in response["items"]
    ]
