"""The stateless memory manager: conversation + existing memories -> updated memories.

All logic lives in :func:`manager_flow`, a generator of effects run by
:func:`langmem._effects.drive` (sync) or :func:`~langmem._effects.adrive`
(async); the protocol itself is the pure :class:`langmem.knowledge._core.Session`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    BaseMessage,
    HumanMessage,
    MessageLikeRepresentation,
    SystemMessage,
    convert_to_messages,
)
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field
from typing_extensions import NotRequired, TypedDict

from langmem._effects import CallModel, Flow, FlowRunnable
from langmem._models import resolve_chat_model
from langmem.knowledge._core import (
    DEFAULT_INSTRUCTIONS,
    MAX_REPAIRS,
    Existing,
    ExtractedMemory,
    Memory,
    ModelRequest,
    RejectedCall,
    RemoveDoc,
    Session,
    normalize_existing,
    normalize_schemas,
    parse_single,
    render_conversation,
)
from langmem.knowledge._time import reference_time

__all__ = [
    "ExtractedMemory",
    "Memory",
    "MemoryManager",
    "MemoryState",
    "RejectedCall",
    "RemoveDoc",
    "SummarizeThread",
    "ThreadExtractor",
    "create_memory_manager",
    "create_thread_extractor",
    "manager_flow",
    "normalize_existing",
    "normalize_schemas",
]

logger = logging.getLogger("langmem")

REJECTED_KEPT = 200  # MemoryManager.rejected keeps this many latest records


class MemoryState(TypedDict):
    """Input of :class:`MemoryManager`. ``reference_time`` (a datetime or ISO 8601 text)
    is when the conversation took place, for the model to resolve relative dates
    against; default: the latest timestamp the messages carry, if any."""

    messages: list[MessageLikeRepresentation]
    existing: NotRequired[Sequence[Any]]
    max_steps: NotRequired[int | None]
    reference_time: NotRequired[datetime | str | None]


def manager_flow(
    model: BaseChatModel,
    messages: Sequence[MessageLikeRepresentation],
    existing: Sequence[Existing],
    *,
    schemas: Sequence[type[BaseModel]],
    instructions: str,
    enable_inserts: bool,
    enable_updates: bool,
    enable_deletes: bool,
    max_steps: int = 1,
    config: RunnableConfig | None = None,
    on_reject: Callable[[RejectedCall], Any] | None = None,
    reasons: dict[str, str] | None = None,
    reference_time: datetime | None = None,
) -> Flow[list[ExtractedMemory]]:
    """Run the memory manager as a flow: ``drive(manager_flow(...))`` or ``yield from``.

    ``messages`` may be empty (consolidation). ``existing`` holds normalised
    ``(id, kind, value)`` triples (see :func:`normalize_existing`); values may be
    BaseModels or dicts. ``schemas`` are pydantic models (see
    :func:`normalize_schemas`). Makes up to ``max_steps`` model calls, plus at
    most ``MAX_REPAIRS`` repair calls per step when tool calls are rejected.

    Returns this run's results in tool-call order (inserts with fresh uuid4 ids,
    patched memories under their id, ``RemoveDoc`` markers for removed
    caller-supplied ids), then the untouched existing memories as given, in
    input order. A patched dict whose kind names a schema comes back as that
    schema's instance. Rejected tool calls are never applied; each is logged
    as a warning on the ``"langmem"`` logger and passed to ``on_reject``. Raises ``ValueError`` before any call if there are existing
    memories but every ``enable_*`` flag is False. ``reasons``, if given, receives the
    reasons the model gave for its edits, by memory id (see :meth:`Session.reasons`).
    ``reference_time`` (see :func:`~langmem.knowledge._time.reference_time`) goes into
    the prompt, for relative dates to be written as absolute ones.
    """
    session = Session(
        messages,
        existing,
        schemas,
        instructions=instructions,
        enable_inserts=enable_inserts,
        enable_updates=enable_updates,
        enable_deletes=enable_deletes,
        max_steps=max_steps,
        reference_time=reference_time,
    )
    request: ModelRequest | None = session.start()
    reported = 0
    while request is not None:
        try:
            reply = yield CallModel(
                model, request.messages, request.tools, request.tool_choice, config
            )
            request = session.receive(reply)
        finally:  # report rejections as they happen, even if a later call fails
            for record in session.rejected[reported:]:
                _report(record, on_reject)
            reported = len(session.rejected)
    if reasons is not None:
        reasons.update(session.reasons())
    return session.results()


def _report(record: RejectedCall, on_reject: Callable[[RejectedCall], Any] | None) -> None:
    logger.warning(
        "memory manager rejected tool call %s%s (%s, step %d, attempt %d): %s",
        record.call_id,
        ", repair requested" if record.repair_requested else "",
        record.name,
        record.step,
        record.attempt,
        record.error,
    )
    if on_reject is not None:
        on_reject(record)


class MemoryManager(FlowRunnable[MemoryState, list[ExtractedMemory]]):
    """Extracts, updates and removes memories from a conversation; no storage.

    Input: ``{"messages": [...], "existing": [...], "max_steps": 1}``. Output:
    a list of :class:`ExtractedMemory`. ``rejected`` is a bounded, thread-safe
    deque of the latest :class:`RejectedCall` records (tool calls from the model
    that were never applied). ``batch``/``abatch`` come from ``Runnable``.
    """

    def __init__(
        self,
        model: str | BaseChatModel,
        *,
        schemas: Sequence[type[BaseModel] | dict] = (Memory,),
        instructions: str = DEFAULT_INSTRUCTIONS,
        enable_inserts: bool = True,
        enable_updates: bool = True,
        enable_deletes: bool = False,
    ) -> None:
        self.model = resolve_chat_model(model)
        self.schemas = normalize_schemas(schemas)
        self.instructions = instructions
        self.enable_inserts = enable_inserts
        self.enable_updates = enable_updates
        self.enable_deletes = enable_deletes
        self.rejected: deque[RejectedCall] = deque(maxlen=REJECTED_KEPT)

    def _flow(self, input: Any, config: RunnableConfig | None) -> Flow[list[ExtractedMemory]]:
        state: dict[str, Any] = {"messages": input} if isinstance(input, list) else dict(input)
        messages = convert_to_messages(list(state.get("messages") or []))
        when = reference_time(state.get("reference_time"), messages)
        return manager_flow(
            self.model,
            messages,
            normalize_existing(state.get("existing"), self.schemas),
            schemas=self.schemas,
            instructions=self.instructions,
            enable_inserts=self.enable_inserts,
            enable_updates=self.enable_updates,
            enable_deletes=self.enable_deletes,
            max_steps=state.get("max_steps") or 1,
            config=config,
            on_reject=self.rejected.append,
            reference_time=when,
        )

    async def __call__(
        self,
        messages: Sequence[MessageLikeRepresentation],
        existing: Sequence[Any] | None = None,
        max_steps: int = 1,
    ) -> list[ExtractedMemory]:
        # ``existing=None`` passes through as no existing memories; MemoryState does not
        # admit None (its annotations make the published input schema, left unchanged)
        state = cast(
            MemoryState,
            {"messages": list(messages), "existing": existing, "max_steps": max_steps},
        )
        return await self.ainvoke(state)


def create_memory_manager(
    model: str | BaseChatModel,
    /,
    *,
    schemas: Sequence[type[BaseModel] | dict] = (Memory,),
    instructions: str = DEFAULT_INSTRUCTIONS,
    enable_inserts: bool = True,
    enable_updates: bool = True,
    enable_deletes: bool = False,
) -> MemoryManager:
    """Build a :class:`MemoryManager` (see it for input and output).

    Args:
        model: The model that extracts and updates memories: a ``"provider:model"``
            string or a chat model.
        schemas: Memory types: pydantic models or JSON-schema dicts (tool name =
            class name / ``title``); default ``[Memory]``.
        instructions: What to remember and how.
        enable_inserts: Allow new memories. With ``False`` the manager keeps one
            document per schema: the first run creates it, later runs only patch it.
        enable_updates: Allow patching existing memories.
        enable_deletes: Allow removing memories (``RemoveDoc``).
    """
    return MemoryManager(
        model,
        schemas=schemas,
        instructions=instructions,
        enable_inserts=enable_inserts,
        enable_updates=enable_updates,
        enable_deletes=enable_deletes,
    )


class SummarizeThread(BaseModel):
    """Summarize the conversation: a short title and a faithful summary."""

    title: str = Field(description="A few words naming the thread.")
    summary: str = Field(description="What was discussed, decided and left open.")


THREAD_INSTRUCTIONS = (
    "Read the conversation and fill in the tool's fields from it. Be faithful and "
    "specific; leave out nothing that was decided or left open."
)


def thread_extractor_flow(
    model: BaseChatModel,
    messages: Sequence[MessageLikeRepresentation],
    *,
    schema: type[BaseModel],
    instructions: str,
    config: RunnableConfig | None = None,
) -> Flow[BaseModel]:
    """One forced tool call filling ``schema``; invalid replies get ``MAX_REPAIRS`` repairs.

    Raises ``ValueError`` when no valid call comes back.
    """
    prompt: list[BaseMessage] = [
        SystemMessage(instructions),
        HumanMessage(f"<conversation>\n{render_conversation(messages)}\n</conversation>"),
    ]
    for _ in range(1 + MAX_REPAIRS):
        reply = yield CallModel(model, prompt, [schema], "any", config)
        value, errors = parse_single(reply, schema)
        if value is not None:
            return value
        prompt += [reply, *errors] if reply.tool_calls or reply.invalid_tool_calls else errors
    raise ValueError(f"the model gave no valid {schema.__name__} call after {MAX_REPAIRS} repairs")


class ThreadExtractor(FlowRunnable):
    """Turns ``{"messages": [...]}`` into one instance of ``schema`` (a summary by default)."""

    def __init__(
        self,
        model: str | BaseChatModel,
        *,
        schema: type[BaseModel] | dict | None = None,
        instructions: str = THREAD_INSTRUCTIONS,
    ) -> None:
        self.model = resolve_chat_model(model)
        (self.schema,) = normalize_schemas([schema or SummarizeThread])
        self.instructions = instructions

    def _flow(self, input: Any, config: RunnableConfig | None) -> Flow[BaseModel]:
        messages = input if isinstance(input, list) else input["messages"]
        return thread_extractor_flow(
            self.model, messages, schema=self.schema, instructions=self.instructions, config=config
        )


def create_thread_extractor(
    model: str | BaseChatModel,
    /,
    schema: type[BaseModel] | dict | None = None,
    instructions: str = THREAD_INSTRUCTIONS,
) -> ThreadExtractor:
    """Build a :class:`ThreadExtractor` (default schema: ``SummarizeThread{title, summary}``)."""
    return ThreadExtractor(model, schema=schema, instructions=instructions)
