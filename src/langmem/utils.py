"""Public utilities: namespace templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig

from langmem.errors import ConfigurationError

__all__ = ["NamespaceTemplate"]


def _ambient_config() -> RunnableConfig | None:
    """LangGraph's current config, or None outside a graph/runnable."""
    try:
        from langgraph.config import get_config

        return get_config()
    except RuntimeError:
        return None


class NamespaceTemplate:
    """A store namespace whose ``{variables}`` are filled from the run's config.

    An element that starts with ``{`` is a variable named by the text inside the
    braces, filled from ``config["configurable"]``; other elements are literal.
    Variables are resolved at every call, never at construction.

    >>> ns = NamespaceTemplate(("memories", "{user_id}"))
    >>> ns({"configurable": {"user_id": "alice"}})
    ('memories', 'alice')
    """

    __slots__ = ("template", "_vars")

    def __init__(self, template: tuple[str, ...] | str | NamespaceTemplate) -> None:
        if isinstance(template, NamespaceTemplate):
            template = template.template
        if isinstance(template, str):
            template = (template,)
        template = tuple(template)
        if not template:
            raise ValueError("A namespace needs at least one element")
        for part in template:
            if not isinstance(part, str) or not part:
                raise ValueError(
                    f"Namespace elements must be non-empty strings, got {part!r} in {template!r}"
                )
        self.template: tuple[str, ...] = template
        self._vars = tuple(
            part[1:-1] if part.startswith("{") and part.endswith("}") else None for part in template
        )

    @property
    def variables(self) -> tuple[str, ...]:
        """The config keys this template needs."""
        return tuple(v for v in self._vars if v is not None)

    def __call__(self, config: RunnableConfig | None = None) -> tuple[str, ...]:
        """Fill the template from ``config`` (or LangGraph's current config)."""
        if not self.variables:
            return self.template
        if config is None:
            config = _ambient_config()
        configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}
        parts = []
        for literal, var in zip(self.template, self._vars):
            if var is None:
                parts.append(literal)
                continue
            if var not in configurable:
                raise ConfigurationError(
                    f"Missing key in 'configurable' field: {var}. "
                    f"Available keys: {sorted(configurable)}"
                )
            parts.append(_check_label(var, configurable[var]))
        return tuple(parts)

    def __repr__(self) -> str:
        return f"NamespaceTemplate({self.template!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NamespaceTemplate):
            return self.template == other.template
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.template)


def _check_label(key: str, value: Any) -> str:
    """A filled-in value must be a label the store accepts, or nothing is written."""
    if not isinstance(value, str):
        raise ConfigurationError(
            f"configurable[{key!r}] must be a string to be used in a namespace, "
            f"got {type(value).__name__}: {value!r}"
        )
    if not value:
        raise ConfigurationError(
            f"configurable[{key!r}] is empty; namespace labels cannot be empty"
        )
    if "." in value:
        raise ConfigurationError(
            f"configurable[{key!r}] = {value!r} contains a period, which store "
            "namespace labels cannot hold"
        )
    return value
