"""Procedural memory: optimize system prompts from past sessions and feedback."""

from langmem._lazy import lazy_exports

__all__ = [
    "create_multi_prompt_optimizer",
    "create_prompt_optimizer",
    "AnnotatedTrajectory",
    "MultiPromptOptimizerInput",
    "OptimizerInput",
    "Prompt",
]

_EXPORTS = {
    "create_multi_prompt_optimizer": "langmem.prompts.optimization",
    "create_prompt_optimizer": "langmem.prompts.optimization",
    "AnnotatedTrajectory": "langmem.prompts.types",
    "MultiPromptOptimizerInput": "langmem.prompts.types",
    "OptimizerInput": "langmem.prompts.types",
    "Prompt": "langmem.prompts.types",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
