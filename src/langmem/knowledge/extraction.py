"""The contract's public names for memory extraction, re-exported from their modules.

``manager`` holds the stateless memory manager, ``store_manager`` the store-backed
one; this module keeps LangMem's import paths working.
"""

from langmem._lazy import lazy_exports

_EXPORTS = {
    "Memory": "langmem.knowledge.manager",
    "ExtractedMemory": "langmem.knowledge.manager",
    "MemoryManager": "langmem.knowledge.manager",
    "MemoryState": "langmem.knowledge.manager",
    "RemoveDoc": "langmem.knowledge.manager",
    "create_memory_manager": "langmem.knowledge.manager",
    "create_thread_extractor": "langmem.knowledge.manager",
    "MemoryStoreManager": "langmem.knowledge.store_manager",
    "MemoryPhase": "langmem.knowledge.store_manager",
    "create_memory_store_manager": "langmem.knowledge.store_manager",
    "create_memory_searcher": "langmem.knowledge.store_manager",
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
