"""Keep long conversations inside a context window by summarizing their oldest messages.

``summarize_messages`` (and ``asummarize_messages``) cut the conversation where LangMem
does and replace the older part with one summary message; ``SummarizationNode`` is the same
as a LangGraph node (e.g. ``create_react_agent(..., pre_model_hook=node)``). One flow
serves sync and async; the cut itself is planned without I/O in ``_plan``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from pydantic import BaseModel

from langmem._effects import Effect, Flow, FlowRunnable, adrive, drive
from langmem.short_term._plan import TokenCounter, plan_summary
from langmem.short_term._prompts import (
    DEFAULT_EXISTING_SUMMARY_PROMPT,
    DEFAULT_FINAL_SUMMARY_PROMPT,
    DEFAULT_INITIAL_SUMMARY_PROMPT,
)

__all__ = [
    "DEFAULT_EXISTING_SUMMARY_PROMPT",
    "DEFAULT_FINAL_SUMMARY_PROMPT",
    "DEFAULT_INITIAL_SUMMARY_PROMPT",
    "RunningSummary",
    "SummarizationNode",
    "SummarizationResult",
    "TokenCounter",
    "asummarize_messages",
    "summarize_messages",
]


@dataclass
class RunningSummary:
    """What earlier summarizations produced, passed back in so nothing is summarized twice."""

    summary: str
    """The latest summary text."""
    summarized_message_ids: set[str]
    """Ids of every message folded into the summary so far."""
    last_summarized_message_id: str | None
    """Id of the last message folded in; the next call starts after it."""


@dataclass
class SummarizationResult:
    """The messages to send to the model, and the running summary (``None``: none yet)."""

    messages: list[AnyMessage]
    running_summary: RunningSummary | None = None


_NO_CONTEXT = (
    "SummarizationNode found no running summary in state['context'] but a long history to "
    "summarize at once: without a `context` key in the graph's state schema "
    "(e.g. `context: dict`) the summary is lost after every call and rebuilt from the latest "
    "messages only."
)


@dataclass(frozen=True)
class _Summarize(Effect):
    """One call of the summarizing model, with the messages as its only argument."""

    model: Any
    messages: list[BaseMessage]

    def run(self) -> Any:
        return self.model.invoke(self.messages)

    async def arun(self) -> Any:
        return await self.model.ainvoke(self.messages)


@dataclass(frozen=True)
class _Settings:
    model: Any
    max_tokens: int
    max_tokens_before_summary: int | None
    max_summary_tokens: int
    token_counter: TokenCounter
    initial_summary_prompt: ChatPromptTemplate
    existing_summary_prompt: ChatPromptTemplate
    final_prompt: ChatPromptTemplate

    @classmethod
    def of(cls, args: Mapping[str, Any]) -> _Settings:
        """The settings among a public function's arguments (its ``locals()``)."""
        return cls(**{f.name: args[f.name] for f in fields(cls)})


def _summarize_flow(
    messages: Sequence[Any], running_summary: Any, settings: _Settings, in_node: bool = False
) -> Flow[SummarizationResult]:
    previous = _as_running_summary(running_summary)
    plan = plan_summary(
        messages,
        summary=previous.summary if previous else None,
        summarized_ids=previous.summarized_message_ids if previous else set(),
        last_id=previous.last_summarized_message_id if previous else None,
        max_tokens=settings.max_tokens,
        max_tokens_before_summary=settings.max_tokens_before_summary,
        max_summary_tokens=settings.max_summary_tokens,
        token_counter=settings.token_counter,
    )
    if in_node and plan.summary is None and plan.backlog:
        warnings.warn(_NO_CONTEXT, RuntimeWarning, stacklevel=2)
    if previous is None and plan.summary is not None:  # recovered from a summary message
        previous = RunningSummary(plan.summary, set(), None)
    current = previous
    if plan.to_summarize:
        if previous is None:
            prompt = settings.initial_summary_prompt.format_messages(messages=plan.model_input)
        else:
            prompt = settings.existing_summary_prompt.format_messages(
                messages=plan.model_input, existing_summary=previous.summary
            )
        response = yield _Summarize(_model(settings.model), prompt)
        # plan_summary raised on any message without an id, so every m.id is a str
        folded = {m.id for m in plan.to_summarize if m is not plan.pinned and m.id is not None}
        current = RunningSummary(
            summary=_summary_text(response),
            summarized_message_ids=(previous.summarized_message_ids if previous else set())
            | folded,
            last_summarized_message_id=plan.to_summarize[-1].id,
        )
    if plan.empty:  # nothing to summarize or show: the summary passes through unchanged
        return SummarizationResult(plan.render(None, settings.final_prompt), previous)
    shown = plan.render(current.summary if current else None, settings.final_prompt)
    return SummarizationResult(messages=shown, running_summary=current)


