"""The ``metaprompt`` optimizer: reflect, then write the improved prompt in one loop.

Step ``ix`` (0-based, ``max`` = ``max_reflection_steps``, ``min`` =
``min_reflection_steps``) offers, as LangMem does:

======================  ==============================================  =========================
step                    tools                                           tool_choice
======================  ==============================================  =========================
``ix == max - 1``       ``OptimizedPromptOutput``                       ``OptimizedPromptOutput``
``ix < min - 1``        ``think``, ``critique``                         ``"any"``
otherwise               ``think``, ``critique``, OptimizedPromptOutput  ``"any"``
======================  ==============================================  =========================

so with the default ``min`` of 1 the output is offered from the first call.
The loop stops at the first ``OptimizedPromptOutput`` (LangMem always ran all
``max`` steps), so a run takes ``min(max(min, 1), max)`` to ``max`` calls;
``{"max_reflection_steps": 1}`` is one forced call.
A null or blank ``improved_prompt`` keeps the original prompt.
"""

from __future__ import annotations

from langmem._effects import Flow
from langmem.prompts._calls import improved_prompt, output_tool, reflect
from langmem.prompts._core import (
    EVIDENCE,
    Job,
    evidence_request,
    finish_prompt,
    placeholder_problem,
    placeholders,
)

__all__ = ["METAPROMPT", "optimize"]

METAPROMPT = "\n\n".join(
    [
        "You improve a system prompt from evidence of how it performed.",
        EVIDENCE,
        """Use `think` to work out what went well, what went wrong and why, and `critique` to \
test your conclusions. When ready, call `OptimizedPromptOutput` with your analysis and the \
complete improved prompt. Change only what the evidence calls for: add or reword the \
instructions that would have prevented each failure and keep everything that works, \
including every {placeholder} variable exactly as written. If no change is warranted, \
set `improved_prompt` to null.""",
    ]
)


def optimize(job: Job) -> Flow[str]:
    """The new prompt text (the original one when no change is made)."""
    original = job.prompt["prompt"]
    request = evidence_request(job.settings.metaprompt or METAPROMPT, job)
    output = output_tool(original, placeholders(original))
    result = yield from reflect(
        job.model,
        request,
        output,
        job.settings,
        final_from=job.settings.min_steps - 1,  # LangMem's gating: offered from step min - 1
        config=job.config,
        check=lambda v: placeholder_problem(original, improved_prompt(v)),
    )
    return original if result is None else finish_prompt(original, improved_prompt(result))
