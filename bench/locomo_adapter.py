"""LOCOMO adapter for the reference scorer: every turn is a memory in ``SQLiteStore``.

    python ../shared/tools/locomo_retrieval.py \\
        --setup bench/locomo_adapter.py:setup --searcher bench/locomo_adapter.py:search

Each turn is stored as a chat message, ``{"role": <speaker>, "content": <text>, "when": ...}``
(field ``content`` indexed), so the store treats it as a conversation turn (``is_turn``).

Environment: ``LOCOMO_MODE`` = ``default`` (``RankingWeights()`` as a user gets it: with
MiniLM, late interaction and adjacency credit between turns), ``vector``, ``keyword``,
``hybrid`` (neither late interaction nor neighbours: the previous default), ``neighbours``
(hybrid with ``neighbours=NEIGHBOURS``), ``late-nowindow`` (hybrid plus
``late_interaction=LATE``, no neighbours) or ``late`` (both, set explicitly);
``LOCOMO_EMBED`` = ``local`` (MiniLM with its token vectors, cached on disk under
``bench/results/``, the default) or ``hash`` (``HashEmbeddings``, for quick tests: no token
vectors, so no late interaction).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from langgraph.store.base import PutOp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _embcache import RESULTS, CachedTokenEmbeddings  # noqa: E402
from langmem.store import RankingWeights, SQLiteStore  # noqa: E402

NAMESPACE = "locomo"
NEIGHBOURS = 0.5
LATE = 2.0
# mode -> (search_mode, ranking weights)
# The transcript settings (keyword neighbours, speaker) off: the store before issue 13's round 2.
_PLAIN = {"keyword_neighbours": 0.0, "speaker": 0.0}
MODES = {
    "default": ("hybrid", RankingWeights()),
    "vector": ("vector", RankingWeights()),
    "keyword": ("keyword", RankingWeights()),
    "hybrid": ("hybrid", RankingWeights(neighbours=0.0, late_interaction=0.0, **_PLAIN)),
    "neighbours": (
        "hybrid",
        RankingWeights(neighbours=NEIGHBOURS, late_interaction=0.0, **_PLAIN),
    ),
    "late-nowindow": ("hybrid", RankingWeights(neighbours=0.0, late_interaction=LATE, **_PLAIN)),
    "late": ("hybrid", RankingWeights(neighbours=NEIGHBOURS, late_interaction=LATE, **_PLAIN)),
}


def make_embeddings(name: str, cache: str = "locomo-minilm"):
    """``(embeddings, dims)`` for ``"local"`` (MiniLM with token vectors, disk-cached in
    ``bench/results/<cache>.npz``) or ``"hash"``."""
    if name == "hash":
        from langmem.testing import HashEmbeddings

        return HashEmbeddings(256), 256
    from langmem.store.embeddings import LOCAL_DIMS, resolve_embeddings

    local = resolve_embeddings("local")
    return CachedTokenEmbeddings(local, RESULTS / f"{cache}.npz", LOCAL_DIMS), LOCAL_DIMS


def open_store(mode: str, embeddings, dims: int, fields: list[str]) -> SQLiteStore:
    """An in-memory store searching as ``mode`` (see :data:`MODES`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    search_mode, ranking = MODES[mode]
    index = {"dims": dims, "embed": embeddings, "fields": fields}
    return SQLiteStore(":memory:", index=index, search_mode=search_mode, ranking=ranking)


def bytes_per_item(store: SQLiteStore) -> dict[str, float]:
    """Database size and stored token vectors per item (``:memory:`` pages included)."""
    db = store._conn()
    items = db.execute("SELECT count(*) FROM items").fetchone()[0] or 1
    pages = (
        db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    )
    tokens = db.execute("SELECT coalesce(sum(length(tokens)), 0) FROM vectors").fetchone()[0]
    return {"db_bytes": round(pages / items), "token_bytes": round(tokens / items)}


def build_store(items, *, mode: str = "default", embed: str = "local") -> SQLiteStore:
    """One turn per ``(conv_id, dia_id, text, when)``, namespaced per conversation."""
    embeddings, dims = make_embeddings(embed)
    store = open_store(mode, embeddings, dims, ["content"])
    ops = [
        PutOp((NAMESPACE, cid), dia_id, {"role": _speaker(text), "content": text, "when": when})
        for cid, dia_id, text, when in items
    ]
    for start in range(0, len(ops), 1000):
        store.batch(ops[start : start + 1000])
    if isinstance(embeddings, CachedTokenEmbeddings):
        embeddings.save()
    return store


def _speaker(text: str) -> str:
    """``"Caroline"`` of ``"[<date>] Caroline: ..."``."""
    return text.split("] ", 1)[-1].split(":", 1)[0]


def search_keys(store: SQLiteStore, conv_id: str, query: str, k: int) -> list[str]:
    """The keys of the ``k`` best memories of one conversation for ``query``."""
    return [item.key for item in store.search((NAMESPACE, conv_id), query=query, limit=k)]


_store: SQLiteStore | None = None


def setup(items) -> None:
    global _store
    _store = build_store(
        items,
        mode=os.environ.get("LOCOMO_MODE", "default"),
        embed=os.environ.get("LOCOMO_EMBED", "local"),
    )


def search(conv_id: str, query: str, k: int) -> list[str]:
    if _store is None:
        raise RuntimeError("setup() must run before search()")
    return search_keys(_store, conv_id, query, k)
