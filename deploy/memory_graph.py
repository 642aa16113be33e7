"""The graph a LangGraph server serves for ``ReflectionExecutor("memory_manager", ns, url=...)``.

Input: a store-manager payload, ``{"messages": [...]}``. The executor puts the
memory namespace in ``config["configurable"]["namespace"]``; the memories go
to the server's store under it. Output: the puts made.

``LANGMEM_MODEL`` picks the chat model (``"provider:model"``, default
``anthropic:claude-3-5-sonnet-latest``). ``LANGMEM_MODEL=scripted`` uses an
offline stand-in that saves each user line as a memory; tests use it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.func import entrypoint

from langmem import create_memory_store_manager

DEFAULT_MODEL = "anthropic:claude-3-5-sonnet-latest"
DEFAULT_NAMESPACE = ("memories",)


def _scripted_model():
    """A model that saves every user line of the conversation not already remembered."""
    from langmem.testing import ScriptedChatModel, ai

    def reply(call):
        text = call.text
        conversation = text.split("<conversation>", 1)[-1].split("</conversation>", 1)[0]
        remembered = text.split("<memories>", 1)[-1]
        lines = re.findall(r"^user: (.+)$", conversation, flags=re.MULTILINE)
        new = [line for line in dict.fromkeys(lines) if line not in remembered]
        return ai(*[("Memory", {"content": line}) for line in new])

    return ScriptedChatModel(default=reply)


def _model():
    name = os.environ.get("LANGMEM_MODEL", DEFAULT_MODEL)
    return _scripted_model() if name == "scripted" else name


@entrypoint()
def memory_manager(payload: dict[str, Any], config: RunnableConfig) -> list[dict]:
    namespace = (config.get("configurable") or {}).get("namespace") or DEFAULT_NAMESPACE
    manager = create_memory_store_manager(_model(), namespace=tuple(namespace))
    return manager.invoke(payload, config)
