"""The store-backed memory manager (the memory searcher lives in ``_search``).

:class:`MemoryStoreManager` runs as one flow (see :mod:`langmem._effects`):
search the namespace for memories related to the conversation (one store
batch), run the memory manager on them (and each extra phase), then write
the changes in one store batch. ``invoke`` and ``ainvoke`` drive the same flow.

Its writes are recorded as made by ``"store manager"`` (where the store or the
caller names no other origin) with their reasons: the model's ``planned_edits``
for an edit; for a removal, the memories the same run wrote ("superseded by
<keys>"); and the conversation (``thread_id``), when configured.

Event time: the run's reference time (the input's ``reference_time``, else the
latest message timestamp) goes into the prompt and becomes the ``valid_from`` of
the memories it writes; an in-place update without one keeps the memory's own.
With ``supersede=True`` an update closes the old memory (``valid_until`` = the
reference time, else now; ``superseded_by`` = the new key; kept, searchable with
``as_of`` or ``include_closed``) and writes the new one under a new key
(``supersedes`` = the old key), and a removal closes the memory instead of
deleting it. History keeps both either way.

Memories are shown to the model under ids derived from their store address
(:func:`stable_id`), never under raw store keys, and written back to the
address they came from; new memories get uuid4 keys. Stored values read in
either shape (see :mod:`langmem.knowledge._values`); values fitting none of
the schemas are left alone. The ``get``/``search`` proxies, like LangMem's,
type only ``{"kind": ..., "content": ...}`` values.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    MessageLikeRepresentation,
    convert_to_messages,
)
from langchain_core.runnables import RunnableConfig, ensure_config
from langgraph.store.base import NOT_PROVIDED, BaseStore, Item, NotProvided, PutOp, SearchItem
from pydantic import BaseModel, ValidationError
from typing_extensions import NotRequired, TypedDict

from langmem._effects import Flow, FlowRunnable, StoreBatch, adrive, drive
from langmem._models import resolve_chat_model
from langmem.knowledge._core import DEFAULT_INSTRUCTIONS, Memory, RemoveDoc, normalize_schemas
from langmem.knowledge._search import (
    DEFAULT_NAMESPACE,
    MemorySearcher,
    create_memory_searcher,
    merge_results,
    model_search_flow,
    query_windows,
    resolve_store,
)
from langmem.knowledge._time import reference_time
from langmem.knowledge._values import (
    delete_op,
    get_op,
    put_op,
    read_memory,
    search_op,
    stored_value,
)
from langmem.knowledge.manager import manager_flow
from langmem.memory import closed_value, with_event_time
from langmem.utils import NamespaceTemplate

__all__ = [
    "MemoryPhase",
    "MemorySearcher",
    "MemoryStoreManager",
    "create_memory_searcher",
    "create_memory_store_manager",
    "stable_id",
]

logger = logging.getLogger("langmem")

DEFAULT_KEY = "default"
ORIGIN = "store manager"  # the origin its writes record (see langmem.store.history)

PHASE_INSTRUCTIONS = (
    "Review the memories as a whole. Merge duplicates and near-duplicates into one memory, "
    "resolve contradictions in favour of the most recent information, and remove memories "
    "made redundant by others. Change nothing that is already accurate and distinct."
)

_QUERY_PROMPT = (
    "You look up an assistant's long-term memory. Call the search tool one or more times "
    "with queries that would find stored memories relevant to the conversation below: "
    "facts about the people involved, their preferences, and earlier events it refers to."
)


class MemoryPhase(TypedDict, total=False):
    """An extra manager pass run after extraction, e.g. to consolidate.

    ``instructions`` (default: dedupe and consolidate), ``include_messages``
    (show the conversation too; default False), ``enable_inserts`` and
    ``enable_deletes`` (default True).
    """

    instructions: str
    include_messages: bool
    enable_inserts: bool
    enable_deletes: bool


def _check_phase(phase: MemoryPhase) -> MemoryPhase:
    unknown = set(phase) - set(MemoryPhase.__annotations__)
    if unknown:
        raise ValueError(
            f"Unknown phase keys {sorted(unknown)}; use {sorted(MemoryPhase.__annotations__)}"
        )
    return MemoryPhase(**phase)


class StoreManagerInput(TypedDict):
    """Input of :class:`MemoryStoreManager` (``reference_time``: as ``MemoryState``'s)."""

    messages: list[MessageLikeRepresentation]
    max_steps: NotRequired[int | None]
    reference_time: NotRequired[datetime | str | None]


class MemoryItem(Item):
    """A store item whose value may be a schema instance (``dict()`` dumps it)."""

    def dict(self) -> dict:
        return _dump_value(super().dict())


class MemorySearchItem(SearchItem):
    """A search result whose value may be a schema instance (``dict()`` dumps it)."""

    def dict(self) -> dict:
        return _dump_value(super().dict())


def _dump_value(data: dict) -> dict:
    if isinstance(data["value"], BaseModel):
        data["value"] = data["value"].model_dump(mode="json")
    return data


def _item(cls: type[Item], namespace, key, value, created_at, updated_at, score) -> Any:
    if issubclass(cls, SearchItem):
        return cls(tuple(namespace), key, value, created_at, updated_at, score)
    return cls(
        namespace=tuple(namespace),
        key=key,
        value=value,
        created_at=created_at,
        updated_at=updated_at,
    )


def _original(entry: tuple[tuple[str, ...], str, str, BaseModel]) -> dict:
    """The value a found memory had, in the store manager's shape."""
    _, _, kind, memory = entry
    return {"kind": kind, "content": memory.model_dump(mode="json")}


def _fingerprint(value: dict) -> str:
    return json.dumps(value, sort_keys=True)


class _Reasons(NamedTuple):
    """What a run's writes record as their reasons: the model's, by memory id, and the
    conversation (``thread_id``), if known."""

    edits: dict[str, str]
    thread: str | None

    def of(self, text: str | None) -> str | None:
        """``text``, naming the conversation if known."""
        if self.thread is None:
            return text or None
        return f"{text} (conversation {self.thread})" if text else f"conversation {self.thread}"


class _Times(NamedTuple):
    """The event times a run writes: ``when`` (its reference time), the stored values
    (``raw``, by memory id) and whether updates supersede."""

    when: datetime | None
    raw: dict[str, dict]
    supersede: bool

    def written(self, value: dict, sid: str) -> dict:
        """A memory written in place: from ``when`` if known, else its stored start."""
        start = self.when or self.raw.get(sid, {}).get("valid_from")
        return value if start is None else with_event_time(value, valid_from=start)

    def successor(self, value: dict, old_key: str) -> dict:
        """The memory superseding ``old_key``: from ``when`` if known."""
        return with_event_time({**value, "supersedes": old_key}, valid_from=self.when)

    def closed(self, sid: str, successor: str | None = None) -> dict | None:
        """The stored memory ``sid`` closed at ``when`` (else now), linked to its
        ``successor``; ``None`` when not superseding, when it was not read from the
        store (a default just written) or when that end would not be after the memory's
        own start: then it is updated in place."""
        old = self.raw.get(sid)
        if not self.supersede or old is None:
            return None
        return closed_value(old, self.when or datetime.now(timezone.utc), successor)


def stable_id(namespace: Sequence[str], key: str) -> str:
    """The id under which a stored memory is shown to the model (LangMem's derivation)."""
    return uuid.uuid5(uuid.NAMESPACE_DNS, str((*namespace, key))).hex


class MemoryStoreManager(FlowRunnable[StoreManagerInput, list[dict]]):
    """Keeps the memories in a store namespace up to date from conversations.

    Input: ``{"messages": [...], "max_steps": 1}`` (or just the message list).
    Output: the puts made, ``[{"namespace": (...), "key": str, "value": {...}}]``;
    values are written as ``{"kind": <schema name>, "content": {...}}``.
    ``search``/``get``/``put``/``delete`` (and ``a*`` twins) act on the
    resolved namespace. As in LangMem, the class allows deletes by default
    (``enable_deletes=True``); :func:`create_memory_store_manager` does not.
    """

    def __init__(
        self,
        model: str | BaseChatModel,
        /,
        *,
        schemas: Sequence[type[BaseModel] | dict] | None = None,
        instructions: str = DEFAULT_INSTRUCTIONS,
        default: str | dict | BaseModel | None = None,
        default_factory: Callable[[RunnableConfig], str | dict | BaseModel] | None = None,
        enable_inserts: bool = True,
        enable_deletes: bool = True,
        query_model: str | BaseChatModel | None = None,
        query_limit: int = 5,
        namespace: tuple[str, ...] | str | NamespaceTemplate = DEFAULT_NAMESPACE,
        store: BaseStore | None = None,
        phases: Sequence[MemoryPhase] | None = None,
        supersede: bool = False,
    ) -> None:
        if default is not None and default_factory is not None:
            raise ValueError("Pass default or default_factory, not both")
        if query_limit < 1:
            raise ValueError(f"query_limit must be at least 1, got {query_limit}")
        self.model = resolve_chat_model(model)
        self.query_model = None if query_model is None else resolve_chat_model(query_model)
        self.schemas = normalize_schemas([Memory] if schemas is None else schemas)
        self.instructions = instructions
        self.enable_inserts = enable_inserts
        self.enable_deletes = enable_deletes
        self.query_limit = query_limit
        self.namespace = NamespaceTemplate(namespace)
        self._store = store
        self.phases = [_check_phase(p) for p in phases or ()]
        self.supersede = supersede
        self.default_factory = default_factory
        self.default = None if default is None else self._coerce_default(default)

    @property
    def store(self) -> BaseStore:
        """The store given at construction, else the running graph's; ``ValueError`` if none."""
        return resolve_store(self._store, ensure_config())

    # --- defaults ----------------------------------------------------------------

    def _coerce_default(self, value: Any) -> BaseModel:
        if isinstance(value, BaseModel):
            if not isinstance(value, tuple(self.schemas)):
                raise ValueError(
                    f"default is a {type(value).__name__}, which is not one of the schemas "
                    f"{[s.__name__ for s in self.schemas]}"
                )
            return value
        if isinstance(value, str):
            if Memory not in self.schemas:
                raise ValueError(
                    "A string default needs the Memory schema; with other schemas pass a dict "
                    "or a schema instance"
                )
            return Memory(content=value)
        if isinstance(value, dict):
            for schema in self.schemas:
                try:
                    return schema.model_validate(value)
                except ValidationError:
                    continue
            raise ValueError(f"default {value!r} fits none of the schemas")
        raise ValueError(f"default must be a str, dict or BaseModel, got {value!r}")

    def _default_for(self, config: RunnableConfig) -> BaseModel | None:
        if self.default_factory is not None:
            return self._coerce_default(self.default_factory(config))
        return self.default

    @property
    def _has_default(self) -> bool:
        return self.default is not None or self.default_factory is not None

    # --- the main flow -----------------------------------------------------------

    def _flow(self, input: Any, config: RunnableConfig | None) -> Flow[list[dict]]:
        config = ensure_config(config)
        state: dict[str, Any] = {"messages": input} if isinstance(input, list) else dict(input)
        messages = convert_to_messages(list(state.get("messages") or ()))
        max_steps = state.get("max_steps") or 1
        when = reference_time(state.get("reference_time"), messages)
        ns = self.namespace(config)
        store = resolve_store(self._store, config)

        found = yield from self._search_flow(messages, store, ns, config)
        stored: dict[str, tuple[tuple[str, ...], str, str, BaseModel]] = {}
        raw: dict[str, dict] = {}  # the stored values, event times and links included
        for item in found:
            read = read_memory(item.value, self.schemas)
            if read is None:
                logger.info("skipping %s/%s: value fits no schema", item.namespace, item.key)
                continue
            sid = stable_id(item.namespace, item.key)
            stored[sid] = (tuple(item.namespace), item.key, *read)
            raw[sid] = dict(item.value)
        if not stored and self._has_default and not any(i.key == DEFAULT_KEY for i in found):
            default = self._default_for(config)
            assert default is not None  # _has_default: a default, or a factory (coerced)
            op = put_op(store, ns, DEFAULT_KEY, stored_value(default))
            yield StoreBatch(store, [op], origin=ORIGIN)
            stored[stable_id(ns, DEFAULT_KEY)] = (ns, DEFAULT_KEY, type(default).__name__, default)

        current: dict[str, BaseModel] = {sid: v[3] for sid, v in stored.items()}
        removed: set[str] = set()
        edits: dict[str, str] = {}  # the model's reasons, by memory id
        passes = [(self.instructions, messages, self.enable_inserts, self.enable_deletes)]
        passes += [
            (
                p.get("instructions", PHASE_INSTRUCTIONS),
                messages if p.get("include_messages", False) else [],
                p.get("enable_inserts", True),
                p.get("enable_deletes", True),
            )
            for p in self.phases
        ]
        schema_types = tuple(self.schemas)
        for instructions, shown, inserts, deletes in passes:
            if not shown and not current:
                continue  # a consolidation pass with nothing to consolidate
            reasons: dict[str, str] = {}
            results = yield from manager_flow(
                self.model,
                shown,
                [(sid, type(v).__name__, v) for sid, v in current.items()],
                schemas=self.schemas,
                instructions=instructions,
                enable_inserts=inserts,
                enable_updates=True,
                enable_deletes=deletes,
                max_steps=max_steps,
                config=config,
                reasons=reasons,
                reference_time=when,
            )
            for sid, reason in reasons.items():
                edits[sid] = f"{edits[sid]}; {reason}" if sid in edits else reason
            current = {}
            for result in results:
                if isinstance(result.content, RemoveDoc):
                    removed.add(result.content.json_doc_id)
                elif isinstance(result.content, schema_types):
                    current[result.id] = result.content
                else:
                    logger.warning("dropping memory %s: not a schema instance", result.id)
        thread = (config.get("configurable") or {}).get("thread_id")
        why = _Reasons(edits, None if thread is None else str(thread))
        times = _Times(when, raw, self.supersede)
        return (
            yield from self._write_flow(
                store, ns, stored, current, removed - set(current), why, times
            )
        )

    def _search_flow(
        self,
        messages: Sequence[Any],
        store: BaseStore,
        ns: tuple[str, ...],
        config: RunnableConfig,
    ) -> Flow[list[SearchItem]]:
        """Related memories: one batch of searches, merged; if that finds nothing and a
        default is configured, a look-up of the default's key (so it is never reset)."""
        if self.query_model is not None:
            batches = yield from model_search_flow(
                self.query_model,
                messages,
                store,
                ns,
                prompt=_QUERY_PROMPT,
                tool_choice="any",
                limit=self.query_limit,
                config=config,
            )
        else:
            texts = query_windows(messages, max(1, self.query_limit // 4))
            ops = [search_op(store, ns, query=t or None, limit=self.query_limit) for t in texts]
            batches = yield StoreBatch(store, ops)
        found = merge_results(batches, self.query_limit)
        if not found and self._has_default:
            [item] = yield StoreBatch(store, [get_op(store, ns, DEFAULT_KEY)])
            found = [] if item is None else [item]
        return found

    def _write_flow(
        self,
        store: BaseStore,
        ns: tuple[str, ...],
        stored: dict[str, tuple[tuple[str, ...], str, str, BaseModel]],
        current: dict[str, BaseModel],
        removed: set[str],
        why: _Reasons,
        times: _Times,
    ) -> Flow[list[dict]]:
        """Put changed and new memories, delete (or, superseding, close) removed ones: one
        store batch, with the reason of each write and the event times of ``times`` (see
        the module docstring).

        A memory identical to another one is not written (a stored one keeps its
        old value): exact duplicates add nothing, and one batch must not embed the
        same text twice (LangGraph's InMemoryStore rejects that).
        """
        values = {sid: stored_value(memory) for sid, memory in current.items()}
        changed = {
            sid
            for sid, value in values.items()
            if sid not in stored or value != _original(stored[sid])
        }
        seen = {_fingerprint(v) for sid, v in values.items() if sid not in changed}
        ops: list[PutOp] = []
        puts: list[dict[str, Any]] = []
        reasons: dict[tuple[tuple[str, ...], str], str | None] = {}
        for sid in (s for s in values if s in changed):
            value, fingerprint = values[sid], _fingerprint(values[sid])
            if fingerprint in seen:
                logger.info("not writing memory %s: it duplicates another memory", sid)
                continue
            seen.add(fingerprint)
            item_ns, key = stored[sid][:2] if sid in stored else (ns, sid)
            reason = why.of(why.edits.get(sid))
            closed = times.closed(sid, str(uuid.uuid4())) if sid in stored else None
            if closed is not None:  # the old memory kept, closed, linked to its successor
                new_key = closed["superseded_by"]
                ops.append(put_op(store, item_ns, key, closed))
                puts.append({"namespace": item_ns, "key": key, "value": closed})
                reasons[item_ns, key] = why.of(f"superseded by {new_key}")
                value = times.successor(value, key)
                key = new_key
            else:
                value = times.written(value, sid)
            ops.append(put_op(store, item_ns, key, value))
            puts.append({"namespace": item_ns, "key": key, "value": value})
            reasons[item_ns, key] = reason
        successors = ", ".join(p["key"] for p in puts if "superseded_by" not in p["value"])
        for sid in removed:
            if sid not in stored:
                continue
            item_ns, key = stored[sid][:2]
            closed = times.closed(sid)
            ops.append(delete_op(item_ns, key) if closed is None else put_op(store, item_ns, key, closed))
            reasons[item_ns, key] = why.of(successors and f"superseded by {successors}")
        written = {k: r for k, r in reasons.items() if r is not None}
        yield StoreBatch(store, ops, origin=ORIGIN, reasons=written)
        return puts

    # --- Runnable ----------------------------------------------------------------

    async def __call__(
        self,
        messages: Sequence[MessageLikeRepresentation],
        max_steps: int = 1,
        config: RunnableConfig | None = None,
    ) -> list[dict]:
        return await self.ainvoke({"messages": list(messages), "max_steps": max_steps}, config)

    # --- store proxies on the resolved namespace -------------------------------

    def get_namespace(self, config: RunnableConfig | None = None) -> tuple[str, ...]:
        """The namespace this manager reads and writes for ``config``."""
        return self.namespace(ensure_config(config))

    def _typed(self, item: Item | None, cls: type[Item]) -> Any:
        """``item`` as LangMem's ``get``/``search`` give it: a ``{"kind": K, "content": {...}}``
        value of a schema named ``K`` as that schema's instance, any other value as stored
        (e.g. the tools' ``{"content": "text"}``; invalid content too, where LangMem raises)."""
        if item is None:
            return None
        value: Any = item.value
        if isinstance(value, dict) and isinstance(value.get("kind"), str) and "content" in value:
            read = read_memory(value, self.schemas)
            value = value if read is None else read[1]
        return _item(
            cls,
            item.namespace,
            item.key,
            value,
            item.created_at,
            item.updated_at,
            getattr(item, "score", None),
        )

    def _unsaved_default(self, ns: tuple[str, ...], config: RunnableConfig, cls: type[Item]) -> Any:
        now = datetime.now(timezone.utc)
        return _item(cls, ns, DEFAULT_KEY, self._default_for(config), now, now, None)

    def _get_flow(self, key: str, refresh_ttl: bool | None, config: RunnableConfig | None):
        config = ensure_config(config)
        ns, store = self.namespace(config), resolve_store(self._store, config)
        op = get_op(store, ns, key)
        if refresh_ttl is not None:
            op = op._replace(refresh_ttl=refresh_ttl)
        [item] = yield StoreBatch(store, [op])
        if item is None and key == DEFAULT_KEY and self._has_default:
            return self._unsaved_default(ns, config, MemoryItem)
        return self._typed(item, MemoryItem)

    def _search_proxy_flow(
        self,
        query: str | None,
        filter: dict | None,
        limit: int,
        offset: int,
        refresh_ttl: bool | None,
        config: RunnableConfig | None,
    ):
        config = ensure_config(config)
        ns, store = self.namespace(config), resolve_store(self._store, config)
        op = search_op(store, ns, query=query, filter=filter, limit=limit, offset=offset)
        if refresh_ttl is not None:
            op = op._replace(refresh_ttl=refresh_ttl)
        [items] = yield StoreBatch(store, [op])
        if not items and self._has_default:
            return [self._unsaved_default(ns, config, MemorySearchItem)]
        return [self._typed(item, MemorySearchItem) for item in items]

    def _put_flow(self, key: str, value: Any, index: Any, ttl: Any, config: RunnableConfig | None):
        config = ensure_config(config)
        ns, store = self.namespace(config), resolve_store(self._store, config)
        if isinstance(value, BaseModel):
            value = stored_value(value)
        op = put_op(store, ns, key, value)._replace(index=index)
        if ttl is not NOT_PROVIDED:
            op = op._replace(ttl=ttl)
        yield StoreBatch(store, [op], origin=ORIGIN)

    def _delete_flow(self, key: str, config: RunnableConfig | None):
        config = ensure_config(config)
        ns, store = self.namespace(config), resolve_store(self._store, config)
        yield StoreBatch(store, [delete_op(ns, key)], origin=ORIGIN)

    def get(
        self, key: str, *, refresh_ttl: bool | None = None, config: RunnableConfig | None = None
    ) -> MemoryItem | None:
        """The memory stored under ``key`` (value typed when it fits a schema)."""
        return drive(self._get_flow(key, refresh_ttl, config))

    async def aget(
        self, key: str, *, refresh_ttl: bool | None = None, config: RunnableConfig | None = None
    ) -> MemoryItem | None:
        """Async :meth:`get`."""
        return await adrive(self._get_flow(key, refresh_ttl, config))

    def search(
        self,
        *,
        query: str | None = None,
        filter: dict | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
        config: RunnableConfig | None = None,
    ) -> list[MemorySearchItem]:
        """Search the namespace (values typed when they fit a schema)."""
        return drive(self._search_proxy_flow(query, filter, limit, offset, refresh_ttl, config))

    async def asearch(
        self,
        *,
        query: str | None = None,
        filter: dict | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
        config: RunnableConfig | None = None,
    ) -> list[MemorySearchItem]:
        """Async :meth:`search`."""
        return await adrive(
            self._search_proxy_flow(query, filter, limit, offset, refresh_ttl, config)
        )

    def put(
        self,
        key: str,
        value: dict | BaseModel,
        index: Any = None,
        *,
        ttl: float | None | NotProvided = NOT_PROVIDED,
        config: RunnableConfig | None = None,
    ) -> None:
        """Store ``value`` under ``key`` (a schema instance is stored with its kind)."""
        drive(self._put_flow(key, value, index, ttl, config))

    async def aput(
        self,
        key: str,
        value: dict | BaseModel,
        index: Any = None,
        *,
        ttl: float | None | NotProvided = NOT_PROVIDED,
        config: RunnableConfig | None = None,
    ) -> None:
        """Async :meth:`put`."""
        await adrive(self._put_flow(key, value, index, ttl, config))

    def delete(self, key: str, config: RunnableConfig | None = None) -> None:
        """Delete the memory stored under ``key``."""
        drive(self._delete_flow(key, config))

    async def adelete(self, key: str, config: RunnableConfig | None = None) -> None:
        """Async :meth:`delete`."""
        await adrive(self._delete_flow(key, config))


def create_memory_store_manager(
    model: str | BaseChatModel,
    /,
    *,
    schemas: Sequence[type[BaseModel] | dict] | None = None,
    instructions: str = DEFAULT_INSTRUCTIONS,
    default: str | dict | BaseModel | None = None,
    default_factory: Callable[[RunnableConfig], str | dict | BaseModel] | None = None,
    enable_inserts: bool = True,
    enable_deletes: bool = False,
    query_model: str | BaseChatModel | None = None,
    query_limit: int = 5,
    namespace: tuple[str, ...] | str = DEFAULT_NAMESPACE,
    store: BaseStore | None = None,
    phases: Sequence[MemoryPhase] | None = None,
    supersede: bool = False,
) -> MemoryStoreManager:
    """Build a :class:`MemoryStoreManager`.

    Args:
        model: The model that extracts and updates memories.
        schemas: Memory types (pydantic models or JSON-schema dicts); default ``[Memory]``.
        instructions: What to remember and how.
        default: A memory to start from when the namespace has none (e.g. an empty
            profile); saved under key ``"default"``.
        default_factory: Like ``default``, called with the config to make it.
        enable_inserts: Allow new memories (False: keep one document, e.g. a profile).
        enable_deletes: Allow removing memories.
        query_model: If set, this model writes the search queries (one call);
            otherwise the latest messages are the queries.
        query_limit: How many related memories the model sees.
        namespace: Where memories live; ``{var}`` elements are filled from
            ``config["configurable"]``.
        store: The store; defaults to the running graph's store.
        phases: Extra passes after extraction, e.g. ``[{"instructions": "Merge duplicates"}]``.
        supersede: An update closes the old memory and writes a new one (linked),
            a removal closes the memory; default: LangMem's update in place and delete.
    """
    return MemoryStoreManager(
        model,
        schemas=schemas,
        instructions=instructions,
        default=default,
        default_factory=default_factory,
        enable_inserts=enable_inserts,
        enable_deletes=enable_deletes,
        query_model=query_model,
        query_limit=query_limit,
        namespace=namespace,
        store=store,
        phases=phases,
        supersede=supersede,
    )
