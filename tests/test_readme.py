"""The README's examples run as written (in a temporary directory): the Python blocks (in
order, twice, each in a fresh interpreter), the CLI after the demo, the install instructions
and extras; and the shell examples the README sends newcomers to in docs/ (tests/test_docs.py
runs the docs' Python blocks): the import/export commands and the MCP client configuration."""

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
DOCS = README.parent / "docs"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def blocks(lang: str, page: Path = README) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", page.read_text(), flags=re.S)


def section(title: str, page: Path = README) -> str:
    return page.read_text().split(f"## {title}", 1)[1].split("\n## ", 1)[0]


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.slow  # loads the local MiniLM embedder
def test_readme_python_blocks_run_twice_alike(tmp_path):
    """Each Python block in a fresh `python -c` (no block leans on another's variables), all of
    them in order in one directory, twice: every run exits 0, prints no deprecation warning,
    and the second pass prints what the first did (new memories' random keys aside)."""
    python = blocks("python")
    assert len(python) >= 1
    env = ENV
    passes = []
    for _ in range(2):
        printed = []
        for number, block in enumerate(python, 1):
            run = subprocess.run(
                [sys.executable, "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True
            )
            assert run.returncode == 0, f"block {number}:\n{run.stderr}"
            assert "deprecat" not in run.stderr.lower(), f"block {number}:\n{run.stderr}"
            printed.append(UUID.sub("<key>", run.stdout))
        passes.append(printed)
    assert passes[0] == passes[1]
    out = "".join(passes[0])
    assert out.startswith("created memory <key>")
    assert "Alice prefers dark mode in every app" in out
    assert (tmp_path / "memories.sqlite").exists()


def test_readme_extras_exist_and_install_from_the_checkout():
    """langmem-plus is not on any index: every install line points at the checkout (or a
    wheel built from it), and every extra the README or the scripts name exists."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = README.parent
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    extras = set(pyproject["project"]["optional-dependencies"])
    text = README.read_text() + (DOCS / "getting-started" / "install.md").read_text()
    scripts = {name: (root / "scripts" / name).read_text() for name in ("demo", "test")}
    named = r"(?:langmem-plus|\.|\.whl)\[([\w,\s-]+)\]|extra `\[(\w+)\]`|the `(\w+)` extra"
    found = set()
    for source in [text, *scripts.values()]:
        for groups in re.findall(named, source):
            found |= {extra.strip() for group in groups for extra in group.split(",") if group}
    assert {"local", "mcp", "postgres", "openai", "anthropic"} <= found
    assert found <= extras, f"not in pyproject.toml: {found - extras}"
    installs = re.findall(r"pip install[^`\n]*", text)
    assert installs
    for line in installs:
        for arg in shlex.split(line)[2:]:
            assert not re.match(r"langmem(?:[-_]plus)?(?:\[|[<>=!~]|$)", arg), line
    # The MCP config needs the extra: scripts/demo installs it with the CPU torch pin.
    [demo] = [line for line in scripts["demo"].splitlines() if "pip install" in line and " -e " in line]
    assert "torch==2.13.0" in demo and '-e ".[local,mcp]"' in demo
    mcp = (DOCS / "guides" / "mcp.md").read_text()
    assert "scripts/demo" in mcp and '".[mcp]"' in mcp


@pytest.mark.slow  # the demo and the commands load the local embedder
def test_readme_cli_commands_after_the_demo(tmp_path):
    """`scripts/demo` runs `langmem demo`; the README's next commands then read its file and
    namespace with no --db."""
    env = {k: v for k, v in ENV.items() if k not in ("LANGMEM_DB", "LANGMEM_EMBED")}

    def langmem(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "langmem", *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)

    demo = langmem("demo")
    assert demo.returncode == 0, demo.stderr
    assert "demo/conversation" in demo.stdout
    assert (tmp_path / "langmem.sqlite").exists()
    top = README.read_text().split("\n## ", 1)[0]
    [bash] = [b for b in re.findall(r"```bash\n(.*?)```", top, flags=re.S) if "langmem " in b]
    runs = {}
    for line in bash.strip().splitlines():
        argv = shlex.split(line, comments=True)
        assert argv[0] == ".venv/bin/langmem" and "--db" not in argv
        run = langmem(*argv[1:])
        assert run.returncode == 0, f"{line}\n{run.stderr}"
        runs[argv[1]] = run.stdout
    assert {"search", "list", "namespaces"} <= set(runs)
    assert "demo/conversation" in runs["namespaces"]
    assert re.search(r"s\d+-t\d+", runs["search"])
    assert "s4-t12" in runs["list"]  # the newest turn, its key in full


def _langmem(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "langmem", *args], cwd=cwd, env=ENV, capture_output=True, text=True
    )


@pytest.mark.slow  # the commands open a store with the local embedder
def test_readme_import_export_commands(tmp_path):
    page = DOCS / "guides" / "cli.md"
    [bash] = re.findall(r"```bash\n(.*?)```", section("Import / export", page), flags=re.S)
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
    [snippet] = blocks("json", DOCS / "guides" / "mcp.md")
    server = json.loads(snippet)["mcpServers"]["memory"]
    assert Path(server["command"]).name == "langmem"
    args = [a.replace("/path/to/memories.sqlite", str(tmp_path / "m.sqlite")) for a in server["args"]]
    params = mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "langmem", *args, "--embed", "hash"], env=ENV
    )
    async with mcp.Client(params, read_timeout_seconds=60) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"add_memory", "search_memories", "update_memory", "delete_memory"} <= tools
