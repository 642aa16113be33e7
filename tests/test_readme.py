"""The README's examples run as written (in a temporary directory): each Python block on its
own, the import/export commands, and the MCP client configuration."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def section(title: str) -> str:
    return README.read_text().split(f"## {title}", 1)[1].split("\n## ", 1)[0]


@pytest.mark.slow  # loads the local MiniLM embedder
def test_readme_python_blocks_each_run_on_their_own(tmp_path, monkeypatch, capsys):
    python = blocks("python")
    assert len(python) >= 2
    monkeypatch.chdir(tmp_path)
    for block in python:  # a fresh namespace each: no block leans on another's variables
        exec(compile(block, str(README), "exec"), {})  # noqa: S102
    out = capsys.readouterr().out
    assert out.startswith("created memory ")
    assert "Alice prefers dark mode in every app" in out
    assert "['put']" in out
    assert (tmp_path / "memories.sqlite").exists()


def _langmem(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "langmem", *args], cwd=cwd, env=ENV, capture_output=True, text=True
    )


@pytest.mark.slow  # the commands open a store with the local embedder
def test_readme_import_export_commands(tmp_path):
    [bash] = re.findall(r"```bash\n(.*?)```", section("Import / export"), flags=re.S)
    db = tmp_path / "memories.sqlite"
    added = _langmem("add", "memories/alice", "Alice keeps bees", "--db", str(db), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    for line in bash.strip().splitlines():
        argv = shlex.split(line)
        assert argv[0] == "langmem"
        out = None
        if ">" in argv:
            out = tmp_path / argv[argv.index(">") + 1]
            argv = argv[: argv.index(">")]
        run = _langmem(*argv[1:], cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        if out is not None:
            out.write_text(run.stdout)
    records = [json.loads(line) for line in (tmp_path / "backup.jsonl").read_text().splitlines()]
    assert any(r.get("value", {}) and "Alice keeps bees" in json.dumps(r) for r in records)
    found = _langmem(
        "search", "memories/alice", "bees", "--db", str(tmp_path / "restored.sqlite"), "--json",
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert "Alice keeps bees" in found.stdout


async def test_readme_mcp_config_starts_a_working_server(tmp_path):
    mcp = pytest.importorskip("mcp")
    [snippet] = blocks("json")
    server = json.loads(snippet)["mcpServers"]["memory"]
    assert Path(server["command"]).name == "langmem"
    args = [a.replace("/path/to/memories.sqlite", str(tmp_path / "m.sqlite")) for a in server["args"]]
    params = mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "langmem", *args, "--embed", "hash"], env=ENV
    )
    async with mcp.Client(params, read_timeout_seconds=60) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"add_memory", "search_memories", "update_memory", "delete_memory"} <= tools
