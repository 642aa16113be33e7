"""Where to cut a conversation for summarization, and what the model sees after: no I/O.

The cut follows LangMem's arithmetic (so the same calls give the same cuts) with the
corrections of contract §10.11:

- a summarized AIMessage takes every ToolMessage answering it along (parallel calls too),
  so the kept tail never starts with a ToolMessage;
- the latest HumanMessage and what follows it stay unsummarized when they fit the budget;
  a cut forced past it goes far enough to show it again after the summary, budget allowing;
- the kept tail is never empty while there are messages to keep;
- summary messages of earlier calls are dropped from the input (they are derived data) and
  the running summary is extended, never restarted.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.messages import (
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
    trim_messages,
)
from langchain_core.prompts import ChatPromptTemplate

from langmem.short_term._prompts import SUMMARY_KEY

__all__ = ["Plan", "TokenCounter", "plan_summary"]

TokenCounter = Callable[[Iterable[Any]], int]


@dataclass
class Plan:
    """One summarization decision: what to summarize and what stays."""

    system: BaseMessage | None
    """The leading system message to show again (``None``: absent, or an earlier summary)."""
    summary: str | None
    """The running summary going in (given, or recovered from an earlier summary message)."""
    to_summarize: list[BaseMessage]
    """Messages to fold into the summary now (empty: no model call)."""
    model_input: list[BaseMessage]
    """``to_summarize``, trimmed to what the summarizing model may read."""
    kept: list[BaseMessage]
    """Unsummarized messages, shown after the summary."""
    pinned: BaseMessage | None
    """The latest HumanMessage, shown again because the cut went past it."""
    empty: bool = False
    """Nothing but a system message came in."""
    backlog: bool = False
    """``to_summarize`` is over twice ``max(threshold, max_tokens)``: earlier cuts were lost?"""

    def render(self, summary: str | None, final_prompt: ChatPromptTemplate) -> list[AnyMessage]:
        """The messages for the model, given the summary after this call (if any)."""
        system = [self.system] if self.system is not None else []
        if self.empty or summary is None:
            return _any_messages(system + self.kept)
        shown = ([self.pinned] if self.pinned is not None else []) + self.kept
        given = {id(m) for m in system + shown}
        out = final_prompt.format_messages(system_message=system, summary=summary, messages=shown)
        return _any_messages([m if id(m) in given else _mark(m, summary) for m in out])


def plan_summary(
    messages: Sequence[Any],
    *,
    summary: str | None,
    summarized_ids: set[str],
    last_id: str | None,
    max_tokens: int,
    max_tokens_before_summary: int | None,
    max_summary_tokens: int,
    token_counter: TokenCounter,
) -> Plan:
    """Decide the cut (see the module docstring); raises ``ValueError`` on bad input."""
    if max_summary_tokens >= max_tokens:
        raise ValueError("`max_summary_tokens` must be less than `max_tokens`.")
    threshold = max_tokens if max_tokens_before_summary is None else max_tokens_before_summary
    messages = [m if isinstance(m, BaseMessage) else convert_to_messages([m])[0] for m in messages]
    budget = max_tokens - max_summary_tokens  # for the kept messages
    system = None
    if messages and isinstance(messages[0], SystemMessage):
        system, messages = messages[0], messages[1:]
        budget -= token_counter([system])  # an earlier summary here is budgeted as LangMem does
        if _is_summary(system, summary):
            summary = summary if summary is not None else _summary_of(system)
            system = None
    earlier = [m for m in messages if isinstance(m, SystemMessage) and _is_summary(m, None)]
    if earlier:
        summary = summary if summary is not None else _summary_of(earlier[-1])
        messages = [m for m in messages if all(m is not e for e in earlier)]
    if not messages:
        return Plan(system, summary, [], [], [], None, empty=True)

    start = 0
    if summary is not None and last_id is not None:
        start = next((i + 1 for i, m in enumerate(messages) if m.id == last_id), 0)
    rest = messages[start:]
    total = token_counter(rest)
    counts, end, cumulative = [], 0, 0
    for i, message in enumerate(rest):
        if message.id is None:
            raise ValueError("Messages are required to have ID field.")
        if message.id in summarized_ids:
            raise ValueError(f"Message with ID {message.id} has already been summarized.")
        counts.append(token_counter([message]))
        cumulative += counts[-1]
        if not end and cumulative >= threshold and total - cumulative <= budget:
            end = i + 1
    latest = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    if end:
        end = _past_results(rest, end)  # the answers go with their tool calls
        end = min(end, _first_protected(rest, counts, budget))
        if latest is not None and all(m is not latest for m in rest[end:]):
            # the question gets summarized: summarize more, so it can be shown again
            last, need = _last_unit(rest), token_counter([latest]) + sum(counts[end:])
            while need > budget and end < last:
                step = _past_results(rest, end + 1)
                need -= sum(counts[end:step])
                end = step

    to_summarize, kept = rest[:end], rest[end:]
    model_input, folded = to_summarize, sum(counts[:end])
    if to_summarize:
        cap = max_tokens
        if summary is not None:
            cap -= token_counter([SystemMessage(content=summary)])
        if folded > cap:
            model_input = _trim(to_summarize, cap, token_counter)
    pinned = None
    if (
        (summary is not None or to_summarize)
        and latest is not None
        and all(m is not latest for m in kept)
        and token_counter([latest]) + sum(counts[end:]) <= budget
    ):
        pinned = latest
    backlog = folded > 2 * max(threshold, max_tokens)
    return Plan(system, summary, to_summarize, model_input, kept, pinned, backlog=backlog)


def _first_protected(rest: list[BaseMessage], counts: list[int], budget: int) -> int:
    """Index from which messages must stay: the latest human turn if it fits, else the last unit."""
    human = next((i for i in range(len(rest) - 1, -1, -1) if isinstance(rest[i], HumanMessage)), None)
    if human is not None and sum(counts[human:]) <= budget:
        return human
    return _last_unit(rest)


def _last_unit(rest: list[BaseMessage]) -> int:
    """Start of the last message, or of the last tool call with its results."""
    last = len(rest) - 1
    while last > 0 and isinstance(rest[last], ToolMessage):
        last -= 1
    return last


def _past_results(rest: list[BaseMessage], end: int) -> int:
    while end < len(rest) and isinstance(rest[end], ToolMessage):
        end += 1
    return end


def _trim(messages: list[BaseMessage], cap: int, token_counter: TokenCounter) -> list[BaseMessage]:
    trimmed = trim_messages(
        messages,
        max_tokens=cap,
        token_counter=token_counter,
        strategy="last",
        start_on="human",
        allow_partial=True,
    )
    if trimmed:
        return trimmed
    warnings.warn(
        "The messages to summarize could not be trimmed to the summarizing model's budget "
        f"({cap} tokens); sending them all, which may exceed its context window.",
        RuntimeWarning,
        stacklevel=4,
    )
    return messages


def _is_summary(message: BaseMessage, summary: str | None) -> bool:
    """A summary message of an earlier call (ours, or LangMem's leading one with ``summary``)."""
    if not isinstance(message, SystemMessage):
        return False
    if SUMMARY_KEY in message.additional_kwargs:
        return True
    if not summary:
        return False
    return summary in message.text


def _any_messages(messages: list[BaseMessage]) -> list[AnyMessage]:
    """``messages`` typed as LangMem's ``list[AnyMessage]``: they are the concrete message
    classes (``convert_to_messages`` and ``format_messages`` build those)."""
    return cast("list[AnyMessage]", messages)


def _summary_of(message: BaseMessage) -> str:
    return str(message.additional_kwargs[SUMMARY_KEY])


def _mark(message: BaseMessage, summary: str) -> BaseMessage:
    kwargs = {**message.additional_kwargs, SUMMARY_KEY: summary}
    return message.model_copy(update={"additional_kwargs": kwargs})
