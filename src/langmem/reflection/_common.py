"""What the local and remote executors share: the public API, the item shape, thread keys."""

from __future__ import annotations

import abc
import enum
import uuid
from concurrent.futures import Future
from typing import Any

from langchain_core.runnables import RunnableConfig
from typing_extensions import Self, TypedDict

from langmem._effects import Flow, adrive, drive
from langmem.utils import NamespaceTemplate

__all__ = [
    "UNSET",
    "Executor",
    "MemoryItem",
    "ambient_config",
    "search_namespace",
    "thread_key",
]


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET  # "thread_id not given": take it from the config


class MemoryItem(TypedDict):
    """A stored memory as returned by ``search``."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any]
    created_at: str  # ISO 8601
    updated_at: str  # ISO 8601
    score: float | None


class Executor(abc.ABC):
    """The interface both executors implement.

    The public methods are written once here: ``search`` and ``asearch`` are
    thin shells driving the subclass's ``_search_flow``; ``submit`` checks its
    arguments and hands over to ``_submit``.
    """

    def submit(
        self,
        payload: Any,
        /,
        config: RunnableConfig | None = None,
        *,
        after_seconds: float = 0,
        thread_id: str | uuid.UUID | None | _Unset = UNSET,
    ) -> Future:
        """Schedule a run of the reflector on ``payload`` in ``after_seconds``; return a Future.

        A newer submission for the same thread replaces this one while it still
        waits. The thread is ``thread_id`` if given (``None``: no debouncing),
        else ``config["configurable"]["thread_id"]``; ``config`` defaults to the
        calling graph's.
        """
        if after_seconds < 0:
            raise ValueError(f"after_seconds must be >= 0, got {after_seconds}")
        return self._submit(payload, config, after_seconds, thread_id)

    def search(
        self,
        query: str | None = None,
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        namespace: str | tuple[str, ...] | None = None,
    ) -> list[MemoryItem]:
        """Search the memories under ``namespace`` (default: the executor's, filled from
        the current config) in the executor's store (the server's, when remote)."""
        return drive(self._search_flow(query, filter, limit, offset, namespace))

    async def asearch(
        self,
        query: str | None = None,
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        namespace: str | tuple[str, ...] | None = None,
    ) -> list[MemoryItem]:
        """Async :meth:`search`."""
        return await adrive(self._search_flow(query, filter, limit, offset, namespace))

    @abc.abstractmethod
    def _submit(
        self, payload: Any, config: RunnableConfig | None, after_seconds: float, thread_id: Any
    ) -> Future: ...

    @abc.abstractmethod
    def _search_flow(
        self, query: str | None, filter: dict | None, limit: int, offset: int, namespace: Any
    ) -> Flow[list[MemoryItem]]: ...

    @abc.abstractmethod
    def flush(self, timeout: float | None = None) -> None:
        """Wait until the work submitted so far is done (see each executor)."""

    @abc.abstractmethod
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work (see each executor)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)


def ambient_config() -> RunnableConfig | None:
    """The config of the graph or runnable currently running, if any."""
    from langgraph.config import get_config

    try:
        return get_config()
    except RuntimeError:
        return None


def thread_key(config: RunnableConfig, thread_id: Any) -> str | None:
    """The debounce key: an explicit id, else the config's ``thread_id``; ``None`` = no key.

    An explicit ``None`` means "don't debounce" even when the config names a thread.
    """
    if thread_id is UNSET:
        thread_id = (config.get("configurable") or {}).get("thread_id")
    return None if thread_id is None else str(thread_id)


def search_namespace(
    default: NamespaceTemplate | None, namespace: str | tuple[str, ...] | None
) -> tuple[str, ...]:
    """``namespace`` if given, else the executor's template filled from the ambient config."""
    if namespace is not None:
        return NamespaceTemplate(namespace).template
    if default is None:
        raise ValueError(
            "No namespace to search: pass namespace=..., or wrap a runnable with a "
            "`.namespace` (such as a memory store manager)"
        )
    return default()
