"""langmem: long-term memory for LLM agents, API-compatible with LangMem.

Public names are imported lazily, so ``import langmem`` stays cheap and a
missing optional dependency only matters to the feature that needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langmem._lazy import lazy_exports

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
_EXPORTS.update(
    {
        name: f"langmem.{name}"
        for name in (
            "errors",
            "knowledge",
            "prompts",
            "reflection",
            "short_term",
            "store",
            "testing",
            "utils",
        )
    }
)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from langmem.knowledge import (
        create_memory_manager,
        create_memory_searcher,
        create_memory_store_manager,
        create_thread_extractor,
    )
    from langmem.knowledge.extraction import MemoryStoreManager  # noqa: F401 (extra export)
    from langmem.knowledge.tools import create_manage_memory_tool, create_search_memory_tool
    from langmem.prompts.optimization import (
        create_multi_prompt_optimizer,
        create_prompt_optimizer,
    )
    from langmem.prompts.types import Prompt
    from langmem.reflection import ReflectionExecutor
