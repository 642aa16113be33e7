"""Agent tools: let an agent create, update, delete and search its own memories.

Both tools resolve their namespace from the run's config at every call and
their store from ``store=`` or the running graph. Everything the model passes
is confined to that namespace: ids are UUID keys in it, and a search
``filter`` only narrows results. Arguments are checked here, before the store
sees them (wrong types, empty or non-UTF-8 text, non-finite numbers, unsupported
filter operators, out-of-range ``limit``/``offset``, nesting over 64 levels).
Mistakes the model can fix raise :class:`MemoryToolError` (a ``ValueError`` and a
``ToolException``): from ``tool.invoke(args)`` it propagates, as in LangMem; a
tool *call* (what a ``ToolNode`` or a hand-written agent loop sends) gets an
error ``ToolMessage`` instead, so the agent run goes on. Setup mistakes (no
store, a missing config key) raise :class:`~langmem.errors.ConfigurationError`,
which a ``ToolNode`` re-raises; store faults (I/O, a damaged file) propagate as
they are, never as the model's mistake.
"""

from __future__ import annotations

import json
import reprlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal, cast

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool, ToolException
from langgraph.store.base import BaseStore, SearchItem
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from langmem._effects import Flow, StoreBatch, adrive, drive
from langmem.errors import ConfigurationError
from langmem.knowledge._values import context_store, delete_op, get_op, put_op, search_op
from langmem.memory import (
    check_text,
    closed_value,
    event_time,
    memory_text,
    parse_when,
    with_event_time,
)
from langmem.store._ops import FILTER_OPERATORS, ORDERING_OPERATORS
from langmem.store._read import explanation_text, searching
from langmem.store._time import DEFAULT_WINDOW, TimeWindow
from langmem.store.near import similar_items, similar_note, similar_op
from langmem.utils import NamespaceTemplate

__all__ = ["create_manage_memory_tool", "create_search_memory_tool"]

Action = Literal["create", "update", "delete"]
_ACTIONS: tuple[str, ...] = ("create", "update", "delete")

_MANAGE_INSTRUCTIONS = (
    "Call it proactively, before you reply, whenever the user shares a preference, a fact "
    "about themselves or their work, or asks you to remember something; correct memories "
    "that turn out to be wrong or outdated, and remove ones that no longer apply. Write each "
    "memory so that it makes sense on its own, later, without this conversation."
)


MAX_LIMIT = 1000  # search results per call
MAX_OFFSET = 100_000  # results a search may skip
MAX_NESTING = 64  # levels of lists and objects in the arguments


class MemoryToolError(ToolException, ValueError):
    """A mistake in the model's tool call, worded for the model to fix.

    ``tool.invoke(args)`` raises it (``except ValueError`` works, as with
    LangMem); invoked with a tool call, as a ``ToolNode`` does, the tool returns
    it as an error ``ToolMessage`` instead.
    """


class _MemoryTool(StructuredTool):
    """A ``StructuredTool`` for the model's untrusted calls.

    - It also takes its arguments as one JSON-object string: custom agent loops
      often pass the model's raw ``arguments`` string straight to ``tool.invoke``;
      a string that decodes to an object of this tool's parameters is read as
      those parameters, any other string as the first parameter.
    - Arguments of a tool call that its schema refuses raise
      :class:`MemoryToolError` naming them (``tool.invoke(args)`` raises
      pydantic's ``ValidationError``, as in LangMem).
    - A :class:`MemoryToolError` raised for a tool call becomes an error
      ``ToolMessage`` (LangGraph's ``ToolNode`` or a hand-written loop would
      otherwise end the run).
    - Its schema always lists ``"required"`` (``[]`` when nothing is), as some
      providers validate tool schemas strictly.
    """

    def _parse_input(self, tool_input: str | dict, tool_call_id: str | None) -> str | dict:
        if isinstance(tool_input, str):
            tool_input = _decode_arguments(tool_input, set(self.args)) or tool_input
            _check_nesting(tool_input)
        try:
            return super()._parse_input(tool_input, tool_call_id)
        except ValidationError as exc:
            if tool_call_id is None:  # invoked with arguments: LangMem's error
                raise
            raise MemoryToolError(_invalid_arguments(self.name, exc)) from None

    @property
    def tool_call_schema(self) -> type[BaseModel]:
        schema = cast(type[BaseModel], super().tool_call_schema)  # ours: always a model
        namespace = {"__doc__": schema.__doc__, "model_json_schema": _schema_listing_required}
        return type(schema.__name__, (schema,), namespace)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        try:
            return super().invoke(_tool_input(input), config, **kwargs)
        except MemoryToolError as exc:
            return self._error_message(input, exc)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        try:
            return await super().ainvoke(_tool_input(input), config, **kwargs)
        except MemoryToolError as exc:
            return self._error_message(input, exc)

    def _error_message(self, input: Any, exc: MemoryToolError) -> ToolMessage:
        if not _is_tool_call(input):
            raise exc
        return ToolMessage(str(exc), tool_call_id=input["id"], name=self.name, status="error")


