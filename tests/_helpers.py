"""Helpers shared by test modules (import as ``from _helpers import ...``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

# LangGraph shares its config and store with async code through contextvars, which
# asyncio propagates only on Python 3.11+ (see langgraph.config.get_store).
NEEDS_ASYNC_CONTEXT = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="LangGraph's async context needs Python 3.11+"
)

# The async case of a ``use_async`` parametrization that runs inside a graph.
ASYNC_IN_GRAPH = pytest.param(True, marks=NEEDS_ASYNC_CONTEXT)


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server the test started, by its pid: SIGTERM, then SIGKILL after 15 s; its
    pipes are closed."""
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
