"""The ``prompt_memory`` optimizer: one call, forced ``GeneralResponse``.

``update_prompt`` false or a blank ``new_prompt`` returns the original prompt
(LangMem returned ``""``). Reflection-step settings do not apply.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from langmem._effects import Flow
from langmem.prompts._calls import GeneralResponse, ask
from langmem.prompts._core import (
    Settings,
    fill,
    finish_prompt,
    placeholder_problem,
    placeholders,
    prompt_notes,
)
from langmem.prompts.types import Prompt

__all__ = ["PROMPT_MEMORY_PROMPT", "optimize"]

PROMPT_MEMORY_PROMPT = """Sessions an assistant ran with the system prompt below are shown \
with the feedback each received (a score, a comment, a "revised" output the user preferred, \
or none: then judge from the conversation itself). Learn from them: decide whether the \
prompt should change, and if so write the complete updated prompt, adding or rewording the \
instructions that would have avoided each failure and keeping what works.

<current_prompt>
{prompt}
</current_prompt>

The developer's guidance on this prompt:
<update_instructions>
{update_instructions}
</update_instructions>

<sessions>
{sessions}
</sessions>

Answer with `GeneralResponse`.{keep}"""


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
    names = placeholders(original)
    keep = (
        " Keep these placeholders exactly as written: "
        + ", ".join("{" + n + "}" for n in names)
        + "."
        if names
        else ""
    )
    request = fill(
        PROMPT_MEMORY_PROMPT,
        {
            "prompt": original,
            "update_instructions": prompt_notes(prompt, context),
            "sessions": sessions,
            "keep": keep,
        },
    )
    reply = yield from ask(
        model,
        [HumanMessage(request)],
        [GeneralResponse],
        "GeneralResponse",
        config=config,
        check=lambda v: placeholder_problem(original, v.new_prompt) if v.update_prompt else None,
    )
    result = None if reply is None else reply.first(GeneralResponse)
    if result is None or not result.update_prompt:
        return original
    return finish_prompt(original, result.new_prompt)
