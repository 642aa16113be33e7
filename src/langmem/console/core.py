"""What every console view shares: the served store and its root (:class:`Console`),
addresses (:func:`href`), namespaces as shown, and a request's parameters.

Namespaces travel in addresses as their labels below the console's root, one ``ns``
parameter each (``/namespace?ns=users&ns=alice``): nothing in an address can name a
namespace outside the root, and a label holding ``/`` or ``%2F`` is one label.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast
from urllib.parse import urlencode

import jinja2
from langgraph.store.base import BaseStore, Item
from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from langmem.store._read import ExplainingStore
from langmem.store.history import HistoryEntry

__all__ = [
    "MODES",
    "ORIGIN",
    "Console",
    "Params",
    "back",
    "held",
    "href",
    "key_of",
    "number",
    "shown",
]

ORIGIN = "langmem ui"
# The search modes offered, and the store's ``search_mode`` of each.
MODES = {"default": "hybrid", "vector": "vector", "keyword": "keyword"}


class Keeping(Protocol):
    """What the console needs besides ``BaseStore``: history, revert and erase."""

    def history(self, namespace: tuple[str, ...], key: str) -> list[HistoryEntry]: ...

    def revert(self, namespace: tuple[str, ...], key: str, version: int) -> int: ...

    def erase(self, namespace: tuple[str, ...], key: str | None = None) -> int: ...


@dataclass
class Console:
    """The store the app serves and how (see :func:`langmem.console.create_app`)."""

    store: ExplainingStore
    root: tuple[str, ...]
    read_only: bool
    origin: str
    title: str
    mode_store: Callable[[str], BaseStore] | None
    templates: jinja2.Environment
    _modes: dict[str, BaseStore] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def keeping(self) -> Keeping:
        return cast(Keeping, self.store)

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(MODES) if self.mode_store is not None else ("default",)

    def searcher(self, mode: str = "default") -> BaseStore:
        """The store that searches in ``mode`` (opened on first use)."""
        if self.mode_store is None:
            return self.store
        with self._lock:
            if mode not in self._modes:
                self._modes[mode] = self.mode_store(MODES[mode])
            return self._modes[mode]

    def full(self, labels: Sequence[str], *, whole: bool = True) -> tuple[str, ...]:
        """The namespace ``labels`` name below the root; 400 for a label no store takes.
        ``whole``: the root itself may be named (else at least one label overall)."""
        for label in labels:
            if not label or "." in label or "\x00" in label:
                raise HTTPException(
                    400,
                    f"{label!r} is not a namespace label (labels are non-empty, without"
                    " '.' or NUL)",
                )
        namespace = (*self.root, *labels)
        if not namespace and not whole:
            raise HTTPException(400, "name a namespace")
        return namespace

    def below(self, namespace: Sequence[str]) -> tuple[str, ...]:
        """``namespace``'s labels below the root (it lies under the root)."""
        if tuple(namespace[: len(self.root)]) != self.root:  # never shown, never linked
            raise HTTPException(404, "outside this console's namespace")
        return tuple(namespace[len(self.root) :])

    def render(self, name: str, request: Request, code: int = 200, **data: Any) -> HTMLResponse:
        page = self.templates.get_template(name).render(console=self, request=request, **data)
        return HTMLResponse(page, code)


def href(path: str, ns: Sequence[str] = (), **params: Any) -> str:
    """``path`` with ``ns`` (labels below the root) and ``params`` (None: left out)."""
    pairs = [("ns", label) for label in ns]
    pairs += [(name, value) for name, value in params.items() if value is not None]
    return path + (f"?{urlencode(pairs)}" if pairs else "")


def shown(namespace: Sequence[str]) -> str:
    """A namespace as people write it: ``users/alice``."""
    return "/".join(namespace)


class Params(dict):
    """A request's parameters: ``params["ns"]`` is every ``ns`` given, the others one value."""

    def __init__(self, source: QueryParams | FormData) -> None:
        super().__init__(source.items())
        self["ns"] = tuple(source.getlist("ns"))


def key_of(params: Mapping[str, Any]) -> str:
    key = params.get("key")
    if not isinstance(key, str) or not key:
        raise HTTPException(400, "name a memory (key=...)")
    return key


def held(console: Console, namespace: tuple[str, ...], key: str) -> Item:
    item = console.store.get(namespace, key, refresh_ttl=False)
    if item is None:
        raise HTTPException(404, f"No memory {key!r} in {shown(namespace)}: nothing was changed.")
    return item


def number(text: Any, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def back(path: str, labels: Sequence[str], **params: Any) -> RedirectResponse:
    return RedirectResponse(href(path, labels, **params), 303)
