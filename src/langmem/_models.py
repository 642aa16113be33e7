"""Turn the ``model`` argument every factory takes into a chat model."""

from __future__ import annotations

import importlib.util
import os

from langchain_core.language_models import BaseChatModel

from langmem._extras import install_extra
from langmem.errors import ConfigurationError

__all__ = ["check_provider_setup", "install_hint", "resolve_chat_model"]

# provider -> (package to import, pip name, env vars of which one must be set)
_PROVIDERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "openai": ("langchain_openai", "langchain-openai", ("OPENAI_API_KEY",)),
    "azure_openai": ("langchain_openai", "langchain-openai", ("AZURE_OPENAI_API_KEY",)),
    "anthropic": ("langchain_anthropic", "langchain-anthropic", ("ANTHROPIC_API_KEY",)),
    "google_genai": (
        "langchain_google_genai",
        "langchain-google-genai",
        ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    ),
    "groq": ("langchain_groq", "langchain-groq", ("GROQ_API_KEY",)),
    "mistralai": ("langchain_mistralai", "langchain-mistralai", ("MISTRAL_API_KEY",)),
    "fireworks": ("langchain_fireworks", "langchain-fireworks", ("FIREWORKS_API_KEY",)),
    "together": ("langchain_together", "langchain-together", ("TOGETHER_API_KEY",)),
    "cohere": ("langchain_cohere", "langchain-cohere", ("COHERE_API_KEY",)),
    "deepseek": ("langchain_deepseek", "langchain-deepseek", ("DEEPSEEK_API_KEY",)),
    "xai": ("langchain_xai", "langchain-xai", ("XAI_API_KEY",)),
    "ollama": ("langchain_ollama", "langchain-ollama", ()),
}

# Providers with an extra of ours that pins their package to versions matching our pins.
_EXTRAS = {"openai": "openai", "azure_openai": "openai", "anthropic": "anthropic"}

# Model-name prefixes init_chat_model infers a provider from when none is given.
_INFERRED = (("gpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("claude", "anthropic"))


def _provider_of(spec: str) -> tuple[str | None, str]:
    if ":" in spec:
        provider, name = spec.split(":", 1)
        return provider.strip().lower(), name
    for prefix, provider in _INFERRED:
        if spec.startswith(prefix):
            return provider, spec
    return None, spec


def check_provider_setup(provider: str | None, needs: str) -> None:
    """Raise :class:`ConfigurationError` if a known ``provider``'s package or API key is missing.

    ``needs`` begins the message, e.g. ``"Model 'openai:gpt-4o' needs"``.
    """
    if provider not in _PROVIDERS:
        return
    module, pip_name, env_vars = _PROVIDERS[provider]
    if importlib.util.find_spec(module) is None:
        raise ConfigurationError(f"{needs} the package {pip_name!r}: {install_hint(provider)}")
    if env_vars and not any(os.environ.get(v) for v in env_vars):
        raise ConfigurationError(
            f"{needs} an API key: set the environment variable " + " or ".join(env_vars)
        )


def install_hint(provider: str) -> str:
    """The command installing ``provider``'s package without breaking our langchain-core pin."""
    if provider in _EXTRAS:
        return install_extra(_EXTRAS[provider])
    return f'pip install {_PROVIDERS[provider][1]} "langchain-core>=1.7,<1.8"'


def resolve_chat_model(model: str | BaseChatModel) -> BaseChatModel:
    """Return ``model`` as a chat model, checking set-up before any work starts.

    A ``"provider:model"`` string goes through ``init_chat_model``; a missing
    provider package or API key raises :class:`ConfigurationError` naming what
    to install or set. (OpenAI-compatible local servers: set
    ``OPENAI_BASE_URL``; any ``OPENAI_API_KEY`` value then works.)
    """
    if isinstance(model, BaseChatModel):
        return model
    if not isinstance(model, str) or not model.strip():
        raise TypeError(
            f"model must be a 'provider:model' string or a BaseChatModel, got {model!r}"
        )
    check_provider_setup(_provider_of(model)[0], f"Model {model!r} needs")
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:  # pragma: no cover - langchain is a dependency
        raise ConfigurationError("Model strings need 'langchain': pip install langchain") from exc
    try:
        return init_chat_model(model)
    except ImportError as exc:
        raise ConfigurationError(f"Model {model!r} cannot be loaded: {exc}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"Model {model!r} is not a known 'provider:model': {exc}") from exc
