"""RemoteReflectionExecutor against a real LangGraph dev server serving ``deploy/``."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from langmem.reflection import ReflectionExecutor

pytest.importorskip("langgraph_api", reason="needs langgraph-cli[inmem] (the 'server' extra)")

pytestmark = pytest.mark.slow

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
CLI = Path(sys.executable).with_name("langgraph")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``langgraph dev`` on a free loopback port over a copy of ``deploy/`` (the
    in-memory server keeps its state in the working directory, and resolves graph
    paths from there)."""
    if not CLI.exists():
        pytest.skip("the langgraph CLI is not installed")
    port = free_port()
    workdir = tmp_path_factory.mktemp("server")
    for name in ("langgraph.json", "memory_graph.py"):
        shutil.copy(DEPLOY / name, workdir / name)
    log = workdir / "server.log"
    env = {
        **os.environ,
        "LANGMEM_MODEL": "scripted",
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    args = ["dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(CLI), *args, "--config", "langgraph.json"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped below by its id
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:
                return response.status == 200
        except OSError:
            return proc.poll() is not None  # stop waiting if it died

    try:
        wait_until(healthy, timeout=90)
        if proc.poll() is not None:
            pytest.fail(f"langgraph dev exited:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)


def contents(items) -> list[str]:
    return sorted(item["value"]["content"]["content"] for item in items)


def test_memories_land_in_the_server_store(server):
    ns = ("memories", f"run-{time.time_ns()}")
    with ReflectionExecutor("memory_manager", ns, url=server) as executor:
        # A burst on one conversation: the server keeps only the newest run (rollback).
        for text in ["I live in Lisbon", "I live in Porto", "I live in Braga"]:
            executor.submit(
                {"messages": [{"role": "user", "content": text}]},
                thread_id="conversation-1",
                after_seconds=2,
            )
        # A submission without a thread stands alone.
        executor.submit({"messages": [{"role": "user", "content": "My name is Ana"}]})
        executor.flush(timeout=30)

        found = wait_until(lambda: len(executor.search()) >= 2, timeout=60)
        assert found, "no memories reached the server's store"
        time.sleep(3)  # time for any superseded run that (wrongly) survived to land
        assert contents(executor.search()) == ["I live in Braga", "My name is Ana"]
        assert all(item["namespace"] == ns for item in executor.search())
        assert "I live in Braga" in contents(executor.search(namespace=ns[:1], limit=100))


async def test_async_search_reads_the_server_store(server):
    ns = ("memories", f"async-{time.time_ns()}")
    executor = ReflectionExecutor("memory_manager", ns, url=server)
    executor.submit({"messages": [{"role": "user", "content": "I drink green tea"}]}).result(30)

    deadline = time.monotonic() + 60
    items = []
    while not items and time.monotonic() < deadline:
        items = await executor.asearch()
        if not items:
            await asyncio.sleep(0.3)
    assert contents(items) == ["I drink green tea"]
    executor.shutdown()
