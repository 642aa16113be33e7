"""An MCP server over a langmem store: memory for any MCP client.

``langmem mcp`` (or ``python -m langmem mcp``) serves one namespace of a store
over stdio (default) or streamable HTTP, built on the official ``mcp`` SDK
(``pip install "langmem-plus[mcp]"``). The namespace is fixed by the server's
configuration (``--namespace memories/{user_id} --user alice``): nothing a model
passes can reach another namespace, ids are looked up inside it.

Tools: ``add_memory``, ``search_memories``, ``update_memory``, ``delete_memory``,
``list_memories`` and, when a chat model is configured, ``extract_memories``.
Bad arguments, unknown ids, oversize content and model or store failures come
back as tool errors (``isError``) with a message the model can act on; the server
keeps running. Logs go to stderr (stdout carries the protocol on stdio).
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from langgraph.store.base import BaseStore, GetOp, validate_op_namespace
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from langmem.cli import memory_value, parse_conversation, text_of, with_text
from langmem.errors import ConfigurationError
from langmem.utils import NamespaceTemplate

__all__ = ["MAX_CONTENT", "create_server", "resolve_namespace"]

logger = logging.getLogger("langmem.mcp")

MAX_CONTENT = 4_000  # characters per memory
MAX_CONVERSATION = 100_000  # characters per extract_memories call
MAX_RESULTS = 50

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
]
MemoryId = Annotated[
    str, Field(description="Id of an existing memory, from add_memory, search or list results.")
]


class MemoryOut(BaseModel):
    """A memory as the tools return it."""

    id: str = Field(description="The memory's id, for update_memory and delete_memory.")
    content: str
    score: float | None = Field(default=None, description="Relevance to the query (search).")
    updated_at: str | None = Field(default=None, description="Last change, ISO 8601 (UTC).")


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
    server = MCPServer(name, instructions=INSTRUCTIONS, log_level="WARNING")

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

    @server.tool()
    async def add_memory(
        content: Content,
        importance: Annotated[
            float | None,
            Field(ge=0, le=1, description="How much this matters, 0 (trivia) to 1 (vital)."),
        ] = None,
    ) -> MemoryOut:
        """Save a new long-term memory: a fact, preference, decision or event worth
        remembering in later conversations. Returns its id."""
        key = str(uuid.uuid4())
        await _store_call(store.aput(ns, key, memory_value(content.strip(), importance)))
        return MemoryOut(id=key, content=content.strip())

    @server.tool()
    async def search_memories(
        query: Annotated[
            str, Field(min_length=1, max_length=MAX_CONTENT, description="What to look for.")
        ],
        limit: Annotated[
            int, Field(ge=1, le=MAX_RESULTS, description="Maximum number of memories.")
        ] = 5,
    ) -> list[MemoryOut]:
        """Search long-term memory by meaning and keywords; best matches first, each
        with its id, content, relevance score and last update time."""
        items = await _store_call(store.asearch(ns, query=query, limit=limit))
        return [_shown(item) for item in items]

    @server.tool()
    async def update_memory(id: MemoryId, content: Content) -> MemoryOut:
        """Replace the content of an existing memory (e.g. a fact that changed)."""
        item = await existing(id)
        await _store_call(store.aput(ns, item.key, with_text(item.value, content.strip())))
        return MemoryOut(id=item.key, content=content.strip())

    @server.tool()
    async def delete_memory(id: MemoryId) -> DeletedOut:
        """Delete a memory that is wrong or no longer applies."""
        item = await existing(id)
        await _store_call(store.adelete(ns, item.key))
        return DeletedOut(id=item.key, deleted=True)

    @server.tool()
    async def list_memories(
        limit: Annotated[
            int, Field(ge=1, le=MAX_RESULTS, description="Maximum number of memories.")
        ] = 20,
        offset: Annotated[
            int, Field(ge=0, le=1_000_000, description="Number of memories to skip.")
        ] = 0,
    ) -> list[MemoryOut]:
        """List saved memories, most recently updated first."""
        items = await _store_call(store.asearch(ns, limit=limit, offset=offset))
        return [_shown(item) for item in items]

    if model is not None:
        from langmem.knowledge.store_manager import create_memory_store_manager

        manager = create_memory_store_manager(model, namespace=ns, store=store)

        @server.tool()
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
            puts = await _store_call(manager.ainvoke({"messages": messages}), what="the model")
            return [MemoryOut(id=p["key"], content=text_of(p["value"])) for p in puts]

    return server


def _shown(item: Any) -> MemoryOut:
    score = getattr(item, "score", None)
    return MemoryOut(
        id=item.key,
        content=text_of(item.value),
        score=None if score is None else round(score, 4),
        updated_at=item.updated_at.isoformat(),
    )


async def _store_call(awaitable: Any, *, what: str = "the memory store") -> Any:
    """Await ``awaitable``; a failure becomes a tool error naming ``what`` failed."""
    try:
        return await awaitable
    except ToolError:
        raise
    except Exception as exc:  # the server must survive any failure
        logger.warning("%s failed: %r", what, exc)
        raise ToolError(f"{what} failed: {type(exc).__name__}: {exc}") from None