def _is_tool_call(input: Any) -> bool:
    return isinstance(input, Mapping) and input.get("type") == "tool_call"


def _tool_input(input: Any) -> Any:
    """``input``, unless it is a tool call whose arguments are no object; arguments
    are checked before LangChain prints them."""
    args = input.get("args") if _is_tool_call(input) else input
    if _is_tool_call(input) and not isinstance(args, dict):
        raise MemoryToolError("Pass the arguments as a JSON object of the tool's parameters.")
    _check_nesting(args)
    return input


def _check_nesting(args: Any) -> None:
    """Refuse arguments nesting deeper than LangChain and ``json`` can recurse
    (``json.loads`` reads ~1000 levels)."""
    if isinstance(args, dict) and _nests_deeper(args, MAX_NESTING):
        raise MemoryToolError(
            f"The arguments nest lists or objects more than {MAX_NESTING} levels deep; "
            "flatten them."
        )


def _nests_deeper(value: Mapping | list | tuple, levels: int) -> bool:
    """Whether lists or objects nest more than ``levels`` deep inside ``value``."""
    children = value.values() if isinstance(value, Mapping) else value
    nested = (v for v in children if isinstance(v, (Mapping, list, tuple)))
    return any(levels == 0 or _nests_deeper(v, levels - 1) for v in nested)


