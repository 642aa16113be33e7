"""Shared fixtures: a scripted model, a deterministic embedder, no network; a PostgreSQL
server for the ``postgres`` tests (started once per session, see ``_pgserver.py``)."""

from __future__ import annotations

import os
import subprocess

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


@pytest.fixture(scope="session")
def pg_server():
    """PostgreSQL + pgvector on 127.0.0.1 for the session, stopped by pid afterwards.

    If it truly cannot start here, every test needing it is skipped with the reason
    (counted in the summary: ``pytest -rs`` lists them)."""
    from _pgserver import PgServer, ServerUnavailable

    try:
        server = PgServer().start()
    except (ServerUnavailable, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"the PostgreSQL test server cannot start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A connection URL whose tables go in a fresh schema, dropped after the test."""
    with pg_server.schema() as url:
        yield url
