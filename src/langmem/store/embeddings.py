"""Resolve the ``embed`` setting of a store index into a LangChain ``Embeddings``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base.embed import ensure_embeddings

__all__ = ["resolve_embeddings"]


def resolve_embeddings(embed: Embeddings | Callable[..., Any] | str) -> Embeddings:
    """Accept an ``Embeddings``, a function, or a ``"provider:model"`` string."""
    return ensure_embeddings(embed)
