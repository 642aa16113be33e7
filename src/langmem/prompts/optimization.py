"""Prompt optimizers: learn better system prompts from past sessions and feedback.

``invoke``, ``ainvoke`` and ``await optimizer(...)`` are thin shells over one
flow per kind (:mod:`~langmem.prompts.gradient`,
:mod:`~langmem.prompts.metaprompt`, :mod:`~langmem.prompts.prompt_memory`,
multi-prompt: :mod:`~langmem.prompts.multi`).

Long session sets never overflow the model's context silently: they are
rendered within ``config["max_trajectory_tokens"]`` (default 32,000, about
4 characters per token) by shortening the longest messages, then leaving out
sessions without feedback and the earliest ones, with a note telling the model
what was cut (see :mod:`langmem.prompts._render`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from langmem._effects import Flow, FlowRunnable
from langmem._models import resolve_chat_model
from langmem.prompts import gradient, metaprompt, prompt_memory
from langmem.prompts._core import (
    Job,
    Settings,
    has_sessions,
    normalize_prompt,
    normalize_prompts,
    normalize_trajectories,
)
from langmem.prompts._render import render_sessions
from langmem.prompts.multi import optimize_many
from langmem.prompts.types import (
    AnnotatedTrajectory,
    GradientOptimizerConfig,
    MetapromptOptimizerConfig,
    MultiPromptOptimizerInput,
    OptimizerInput,
    Prompt,
    PromptMemoryConfig,
)

__all__ = [
    "MultiPromptOptimizer",
    "PromptOptimizer",
    "create_multi_prompt_optimizer",
    "create_prompt_optimizer",
]

Kind = Literal["gradient", "metaprompt", "prompt_memory"]

_FLOWS = {
    "gradient": gradient.optimize,
    "metaprompt": metaprompt.optimize,
    "prompt_memory": prompt_memory.optimize,
}


def _flow_for(kind: str):
    if kind not in _FLOWS:
        raise NotImplementedError(
            f"Unsupported optimizer kind {kind!r}; choose one of {sorted(_FLOWS)}"
        )
    return _FLOWS[kind]


def _field(input: Any, key: str, what: str) -> Any:
    if not isinstance(input, Mapping) or key not in input or "trajectories" not in input:
        raise TypeError(f"{what} input must be a dict with 'trajectories' and {key!r}")
    return input[key]


class PromptOptimizer(FlowRunnable[OptimizerInput, str]):
    """Returns an improved prompt text (the original one when no change is warranted)."""

    def __init__(self, model: BaseChatModel, kind: str, settings: Settings) -> None:
        self.model, self.kind, self.settings = model, kind, settings
        self._optimize = _flow_for(kind)

    def _flow(self, input: OptimizerInput, config: RunnableConfig | None) -> Flow[str]:
        prompt = normalize_prompt(_field(input, "prompt", "PromptOptimizer"))
        sessions = normalize_trajectories(input["trajectories"])
        if not has_sessions(sessions):
            return prompt["prompt"]
        text = render_sessions(sessions, self.settings.max_trajectory_tokens)
        return (yield from self._optimize(Job(self.model, text, prompt, self.settings, config)))

    async def __call__(
        self, trajectories: Sequence[AnnotatedTrajectory] | str, prompt: str | Prompt
    ) -> str:
        return await self.ainvoke({"trajectories": trajectories, "prompt": prompt})


class MultiPromptOptimizer(FlowRunnable[MultiPromptOptimizerInput, list[Prompt]]):
    """Returns every prompt, in input order, with the ones to blame updated."""

    def __init__(self, model: BaseChatModel, kind: str, settings: Settings) -> None:
        self.model, self.kind, self.settings = model, kind, settings
        self._optimize = _flow_for(kind)

    def _flow(
        self, input: MultiPromptOptimizerInput, config: RunnableConfig | None
    ) -> Flow[list[Prompt]]:
        prompts = normalize_prompts(_field(input, "prompts", "MultiPromptOptimizer"))
        sessions = normalize_trajectories(input["trajectories"])
        if not prompts or not has_sessions(sessions):
            return prompts
        text = render_sessions(sessions, self.settings.max_trajectory_tokens)
        return (
            yield from optimize_many(
                self._optimize, self.model, text, prompts, self.settings, config=config
            )
        )

    async def __call__(
        self, trajectories: Sequence[AnnotatedTrajectory] | str, prompts: list[Prompt]
    ) -> list[Prompt]:
        return await self.ainvoke({"trajectories": trajectories, "prompts": prompts})


def create_prompt_optimizer(
    model: str | BaseChatModel,
    /,
    *,
    kind: Kind = "gradient",
    config: GradientOptimizerConfig | MetapromptOptimizerConfig | PromptMemoryConfig | None = None,
) -> PromptOptimizer:
    """Create an optimizer that improves one prompt from sessions and their feedback.

    Args:
        model: A chat model or a ``"provider:model"`` string.
        kind: ``"gradient"`` (default: diagnose, then rewrite if warranted;
            ``min(min + 1, max)`` to ``max`` calls, +1 for a rewrite),
            ``"metaprompt"`` (reflect and rewrite in one loop, stopping at the
            first output, which is offered from call ``min`` on as in LangMem:
            ``min(max(min, 1), max)`` to ``max`` calls) or
            ``"prompt_memory"`` (exactly one call).
        config: ``max_reflection_steps`` (default 5) and ``min_reflection_steps``
            (default 1: for gradient, reflection calls required before the
            recommendation), ``max_trajectory_tokens`` (default 32,000: the
            sessions are cut to fit, with a note to the model), and optional
            replacement request templates (``gradient_prompt``/``metaprompt``, see
            :mod:`langmem.prompts.types`). Unknown keys (e.g. ``temperature``) are
            ignored with a ``UserWarning``, as LangMem ignores them.

    ``invoke({"trajectories": ..., "prompt": ...})`` returns the new prompt text.
    Trajectories are a string, or a list of ``(messages, feedback)`` pairs,
    ``AnnotatedTrajectory``s or message lists; feedback is ``None``, a str, a
    dict (scores, ``comment``, ``revised``) or any JSON value. ``prompt`` is a
    str or a ``Prompt`` dict, whose ``update_instructions`` and
    ``when_to_update`` the model sees. No sessions: the prompt comes back at
    once. The result keeps every ``{placeholder}`` of the prompt; a rewrite that
    drops one is rejected and asked again. No change warranted, or a model that
    keeps replying invalidly (after 2 repair calls per request): the original
    prompt is returned.

    Example:
        >>> optimizer = create_prompt_optimizer(model, kind="metaprompt")  # doctest: +SKIP
        >>> optimizer.invoke({"trajectories": [(messages, {"score": 0.2})],
        ...                   "prompt": "You are a helpful assistant."})  # doctest: +SKIP
    """
    return PromptOptimizer(resolve_chat_model(model), kind, Settings.from_config(config))


def create_multi_prompt_optimizer(
    model: str | BaseChatModel,
    /,
    *,
    kind: Kind = "gradient",
    config: dict | None = None,
) -> MultiPromptOptimizer:
    """Create an optimizer for a system of several prompts (e.g. an agent team).

    One forced ``Classify`` call decides which prompts caused the failures the
    sessions show, using each prompt's ``when_to_update`` and
    ``update_instructions``; only those are then optimized by the ``kind``
    optimizer (same ``config`` as :func:`create_prompt_optimizer`),
    concurrently. A single prompt without ``when_to_update`` is optimized
    directly. ``invoke({"trajectories": ..., "prompts": [...]})`` returns all
    prompts in input order (copies, other keys kept, ``prompt`` replaced where
    it changed); if the classification keeps failing, all come back unchanged.
    """
    return MultiPromptOptimizer(resolve_chat_model(model), kind, Settings.from_config(config))
