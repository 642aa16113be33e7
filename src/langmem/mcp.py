"""An MCP server over a langmem store: memory for any MCP client.

``langmem mcp`` (or ``python -m langmem mcp``) serves one namespace of a store
over stdio (default) or streamable HTTP, built on the official ``mcp`` SDK (the
``mcp`` extra: ``pip install -e ".[mcp]"`` in the checkout). The namespace is
fixed by the server's configuration (``--namespace memories/{user_id} --user
alice``): nothing a model passes can reach another namespace, ids are looked up
inside it.

Tools: ``add_memory``, ``search_memories``, ``update_memory``, ``delete_memory``,
``list_memories`` and, when a chat model is configured, ``extract_memories``.
Bad arguments (``limit: must be at least 1``), blank or oversize content, unknown
ids and model or store failures come back as tool errors (``isError``) with a
message the model can act on; the server keeps running. Memories are written in
the shape :mod:`langmem.memory` defines, as LangMem's own tools write them. Logs
go to stderr (stdout carries the protocol on stdio).
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from langgraph.store.base import BaseStore, GetOp, validate_op_namespace
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import ToolAnnotations
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from langmem.conversation import parse_conversation
from langmem.errors import ConfigurationError
from langmem.memory import (
    check_text,
    memory_text,
    memory_value,
    parse_when,
    with_event_time,
    with_text,
)
from langmem.store._read import explanation_text
from langmem.store.history import recording_origin
from langmem.store.near import similar_items, similar_op
from langmem.utils import NamespaceTemplate

__all__ = ["MAX_CONTENT", "create_server", "resolve_namespace"]

logger = logging.getLogger("langmem.mcp")

MAX_CONTENT = 4_000  # characters per memory
MAX_CONVERSATION = 100_000  # characters per extract_memories call
MAX_RESULTS = 50

_Fn = TypeVar("_Fn", bound=Callable[..., Any])

INSTRUCTIONS = (
    "Long-term memory that persists across conversations. Search it (search_memories) "
    "before answering questions about the user or earlier conversations; save new facts, "
    "preferences and decisions with add_memory as self-contained statements; correct "
    "outdated memories with update_memory and remove wrong ones with delete_memory, by id."
)

Content = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CONTENT,
        description="The memory as one self-contained statement, understandable later "
        "without this conversation, e.g. 'Alice prefers dark mode in every app'.",
    ),
    AfterValidator(check_text),  # blank text is an argument error; the rest arrives stripped
]
When = Annotated[
    str | None,
    Field(
        max_length=64,
        description="An ISO 8601 date or date and time, e.g. 2024-03-01 or "
        "2024-03-01T14:30:00+02:00 (relative dates resolved to absolute ones).",
    ),
]

MemoryId = Annotated[
    str, Field(description="Id of an existing memory, from add_memory, search or list results.")
]


class SimilarOut(BaseModel):
    """An existing memory close to one just added."""

    id: str
    content: str


class MemoryOut(BaseModel):
    """A memory as the tools return it."""

    id: str = Field(description="The memory's id, for update_memory and delete_memory.")
    content: str
    score: float | None = Field(default=None, description="Relevance to the query (search).")
    updated_at: str | None = Field(default=None, description="Last change, ISO 8601 (UTC).")
    valid_from: str | None = Field(
        default=None, description="When it happened or began to hold, if known (ISO 8601)."
    )
    valid_until: str | None = Field(
        default=None, description="When it stopped being true, if it did (ISO 8601)."
    )
    why: str | None = Field(
        default=None, description="Search with explain: the score's parts and matched words."
    )
    similar: list[SimilarOut] | None = Field(
        default=None,
        description="add_memory: existing memories that say nearly the same; update one of "
        "them instead (and delete this one) if it is the same fact.",
    )


class DeletedOut(BaseModel):
    """The result of a deletion."""

    id: str
    deleted: bool


def resolve_namespace(template: str, user: str | None) -> tuple[str, ...]:
    """The namespace ``template`` (slash-separated, ``{user_id}``-style variables) names.

    Every variable is filled with ``user``; a template with variables needs one.
    """
    parts = NamespaceTemplate(tuple(p for p in template.split("/") if p) or ("",))
    if parts.variables and not user:
        raise ValueError(
            f"the namespace {template!r} needs a user: pass --user (or set LANGMEM_USER)"
        )
    try:
        ns = parts({"configurable": dict.fromkeys(parts.variables, user)})
        if any("." in label for label in ns):
            raise ValueError(f"namespace labels cannot contain '.': {'/'.join(ns)}")
        validate_op_namespace(GetOp(ns, ""))
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None
    return ns


def create_server(
    store: BaseStore, *, namespace: tuple[str, ...], model: Any = None, name: str = "langmem"
) -> MCPServer:
    """An ``MCPServer`` whose tools read and write ``store`` under ``namespace`` only.

    ``model`` (a chat model or ``"provider:model"``) enables ``extract_memories``.
    """
    ns = tuple(namespace)
    server = _Server(name, instructions=INSTRUCTIONS, log_level="WARNING")

    def tool(**hints: Any) -> Callable[[_Fn], _Fn]:
        """Register a tool: its docstring, unwrapped, describes it; ``hints`` annotate it."""

        def register(fn: _Fn) -> _Fn:
            server.add_tool(
                fn, description=_unwrapped(fn.__doc__ or ""), annotations=ToolAnnotations(**hints)
            )
            return fn

        return register

    async def existing(memory_id: str) -> Any:
        try:
            key = str(uuid.UUID(memory_id))
        except ValueError:
            raise ToolError(
                f"{memory_id!r} is not a memory id (ids look like "
                "'0b6e1c6a-3f0e-4a57-9f1e-2d1b7c7e9a10'); search or list memories to find one"
            ) from None
        item = await _store_call(store.aget(ns, key))
        if item is None:
            raise ToolError(
                f"No memory with id {key}: it may have been deleted. Search or list memories "
                "for current ids, or add a new memory."
            )
        return item

    async def saved(key: str, value: dict[str, Any]) -> MemoryOut:
        """Write ``value`` under ``key`` and return the memory as stored (with its time)."""
        await _store_call(store.aput(ns, key, value))
        return _shown(await existing(key))

    @tool(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    async def add_memory(
        content: Content,
        importance: Annotated[
            float | None,
            Field(ge=0, le=1, description="How much this matters, 0 (trivia) to 1 (vital)."),
        ] = None,
        when: When = None,
    ) -> MemoryOut:
        """Save a new long-term memory: a fact, preference, decision or event worth
        remembering in later conversations; "when" says when it happened or began to
        hold, if known. Returns it with its id, and under "similar" any existing memory
        that says nearly the same: update that one instead (and delete this one) if it
        is the same fact."""
        key, value = str(uuid.uuid4()), memory_value(content, importance)
        if when is not None:
            value = with_event_time(value, valid_from=_time(when, "when"))
        [hits] = await _store_call(store.abatch([similar_op(ns, value["content"])]))
        similar = similar_items(hits, ns, exclude=key)
        out = await saved(key, value)
        if similar:  # named, not merged: a similar sentence can mean the opposite
            out.similar = [SimilarOut(id=h.key, content=memory_text(h.value)) for h in similar]
        return out

    @tool(read_only_hint=True, open_world_hint=False)
    async def search_memories(
        query: Annotated[
            str, Field(min_length=1, max_length=MAX_CONTENT, description="What to look for.")
        ],
        limit: Annotated[
            int, Field(ge=1, le=MAX_RESULTS, description="Maximum number of memories.")
        ] = 5,
        explain: Annotated[
            bool, Field(description="Also say why each memory matched (score parts, words).")
        ] = False,
        as_of: When = None,
    ) -> list[MemoryOut]:
        """Search long-term memory by meaning and keywords; best matches first, each
        with its id, content, relevance score, last update time and, when known, when it
        held. Memories that stopped being true are left out; "as_of" gives what was
        true at that time instead."""
        extra: dict[str, Any] = {"explain": True} if explain else {}
        if as_of is not None:
            extra["as_of"] = _time(as_of, "as_of")
        items = await _store_call(store.asearch(ns, query=query, limit=limit, **extra))
        return [_shown(item) for item in items]

    @tool(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
    async def update_memory(id: MemoryId, content: Content) -> MemoryOut:
        """Replace the content of an existing memory (e.g. a fact that changed)."""
        item = await existing(id)
        return await saved(item.key, with_text(item.value, content))

    @tool(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
    async def delete_memory(id: MemoryId) -> DeletedOut:
        """Delete a memory that is wrong or no longer applies."""
        item = await existing(id)
        await _store_call(store.adelete(ns, item.key))
        return DeletedOut(id=item.key, deleted=True)

    @tool(read_only_hint=True, open_world_hint=False)
    async def list_memories(
        limit: Annotated[
            int, Field(ge=1, le=MAX_RESULTS, description="Maximum number of memories.")
        ] = 20,
        offset: Annotated[
            int, Field(ge=0, le=1_000_000, description="Number of memories to skip.")
        ] = 0,
        include_closed: Annotated[
            bool, Field(description="Also memories that stopped being true (with their end).")
        ] = False,
    ) -> list[MemoryOut]:
        """List saved memories, most recently updated first. Memories that stopped being
        true are left out unless include_closed is set."""
        extra: dict[str, Any] = {"include_closed": True} if include_closed else {}
        items = await _store_call(store.asearch(ns, limit=limit, offset=offset, **extra))
        return [_shown(item) for item in items]

    if model is not None:
        from langmem.knowledge.store_manager import create_memory_store_manager

        manager = create_memory_store_manager(model, namespace=ns, store=store)

        @tool(read_only_hint=False, destructive_hint=False)  # the manager may not delete
        async def extract_memories(
            conversation: Annotated[
                str,
                Field(
                    min_length=1,
                    max_length=MAX_CONVERSATION,
                    description="The conversation: one 'user: ...' or 'assistant: ...' line "
                    "per turn, or a JSON list of {role, content} messages.",
                ),
            ],
        ) -> list[MemoryOut]:
            """Read a conversation and save what is worth remembering from it, updating
            related memories instead of duplicating them. Returns the memories written."""
            try:
                messages = parse_conversation(conversation)
            except ValueError as exc:
                raise ToolError(f"Could not read the conversation: {exc}") from None
            said: list[Any] = list(messages)
            puts = await _store_call(manager.ainvoke({"messages": said}), what="the model")
            return [MemoryOut(id=p["key"], content=memory_text(p["value"])) for p in puts]

    return server


# Argument problems, by pydantic's error type, in words (others keep pydantic's message).
_PROBLEMS = {
    "missing": "required",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "string_too_short": "must be at least {min_length} character(s) long",
    "string_too_long": "must be at most {max_length} characters long",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "value_error": "{error}",
}


class _Server(MCPServer):
    """``MCPServer`` whose argument errors read ``limit: must be at least 1``.

    Arguments that fail a tool's schema reach here as a ``ToolError`` caused by a
    pydantic ``ValidationError`` (a report with doc links); it is reworded, for every tool.
    """

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            raise ToolError(f"Invalid arguments for {name}: {_argument_errors(cause)}") from cause


def _argument_errors(error: ValidationError) -> str:
    """``argument: problem`` for each of ``error``'s failures, ``; ``-separated."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc']))}: "
        + (_PROBLEMS[e["type"]].format(**e.get("ctx", {})) if e["type"] in _PROBLEMS else e["msg"])
        for e in error.errors(include_url=False)
    )


