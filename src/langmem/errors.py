"""Errors raised by langmem."""

from __future__ import annotations

__all__ = ["ConfigurationError"]


class ConfigurationError(ValueError):
    """A setup problem the caller must fix (missing config key, package or API key).

    A ``ValueError``, so ``except ValueError`` and ``except Exception`` catch it.
    The memory tools raise it for setup mistakes only (never for the model's
    arguments), and LangGraph's ``ToolNode`` with its default error handling
    re-raises it: the developer sees it, the model is not asked to retry.
    """
