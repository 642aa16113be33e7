"""LOCOMO adapter for the reference scorer: every turn is a memory in ``SQLiteStore``.

    python ../shared/tools/locomo_retrieval.py \\
        --setup bench/locomo_adapter.py:setup --searcher bench/locomo_adapter.py:search

Environment: ``LOCOMO_MODE`` = ``hybrid`` (default), ``vector``, ``keyword``, ``neighbours`` (hybrid
with ``RankingWeights(neighbours=NEIGHBOURS)``: adjacent turns lend each other evidence),
``late`` (``neighbours`` plus ``late_interaction=LATE``: MaxSim over stored token vectors,
with the window of adjacent turns) or ``late-nowindow`` (hybrid plus ``late_interaction=LATE``);
``LOCOMO_EMBED`` = ``local`` (MiniLM, cached on disk under ``bench/results/``, the default;
the late modes run the model for every text, as they need its token vectors) or ``hash``
(``HashEmbeddings``, for quick tests; not for the late modes).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from langgraph.store.base import PutOp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _embcache import RESULTS, CachedEmbeddings  # noqa: E402
from langmem.store import RankingWeights, SQLiteStore  # noqa: E402

NAMESPACE = "locomo"
NEIGHBOURS = 0.5
LATE = 2.0
# mode -> (search_mode, ranking weights)
MODES = {
    "hybrid": ("hybrid", RankingWeights()),
    "vector": ("vector", RankingWeights()),
    "keyword": ("keyword", RankingWeights()),
    "neighbours": ("hybrid", RankingWeights(neighbours=NEIGHBOURS)),
    "late": ("hybrid", RankingWeights(neighbours=NEIGHBOURS, late_interaction=LATE)),
    "late-nowindow": ("hybrid", RankingWeights(late_interaction=LATE)),
}


def make_embeddings(name: str, *, tokens: bool = False):
    """``(embeddings, dims)`` for ``"local"`` (MiniLM, disk-cached unless ``tokens``) or ``"hash"``."""
    if name == "hash":
        from langmem.testing import HashEmbeddings

        return HashEmbeddings(256), 256
    from langmem.store.embeddings import LOCAL_DIMS, resolve_embeddings

    local = resolve_embeddings("local")
    if tokens:  # the cache holds sentence vectors only
        return local, LOCAL_DIMS
    return CachedEmbeddings(local, RESULTS / "locomo-minilm.npz"), LOCAL_DIMS


def build_store(items, *, mode: str = "hybrid", embed: str = "local") -> SQLiteStore:
    """One memory per ``(conv_id, dia_id, text, when)``, namespaced per conversation."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    search_mode, ranking = MODES[mode]
    embeddings, dims = make_embeddings(embed, tokens=ranking.late_interaction > 0)
    store = SQLiteStore(
        ":memory:",
        index={"dims": dims, "embed": embeddings, "fields": ["text"]},
        search_mode=search_mode,
        ranking=ranking,
    )
    ops = [
        PutOp((NAMESPACE, cid), dia_id, {"text": text, "when": when})
        for cid, dia_id, text, when in items
    ]
    for start in range(0, len(ops), 1000):
        store.batch(ops[start : start + 1000])
    if isinstance(embeddings, CachedEmbeddings):
        embeddings.save()
    return store


def search_keys(store: SQLiteStore, conv_id: str, query: str, k: int) -> list[str]:
    """The keys of the ``k`` best memories of one conversation for ``query``."""
    return [item.key for item in store.search((NAMESPACE, conv_id), query=query, limit=k)]


_store: SQLiteStore | None = None


def setup(items) -> None:
    global _store
    _store = build_store(
        items,
        mode=os.environ.get("LOCOMO_MODE", "hybrid"),
        embed=os.environ.get("LOCOMO_EMBED", "local"),
    )


def search(conv_id: str, query: str, k: int) -> list[str]:
    if _store is None:
        raise RuntimeError("setup() must run before search()")
    return search_keys(_store, conv_id, query, k)
