"""The langmem command line: help texts, the demo, and the store commands."""

import subprocess
import sys

from typer.testing import CliRunner

from langmem import cli
from langmem.knowledge import store_manager
from langmem.testing import ScriptedChatModel, ai

runner = CliRunner()


def invoke(*args, **env):
    result = runner.invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "200", **env})
    return result


def test_every_command_has_help_text():
    commands = cli.app.registered_commands
    assert {c.callback.__name__ for c in commands} >= {
        "demo",
        "add",
        "search",
        "history",
        "erase",
        "namespaces",
    }
    for command in commands:
        assert (command.callback.__doc__ or "").strip(), command.callback.__name__
        result = invoke(command.callback.__name__, "--help")
        assert result.exit_code == 0
        assert command.callback.__doc__.strip().splitlines()[0][:30] in " ".join(
            result.output.split()
        )
    assert "demo" in invoke("--help").output


def test_demo_remembers_the_sample_and_recalls_it(tmp_path):
    db = tmp_path / "demo.sqlite"
    result = invoke("demo", "--db", db, "--embed", "hash")
    assert result.exit_code == 0, result.output
    assert "Remembered 48 turns" in result.output
    assert "Solaria" in result.output  # recalled for "Where does Maya work ..."
    assert "LANGMEM_MODEL" in result.output  # how to enable extraction
    # A rerun starts over instead of piling up history.
    assert invoke("demo", "--db", db, "--embed", "hash").exit_code == 0
    with cli.open_store(db, "hash") as store:
        items = store.search(cli.DEMO_NAMESPACE, limit=100)
        assert len(items) == 48
        assert len(store.history(cli.DEMO_NAMESPACE, "s1-t3")) == 1


def test_demo_extracts_memories_when_a_model_is_configured(tmp_path, monkeypatch):
    facts = iter(
        ["Maya works at Solaria", "Maya is allergic to peanuts", "Jonah cooks", "Lease signed"]
    )
    model = ScriptedChatModel(default=lambda call: ai(("Memory", {"content": next(facts)})))
    monkeypatch.setattr(store_manager, "resolve_chat_model", lambda spec: model)
    db = tmp_path / "demo.sqlite"
    result = invoke("demo", "--db", db, "--embed", "hash", LANGMEM_MODEL="scripted:model")
    assert result.exit_code == 0, result.output
    assert len(model.calls) == 4  # one extraction per session
    assert "Solaria" in model.calls[0].text and "peanuts" in model.calls[1].text
    assert "memories extracted by scripted:model" in result.output
    with cli.open_store(db, "hash") as store:
        stored = store.search(cli.DEMO_MEMORIES, limit=100)
    assert len(stored) == 4
    assert {i.value["content"]["content"] for i in stored} == {
        "Maya works at Solaria",
        "Maya is allergic to peanuts",
        "Jonah cooks",
        "Lease signed",
    }
    assert "Maya is allergic to peanuts" in result.output


def test_add_search_history_namespaces_erase_round_trip(tmp_path):
    db = ["--db", tmp_path / "m.sqlite", "--embed", "hash"]
    assert invoke("add", "users/alice", "tea", "Alice drinks green tea", *db).exit_code == 0
    assert invoke("add", "users/alice", "tea", "Alice drinks black tea", *db).exit_code == 0
    assert (
        invoke("add", "users/bob", "job", "Bob is a pilot", "--importance", 0.9, *db).exit_code == 0
    )

    found = invoke("search", "users/alice", "what tea does she drink", *db)
    assert found.exit_code == 0 and "Alice drinks black tea" in found.output
    assert "pilot" not in found.output  # other namespaces stay out

    hist = invoke("history", "users/alice", "tea", *db)
    assert hist.exit_code == 0
    assert hist.output.count("put") == 2 and "langmem cli" in hist.output

    listed = invoke("namespaces", *db).output.split()
    assert listed == ["users/alice", "users/bob"]
    assert invoke("namespaces", "--max-depth", 1, *db).output.split() == ["users"]

    assert invoke("erase", "users/alice", *db, input="n\n").exit_code == 1  # declined
    erased = invoke("erase", "users/alice", "--yes", *db)
    assert erased.exit_code == 0 and "Erased 1" in erased.output
    assert invoke("namespaces", *db).output.split() == ["users/bob"]
    assert "put" not in invoke("history", "users/alice", "tea", *db).output


def test_errors_are_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    db = tmp_path / "x.sqlite"
    result = invoke("search", "a", "q", "--db", db, "--embed", "openai:text-embedding-3-small")
    assert result.exit_code == 1 and "error:" in result.output
    bad_ns = invoke("add", "/", "k", "v", "--db", db, "--embed", "hash")
    assert bad_ns.exit_code != 0
    bad_mode = invoke("search", "a", "q", "--db", db, "--embed", "hash", "--mode", "fuzzy")
    assert bad_mode.exit_code == 1 and "search_mode" in bad_mode.output


def test_python_dash_m_runs_the_cli(tmp_path):
    db = ["--db", str(tmp_path / "e.sqlite"), "--embed", "hash"]

    def run(*args):
        out = subprocess.run(
            [sys.executable, "-m", "langmem", *args, *db],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    run("add", "team/notes", "k", "standup moved to 10am")
    assert run("namespaces").split() == ["team/notes"]
