"""Errors raised by langmem."""

from __future__ import annotations

__all__ = ["ConfigurationError"]


class ConfigurationError(BaseException):
    """A setup problem the caller must fix (missing config key, package or API key).

    It derives from ``BaseException`` on purpose: LangGraph's ``ToolNode`` turns
    ordinary exceptions into tool messages for the model, but a configuration
    mistake is the developer's to see, not the model's to retry.
    """
