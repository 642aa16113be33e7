"""The ``langmem`` command as a user runs it: subprocesses on real files, an 80-column
terminal, Ctrl-C, a missing extra, a busy port. One memory on every surface: values
written by the CLI, the manage tool and the store manager export, import and search alike."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from langmem import create_manage_memory_tool
from langmem.knowledge.store_manager import create_memory_store_manager
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "80"}
HASH = {"dims": 256, "embed": HashEmbeddings(256)}  # what `--embed hash` builds
QUERIES = ["dark mode", "sourdough bread", "where does she work", "peanut allergy", "chess"]


def langmem(*args, cwd: Path, env: dict | None = None, check: int | None = 0, **kwargs):
    """Run ``langmem ARGS`` in ``cwd``; ``check``: the exit status expected."""
    run = subprocess.run(
        [sys.executable, "-m", "langmem", *map(str, args)],
        cwd=cwd,
        env=env or ENV,
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )
    if check is not None:
        assert run.returncode == check, (args, run.returncode, run.stdout, run.stderr)
    return run


def fill(tmp_path: Path) -> Path:
    """A store written by every surface: the CLI, the manage tool and the store manager."""
    db = tmp_path / "memories.sqlite"
    langmem("add", "memories/alice", "Alice prefers dark mode in every app", "--db", db,
            "--embed", "hash", cwd=tmp_path)
    langmem("add", "memories/alice", "Alice plays chess on Tuesdays", "--importance", 0.8,
            "--db", db, cwd=tmp_path)
    with SQLiteStore(db, index=HASH) as store:
        manage = create_manage_memory_tool(namespace=("memories", "{user_id}"), store=store)
        alice = {"configurable": {"user_id": "alice"}}
        manage.invoke({"content": "Alice bakes sourdough bread on Sundays"}, alice)
        manage.invoke({"content": "Alice is allergic to peanuts"}, alice)
        facts = iter(["Alice works at Acme as a data engineer", "Alice lives in Lisbon"])
        model = ScriptedChatModel(default=lambda call: ai(("Memory", {"content": next(facts)})))
        manager = create_memory_store_manager(model, namespace=("memories", "alice"), store=store)
        for said in ("I work at Acme on data pipelines", "I moved to Lisbon"):
            manager.invoke({"messages": [{"role": "user", "content": said}]})
        shapes = {json.dumps(sorted(i.value)) for i in store.search(("memories",), limit=20)}
    assert shapes == {'["content"]', '["content", "importance"]', '["content", "kind"]'}
    return db


def ranked(db, query: str, cwd: Path) -> list[tuple[str, float]]:
    hits = json.loads(langmem("search", "memories/alice", query, "--db", db, "--json", cwd=cwd).stdout)
    return [(hit["key"], hit["score"]) for hit in hits]


@pytest.mark.parametrize("target", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_restored_backup_searches_like_the_original(tmp_path, target, request):
    db = fill(tmp_path)
    backup = langmem("export", "--db", db, "--history", cwd=tmp_path).stdout
    (tmp_path / "backup.jsonl").write_text(backup)
    header = json.loads(backup.splitlines()[0])
    assert header["index"] == {"fields": None, "embedder": "hash", "dims": 256}
    restored = (
        request.getfixturevalue("pg_url") if target == "postgres" else tmp_path / "restored.sqlite"
    )
    done = langmem("import", "backup.jsonl", "--db", restored, cwd=tmp_path)
    assert "Imported 6 memories" in done.stdout
    assert "Embedding with" not in done.stderr  # the new store took the export's embedder
    for query in QUERIES:  # alternately, so both stores record the same accesses
        before, after = ranked(db, query, tmp_path), ranked(restored, query, tmp_path)
        assert [k for k, _ in after] == [k for k, _ in before], query
        assert all(score is not None for _, score in before + after), query
        # (Postgres keeps vectors in float32, the SQLite index in float16.)
        assert [s for _, s in after] == pytest.approx([s for _, s in before], abs=2e-3)
    for mode in ("keyword", "vector"):
        run = langmem("search", "memories/alice", "sourdough bread", "--mode", mode, "--db",
                      restored, "--json", cwd=tmp_path)
        [best, *_] = json.loads(run.stdout)
        assert best["value"] == {"content": "Alice bakes sourdough bread on Sundays"}
        assert best["score"] is not None
    # History comes back as exported, in text (not nested JSON).
    key = json.loads(backup.splitlines()[1])["key"]
    history = langmem("history", "memories/alice", key, "--db", restored, cwd=tmp_path).stdout
    assert "Alice prefers dark mode" in history and '{"' not in history
    again = langmem("import", "backup.jsonl", "--db", restored, cwd=tmp_path)
    assert "Imported 0 memories" in again.stdout and "6 already there" in again.stdout


@pytest.mark.slow  # the target embeds with the local MiniLM model
def test_an_export_from_another_embedder_is_re_embedded(tmp_path):
    db = fill(tmp_path)
    (tmp_path / "backup.jsonl").write_text(langmem("export", "--db", db, cwd=tmp_path).stdout)
    run = langmem("import", "backup.jsonl", "--db", "local.sqlite", "--embed", "local",
                  cwd=tmp_path)
    assert "Embedding with 'local' (the export was made with 'hash')" in run.stderr
    assert "Imported 6 memories" in run.stdout
    hits = json.loads(langmem("search", "memories/alice", "baking", "--db", "local.sqlite",
                              "--json", cwd=tmp_path).stdout)
    assert hits[0]["value"] == {"content": "Alice bakes sourdough bread on Sundays"}


def big_export(path: Path, count: int) -> None:
    lines = [json.dumps({"langmem_export": 1, "count": count, "index": None})]
    lines += [
        json.dumps(
            {
                "namespace": ["users", "alice"],
                "key": f"k{i}",
                "value": {"content": f"memory {i} about topic {i % 97}"},
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            }
        )
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")


def items_in(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM items").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.slow  # imports 40,000 memories, twice
def test_ctrl_c_during_an_import_says_how_to_finish_it(tmp_path):
    count = 40_000
    big_export(tmp_path / "big.jsonl", count)
    db = tmp_path / "t.sqlite"
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"  # files: a full pipe cannot stall it
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "langmem", "import", "big.jsonl", "--db", db, "--embed", "hash"],
            cwd=tmp_path, env=ENV, stdout=stdout, stderr=stderr,
        )
        deadline = time.monotonic() + 120
        while items_in(db) < 5000 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"still running 120 s after Ctrl-C: {err.read_text()[-2000:]}")
    assert proc.returncode == 130, (out.read_text(), err.read_text())
    written = items_in(db)
    assert 0 < written < count
    said = " ".join(err.read_text().split())
    assert f"of {count} records are in" in said and "Run the same command again" in said
    done = int(said.split("interrupted: ")[1].split()[0])
    assert done <= written  # what it reports is committed
    again = langmem("import", "big.jsonl", "--db", db, "--embed", "hash", cwd=tmp_path)
    skipped = int(again.stdout.split("(")[1].split(" already there, unchanged")[0])
    assert done <= skipped <= written
    assert items_in(db) == count
    with sqlite3.connect(db) as conn:  # one put per key in the history: nothing duplicated
        assert conn.execute("SELECT count(*), count(DISTINCT key) FROM history").fetchone() == (
            count,
            count,
        )


def test_keys_are_shown_in_full_at_80_columns_and_text_as_written(tmp_path):
    db = tmp_path / "m.sqlite"
    hostile = "Use [bold]markup[/bold] and pip install 'langmem-plus[mcp]' <b>x</b>"
    key = langmem("add", "users/alice", hostile, "--db", db, "--embed", "hash", "--json",
                  cwd=tmp_path)
    key = json.loads(key.stdout)["key"]
    assert len(key) == 36
    for args in (["search", "users/alice", "markup"], ["list", "users/alice"], ["list", "users"]):
        shown = langmem(*args, "--db", db, cwd=tmp_path).stdout
        assert key in shown, shown  # one piece, pasteable into get/update/delete
        assert "[bold]markup[/bold]" in shown and "'langmem-plus[mcp]'" in shown, shown
    got = langmem("get", "users/alice", key, "--db", db, cwd=tmp_path).stdout
    assert hostile in got
    listed = json.loads(langmem("list", "users/alice", "--db", db, "--json", cwd=tmp_path).stdout)
    assert [(i["key"], i["value"]) for i in listed] == [(key, {"content": hostile})]


def test_blank_memories_are_refused_and_nothing_is_written(tmp_path):
    for text in ("", "   "):
        run = langmem("add", "users/alice", text, "--db", "m.sqlite", "--embed", "hash",
                      cwd=tmp_path, check=2)
        assert "must not be empty or blank" in run.stderr
    assert not (tmp_path / "m.sqlite").exists()
    key = json.loads(langmem("add", "users/alice", "real", "--db", "m.sqlite", "--embed", "hash",
                             "--json", cwd=tmp_path).stdout)["key"]
    run = langmem("update", "users/alice", key, " ", "--db", "m.sqlite", cwd=tmp_path, check=2)
    assert "blank" in run.stderr
    got = json.loads(langmem("get", "users/alice", key, "--db", "m.sqlite", "--json",
                             cwd=tmp_path).stdout)
    assert got["value"] == {"content": "real"}


def test_the_demo_and_every_command_share_one_file(tmp_path):
    demo = langmem("demo", "--embed", "hash", cwd=tmp_path)
    assert "demo/conversation" in demo.stdout and "langmem.sqlite" in demo.stdout
    assert langmem("namespaces", cwd=tmp_path).stdout.split() == ["demo/conversation"]
    found = langmem("search", "demo/conversation", "what is the dog called", "--json", cwd=tmp_path)
    assert json.loads(found.stdout)


def test_errors_keep_their_install_hint_and_their_json(tmp_path):
    # Without the mcp extra: the printed command names it (Rich must not eat "[mcp]").
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('mcp', 'langchain_openai'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
    )
    env = {**ENV, "PYTHONPATH": str(hide)}
    run = langmem("mcp", "--user", "alice", "--db", "m.sqlite", cwd=tmp_path, env=env, check=2)
    said = " ".join(run.stderr.split())
    assert "[mcp]'" in said and "pip install" in said, said
    assert not (tmp_path / "m.sqlite").exists()
    # A bad flag value under --json: the error is JSON on stderr, with its exit status.
    run = langmem("get", "users/alice", "k", "--db", "nothing.sqlite", "--json", cwd=tmp_path,
                  check=2)
    assert json.loads(run.stderr) == {
        "error": "nothing.sqlite: no such database file (check --db or LANGMEM_DB)",
        "exit_code": 2,
    }


def test_model_install_hints_name_the_extra(tmp_path):
    """`extract --model openai:...` and `LANGMEM_MODEL=openai:... langmem demo` without
    langchain-openai print a command that installs the [openai] extra."""
    script = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name.startswith('langchain_openai')"
        " else real(name, *a)\n"
        "from langmem.cli import main\n"
        "sys.argv[0] = 'langmem'\n"
        "main()\n"
    )
    (tmp_path / "chat.txt").write_text("user: I moved to Lisbon\n")
    env = {**ENV, "OPENAI_API_KEY": "sk-test"}
    for args, extra_env in [
        (["extract", "chat.txt", "--model", "openai:gpt-4o-mini", "--embed", "hash"], {}),
        (["demo", "--embed", "hash"], {"LANGMEM_MODEL": "openai:gpt-4o-mini"}),
    ]:
        run = subprocess.run(
            [sys.executable, "-c", script, *args], cwd=tmp_path, env={**env, **extra_env},
            capture_output=True, text=True, timeout=300,
        )
        said = " ".join(run.stderr.split())
        assert run.returncode == 2 and "[openai]'" in said and "pip install" in said, said


def test_read_commands_refuse_an_empty_file_and_leave_it_empty(tmp_path):
    (tmp_path / "empty.sqlite").touch()
    for args in (["list", "users"], ["search", "users", "x"], ["namespaces"], ["export"]):
        run = langmem(*args, "--db", "empty.sqlite", cwd=tmp_path, check=2)
        assert "empty file (0 bytes)" in run.stderr
    assert (tmp_path / "empty.sqlite").stat().st_size == 0


def test_erasing_a_namespace_that_holds_nothing_exits_1(tmp_path):
    langmem("add", "users/alice", "kept", "--db", "m.sqlite", "--embed", "hash", cwd=tmp_path)
    run = langmem("erase", "users/zed", "-y", "--db", "m.sqlite", cwd=tmp_path, check=1)
    assert "nothing to erase" in run.stderr
    assert "users/alice" in langmem("namespaces", "--db", "m.sqlite", cwd=tmp_path).stdout


def test_mcp_on_a_busy_port_says_so_before_anything(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = langmem("mcp", "--http", "--port", port, "--user", "alice", "--db", "m.sqlite",
                      "--embed", "hash", cwd=tmp_path, check=2)
    assert f"cannot serve on 127.0.0.1:{port}" in run.stderr
    assert "http://" not in run.stderr  # no URL printed as if serving
    assert not (tmp_path / "m.sqlite").exists()


def test_help_is_plain_text(tmp_path):
    commands = langmem("--help", cwd=tmp_path).stdout
    names = [line.split()[0] for line in commands.split("Commands:")[1].splitlines() if line.strip()]
    assert {"list", "ui"} <= set(names) and len(names) == 16
    for name in names:
        shown = langmem(name, "--help", cwd=tmp_path).stdout
        assert "``" not in shown and "<bool>" not in shown, (name, shown)
