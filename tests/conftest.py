"""Shared fixtures: a scripted model and a deterministic embedder, no network."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from langmem.testing import HashEmbeddings, ScriptedChatModel  # noqa: E402


@pytest.fixture
def model() -> ScriptedChatModel:
    return ScriptedChatModel()


@pytest.fixture
def embeddings() -> HashEmbeddings:
    return HashEmbeddings(dims=128)
