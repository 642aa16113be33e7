"""The ``metaprompt`` optimizer: reflect, then write the improved prompt in one loop.

Step ``ix`` (0-based, ``max`` = ``max_reflection_steps``, ``min`` =
``min_reflection_steps``) offers:

======================  ==============================================  =========================
step                    tools                                           tool_choice
======================  ==============================================  =========================
``ix == max - 1``       ``OptimizedPromptOutput``                       ``OptimizedPromptOutput``
``ix < min``            ``think``, ``critique``                         ``"any"``
otherwise               ``think``, ``critique``, OptimizedPromptOutput  ``"any"``
======================  ==============================================  =========================

The loop stops at the first ``OptimizedPromptOutput`` (LangMem always ran all
``max`` steps), so a run takes ``min(min + 1, max)`` to ``max`` calls;
``{"max_reflection_steps": 1, "min_reflection_steps": 0}`` is one forced call.
A null or blank ``improved_prompt`` keeps the original prompt.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from langmem._effects import Flow
from langmem.prompts._calls import Critique, Think, ask, output_tool
from langmem.prompts._core import (
    Settings,
    fill,
    finish_prompt,
    placeholder_problem,
    placeholders,
    prompt_notes,
)
from langmem.prompts.types import Prompt

__all__ = ["METAPROMPT", "optimize"]

METAPROMPT = """You improve a system prompt from evidence of how it performed.

<current_prompt>
{prompt}
</current_prompt>

The developer's guidance on this prompt:
<update_instructions>
{update_instructions}
</update_instructions>

Sessions run with this prompt follow, each with the feedback it received. Feedback may be \
a score, a comment, a "revised" output the user preferred, or absent: then judge from the \
conversation itself (corrections, repeated requests, complaints, thanks).

<sessions>
{sessions}
</sessions>

Use `think` to work out what went well, what went wrong and why, and `critique` to test \
your conclusions. When ready, call `OptimizedPromptOutput` with your analysis and the \
complete improved prompt. Change only what the evidence calls for: add or reword the \
instructions that would have prevented each failure and keep everything that works, \
including every {placeholder} variable exactly as written. If no change is warranted, \
set `improved_prompt` to null."""


def optimize(
    model: BaseChatModel,
    sessions: str,
    prompt: Prompt,
    settings: Settings,
    *,
    config: RunnableConfig | None = None,
    context: str = "",
) -> Flow[str]:
    """The new prompt text (``prompt["prompt"]`` itself when no change is made)."""
    original = prompt["prompt"]
    request = fill(
        settings.metaprompt or METAPROMPT,
        {
            "prompt": original,
            "update_instructions": prompt_notes(prompt, context),
            "sessions": sessions,
        },
        required=("prompt", "sessions"),
    )
    output = output_tool(original, placeholders(original))
    messages = [HumanMessage(request)]
    for ix in range(settings.max_steps):
        if ix == settings.max_steps - 1:
            tools, choice = [output], "OptimizedPromptOutput"
        elif ix < settings.min_steps:
            tools, choice = [Think, Critique], "any"
        else:
            tools, choice = [Think, Critique, output], "any"
        reply = yield from ask(
            model,
            messages,
            tools,
            choice,
            config=config,
            check=lambda v: placeholder_problem(original, getattr(v, "improved_prompt", None)),
        )
        if reply is None:
            return original
        if result := reply.first(output):
            return finish_prompt(original, result.improved_prompt)
        messages += reply.acknowledged()
    return original  # pragma: no cover - the last step forces an output