def _invalid_arguments(tool: str, exc: ValidationError) -> str:
    """What is wrong with each argument, in pydantic's words without its links."""
    problems = [
        f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return f"Invalid arguments for {tool}: {'; '.join(problems)}."


def _listing_required(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict:
    # Not pydantic's json_schema_extra: langchain-core caches schemas per base model.
    schema = BaseModel.model_json_schema.__func__(cls, *args, **kwargs)  # type: ignore[attr-defined]  # a classmethod's function
    schema.setdefault("required", [])
    return schema


_schema_listing_required = classmethod(_listing_required)


def _decode_arguments(text: str, names: set[str]) -> dict | None:
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested beyond what json reads
        return None
    if isinstance(decoded, dict) and decoded and set(decoded) <= names:
        return decoded
    return None


def _flow_tool(flow: Callable[..., Flow[Any]], **options: Any) -> StructuredTool:
    """A tool whose sync and async entry points drive one ``flow(*arguments, config=...)``."""

    def run(*args: Any, config: RunnableConfig, **kwargs: Any) -> Any:
        return drive(flow(*args, **kwargs, config=config))

    async def arun(*args: Any, config: RunnableConfig, **kwargs: Any) -> Any:
        return await adrive(flow(*args, **kwargs, config=config))

    return _MemoryTool.from_function(func=run, coroutine=arun, **options)


def _store_for(store: BaseStore | None, tool_name: str, config: RunnableConfig) -> BaseStore:
    found = store if store is not None else context_store(config)
    if found is None:
        raise ConfigurationError(
            f"The {tool_name!r} tool has no store: pass store=... when creating it, or use it "
            "inside a LangGraph graph or entrypoint compiled with a store."
        )
    return found


def create_manage_memory_tool(
    namespace: tuple[str, ...] | str,
    *,
    instructions: str = _MANAGE_INSTRUCTIONS,
    schema: type = str,
    actions_permitted: Sequence[Action] | None = ("create", "update", "delete"),
    store: BaseStore | None = None,
    name: str = "manage_memory",
    supersede: bool = False,
) -> StructuredTool:
    """A tool with which an agent creates, updates and deletes memories in ``namespace``.

    Args:
        namespace: Where memories live; ``{var}`` elements are filled from
            ``config["configurable"]`` at each call, e.g. ``("memories", "{user_id}")``.
        instructions: When and how to use the tool; appended to its description.
        schema: The type of a memory's ``content`` (``str`` or a pydantic model).
        actions_permitted: Which of ``"create"``, ``"update"``, ``"delete"`` the model
            may use (``None``: all three).
        store: The store; defaults to the running graph's store.
        name: The tool name the model sees.
        supersede: An update keeps the old memory, closed (``valid_until`` = ``when``,
            else now; ``superseded_by`` = the new id), and writes the new content under
            a new id (``supersedes`` = the old one); default: update in place.

    Values are stored as ``{"content": <content>}`` under a fresh UUID key; the
    optional ``reason`` the model gives goes to the memory's history (stores that
    keep one), with the tool's name as the change's origin. Returns
    ``"created memory <id>"``, ``"updated memory <id>"`` or ``"Deleted memory <id>"``;
    a create that nearly matches memories already in the namespace (one search, see
    :mod:`langmem.store.near`) adds ``'; similar existing memory <key>: "<text>" —
    update it instead if it is the same fact'`` (the memory is created all the same).
    As in LangMem, an update of an id the namespace lacks creates the memory under
    that id and a delete of one succeeds; either way only the caller's namespace is
    touched. Empty content, an id on create or none on update/delete raise
    :class:`MemoryToolError` (an error ``ToolMessage`` for a tool call).

    The optional ``when`` (an ISO 8601 date or date and time) says when the fact
    happened or began to hold: the value's ``valid_from`` (see :mod:`langmem.memory`);
    a superseding update also closes the old memory then. Without it, the time is
    unknown and the store's record time stands in.
    """
    template = NamespaceTemplate(namespace)
    actions = _check_actions(actions_permitted)
    default_action = "create" if "create" in actions else actions[0]
    content_type: TypeAdapter[Any] = TypeAdapter(schema)
    # Field types built at run time (the content schema, the permitted actions).
    content_field: Any = (schema | None, Field(default=None, description="The memory's content."))
    action_field: Any = (Literal[actions], Field(default=default_action, description="What to do."))  # type: ignore[valid-type]
    args_schema = create_model(
        name,
        __doc__=f"Arguments of the {name} tool.",
        content=content_field,
        action=action_field,
        id=(
            uuid.UUID | None,
            Field(default=None, description="Id of the memory to update or delete."),
        ),
        reason=(
            str | None,
            Field(
                default=None,
                description="Why (optional), kept in the memory's history: e.g. the newer "
                "fact an update or delete reflects.",
            ),
        ),
        when=(
            str | None,
            Field(
                default=None,
                description="When the fact happened or began to hold (optional), as an "
                "ISO 8601 date or date and time, e.g. 2024-03-01; resolve relative dates "
                "('last Tuesday') to absolute ones.",
            ),
        ),
    )

    def flow(
        content: Any = None,
        action: str = default_action,
        id: uuid.UUID | None = None,
        reason: str | None = None,
        when: str | None = None,
        *,
        config: RunnableConfig,
    ) -> Flow[str]:
        target = _store_for(store, name, config)
        ns = template(config)
        if action == "create" and id is not None:
            raise MemoryToolError(
                "Do not pass an id to create a memory: a new id is assigned. "
                "To change an existing memory, use action 'update' with its id."
            )
        if action != "create" and id is None:
            raise MemoryToolError(f"Pass the id of the memory to {action}.")
        if reason is not None:
            _check_stored(reason, "reason")
        key = str(uuid.uuid4()) if action == "create" else str(id)
        why = {(ns, key): reason} if reason else None  # the history's record of this change
        if action == "delete":
            yield StoreBatch(target, [delete_op(ns, key)], origin=name, reasons=why)
            return f"Deleted memory {id}"
        value = _value(content_type, content, action)
        start = None if when is None else _when(when)
        if start is not None:
            value = with_event_time(value, valid_from=start)
        similar: list[SearchItem] = []
        if action == "create":  # existing memories that say nearly the same: named, not merged
            [hits] = yield StoreBatch(target, [similar_op(ns, memory_text(value))])
            similar = similar_items(hits, ns, exclude=key)
        if action == "update" and supersede:
            [old] = yield StoreBatch(target, [get_op(target, ns, key)])
            if old is not None:
                new_key = str(uuid.uuid4())
                closed = _closed(old.value, new_key, start)
                value["supersedes"] = key
                ops = [put_op(target, ns, key, closed), put_op(target, ns, new_key, value)]
                reasons = {(ns, key): reason or f"superseded by {new_key}"}
                if reason:
                    reasons[ns, new_key] = reason
                yield StoreBatch(target, ops, origin=name, reasons=reasons)
                return f"updated memory {key}: superseded by new memory {new_key}"
        yield StoreBatch(target, [put_op(target, ns, key, value)], origin=name, reasons=why)
        return f"{action}d memory {key}" + similar_note(similar)

    return _flow_tool(
        flow,
        name=name,
        description=_manage_description(actions, instructions),
        args_schema=args_schema,
    )


def _when(when: str) -> Any:
    """The tool's ``when`` as a datetime; a :class:`MemoryToolError` if it is no date."""
    try:
        return parse_when(when)
    except ValueError as exc:
        raise MemoryToolError(f"{exc}.") from None


def _closed(value: dict, successor: str, end: Any) -> dict:
    """A superseded memory's value: ended at ``end`` (else now), linked to ``successor``."""
    end = end or datetime.now(timezone.utc)
    closed = closed_value(value, end, successor)
    if closed is None:
        start, _ = event_time(value)
        assert start is not None  # only a known start can be after the end
        raise MemoryToolError(
            f"when ({end.isoformat()}) must be after the start of the memory it supersedes"
            f" ({start.isoformat()})."
        )
    return closed


def _check_actions(actions_permitted: Sequence[str] | None) -> tuple[str, ...]:
    actions = tuple(dict.fromkeys(_ACTIONS if actions_permitted is None else actions_permitted))
    if not actions:
        raise ValueError("actions_permitted must allow at least one of create, update, delete")
    unknown = [a for a in actions if a not in _ACTIONS]
    if unknown:
        raise ValueError(f"Unknown actions {unknown}; choose from {list(_ACTIONS)}")
    return actions


def _manage_description(actions: tuple[str, ...], instructions: str) -> str:
    joined = actions[0] if len(actions) == 1 else ", ".join(actions[:-1]) + " or " + actions[-1]
    parts = [f"Use this tool to {joined} long-term memories that persist across conversations."]
    if "create" in actions:
        parts.append("To create one, give its content and no id.")
    if set(actions) & {"update", "delete"}:
        parts.append(
            "To change or remove one, give the id of an existing memory "
            "(from an earlier result or a memory search)."
        )
    if instructions:
        parts.append(instructions)
    return " ".join(parts)


def _value(content_type: TypeAdapter, content: Any, action: str) -> dict:
    """The stored value for ``content``, which must be non-empty, strict JSON and UTF-8."""
    if content is None:
        raise MemoryToolError(f"Pass the content of the memory to {action}; it must not be empty.")
    if isinstance(content, str):  # checked as every surface checks it; stored as given
        try:
            check_text(content)
        except ValueError as exc:
            raise MemoryToolError(f"Pass the content of the memory to {action}; {exc}.") from None
    value = {"content": content_type.dump_python(content, mode="json")}
    _check_stored(value, "content")
    return value


def _check_stored(value: Any, what: str) -> None:
    """:func:`_check_json`, and no NUL character, which not every store can hold."""
    _check_json(value, what)
    if _has_nul(value):
        raise MemoryToolError(f"The {what} contains a NUL character (\\u0000); remove it.")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, (list, tuple)) and any(map(_has_nul, value))


def _check_json(value: Any, what: str) -> None:
    """Raise :class:`MemoryToolError` unless ``value`` is strict JSON encodable as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MemoryToolError(
            f"The {what} contains an invalid character (a lone UTF-16 surrogate such as "
            "\\ud800); send valid Unicode text."
        ) from None
    except ValueError:
        raise MemoryToolError(f"The {what} contains NaN or Infinity; use finite numbers.") from None


def _check_filter(filter: Mapping[str, Any], where: str = "filter") -> None:
    """Raise :class:`MemoryToolError` for what no store supports: operator keys at field
    level, unknown operators, operators mixed with fields, non-numeric comparisons."""
    supported = ", ".join(FILTER_OPERATORS)
    for key, expected in filter.items():
        if key.startswith("$"):
            raise MemoryToolError(
                f"{where}: {reprlib.repr(key)} is not a field name. Keys name fields of the "
                f'memory; operators go inside a field, e.g. {{"n": {{"$gt": 3}}}} ({supported}).'
            )
        if not isinstance(expected, Mapping):
            continue
        field = f"{where}[{reprlib.repr(key)}]"
        if not any(k.startswith("$") for k in expected):
            _check_filter(expected, field)
            continue
        if unsupported := [k for k in expected if k not in FILTER_OPERATORS]:
            raise MemoryToolError(
                f"{field}: unsupported operator(s) {reprlib.repr(unsupported)}; the supported "
                f"ones are {supported} (match a value exactly by giving it directly)."
            )
        for op in ORDERING_OPERATORS.intersection(expected):
            operand = expected[op]
            if isinstance(operand, bool) or not isinstance(operand, (int, float)):
                raise MemoryToolError(
                    f"{field}: {op} compares numbers, got {reprlib.repr(operand)}."
                )


_SEARCH_DESCRIPTION = (
    "Search your long-term memories for information saved in earlier conversations."
)


def create_search_memory_tool(
    namespace: tuple[str, ...] | str,
    *,
    instructions: str = "",
    store: BaseStore | None = None,
    response_format: Literal["content", "content_and_artifact"] = "content",
    name: str = "search_memory",
    explain: bool = False,
) -> StructuredTool:
    """A tool with which an agent searches the memories under ``namespace``.

    Args:
        namespace: Where to search (memories in sub-namespaces are included);
            ``{var}`` elements are filled from ``config["configurable"]`` at each call.
        instructions: Extra guidance appended to the tool description.
        store: The store; defaults to the running graph's store.
        response_format: ``"content"`` returns a compact JSON list of the items;
            ``"content_and_artifact"`` returns ``(json, list[SearchItem])``.
        name: The tool name the model sees.
        explain: Give each result a ``"why"``: its score's parts and the query words it
            holds (``"0.81 = vector 0.41 + keyword 0.20 + ...; terms: hiking"``); the
            artifact's items carry the full ``explanation`` (SQLiteStore, PostgresStore).

    The model may pass ``as_of`` (ISO 8601) for what was true then (SQLiteStore,
    PostgresStore; see ``store.search``); results show their ``valid_from`` /
    ``valid_until`` when known.
    """
    if response_format not in ("content", "content_and_artifact"):
        raise ValueError(
            f"response_format must be 'content' or 'content_and_artifact', got {response_format!r}"
        )
    template = NamespaceTemplate(namespace)
    args_schema = create_model(
        name,
        __doc__=f"Arguments of the {name} tool.",
        query=(str, Field(description="What to look for.")),
        limit=(
            int,
            Field(default=10, ge=1, le=MAX_LIMIT, description="Maximum number of results."),
        ),
        offset=(
            int,
            Field(default=0, ge=0, le=MAX_OFFSET, description="Number of results to skip."),
        ),
        filter=(
            dict[str, Any] | None,
            Field(default=None, description="Only return memories whose values match these."),
        ),
        as_of=(
            str | None,
            Field(
                default=None,
                description="Only what was true at this time (optional): an ISO 8601 date "
                "or date and time, e.g. 2024-03-01.",
            ),
        ),
    )

    def flow(
        query: str,
        limit: int = 10,
        offset: int = 0,
        filter: dict | None = None,
        as_of: str | None = None,
        *,
        config: RunnableConfig,
    ) -> Flow[Any]:
        target = _store_for(store, name, config)
        _check_json(query, "query")
        if filter:
            _check_json(filter, "filter")
            _check_filter(filter)
        op = search_op(
            target, template(config), query=query, filter=filter, limit=limit, offset=offset
        )
        window = DEFAULT_WINDOW if as_of is None else TimeWindow(as_of=_when(as_of))
        [items] = yield StoreBatch(target, [searching(op, explain=explain, window=window)])
        text = _dump_items(items, explain=explain)
        return (text, items) if response_format == "content_and_artifact" else text

    description = _SEARCH_DESCRIPTION + (" " + instructions if instructions else "")
    return _flow_tool(
        flow,
        name=name,
        description=description,
        args_schema=args_schema,
        response_format=response_format,
    )


def _dump_items(items: Sequence[SearchItem], *, explain: bool = False) -> str:
    dumped = [item.dict() for item in items]
    if explain:  # the compact form of the explanation only
        for d, item in zip(dumped, items):
            d.pop("explanation", None)
            d["why"] = explanation_text(item)
    return json.dumps(dumped, separators=(",", ":"), ensure_ascii=False, default=str)
