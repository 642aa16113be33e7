"""langmem: long-term memory for LLM agents, API-compatible with LangMem.

Public names are imported lazily, so ``import langmem`` stays cheap and a
missing optional dependency only matters to the feature that needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "create_memory_manager",
    "create_memory_store_manager",
    "create_manage_memory_tool",
    "create_search_memory_tool",
    "create_thread_extractor",
    "create_multi_prompt_optimizer",
    "create_prompt_optimizer",
    "create_memory_searcher",
    "ReflectionExecutor",
    "Prompt",
]

_EXPORTS = {
    "create_memory_manager": "langmem.knowledge",
    "create_memory_store_manager": "langmem.knowledge",
    "create_thread_extractor": "langmem.knowledge",
    "create_memory_searcher": "langmem.knowledge",
    "MemoryStoreManager": "langmem.knowledge.extraction",
    "create_manage_memory_tool": "langmem.knowledge.tools",
    "create_search_memory_tool": "langmem.knowledge.tools",
    "create_prompt_optimizer": "langmem.prompts.optimization",
    "create_multi_prompt_optimizer": "langmem.prompts.optimization",
    "Prompt": "langmem.prompts.types",
    "ReflectionExecutor": "langmem.reflection",
}
_SUBMODULES = {
    "errors",
    "knowledge",
    "prompts",
    "reflection",
    "short_term",
    "store",
    "testing",
    "utils",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"langmem.{name}")
    else:
        raise AttributeError(f"module 'langmem' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)


if TYPE_CHECKING:  # pragma: no cover
    from langmem.knowledge import (
        create_memory_manager,
        create_memory_searcher,
        create_memory_store_manager,
        create_thread_extractor,
    )
    from langmem.knowledge.extraction import MemoryStoreManager
    from langmem.knowledge.tools import create_manage_memory_tool, create_search_memory_tool
    from langmem.prompts.optimization import (
        create_multi_prompt_optimizer,
        create_prompt_optimizer,
    )
    from langmem.prompts.types import Prompt
    from langmem.reflection import ReflectionExecutor