def _unwrapped(doc: str) -> str:
    """``doc`` without its indentation, each paragraph on one line."""
    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n"))


def _time(text: str, what: str) -> Any:
    """A tool argument's ISO 8601 time; a tool error the model can fix otherwise."""
    try:
        return parse_when(text, what)
    except ValueError as exc:
        raise ToolError(f"Invalid arguments: {exc}") from None


def _shown(item: Any) -> MemoryOut:
    score = getattr(item, "score", None)
    start, end = getattr(item, "valid_from", None), getattr(item, "valid_until", None)
    return MemoryOut(
        id=item.key,
        content=memory_text(item.value),
        score=None if score is None else round(score, 4),
        updated_at=item.updated_at.isoformat(),
        valid_from=None if start is None else start.isoformat(),
        valid_until=None if end is None else end.isoformat(),
        why=explanation_text(item) or None,
    )


async def _store_call(awaitable: Any, *, what: str = "the memory store") -> Any:
    """Await ``awaitable`` (its writes' origin: this server, unless the store names
    another); a failure becomes a tool error naming ``what`` failed."""
    try:
        with recording_origin("langmem mcp", fallback=True):
            return await awaitable
    except ToolError:
        raise
    except Exception as exc:  # the server must survive any failure
        logger.warning("%s failed: %r", what, exc)
        raise ToolError(f"{what} failed: {type(exc).__name__}: {exc}") from None
