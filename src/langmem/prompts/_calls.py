"""The optimizers' tools, one guarded model call (:func:`ask`) and the flows over it.

The model is untrusted: a reply with invalid JSON, arguments failing the
schema, a tool not offered at that step, an output failing ``check`` (e.g. a
dropped placeholder) or no tool call at all is answered with the errors and
asked again, at most ``MAX_REPAIRS`` times; then :func:`ask` returns ``None``
and the optimizer keeps the original prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import ErrorDetails

from langmem._clip import clip_reply, clip_text
from langmem._effects import CallModel, Flow
from langmem.prompts._core import Settings, keep_note

__all__ = [
    "MAX_REPAIRS",
    "Critique",
    "GeneralResponse",
    "Recommend",
    "Reply",
    "Think",
    "answer",
    "ask",
    "classify_tool",
    "improved_prompt",
    "output_tool",
    "reflect",
    "tool_name",
]

logger = logging.getLogger("langmem.prompts")

MAX_REPAIRS = 2  # repair calls after a rejected reply, per request

M = TypeVar("M", bound=BaseModel)


class Think(BaseModel):
    """Reason about the sessions: what happened, why, and what could fix it."""

    model_config = ConfigDict(title="think")
    thought: str = Field(description="Your reasoning.")


class Critique(BaseModel):
    """Challenge your reasoning so far or a tentative fix: what is wrong or missing?"""

    model_config = ConfigDict(title="critique")
    criticism: str = Field(description="The weaknesses you found.")


class Recommend(BaseModel):
    """Conclude: say whether the prompt must change and, if so, exactly how."""

    model_config = ConfigDict(title="recommend")
    warrants_adjustment: bool = Field(
        description="True only if the sessions show failures the prompt causes or allows."
    )
    hypotheses: str | None = Field(
        default=None, description="Why the prompt underperforms, tied to the evidence."
    )
    full_recommendations: str | None = Field(
        default=None, description="Concrete, minimal edits to make to the prompt."
    )


class GeneralResponse(BaseModel):
    """Report whether the prompt should change and give the complete new prompt if so."""

    logic: str = Field(description="What the sessions show and what, if anything, to change.")
    update_prompt: bool = Field(description="True to replace the prompt with new_prompt.")
    new_prompt: str = Field(
        default="", description="The complete updated prompt; empty if update_prompt is false."
    )


def output_tool(original: str, names: Sequence[str]) -> type[BaseModel]:
    """The ``OptimizedPromptOutput`` tool; its description names the placeholders to keep."""
    keep = keep_note("It must contain these placeholders exactly as written", names)
    return create_model(
        "OptimizedPromptOutput",
        __doc__="Submit the analysis and the improved prompt.",
        analysis=(str, Field(description="What the evidence shows and what you changed.")),
        improved_prompt=(
            str | None,
            Field(
                default=None,
                description="The complete improved prompt, or null if no change is warranted."
                + keep,
            ),
        ),
    )


def classify_tool(names: Sequence[str]) -> type[BaseModel]:
    """The ``Classify`` tool: which of the named prompts to update."""
    name_type: Any = Literal[tuple(names)]  # built at runtime from the names given
    return create_model(
        "Classify",
        __doc__="Name the prompts that must be updated (an empty list if none).",
        reasoning=(str, Field(description="Which prompt caused each problem, and why.")),
        which=(
            list[name_type],
            Field(description="Names of the prompts to update."),
        ),
    )


def improved_prompt(value: BaseModel) -> str | None:
    """The ``improved_prompt`` of an :func:`output_tool` value (``None`` for other tools')."""
    return getattr(value, "improved_prompt", None)


def tool_name(schema: type[BaseModel]) -> str:
    return schema.model_config.get("title") or schema.__name__


@dataclass(frozen=True)
class Reply:
    """An accepted reply: the message and its parsed tool calls, in order."""

    message: AIMessage
    calls: list[tuple[str, BaseModel]]

    def first(self, schema: type[M]) -> M | None:
        return next((value for _, value in self.calls if isinstance(value, schema)), None)

    def acknowledged(self, text: str = "Noted. Continue.") -> list[BaseMessage]:
        """The message followed by one ToolMessage per call, for the next step."""
        return [self.message, *(ToolMessage(text, tool_call_id=i) for i, _ in self.calls)]


def _brief(exc: ValidationError) -> str:
    def one(error: ErrorDetails) -> str:
        where = ".".join(map(str, error["loc"])) or "arguments"
        got = error.get("input")
        shown = f" (got {got!r})" if isinstance(got, (str, int, float, bool)) else ""
        return f"{where}: {error['msg']}{shown[:120]}"

    return "; ".join(one(e) for e in exc.errors()[:5])


def _parse(
    message: AIMessage,
    by_name: dict[str, type[M]],
    check: Callable[[M], str | None] | None,
) -> tuple[list[tuple[str, BaseModel]], dict[str | None, str]]:
    calls: list[tuple[str, BaseModel]] = []
    errors: dict[str | None, str] = {}
    offered = ", ".join(by_name)
    for bad in message.invalid_tool_calls:
        errors[bad.get("id")] = f"Rejected: arguments are not valid JSON ({bad.get('error')})."
    for call in message.tool_calls:
        call_id, schema = call.get("id") or "", by_name.get(call["name"])
        if schema is None:
            errors[call_id] = f"Rejected: {call['name']!r} is not available now; use {offered}."
            continue
        try:
            value = schema.model_validate(call["args"])
        except ValidationError as exc:
            errors[call_id] = f"Rejected: invalid arguments: {_brief(exc)}."
            continue
        if check is not None and (problem := check(value)):
            errors[call_id] = f"Rejected: {problem}"
        else:
            calls.append((call_id, value))
    if not message.tool_calls and not message.invalid_tool_calls:
        errors[None] = f"Your reply called no tool. Call one of: {offered}."
    return calls, errors


def _repair_messages(
    message: AIMessage, errors: dict[str | None, str], calls: list[tuple[str, BaseModel]]
) -> list[BaseMessage]:
    retry = "Not applied: fix the rejected calls and send all the calls of this reply again."
    replies: list[BaseMessage] = [clip_reply(message)]
    replies += [
        ToolMessage(clip_text(text), tool_call_id=i) for i, text in errors.items() if i is not None
    ]
    replies += [ToolMessage(retry, tool_call_id=i) for i, _ in calls]
    if None in errors:
        replies.append(HumanMessage(clip_text(errors[None])))
    return replies


def ask(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    tools: Sequence[type[M]],
    tool_choice: str,
    *,
    config: RunnableConfig | None = None,
    check: Callable[[M], str | None] | None = None,
) -> Flow[Reply | None]:
    """One model request with ``tools``; repaired until accepted, else ``None``.

    ``check`` sees the parsed arguments of every call, whichever of ``tools`` it is."""
    by_name = {tool_name(t): t for t in tools}
    history = list(messages)
    for attempt in range(MAX_REPAIRS + 1):
        message = yield CallModel(model, tuple(history), tuple(tools), tool_choice, config)
        calls, errors = _parse(message, by_name, check)
        if not errors:
            return Reply(message, calls)
        logger.warning(
            "Prompt optimizer: rejected model reply (attempt %d of %d): %s",
            attempt + 1,
            MAX_REPAIRS + 1,
            "; ".join(errors.values()),
        )
        history += _repair_messages(message, errors, calls)
    logger.warning("Prompt optimizer: no valid reply after %d attempts", MAX_REPAIRS + 1)
    return None


def answer(
    model: BaseChatModel,
    request: str,
    tool: type[M],
    *,
    config: RunnableConfig | None = None,
    check: Callable[[M], str | None] | None = None,
) -> Flow[M | None]:
    """One request forcing ``tool``: its parsed arguments, or ``None`` after failed repairs."""
    reply = yield from ask(
        model, [HumanMessage(request)], [tool], tool_name(tool), config=config, check=check
    )
    return None if reply is None else reply.first(tool)


def reflect(
    model: BaseChatModel,
    request: str,
    final: type[M],
    settings: Settings,
    *,
    final_from: int,
    config: RunnableConfig | None = None,
    check: Callable[[BaseModel], str | None] | None = None,
) -> Flow[M | None]:
    """``think``/``critique`` steps until the model calls ``final``: its arguments, or ``None``.

    Step ``ix`` offers ``final`` alone (forced) when it is the last one, only
    ``think``/``critique`` while ``ix < final_from``, else all three.
    ``None`` means a step got no valid reply.
    """
    messages: list[BaseMessage] = [HumanMessage(request)]
    tools: list[type[BaseModel]]
    for ix in range(settings.max_steps):
        if ix == settings.max_steps - 1:
            tools, choice = [final], tool_name(final)
        elif ix < final_from:
            tools, choice = [Think, Critique], "any"
        else:
            tools, choice = [Think, Critique, final], "any"
        reply = yield from ask(model, messages, tools, choice, config=config, check=check)
        if reply is None:
            return None
        if (result := reply.first(final)) is not None:
            return result
        messages += reply.acknowledged()
    return None  # pragma: no cover - the last step forces ``final``
