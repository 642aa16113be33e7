"""The ``gradient`` optimizer: diagnose the prompt first, then rewrite it if needed.

Reflection step ``ix`` (0-based, ``max`` = ``max_reflection_steps``, ``min`` =
``min_reflection_steps``) offers:

======================  ==================================  ==============
step                    tools                               tool_choice
======================  ==================================  ==============
``ix == max - 1``       ``recommend``                       ``recommend``
``ix < min``            ``think``, ``critique``             ``"any"``
otherwise               ``think``, ``critique``, recommend  ``"any"``
======================  ==================================  ==============

The first ``recommend`` ends the diagnosis, so it takes ``min(min + 1, max)``
to ``max`` calls. If it warrants an adjustment, one more call (forced
``OptimizedPromptOutput``) rewrites the prompt; otherwise the original prompt
is returned unchanged.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from langmem._effects import Flow
from langmem.prompts._calls import Critique, Recommend, Think, ask, output_tool
from langmem.prompts._core import (
    Settings,
    fill,
    finish_prompt,
    placeholder_problem,
    placeholders,
    prompt_notes,
)
from langmem.prompts.types import Prompt

__all__ = ["DIAGNOSIS_PROMPT", "REWRITE_PROMPT", "optimize"]

DIAGNOSIS_PROMPT = """You are diagnosing a system prompt from evidence of how it performed.

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

Work with the tools: `think` to reason about what happened and why, `critique` to test your \
reasoning or a tentative fix, and `recommend` once you are confident. Recommend a change only \
when the sessions show the prompt causing or allowing a failure; a prompt that works is left \
alone. For a warranted change, name the failure (missing requirement, wrong format or tone, \
unclear rule, faulty reasoning, ...) and give concrete, minimal edits that fix it: an added \
or reworded instruction, a rule for a condition, or a short example. Do not suggest generic \
improvements the evidence does not call for."""

REWRITE_PROMPT = """You are revising a system prompt to fix diagnosed failures.

<current_prompt>
{current_prompt}
</current_prompt>

The developer's guidance on this prompt:
<update_instructions>
{update_instructions}
</update_instructions>

Why it underperforms:
<hypotheses>
{hypotheses}
</hypotheses>

Recommended edits:
<recommendations>
{recommendations}
</recommendations>

Apply the recommendations with the smallest edits that achieve them. Keep the prompt's \
voice, structure, every instruction that still holds and every {placeholder} variable \
exactly as written. Submit the complete revised prompt with `OptimizedPromptOutput`."""


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
    notes = prompt_notes(prompt, context)
    request = fill(
        settings.gradient_prompt or DIAGNOSIS_PROMPT,
        {"prompt": original, "update_instructions": notes, "sessions": sessions, "feedback": ""},
        required=("prompt", "sessions"),
    )
    messages = [HumanMessage(request)]
    recommendation = None
    for ix in range(settings.max_steps):
        if ix == settings.max_steps - 1:
            tools, choice = [Recommend], "recommend"
        elif ix < settings.min_steps:
            tools, choice = [Think, Critique], "any"
        else:
            tools, choice = [Think, Critique, Recommend], "any"
        reply = yield from ask(model, messages, tools, choice, config=config)
        if reply is None:
            return original
        if recommendation := reply.first(Recommend):
            break
        messages += reply.acknowledged()
    if recommendation is None or not recommendation.warrants_adjustment:
        return original

    rewrite = fill(
        settings.metaprompt or REWRITE_PROMPT,
        {
            "current_prompt": original,
            "update_instructions": notes,
            "hypotheses": recommendation.hypotheses or "(not stated)",
            "recommendations": recommendation.full_recommendations or "(not stated)",
        },
        required=("current_prompt", "recommendations"),
    )
    output = output_tool(original, placeholders(original))
    reply = yield from ask(
        model,
        [HumanMessage(rewrite)],
        [output],
        "OptimizedPromptOutput",
        config=config,
        check=lambda v: placeholder_problem(original, v.improved_prompt),
    )
    result = None if reply is None else reply.first(output)
    return original if result is None else finish_prompt(original, result.improved_prompt)
