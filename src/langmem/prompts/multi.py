"""The multi-prompt optimizer: pick the prompts to blame, then update only those.

One forced ``Classify`` call shows every prompt with its ``when_to_update`` and
``update_instructions`` (LangMem showed only ``name: prompt``) and the
sessions; names outside the prompt set are rejected and repaired like any bad
call. The chosen prompts are then optimized concurrently (a ``Gather`` of
sub-flows), each told which part of the system it is. A single prompt without
``when_to_update`` skips the classification. The result lists every prompt in
input order: copies, with ``prompt`` replaced where it changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from langmem._effects import Effect, Flow, Gather, adrive, drive
from langmem.prompts._calls import answer, classify_tool
from langmem.prompts._core import Job, Settings, fill, prompt_notes
from langmem.prompts.types import Prompt

__all__ = ["CLASSIFY_PROMPT", "RunFlow", "optimize_many"]

CLASSIFY_PROMPT = """A system of several prompts produced the sessions below. Decide which \
prompts must be updated to fix the failures the sessions show.

<prompts>
{prompts}
</prompts>

Sessions, each with the feedback it received (a score, a comment, a "revised" output, or \
none: then judge from the conversation itself):

<sessions>
{sessions}
</sessions>

Attribute each failure to the prompt responsible for that behaviour, following each \
prompt's "when to update" guidance. Choose only prompts whose change would fix an observed \
failure; if everything worked, choose none. Answer with `Classify`."""


@dataclass(frozen=True)
class RunFlow(Effect):
    """Run a whole sub-flow as one effect (so ``Gather`` can run flows concurrently)."""

    flow: Flow

    def run(self) -> Any:
        return drive(self.flow)

    async def arun(self) -> Any:
        return await adrive(self.flow)


def _describe(prompt: Prompt) -> str:
    return (
        f'<prompt name="{prompt["name"]}">\n{prompt_notes(prompt)}\n'
        f"<text>\n{prompt['prompt']}\n</text>\n</prompt>"
    )


def optimize_many(
    optimize: Callable[[Job], Flow[str]],
    model: BaseChatModel,
    sessions: str,
    prompts: list[Prompt],
    settings: Settings,
    *,
    config: RunnableConfig | None = None,
) -> Flow[list[Prompt]]:
    """All ``prompts`` (copies), the chosen ones updated by the ``optimize`` flow."""
    result: list[Prompt] = [p.copy() for p in prompts]
    names = [p["name"] for p in prompts]
    if len(prompts) == 1 and prompts[0].get("when_to_update") is None:
        chosen, reasoning = set(names), ""
    else:
        request = fill(
            CLASSIFY_PROMPT,
            {"prompts": "\n\n".join(map(_describe, prompts)), "sessions": sessions},
        )
        verdict: Any = yield from answer(model, request, classify_tool(names), config=config)
        if verdict is None:
            return result
        chosen, reasoning = set(verdict.which), verdict.reasoning
    indices = [i for i, name in enumerate(names) if name in chosen]
    if not indices:
        return result
    flows = []
    for i in indices:
        context = ""
        if len(prompts) > 1:
            context = (
                f"This prompt ({names[i]!r}) is one part of a system with the prompts "
                f"{', '.join(map(repr, names))}; the sessions show the whole system. Change "
                "only what this prompt is responsible for."
                + (f" Why it was chosen: {reasoning}" if reasoning else "")
            )
        flows.append(RunFlow(optimize(Job(model, sessions, prompts[i], settings, config, context))))
    updated = yield Gather(flows)
    for i, text in zip(indices, updated):
        result[i]["prompt"] = text
    return result
