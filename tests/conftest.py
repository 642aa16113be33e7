"""Shared fixtures: a scripted model, a deterministic embedder, no network; a PostgreSQL
server for the ``postgres`` tests (started once per session, see ``_pgserver.py``)."""

from __future__ import annotations

import contextlib
import os
import subprocess

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from langmem.testing import HashEmbeddings, ScriptedChatModel  # noqa: E402

# The MCP SDK's stdio client binds ``sys.stderr`` as its default error log when it is first
# imported; imported first inside a CliRunner (``langmem mcp`` in test_cli.py) it would keep
# the runner's capture stream, which has no file descriptor for the server subprocess.
with contextlib.suppress(ImportError):
    import mcp.client.stdio  # noqa: E402, F401


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_factory(request, tmp_path):
    """``make(**kwargs)`` opens a store of one backend on one shared database: an
    ``SQLiteStore`` file in ``tmp_path``, or a ``PostgresStore`` on a fresh schema of the
    test server (each call: another connection). ``make.backend`` names it."""
    made = []

    def make(**kwargs):
        if request.param == "postgres":
            from langmem.store import PostgresStore

            store = PostgresStore(request.getfixturevalue("pg_url"), **kwargs)
        else:
            from langmem.store import SQLiteStore

            store = SQLiteStore(tmp_path / "store.db", **kwargs)
        made.append(store)
        return store

    make.backend = request.param
    yield make
    for store in made:
        store.close()
