"""Finding memories related to a conversation, and the memory searcher.

Shared by the store manager and :func:`create_memory_searcher`. Searches are
plain store ops yielded in one batch; a model can write the queries through
the ``search_memory`` tool schema (one call).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage, convert_to_messages
from langchain_core.runnables import RunnableConfig, ensure_config
from langgraph.store.base import BaseStore, SearchItem
from pydantic import BaseModel, ValidationError

from langmem._effects import CallModel, Flow, FlowRunnable, StoreBatch
from langmem._models import resolve_chat_model
from langmem.knowledge._values import context_store, search_op
from langmem.knowledge.tools import create_search_memory_tool
from langmem.utils import NamespaceTemplate

__all__ = [
    "DEFAULT_NAMESPACE",
    "MemorySearcher",
    "create_memory_searcher",
    "merge_results",
    "model_search_flow",
    "query_text",
    "query_windows",
    "resolve_store",
]

logger = logging.getLogger("langmem")

DEFAULT_NAMESPACE = ("memories", "{langgraph_user_id}")


def resolve_store(store: BaseStore | None, config: RunnableConfig) -> BaseStore:
    """``store``, else the running graph's store; a clear ``ValueError`` if neither."""
    found = store if store is not None else context_store(config)
    if found is None:
        raise ValueError(
            "No store: pass store=... when creating it, or call it inside a LangGraph "
            "graph or entrypoint compiled with a store."
        )
    return found


def query_text(messages: Sequence[Any]) -> str:
    """The messages' text, one per line (no role labels: they only add noise to a query)."""
    return "\n".join(str(m.text) for m in messages if str(m.text).strip())


def query_windows(messages: Sequence[Any], count: int) -> list[str]:
    """Query texts over the last 1, 2, 4, ... messages: ``count`` distinct ones at most,
    at least one (``""`` for no text)."""
    texts: list[str] = []
    size = 1
    while len(texts) < count:
        text = query_text(messages[-size:])
        if text and text not in texts:
            texts.append(text)
        if size >= len(messages):
            break
        size *= 2
    return texts or [""]


def _score(item: SearchItem) -> float:
    return float("-inf") if item.score is None else item.score


def merge_results(results: Sequence[Sequence[SearchItem]], limit: int) -> list[SearchItem]:
    """Dedupe by address (best score kept); score descending, ``None`` last; at most ``limit``."""
    best: dict[tuple, SearchItem] = {}
    for items in results:
        for item in items:
            address = (tuple(item.namespace), item.key)
            kept = best.get(address)
            if kept is None or _score(item) > _score(kept):
                best[address] = item
    return sorted(best.values(), key=lambda i: -_score(i))[:limit]


def model_search_flow(
    model: BaseChatModel,
    messages: Sequence[Any],
    store: BaseStore,
    namespace: tuple[str, ...],
    *,
    prompt: str,
    tool_choice: str,
    limit: int | None,
    config: RunnableConfig | None,
) -> Flow[list[list[SearchItem]]]:
    """Ask ``model`` for ``search_memory`` calls and run them all in one batch.

    ``limit`` overrides the model's limits. Calls with invalid arguments are
    dropped; with none left, the conversation itself is the single query.
    """
    tool = create_search_memory_tool(namespace, store=store)
    request = [
        SystemMessage(prompt),
        HumanMessage("<conversation>\n" + query_text(messages) + "\n</conversation>"),
    ]
    reply = yield CallModel(model, request, [tool], tool_choice, config)
    # The tool's args_schema is a pydantic model made by create_model (fields query, filter,
    # limit, offset): the typed attribute also allows a dict or a pydantic.v1 model.
    schema = cast("type[BaseModel]", tool.args_schema)
    ops = []
    for call in reply.tool_calls:
        try:
            args: Any = schema.model_validate(call["args"])
        except ValidationError as exc:
            logger.warning("dropping invalid search call %s: %s", call.get("id"), exc)
            continue
        ops.append(
            search_op(
                store,
                namespace,
                query=args.query,
                filter=args.filter,
                limit=limit or args.limit,
                offset=args.offset,
            )
        )
    if not ops:
        ops = [search_op(store, namespace, query=query_text(messages), limit=limit or 10)]
    return (yield StoreBatch(store, ops))


_SEARCHER_PROMPT = (
    "Find what the assistant should remember to answer the latest message well. Call the "
    "search tool with one or more queries for relevant stored memories."
)


class MemorySearcher(FlowRunnable[dict, list[SearchItem]]):
    """Input ``{"messages": [...]}``; output the memories found, best first."""

    def __init__(
        self,
        model: str | BaseChatModel,
        prompt: str = _SEARCHER_PROMPT,
        *,
        namespace: tuple[str, ...] | str = DEFAULT_NAMESPACE,
        store: BaseStore | None = None,
    ) -> None:
        self.model = resolve_chat_model(model)
        self.prompt = prompt
        self.namespace = NamespaceTemplate(namespace)
        self.store = store

    def _flow(self, input: Any, config: RunnableConfig | None) -> Flow[list[SearchItem]]:
        config = ensure_config(config)
        state = {"messages": input} if isinstance(input, list) else dict(input)
        messages = convert_to_messages(list(state.get("messages") or ()))
        batches = yield from model_search_flow(
            self.model,
            messages,
            resolve_store(self.store, config),
            self.namespace(config),
            prompt=self.prompt,
            tool_choice="search_memory",
            limit=None,
            config=config,
        )
        found = merge_results(batches, limit=sum(len(b) for b in batches))
        return sorted(found, key=lambda i: -(i.score or 0.0))


def create_memory_searcher(
    model: str | BaseChatModel,
    prompt: str = _SEARCHER_PROMPT,
    *,
    namespace: tuple[str, ...] | str = DEFAULT_NAMESPACE,
    store: BaseStore | None = None,
) -> MemorySearcher:
    """A runnable that turns a conversation into memory searches (one model call).

    Input ``{"messages": [...]}``; output the ``SearchItem``s found, deduplicated
    by address and sorted by score (``None`` counts as 0). ``store`` defaults to
    the running graph's store.
    """
    return MemorySearcher(model, prompt, namespace=namespace, store=store)
