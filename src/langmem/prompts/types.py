"""Input and configuration types of the prompt optimizers.

Annotations are evaluated at runtime (no ``from __future__ import annotations``)
and ``Required`` comes from ``typing_extensions``, so this works on Python 3.10.
"""

from collections.abc import Sequence
from typing import Any, NamedTuple

from langchain_core.messages import AnyMessage
from typing_extensions import Required, TypedDict

__all__ = [
    "AnnotatedTrajectory",
    "GradientOptimizerConfig",
    "MetapromptOptimizerConfig",
    "MultiPromptOptimizerInput",
    "OptimizerInput",
    "Prompt",
    "PromptMemoryConfig",
]


class Prompt(TypedDict, total=False):
    """A named prompt and the developer's guidance for changing it.

    ``update_instructions`` says how the prompt may change (e.g. "keep it under
    100 words"); ``when_to_update`` says which failures it is responsible for,
    which the multi-prompt optimizer uses to pick the prompts to change. Both
    are shown to the model.
    """

    name: Required[str]
    prompt: Required[str]
    update_instructions: str | None
    when_to_update: str | None


class AnnotatedTrajectory(NamedTuple):
    """One session: its messages and optional feedback on how it went.

    ``feedback`` may be ``None``, a comment, a dict such as
    ``{"score": 0.9, "comment": "..."}`` or ``{"revised": "<better answer>"}``,
    or any other JSON value.
    """

    messages: Sequence[AnyMessage]
    feedback: dict[str, Any] | str | None = None


class OptimizerInput(TypedDict):
    """Input of ``create_prompt_optimizer(...).invoke``."""

    trajectories: Sequence[AnnotatedTrajectory] | str
    prompt: str | Prompt


class MultiPromptOptimizerInput(TypedDict):
    """Input of ``create_multi_prompt_optimizer(...).invoke``."""

    trajectories: Sequence[AnnotatedTrajectory] | str
    prompts: list[Prompt]


class PromptMemoryConfig(TypedDict, total=False):
    """Configuration of the ``prompt_memory`` optimizer (one model call)."""

    max_trajectory_tokens: int  # context budget for the sessions shown (default 32,000)


class MetapromptOptimizerConfig(PromptMemoryConfig, total=False):
    """Configuration of the ``metaprompt`` optimizer.

    ``metaprompt`` replaces our request text; it may use ``{prompt}``,
    ``{update_instructions}`` and ``{sessions}``.
    """

    metaprompt: str
    max_reflection_steps: int  # default 5
    min_reflection_steps: int  # default 1


class GradientOptimizerConfig(PromptMemoryConfig, total=False):
    """Configuration of the ``gradient`` optimizer.

    ``gradient_prompt`` (the diagnosis request) may use ``{prompt}``,
    ``{update_instructions}`` and ``{sessions}``; ``metaprompt`` (the rewrite
    request) may use ``{current_prompt}``, ``{hypotheses}``,
    ``{recommendations}`` and ``{update_instructions}``.
    """

    gradient_prompt: str
    metaprompt: str
    max_reflection_steps: int  # default 5
    min_reflection_steps: int  # default 1
