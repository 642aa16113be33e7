"""The bulk write path: one batch mixing creates, updates and deletes behaves as puts one by one."""

from __future__ import annotations

import pytest
from langgraph.store.base import PutOp

from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core


def _store(**kw) -> SQLiteStore:
    return SQLiteStore(":memory:", index={"dims": 16, "embed": HashEmbeddings(16)}, **kw)


def test_mixed_batch_writes_items_index_and_history():
    store = _store()
    store.batch([PutOp(("a",), "old", {"text": "apples"}), PutOp(("a",), "gone", {"text": "x"})])
    store.batch(
        [
            PutOp(("a",), "new", {"text": "bananas"}),
            PutOp(("a",), "old", {"text": "cherries"}),
            PutOp(("a",), "gone", None),
        ]
    )
    assert store.get(("a",), "old").value == {"text": "cherries"}
    assert store.get(("a",), "gone") is None
    hits = store.search(("a",), query="cherries", limit=1)
    assert [h.key for h in hits] == ["old"]
    assert [e.action for e in store.history(("a",), "old")] == ["put", "put"]
    assert [e.action for e in store.history(("a",), "gone")] == ["put", "delete"]
    assert len(store._index) == 2  # the deleted item's vector is gone, the update replaced its own


def test_bad_embedding_writes_nothing():
    store = SQLiteStore(":memory:", index={"dims": 16, "embed": lambda texts: [[1.0] * 3] * len(texts)})
    with pytest.raises(ValueError, match="3 dimensions"):
        store.put(("a",), "k", {"text": "hello"})
    assert store.get(("a",), "k") is None
