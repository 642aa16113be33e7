"""Agent tools: let an agent create, update, delete and search its own memories.

Both tools resolve their namespace from the run's config at every call and
their store from ``store=`` or the running graph. Everything the model passes
is confined to that namespace: ids are UUID keys looked up there, and a search
``filter`` only narrows results. Mistakes the model can fix (an unknown id, a
create with an id, ...) come back to it as tool error messages; setup mistakes
(no store, a missing config key) raise :class:`~langmem.errors.ConfigurationError`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool, ToolException
from langgraph.store.base import BaseStore, SearchItem
from pydantic import Field, TypeAdapter, create_model

from langmem._effects import Flow, StoreBatch, adrive, drive
from langmem.errors import ConfigurationError
from langmem.knowledge._values import context_store, delete_op, get_op, put_op, search_op
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


class MemoryToolError(ToolException):
    """A mistake in the model's tool call; its message goes back to the model."""


class _MemoryTool(StructuredTool):
    """A ``StructuredTool`` that also takes its arguments as one JSON-object string.

    Custom agent loops often pass the model's raw ``arguments`` string straight to
    ``tool.invoke``; a string that decodes to an object of this tool's parameters is
    read as those parameters, any other string as the first parameter.
    """

    def _parse_input(self, tool_input: str | dict, tool_call_id: str | None) -> str | dict:
        if isinstance(tool_input, str):
            tool_input = _decode_arguments(tool_input, set(self.args)) or tool_input
        return super()._parse_input(tool_input, tool_call_id)


def _decode_arguments(text: str, names: set[str]) -> dict | None:
    try:
        decoded = json.loads(text)
    except ValueError:
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

    return _MemoryTool.from_function(func=run, coroutine=arun, handle_tool_error=True, **options)


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
    actions_permitted: Sequence[Action] | None = _ACTIONS,
    store: BaseStore | None = None,
    name: str = "manage_memory",
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

    Values are stored as ``{"content": <content>}`` under a fresh UUID key. Returns
    ``"created memory <id>"``, ``"updated memory <id>"`` or ``"Deleted memory <id>"``;
    an update or delete of an id that is not in the namespace changes nothing and
    returns an error message to the model.
    """
    template = NamespaceTemplate(namespace)
    actions = _check_actions(actions_permitted)
    default_action = "create" if "create" in actions else actions[0]
    content_type = TypeAdapter(schema)
    args_schema = create_model(
        name,
        __doc__=f"Arguments of the {name} tool.",
        content=(schema | None, Field(default=None, description="The memory's content.")),
        action=(
            Literal[actions],  # type: ignore[valid-type]
            Field(default=default_action, description="What to do."),
        ),
        id=(
            uuid.UUID | None,
            Field(default=None, description="Id of the memory to update or delete."),
        ),
    )

    def flow(
        content: Any = None,
        action: str = default_action,
        id: uuid.UUID | None = None,
        *,
        config: RunnableConfig,
    ) -> Flow[str]:
        target = _store_for(store, name, config)
        ns = template(config)
        if action == "create":
            if id is not None:
                raise MemoryToolError(
                    "Do not pass an id to create a memory: a new id is assigned. "
                    "To change an existing memory, use action 'update' with its id."
                )
            if content is None:
                raise MemoryToolError("Pass the content of the memory to create.")
            key = str(uuid.uuid4())
            yield StoreBatch(target, [put_op(target, ns, key, _value(content_type, content))])
            return f"created memory {key}"
        if id is None:
            raise MemoryToolError(f"Pass the id of the memory to {action}.")
        if action == "update" and content is None:
            raise MemoryToolError("Pass the new content of the memory to update.")
        key = str(id)
        [existing] = yield StoreBatch(target, [get_op(target, ns, key)])
        if existing is None:
            raise MemoryToolError(
                f"No memory with id {key} exists here, so nothing was {action}d. Use the id "
                "of a memory you created or found by searching, or create a new memory."
            )
        if action == "delete":
            yield StoreBatch(target, [delete_op(ns, key)])
            return f"Deleted memory {key}"
        yield StoreBatch(target, [put_op(target, ns, key, _value(content_type, content))])
        return f"updated memory {key}"

    return _flow_tool(
        flow,
        name=name,
        description=_manage_description(actions, instructions),
        args_schema=args_schema,
    )


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


def _value(content_type: TypeAdapter, content: Any) -> dict:
    return {"content": content_type.dump_python(content, mode="json")}


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
        limit=(int, Field(default=10, ge=1, description="Maximum number of results.")),
        offset=(int, Field(default=0, ge=0, description="Number of results to skip.")),
        filter=(
            dict[str, Any] | None,
            Field(default=None, description="Only return memories whose values match these."),
        ),
    )

    def flow(
        query: str,
        limit: int = 10,
        offset: int = 0,
        filter: dict | None = None,
        *,
        config: RunnableConfig,
    ) -> Flow[Any]:
        target = _store_for(store, name, config)
        op = search_op(
            target, template(config), query=query, filter=filter, limit=limit, offset=offset
        )
        [items] = yield StoreBatch(target, [op])
        text = _dump_items(items)
        return (text, items) if response_format == "content_and_artifact" else text

    description = _SEARCH_DESCRIPTION + (" " + instructions if instructions else "")
    return _flow_tool(
        flow,
        name=name,
        description=description,
        args_schema=args_schema,
        response_format=response_format,
    )


def _dump_items(items: Sequence[SearchItem]) -> str:
    return json.dumps(
        [item.dict() for item in items], separators=(",", ":"), ensure_ascii=False, default=str
    )