def summarize_messages(
    messages: list[AnyMessage],
    *,
    running_summary: RunningSummary | None,
    model: Any,
    max_tokens: int,
    max_tokens_before_summary: int | None = None,
    max_summary_tokens: int = 256,
    token_counter: TokenCounter = count_tokens_approximately,
    initial_summary_prompt: ChatPromptTemplate = DEFAULT_INITIAL_SUMMARY_PROMPT,
    existing_summary_prompt: ChatPromptTemplate = DEFAULT_EXISTING_SUMMARY_PROMPT,
    final_prompt: ChatPromptTemplate = DEFAULT_FINAL_SUMMARY_PROMPT,
) -> SummarizationResult:
    """Summarize the oldest messages once they pass a token threshold.

    Walking from the oldest unsummarized message, the cut falls at the first message where
    the running total reaches ``max_tokens_before_summary`` (default ``max_tokens``) and the
    rest fits ``max_tokens - max_summary_tokens - tokens(system message)``. The messages up
    to the cut are summarized in one ``model.invoke(messages)`` call (extending
    ``running_summary`` if given); if they exceed the model's budget (``max_tokens``, less
    the running summary), only their most recent part is sent. The result is
    ``[system message, summary message, *unsummarized]`` and the new running summary, to
    pass to the next call. Without a cut, no model is called.

    A cut never separates tool calls from their results, never summarizes away the latest
    HumanMessage while it and what follows fit the budget, and always leaves messages after
    the summary. ``max_summary_tokens`` only budgets the summary; bind the model's own
    output limit (``model.bind(max_tokens=...)``) to enforce it. Every message needs an
    ``id``; ``ValueError`` on a missing id, an already summarized one, or
    ``max_summary_tokens >= max_tokens``.
    """
    settings = _Settings.of(locals())
    return drive(_summarize_flow(messages, running_summary, settings))


async def asummarize_messages(
    messages: list[AnyMessage],
    *,
    running_summary: RunningSummary | None,
    model: Any,
    max_tokens: int,
    max_tokens_before_summary: int | None = None,
    max_summary_tokens: int = 256,
    token_counter: TokenCounter = count_tokens_approximately,
    initial_summary_prompt: ChatPromptTemplate = DEFAULT_INITIAL_SUMMARY_PROMPT,
    existing_summary_prompt: ChatPromptTemplate = DEFAULT_EXISTING_SUMMARY_PROMPT,
    final_prompt: ChatPromptTemplate = DEFAULT_FINAL_SUMMARY_PROMPT,
) -> SummarizationResult:
    """``summarize_messages`` calling ``await model.ainvoke(messages)``."""
    settings = _Settings.of(locals())
    return await adrive(_summarize_flow(messages, running_summary, settings))


