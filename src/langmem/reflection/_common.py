"""What the local and remote executors share: the item shape, thread keys, namespaces."""

from __future__ import annotations

import enum
import uuid
from concurrent.futures import Future
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from typing_extensions import Self, TypedDict

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


class Executor(Protocol):
    """The interface both executors implement."""

    def submit(
        self,
        payload: Any,
        /,
        config: RunnableConfig | None = None,
        *,
        after_seconds: float = 0,
        thread_id: str | uuid.UUID | None | _Unset = UNSET,
    ) -> Future: ...

    def search(
        self,
        query: str | None = None,
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        namespace: str | tuple[str, ...] | None = None,
    ) -> list[MemoryItem]: ...

    async def asearch(
        self,
        query: str | None = None,
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        namespace: str | tuple[str, ...] | None = None,
    ) -> list[MemoryItem]: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


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
