"""Store manager: LLM calls, prompt tokens and store searches per call as the store grows.

The namespace holds 10, 1,000 or 100,000 ``Memory`` values (InMemoryStore with
a HashEmbeddings(64) vector index, so searches rank by similarity). Each row
averages three ``manager.invoke`` calls on different conversations; the
scripted model inserts one memory per call.
"""

from __future__ import annotations

import time
import uuid

from langgraph.store.base import PutOp, SearchOp
from langgraph.store.memory import InMemoryStore

from langmem import create_memory_store_manager
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

TITLE = "Store manager (`bench/economy_store_manager.py`)"

SIZES = (10, 1_000, 100_000)
NS = ("memories", "bench")
TOPICS = ("tea", "hiking", "python", "jazz", "cats", "travel", "chess", "cooking")
CONVERSATIONS = (
    [("user", "I started drinking green tea every morning."), ("ai", "Nice habit!")],
    [("user", "My cat knocked over my chess board again."), ("ai", "Cats love chess.")],
    [("user", "I'm planning a hiking trip to Norway in June."), ("ai", "Sounds great.")],
)


class CountingStore(InMemoryStore):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.searches = 0

    def batch(self, ops):
        ops = list(ops)
        self.searches += sum(isinstance(op, SearchOp) for op in ops)
        return super().batch(ops)


def _filled_store(size: int) -> CountingStore:
    store = CountingStore(index={"dims": 64, "embed": HashEmbeddings(64)})
    for start in range(0, size, 5_000):
        store.batch(
            [
                PutOp(
                    NS,
                    str(uuid.uuid4()),
                    {
                        "kind": "Memory",
                        "content": {"content": f"Fact {i}: user mentioned {TOPICS[i % 8]} once"},
                    },
                )
                for i in range(start, min(size, start + 5_000))
            ]
        )
    store.searches = 0
    return store


def _row(size: int, variant: str, query_model: bool) -> dict:
    store = _filled_store(size)
    model = ScriptedChatModel(default=ai(("Memory", {"content": "New fact from the chat"})))
    searcher = ScriptedChatModel(default=ai(("search_memory", {"query": "user interests"})))
    manager = create_memory_store_manager(
        model, namespace=NS, store=store, query_model=searcher if query_model else None
    )
    started = time.perf_counter()
    for conversation in CONVERSATIONS:
        manager.invoke({"messages": conversation})
    elapsed = (time.perf_counter() - started) / len(CONVERSATIONS)
    calls = model.calls + searcher.calls
    n = len(CONVERSATIONS)
    return {
        "memories": f"{size:,}",
        "variant": variant,
        "llm_calls": round(len(calls) / n, 2),
        "prompt_tokens": round(sum(c.prompt_tokens for c in calls) / n),
        "memories_shown": round(sum(c.text.count("kind=Memory") for c in model.calls) / n, 1),
        "searches": round(store.searches / n, 2),
        "ms_per_call": round(elapsed * 1000),
    }


def run() -> list[dict]:
    rows = [_row(size, "default", False) for size in SIZES]
    rows += [_row(size, "query_model", True) for size in SIZES]
    return rows


if __name__ == "__main__":
    import llm_economy

    llm_economy.main(["store_manager"])
