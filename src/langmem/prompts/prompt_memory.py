"""The ``prompt_memory`` optimizer: one call, forced ``GeneralResponse``.

``update_prompt`` false or a blank ``new_prompt`` returns the original prompt
(LangMem returned ``""``). Reflection-step settings do not apply.
"""

from __future__ import annotations

from langmem._effects import Flow
from langmem.prompts._calls import GeneralResponse, answer
from langmem.prompts._core import (
    Job,
    evidence_request,
    finish_prompt,
    keep_note,
    placeholder_problem,
    placeholders,
    prompt_block,
)

__all__ = ["PROMPT_MEMORY_PROMPT", "optimize"]

PROMPT_MEMORY_PROMPT = "\n\n".join(
    [
        """Sessions an assistant ran with the system prompt below are shown \
with the feedback each received (a score, a comment, a "revised" output the user preferred, \
or none: then judge from the conversation itself). Learn from them: decide whether the \
prompt should change, and if so write the complete updated prompt, adding or rewording the \
instructions that would have avoided each failure and keeping what works.""",
        prompt_block(),
        "<sessions>\n{sessions}\n</sessions>",
        "Answer with `GeneralResponse`.{keep}",
    ]
)


def optimize(job: Job) -> Flow[str]:
    """The new prompt text (the original one when no change is made)."""
    original = job.prompt["prompt"]
    keep = keep_note("Keep these placeholders exactly as written", placeholders(original))
    request = evidence_request(PROMPT_MEMORY_PROMPT, job, keep=keep)
    result = yield from answer(
        job.model,
        request,
        GeneralResponse,
        config=job.config,
        check=lambda v: placeholder_problem(original, v.new_prompt) if v.update_prompt else None,
    )
    if result is None or not result.update_prompt:
        return original
    return finish_prompt(original, result.new_prompt)
