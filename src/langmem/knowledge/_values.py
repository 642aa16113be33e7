"""Store access and stored-value shapes shared by the memory tools and the store manager.

Two value shapes live in the store: the agent tools write ``{"content": ...}``
and the store manager writes ``{"kind": "<schema name>", "content": {...}}``.
:func:`read_memory` reads both (and plain schema-shaped dicts); a value that
fits none of the given schemas is reported as ``None`` so callers skip it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.store.base import (
    BaseStore,
    GetOp,
    PutOp,
    SearchOp,
    _ensure_refresh,
    _ensure_ttl,
    _validate_namespace,
)
from pydantic import BaseModel, ValidationError

from langmem.memory import LINK_FIELDS, TIME_FIELDS

CONFIG_KEY_RUNTIME = "__pregel_runtime"  # where LangGraph puts its Runtime in "configurable"

__all__ = [
    "context_store",
    "delete_op",
    "get_op",
    "put_op",
    "read_memory",
    "search_op",
    "stored_value",
]


def context_store(config: RunnableConfig | None = None) -> BaseStore | None:
    """The store of the running LangGraph graph or entrypoint, if any.

    Read from ``config`` first (LangGraph passes its runtime down explicitly, e.g.
    to tools run by a ``ToolNode``), then from LangGraph's context variables, which
    async code sees only on Python 3.11+.
    """
    runtime = ((config or {}).get("configurable") or {}).get(CONFIG_KEY_RUNTIME)
    store = getattr(runtime, "store", None)
    if store is not None:
        return store
    try:
        from langgraph.config import get_store

        return get_store()
    except (RuntimeError, KeyError, AttributeError):
        return None


# Ops built the way BaseStore's helpers build them (namespace check, default TTLs),
# so a flow can yield them in a StoreBatch.


def put_op(store: BaseStore, namespace: tuple[str, ...], key: str, value: dict) -> PutOp:
    _validate_namespace(namespace)
    return PutOp(namespace, key, value, ttl=_ensure_ttl(store.ttl_config))


def delete_op(namespace: tuple[str, ...], key: str) -> PutOp:
    return PutOp(namespace, key, None)


def get_op(store: BaseStore, namespace: tuple[str, ...], key: str) -> GetOp:
    return GetOp(namespace, key, _ensure_refresh(store.ttl_config))


def search_op(
    store: BaseStore,
    namespace: tuple[str, ...],
    *,
    query: str | None = None,
    filter: dict | None = None,
    limit: int = 10,
    offset: int = 0,
) -> SearchOp:
    return SearchOp(namespace, filter, limit, offset, query, _ensure_refresh(store.ttl_config))


def stored_value(memory: BaseModel) -> dict:
    """The store-manager shape of a memory: ``{"kind": <schema name>, "content": {...}}``."""
    return {"kind": type(memory).__name__, "content": memory.model_dump(mode="json")}


def read_memory(value: Any, schemas: Sequence[type[BaseModel]]) -> tuple[str, BaseModel] | None:
    """``(kind, instance)`` for a stored value, or ``None`` if it fits no schema.

    - ``{"kind": K, "content": {...}}``: the schema named ``K``;
    - ``{"content": "text"}`` (manage tool, string content): the schema named ``Memory``
      if given, else as a bare dict;
    - ``{"content": {...}}`` (manage tool with a schema) or a bare dict: the first
      schema whose fields cover all its keys and that validates it.

    Event times and supersession links (``memory.TIME_FIELDS``, ``LINK_FIELDS``) are
    the store's, not the memory's: they are left out.
    """
    if not isinstance(value, Mapping):
        return None
    value = {k: v for k, v in value.items() if k not in (*TIME_FIELDS, *LINK_FIELDS)}
    by_name = {s.__name__: s for s in schemas}
    kind, content = value.get("kind"), value.get("content")
    if isinstance(kind, str) and "content" in value:
        schema = by_name.get(kind)
        return _validate(schema, content) if schema is not None else None
    if isinstance(content, str) and set(value) <= {"content"} and "Memory" in by_name:
        return _validate(by_name["Memory"], {"content": content})
    candidate = content if isinstance(content, Mapping) and set(value) <= {"content"} else value
    for schema in schemas:
        if set(candidate) <= _field_names(schema):
            found = _validate(schema, candidate)
            if found is not None:
                return found
    return None


def _field_names(schema: type[BaseModel]) -> set[str]:
    names = set()
    for name, field in schema.model_fields.items():
        names.add(name)
        if field.alias:
            names.add(field.alias)
    return names


def _validate(schema: type[BaseModel], content: Any) -> tuple[str, BaseModel] | None:
    if not isinstance(content, Mapping):
        return None
    try:
        return schema.__name__, schema.model_validate(dict(content))
    except ValidationError:
        return None
