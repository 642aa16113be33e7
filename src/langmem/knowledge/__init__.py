"""Semantic and episodic memory: managers, store managers and agent tools."""

from langmem._lazy import lazy_exports

__all__ = [
    "create_manage_memory_tool",
    "create_search_memory_tool",
    "create_memory_manager",
    "create_memory_searcher",
    "create_memory_store_manager",
    "create_thread_extractor",
    "MemoryPhase",
]

_EXPORTS = {
    "create_manage_memory_tool": "langmem.knowledge.tools",
    "create_search_memory_tool": "langmem.knowledge.tools",
    "create_memory_manager": "langmem.knowledge.extraction",
    "create_memory_searcher": "langmem.knowledge.extraction",
    "create_memory_store_manager": "langmem.knowledge.extraction",
    "create_thread_extractor": "langmem.knowledge.extraction",
    "MemoryPhase": "langmem.knowledge.extraction",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