class SummarizationNode(FlowRunnable[Any, dict[str, Any]]):
    """A LangGraph node running ``summarize_messages`` on ``state[input_messages_key]``.

    The running summary lives in ``state["context"]["running_summary"]``, so the state
    needs a ``context`` key (e.g. ``class State(AgentState): context: dict[str, Any]``) for
    it to persist between turns. The update is ``{output_messages_key: messages}`` plus
    ``{"context": {..., "running_summary": ...}}`` once a summary exists; with
    ``output_messages_key == input_messages_key`` the messages replace the history
    (``RemoveMessage(REMOVE_ALL_MESSAGES)`` first). As a prebuilt agent's
    ``pre_model_hook`` with distinct keys, the update also sets ``llm_input_messages``, so
    the model reads the summarized messages, never the full history.
    """

    def __init__(
        self,
        *,
        model: Any,
        max_tokens: int,
        max_tokens_before_summary: int | None = None,
        max_summary_tokens: int = 256,
        token_counter: TokenCounter = count_tokens_approximately,
        initial_summary_prompt: ChatPromptTemplate = DEFAULT_INITIAL_SUMMARY_PROMPT,
        existing_summary_prompt: ChatPromptTemplate = DEFAULT_EXISTING_SUMMARY_PROMPT,
        final_prompt: ChatPromptTemplate = DEFAULT_FINAL_SUMMARY_PROMPT,
        input_messages_key: str = "messages",
        output_messages_key: str = "summarized_messages",
        name: str = "summarization",
    ) -> None:
        if max_summary_tokens >= max_tokens:
            raise ValueError("`max_summary_tokens` must be less than `max_tokens`.")
        self.settings = _Settings.of({**locals(), "model": _model(model)})
        self.input_messages_key = input_messages_key
        self.output_messages_key = output_messages_key
        self.name = name

    def _flow(self, input: Any, config: RunnableConfig | None) -> Flow[dict[str, Any]]:
        messages, context = self._read(input)
        result = yield from _summarize_flow(
            messages, context.get("running_summary"), self.settings, in_node=True
        )
        update: dict[str, Any] = {self.output_messages_key: result.messages}
        if result.running_summary is not None:
            update["context"] = {**context, "running_summary": result.running_summary}
            if self.output_messages_key == self.input_messages_key:
                update[self.output_messages_key] = [
                    RemoveMessage(id=REMOVE_ALL_MESSAGES),
                    *result.messages,
                ]
        node = ((config or {}).get("metadata") or {}).get("langgraph_node")
        if node == "pre_model_hook" and self.output_messages_key != self.input_messages_key:
            update["llm_input_messages"] = result.messages
        return update

    def _read(self, input: Any) -> tuple[list[Any], dict[str, Any]]:
        if isinstance(input, Mapping):
            messages, context = input.get(self.input_messages_key), input.get("context")
        elif isinstance(input, BaseModel):
            messages = getattr(input, self.input_messages_key, None)
            context = getattr(input, "context", None)
        else:
            raise ValueError(f"Invalid input type: {type(input)}")
        if messages is None:
            raise ValueError(f"Missing required field `{self.input_messages_key}` in the input.")
        return list(messages), dict(context or {})


def _model(model: Any) -> Any:
    if isinstance(model, str):
        from langmem._models import resolve_chat_model

        return resolve_chat_model(model)
    return model


def _as_running_summary(value: Any) -> RunningSummary | None:
    """Accept a ``RunningSummary``, or its fields as a mapping (a checkpoint in strict mode)."""
    if value is None or isinstance(value, RunningSummary):
        return value
    fields = value if isinstance(value, Mapping) else getattr(value, "__dict__", {})
    if "summary" not in fields:
        raise TypeError(f"running_summary must be a RunningSummary, got {value!r}")
    return RunningSummary(
        summary=str(fields["summary"]),
        summarized_message_ids=set(fields.get("summarized_message_ids") or ()),
        last_summarized_message_id=fields.get("last_summarized_message_id"),
    )


def _summary_text(response: Any) -> str:
    """The summary in the model's reply; an empty one is an error (nothing is lost)."""
    content = getattr(response, "content", response)
    text = content if isinstance(content, str) else getattr(response, "text", "")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            "The summarization model returned an empty summary; nothing was summarized."
        )
    return text
