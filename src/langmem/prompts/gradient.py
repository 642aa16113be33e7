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

from langmem._effects import Flow
from langmem.prompts._calls import Recommend, answer, improved_prompt, output_tool, reflect
from langmem.prompts._core import (
    EVIDENCE,
    Job,
    evidence_request,
    fill,
    finish_prompt,
    placeholder_problem,
    placeholders,
    prompt_block,
    prompt_notes,
)

__all__ = ["DIAGNOSIS_PROMPT", "REWRITE_PROMPT", "optimize"]

DIAGNOSIS_PROMPT = "\n\n".join(
    [
        "You are diagnosing a system prompt from evidence of how it performed.",
        EVIDENCE,
        """Work with the tools: `think` to reason about what happened and why, `critique` to test \
your reasoning or a tentative fix, and `recommend` once you are confident. Recommend a change \
only when the sessions show the prompt causing or allowing a failure; a prompt that works is \
left alone. For a warranted change, name the failure (missing requirement, wrong format or \
tone, unclear rule, faulty reasoning, ...) and give concrete, minimal edits that fix it: an \
added or reworded instruction, a rule for a condition, or a short example. Do not suggest \
generic improvements the evidence does not call for.""",
    ]
)

REWRITE_PROMPT = "\n\n".join(
    [
        "You are revising a system prompt to fix diagnosed failures.",
        prompt_block("current_prompt"),
        """Why it underperforms:
<hypotheses>
{hypotheses}
</hypotheses>

Recommended edits:
<recommendations>
{recommendations}
</recommendations>

Apply the recommendations with the smallest edits that achieve them. Keep the prompt's \
voice, structure, every instruction that still holds and every {placeholder} variable \
exactly as written. Submit the complete revised prompt with `OptimizedPromptOutput`.""",
    ]
)


def optimize(job: Job) -> Flow[str]:
    """The new prompt text (the original one when no change is made)."""
    original = job.prompt["prompt"]
    template = job.settings.gradient_prompt or DIAGNOSIS_PROMPT
    request = evidence_request(template, job, feedback="")
    recommendation = yield from reflect(
        job.model,
        request,
        Recommend,
        job.settings,
        final_from=job.settings.min_steps,
        config=job.config,
    )
    if recommendation is None or not recommendation.warrants_adjustment:
        return original

    rewrite = fill(
        job.settings.metaprompt or REWRITE_PROMPT,
        {
            "current_prompt": original,
            "update_instructions": prompt_notes(job.prompt, job.context),
            "hypotheses": recommendation.hypotheses or "(not stated)",
            "recommendations": recommendation.full_recommendations or "(not stated)",
        },
        required=("current_prompt", "recommendations"),
    )
    output = output_tool(original, placeholders(original))
    result = yield from answer(
        job.model,
        rewrite,
        output,
        config=job.config,
        check=lambda v: placeholder_problem(original, improved_prompt(v)),
    )
    return original if result is None else finish_prompt(original, improved_prompt(result))
