"""Background memory processing: run a memory runnable later, once a thread goes quiet.

:func:`ReflectionExecutor` wraps a memory runnable (a store manager, a memory
manager, any ``Runnable``) so an agent can hand conversations off and answer at
once. Each submission names a conversation thread; a newer submission for the
same thread replaces the older one while it still waits (debouncing), so a
burst of messages costs one run over the latest payload.

- :class:`LocalReflectionExecutor` runs the work on a background thread of this
  process. Pending work is lost if the process exits first: call ``flush()`` or
  ``shutdown()`` (or use it as a context manager) before exiting.
- :class:`RemoteReflectionExecutor` schedules delayed runs of a graph on a
  LangGraph server (see ``deploy/`` in the repository), which debounces with its
  ``rollback`` multitask strategy. Use it where local threads don't survive,
  such as serverless functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable
from langgraph.store.base import BaseStore

from langmem.reflection._common import Executor, MemoryItem
from langmem.reflection._local import LocalReflectionExecutor
from langmem.reflection._remote import RemoteReflectionExecutor

if TYPE_CHECKING:  # pragma: no cover
    from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient

__all__ = [
    "Executor",
    "LocalReflectionExecutor",
    "MemoryItem",
    "ReflectionExecutor",
    "RemoteReflectionExecutor",
]


def ReflectionExecutor(
    reflector: Runnable | Callable[..., Any] | str,
    namespace: str | tuple[str, ...] | None = None,
    /,
    *,
    url: str | None = None,
    client: LangGraphClient | None = None,
    sync_client: SyncLangGraphClient | None = None,
    store: BaseStore | None = None,
) -> Executor:
    """Create a background executor for a memory runnable.

    Args:
        reflector: The runnable to run in the background (local), or the name of
            a graph or assistant on a LangGraph server (remote).
        namespace: The memory namespace ``search`` looks in (may hold
            ``{template}`` variables). Required for a remote graph; optional
            locally, where it defaults to the runnable's ``.namespace``.
        url: LangGraph server URL (remote only).
        client: Async LangGraph SDK client (remote only).
        sync_client: Sync LangGraph SDK client (remote only).
        store: Store the local runnable works on. Default: the runnable's own
            ``.store``, else the store of the graph calling ``submit``.

    Returns:
        A :class:`RemoteReflectionExecutor` for a graph name, else a
        :class:`LocalReflectionExecutor`.
    """
    if isinstance(reflector, str):
        if namespace is None:
            raise ValueError("A remote ReflectionExecutor needs a namespace, e.g. ('memories',)")
        if store is not None:
            raise ValueError("store= applies to local executors; the server uses its own store")
        return RemoteReflectionExecutor(
            namespace, reflector, url=url, client=client, sync_client=sync_client
        )
    if url is not None or client is not None or sync_client is not None:
        raise ValueError(
            "url, client and sync_client apply to remote executors: pass the name of a "
            "graph served by a LangGraph server instead of a runnable"
        )
    return LocalReflectionExecutor(reflector, store=store, namespace=namespace)
