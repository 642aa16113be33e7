"""Event time on the surfaces (issue 30): ``langmem add --when`` and ``langmem search
--as-of/--since/--until/--include-closed`` as subprocesses on a real file; the MCP
server's ``add_memory`` ``when`` and ``search_memories`` ``as_of``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from langmem.memory import parse_when

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "200"}


def langmem(*args, check: int = 0) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, "-m", "langmem", *map(str, args)],
        capture_output=True, text=True, env=ENV, timeout=120,
    )
    assert run.returncode == check, (args, run.stdout, run.stderr)
    return run


@pytest.mark.core
def test_cli_add_when_and_search_by_time(tmp_path):
    db = ["--db", tmp_path / "m.sqlite", "--embed", "hash"]
    ns = "memories/alice"
    for key, text, when in [
        ("paris", "Alice lives in Paris", "2019-02-01"),
        ("berlin", "Alice lives in Berlin", "2021-06-15T10:00:00+02:00"),
    ]:
        langmem("add", ns, text, "--key", key, "--when", when, *db)
    added = json.loads(langmem("add", ns, "Alice drinks tea", "--json", *db).stdout)
    assert "valid_from" not in added["value"]
    stored = json.loads(langmem("get", ns, "berlin", "--json", *db).stdout)
    assert stored["value"]["valid_from"] == "2021-06-15T08:00:00+00:00"

    def keys(*extra) -> list[str]:
        out = langmem("search", ns, "where does Alice live", "--json", "--limit", "10", *extra, *db)
        return [hit["key"] for hit in json.loads(out.stdout)]

    # Nothing closed them: both count as true now; as of 2020 only Paris had begun.
    assert {"paris", "berlin"} <= set(keys())
    assert keys("--as-of", "2020-01-01") == ["paris"]
    assert "paris" not in keys("--since", "2021-01-01")
    assert keys("--until", "2020-01-01") == ["paris"]
    hits = json.loads(langmem("search", ns, "Berlin", "--json", "--as-of", "2022-01-01", *db).stdout)
    assert parse_when(hits[0]["valid_from"]) == parse_when("2021-06-15T08:00:00Z")
    # The table shows when each memory held.
    table = langmem("search", ns, "where does Alice live", "--as-of", "2020-01-01", *db).stdout
    assert "2019-02-01 →" in table
    # Bad values: a usage error (exit 2) naming the option; nothing written.
    bad = langmem("add", ns, "Alice moved", "--when", "last week", *db, check=2)
    assert "--when" in bad.stderr + bad.stdout and "ISO 8601" in bad.stderr + bad.stdout
    bad = langmem("search", ns, "Alice", "--as-of", "tomorrow-ish", *db, check=2)
    assert "--as-of" in bad.stderr + bad.stdout
    bad = langmem("search", ns, "Alice", "--since", "2024-01-01", "--until", "2023-01-01", *db,
                  check=2)
    assert "--until must be after --since" in bad.stderr + bad.stdout
    listed = json.loads(langmem("list", ns, "--json", *db).stdout)
    assert len(listed) == 3


@pytest.mark.core
def test_cli_search_include_closed(tmp_path):
    from langmem.cli import open_store

    path = tmp_path / "m.sqlite"
    with open_store(path, "hash") as store:
        store.put(("n",), "old", {"content": "Bob works at Acme"}, valid_from="2018-01-01",
                  valid_until="2022-01-01")
        store.put(("n",), "new", {"content": "Bob works at Globex"}, valid_from="2022-01-01")
    db = ["--db", path, "--embed", "hash"]

    def keys(*extra) -> set[str]:
        out = langmem("search", "n", "where does Bob work", "--json", *extra, *db)
        return {hit["key"] for hit in json.loads(out.stdout)}

    assert keys() == {"new"}
    assert keys("--include-closed") == {"old", "new"}
    assert keys("--as-of", "2020-06-01") == {"old"}
    listed = json.loads(langmem("list", "n", "--json", *db).stdout)
    assert [item["key"] for item in listed] == ["new"]
    listed = json.loads(langmem("list", "n", "--json", "--include-closed", *db).stdout)
    assert {item["key"] for item in listed} == {"old", "new"}
    langmem("delete", "n", "new", *db)  # only a closed memory is left: erase still finds it
    erased = langmem("erase", "n", "--yes", *db)
    assert "erased 1 memory" in erased.stdout.lower(), erased.stdout
    assert json.loads(langmem("list", "n", "--json", "--include-closed", *db).stdout) == []


def test_the_new_options_have_help():
    for command, options in [("add", ["--when"]),
                             ("search", ["--as-of", "--since", "--until", "--include-closed"])]:
        out = langmem(command, "--help").stdout
        for option in options:
            assert option in out, (command, option)


# ---------------------------------------------------------------------- MCP

def _client(db, user="alice"):
    pytest.importorskip("mcp")
    from mcp import Client, StdioServerParameters

    args = ["-m", "langmem", "mcp", "--db", str(db), "--embed", "hash", "--user", user]
    return Client(StdioServerParameters(command=sys.executable, args=args, env=ENV),
                  read_timeout_seconds=60)


def _data(result):
    assert not result.is_error, result.content
    found = result.structured_content
    return found["result"] if set(found) == {"result"} else found


async def test_mcp_add_memory_when_and_search_as_of(tmp_path):
    db = tmp_path / "m.sqlite"
    async with _client(db) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["add_memory"].input_schema["properties"]["when"]["description"]
        assert tools["search_memories"].input_schema["properties"]["as_of"]["description"]
        paris = _data(await client.call_tool(
            "add_memory", {"content": "Alice lives in Paris", "when": "2019-02-01"}
        ))
        assert paris["valid_from"] == "2019-02-01T00:00:00+00:00"
        await client.call_tool("add_memory", {"content": "Alice lives in Berlin", "when": "2021-06-15"})
        then = _data(await client.call_tool(
            "search_memories", {"query": "where does Alice live", "as_of": "2020-03-01"}
        ))
        assert [m["content"] for m in then] == ["Alice lives in Paris"]
        now = _data(await client.call_tool("search_memories", {"query": "where does Alice live"}))
        assert {m["content"] for m in now} == {"Alice lives in Paris", "Alice lives in Berlin"}
        for tool, arguments in [
            ("add_memory", {"content": "Alice moved", "when": "next week"}),
            ("search_memories", {"query": "Alice", "as_of": "2020-13-45"}),
        ]:
            result = await client.call_tool(tool, arguments)
            assert result.is_error
            text = " ".join(c.text for c in result.content)
            assert "ISO 8601" in text, text
        assert len(_data(await client.call_tool("list_memories", {}))) == 2  # nothing written

    from langmem.cli import open_store

    with open_store(db, "hash") as store:  # Alice left Paris: close that memory
        [paris_item] = [i for i in store.search(("memories", "alice")) if "Paris" in str(i.value)]
        store.put(("memories", "alice"), paris_item.key, paris_item.value,
                  valid_until="2021-06-15")
    async with _client(db) as client:
        listed = _data(await client.call_tool("list_memories", {}))
        assert [m["content"] for m in listed] == ["Alice lives in Berlin"]
        listed = _data(await client.call_tool("list_memories", {"include_closed": True}))
        closed = {m["content"]: m.get("valid_until") for m in listed}
        assert closed == {"Alice lives in Berlin": None,
                          "Alice lives in Paris": "2021-06-15T00:00:00+00:00"}
