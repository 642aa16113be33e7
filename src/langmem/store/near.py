"""Near-duplicates: existing memories that say nearly what a new one says.

The surfaces that create a memory (the manage tool's ``create``, ``langmem add``,
the MCP ``add_memory``) run one search in the memory's exact namespace and name
the hits whose cosine similarity to the new text passes :data:`SIMILAR`, so the
writer can update the existing memory instead. They never merge or skip the write:
a similar sentence can mean the opposite ("likes tea" / "dislikes tea").

The signal is the hit's cosine (``explanation["cosine"]`` of an explained search,
whatever the store's ``search_mode``); a store that does not explain its hits
(e.g. LangGraph's ``InMemoryStore`` with an index) gives its score, which is the
cosine there. A hit the vector search did not find, or a store without vectors,
gives none, so nothing is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langgraph.store.base import BaseStore, SearchItem, SearchOp

from langmem.memory import memory_text
from langmem.store._read import ExplainSearchOp

__all__ = [
    "SIMILAR",
    "as_dicts",
    "find_similar",
    "similar_items",
    "similar_note",
    "similar_op",
    "similarity",
]

# Cosine from which an existing memory is named as a possible duplicate; measured
# with the local embedder in bench/near_duplicates.py (see bench/README.md).
SIMILAR = 0.75
LIMIT = 3  # hits looked at


def similar_op(namespace: tuple[str, ...], text: str, limit: int = LIMIT) -> SearchOp:
    """The one search that finds candidates for :func:`similar_items`."""
    return ExplainSearchOp(tuple(namespace), None, limit, 0, text, False)


def similarity(hit: SearchItem) -> float | None:
    """The hit's cosine similarity to the query, or ``None`` when there is none."""
    why = getattr(hit, "explanation", None)
    if isinstance(why, dict):
        cosine = why.get("cosine")
        return float(cosine) if isinstance(cosine, (int, float)) else None
    return float(hit.score) if isinstance(hit.score, (int, float)) else None


def similar_items(
    hits: Sequence[SearchItem],
    namespace: tuple[str, ...],
    *,
    exclude: str | None = None,
    threshold: float = SIMILAR,
) -> list[SearchItem]:
    """The ``hits`` in exactly ``namespace`` (not below it), other than key ``exclude``,
    whose similarity reaches ``threshold``; most similar first."""
    ns = tuple(namespace)
    found = [
        (sim, hit)
        for hit in hits
        if tuple(hit.namespace) == ns
        and hit.key != exclude
        and (sim := similarity(hit)) is not None
        and sim >= threshold
    ]
    return [hit for _, hit in sorted(found, key=lambda pair: -pair[0])]


def find_similar(
    store: BaseStore,
    namespace: tuple[str, ...],
    text: str,
    *,
    exclude: str | None = None,
    threshold: float = SIMILAR,
) -> list[SearchItem]:
    """Existing memories in ``namespace`` that nearly match ``text`` (one search; async
    callers batch :func:`similar_op` themselves and pass the hits to :func:`similar_items`)."""
    [hits] = store.batch([similar_op(namespace, text)])
    return similar_items(
        cast(list[SearchItem], hits), namespace, exclude=exclude, threshold=threshold
    )


def similar_note(hits: Sequence[SearchItem]) -> str:
    """``'; similar existing memory <key>: "<text>" ...'`` for the manage tool's reply."""
    if not hits:
        return ""
    named = ", ".join(f'{hit.key}: "{_short(memory_text(hit.value))}"' for hit in hits)
    plural = "memories" if len(hits) > 1 else "memory"
    return f"; similar existing {plural} {named} — update it instead if it is the same fact"


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_dicts(hits: Sequence[SearchItem]) -> list[dict[str, Any]]:
    """``[{"id": key, "content": text, "similarity": cosine}, ...]`` for JSON surfaces."""
    return [
        {"id": h.key, "content": memory_text(h.value), "similarity": similarity(h)} for h in hits
    ]
