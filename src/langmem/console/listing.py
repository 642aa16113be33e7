"""Memories as the console lists them: every item under a namespace, the namespace tree
with counts, and a table page (filtered, sorted, paged)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.store.base import SearchItem

from langmem.memory import memory_text
from langmem.store._ops import EVERY_ITEM, importance_of
from langmem.store._read import ExplainingStore

__all__ = ["PAGE_SIZE", "SORTS", "Node", "Page", "all_items", "page_of", "tree"]

PAGE_SIZE = 25


def all_items(store: ExplainingStore, prefix: tuple[str, ...]) -> list[SearchItem]:
    """Every item under ``prefix``, closed ones (no longer true) included, newest update
    first (TTLs are not refreshed); one statement (pages by offset would each sort)."""
    return store.search(prefix, limit=EVERY_ITEM, refresh_ttl=False, include_closed=True)


@dataclass
class Node:
    """A namespace in the tree: its labels below the console's root, how many memories
    it holds itself and with those below it, and its children by label."""

    path: tuple[str, ...]
    own: int = 0
    total: int = 0
    children: dict[str, Node] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.path[-1] if self.path else ""

    def sorted_children(self) -> list[Node]:
        return [self.children[label] for label in sorted(self.children)]


def tree(items: Sequence[SearchItem], root: tuple[str, ...]) -> Node:
    """The namespaces of ``items`` (all under ``root``) below ``root``, with counts."""
    top = Node(())
    for namespace, count in Counter(tuple(item.namespace[len(root) :]) for item in items).items():
        node = top
        node.total += count
        for depth in range(len(namespace)):
            node = node.children.setdefault(namespace[depth], Node(namespace[: depth + 1]))
            node.total += count
        node.own += count
    return top


def _content(item: SearchItem) -> Any:
    return memory_text(item.value).casefold()


def _importance(item: SearchItem) -> Any:
    found = importance_of(item.value)
    return -1.0 if found is None else found


# Column -> (sort key, whether it sorts newest/highest first by default).
SORTS: dict[str, tuple[Any, bool]] = {
    "updated": (lambda item: item.updated_at, True),
    "created": (lambda item: item.created_at, True),
    "importance": (_importance, True),
    "content": (_content, False),
    "key": (lambda item: item.key, False),
}


@dataclass(frozen=True)
class Page:
    """One page of a namespace's table."""

    items: list[SearchItem]
    matching: int  # items that pass the filter
    number: int  # 1-based, clamped to the pages there are
    pages: int
    sort: str
    descending: bool
    filter: str

    @property
    def first(self) -> int:
        """1-based position of the page's first item (0 when there is none)."""
        return (self.number - 1) * PAGE_SIZE + 1 if self.items else 0


def page_of(
    items: Sequence[SearchItem], *, filter: str, sort: str, descending: bool | None, number: int
) -> Page:
    """The page ``number`` of ``items`` whose text or key holds ``filter`` (any case),
    sorted by ``sort`` (a :data:`SORTS` column; unknown: ``updated``)."""
    sort = sort if sort in SORTS else "updated"
    by, newest_first = SORTS[sort]
    descending = newest_first if descending is None else descending
    needle = filter.strip().casefold()
    kept = [
        item
        for item in items
        if not needle
        or needle in memory_text(item.value).casefold()
        or needle in item.key.casefold()
    ]
    kept.sort(key=by, reverse=descending)
    pages = max(1, -(-len(kept) // PAGE_SIZE))
    number = min(max(number, 1), pages)
    start = (number - 1) * PAGE_SIZE
    return Page(kept[start : start + PAGE_SIZE], len(kept), number, pages, sort, descending, filter)
