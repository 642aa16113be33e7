"""The langmem command line: help texts, the demo, every store command and its exit codes."""

import json
import sqlite3
import subprocess
import sys
import time
from importlib import metadata

import pytest
from typer.testing import CliRunner

import langmem.knowledge.store_manager  # noqa: F401 - imported before any test patches _models
from langmem import _models, cli
from langmem.memory import memory_text
from langmem.testing import ScriptedChatModel, ai

runner = CliRunner()

COMMANDS = {
    "demo",
    "add",
    "get",
    "update",
    "delete",
    "search",
    "list",
    "history",
    "revert",
    "erase",
    "namespaces",
    "export",
    "import",
    "extract",
    "mcp",
    "ui",
}


def invoke(*args, input=None, **env):
    return runner.invoke(
        cli.app, [str(a) for a in args], input=input, env={"COLUMNS": "200", **env}
    )


def ok(*args, **kwargs):
    result = invoke(*args, **kwargs)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def db(tmp_path):
    return ["--db", tmp_path / "m.sqlite", "--embed", "hash"]


def test_every_command_has_help_text():
    commands = {c.name or c.callback.__name__: c for c in cli.app.registered_commands}
    assert set(commands) == COMMANDS
    for name, command in commands.items():
        assert (command.callback.__doc__ or "").strip(), name
        result = invoke(name, "--help")
        assert result.exit_code == 0
        assert command.callback.__doc__.strip().splitlines()[0][:30] in " ".join(
            result.output.split()
        )
    assert "demo" in invoke("--help").output


def test_version():
    assert ok("--version").stdout.strip() == f"langmem {metadata.version('langmem-plus')}"


def test_demo_remembers_the_sample_and_recalls_it(tmp_path):
    db = tmp_path / "demo.sqlite"
    result = ok("demo", "--db", db, "--embed", "hash")
    assert "Remembered 48 turns" in result.output
    assert "Solaria" in result.output  # recalled for "Where does Maya work ..."
    assert "LANGMEM_MODEL" in result.output  # how to enable extraction
    # A rerun starts over instead of piling up history; the file's embedder is the default.
    ok("demo", "--db", db)
    with cli.open_store(db, "hash") as store:
        items = store.search(cli.DEMO_NAMESPACE, limit=100)
        assert len(items) == 48
        assert len(store.history(cli.DEMO_NAMESPACE, "s1-t3")) == 1


def test_demo_extracts_memories_when_a_model_is_configured(tmp_path, monkeypatch):
    facts = iter(
        ["Maya works at Solaria", "Maya is allergic to peanuts", "Jonah cooks", "Lease signed"]
    )
    model = ScriptedChatModel(default=lambda call: ai(("Memory", {"content": next(facts)})))
    monkeypatch.setattr(_models, "resolve_chat_model", lambda spec: model)
    db = tmp_path / "demo.sqlite"
    result = ok("demo", "--db", db, "--embed", "hash", LANGMEM_MODEL="scripted:model")
    assert len(model.calls) == 4  # one extraction per session
    assert "Solaria" in model.calls[0].text and "peanuts" in model.calls[1].text
    assert "4 memories extracted by scripted:model" in result.output
    with cli.open_store(db, "hash") as store:
        stored = store.search(cli.DEMO_MEMORIES, limit=100)
    assert {i.value["content"]["content"] for i in stored} == {
        "Maya works at Solaria",
        "Maya is allergic to peanuts",
        "Jonah cooks",
        "Lease signed",
    }
    assert "Maya is allergic to peanuts" in result.output


def test_demo_checks_the_model_before_any_work(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    db = tmp_path / "demo.sqlite"
    start = time.perf_counter()
    result = invoke("demo", "--db", db, "--embed", "hash", LANGMEM_MODEL="openai:gpt-4o-mini")
    assert result.exit_code == 2
    assert "openai:gpt-4o-mini" in result.output and "Remembered" not in result.output
    assert not db.exists()  # nothing was done
    assert time.perf_counter() - start < 30


def test_add_get_update_delete_search_history_namespaces_erase(db):
    added = ok("add", "users/alice", "Alice drinks green tea", *db)
    key = added.output.split("Stored ")[1].split()[0]
    assert len(key) == 36  # a generated uuid4, printed
    ok("add", "users/alice", "Alice drinks green tea", "--key", "tea", *db)
    ok("update", "users/alice", "tea", "Alice drinks black tea", "--importance", 0.6, *db)
    ok("add", "users/bob", "Bob is a pilot", "--key", "job", "--importance", 0.9, *db)

    found = ok("search", "users", "what tea does she drink", *db).output
    assert "Alice drinks black tea" in found and "users/alice" in found and " tea " in found

    got = json.loads(ok("get", "users/alice", "tea", "--json", *db).stdout)
    assert got["value"] == {"content": "Alice drinks black tea", "importance": 0.6}
    assert got["namespace"] == ["users", "alice"] and got["created_at"] < got["updated_at"]
    assert "Alice drinks black tea" in ok("get", "users/alice", "tea", *db).output

    hist = ok("history", "users/alice", "tea", *db).output
    assert hist.count("put") == 2 and "langmem cli" in hist

    assert ok("namespaces", *db).output.split() == ["users/alice", "users/bob"]
    assert ok("namespaces", "--max-depth", 1, *db).output.split() == ["users"]
    assert json.loads(ok("namespaces", "--json", *db).stdout) == [["users", "alice"], ["users", "bob"]]

    ok("delete", "users/alice", key, *db)
    assert invoke("get", "users/alice", key, *db).exit_code == 1
    actions = [e["action"] for e in json.loads(ok("history", "users/alice", key, "--json", *db).stdout)]
    assert actions == ["put", "delete"]  # delete keeps history; erase does not

    assert invoke("erase", "users/alice", *db, input="n\n").exit_code == 1  # declined
    erased = ok("erase", "users/alice", "--yes", *db)
    assert "Erased 1 memory " in erased.output  # not "1 memories"
    assert ok("namespaces", *db).output.split() == ["users/bob"]
    assert invoke("history", "users/alice", "tea", *db).exit_code == 1


def test_json_output_of_every_store_command(db):
    added = json.loads(ok("add", "team", "standup at 10am", "--json", *db).stdout)
    key = added["key"]
    assert added == {
        "namespace": ["team"],
        "key": key,
        "value": {"content": "standup at 10am"},
        "similar": [],  # no memory of the namespace says nearly the same
    }
    hits = json.loads(ok("search", "team", "standup", "--json", *db).stdout)
    assert [(h["key"], h["namespace"]) for h in hits] == [(key, ["team"])]
    assert isinstance(hits[0]["score"], float)
    updated = json.loads(ok("update", "team", key, "standup at 11am", "--json", *db).stdout)
    assert updated["value"] == {"content": "standup at 11am"}
    erased = json.loads(ok("erase", "team", "--key", key, "--yes", "--json", *db).stdout)
    assert erased == {"namespace": ["team"], "key": key, "erased": 1}
    ok("add", "team", "retro on Friday", "--key", "retro", *db)
    assert json.loads(ok("delete", "team", "retro", "--json", *db).stdout)["deleted"] is True
    # Errors are JSON too (on stderr), with the exit status.
    gone = invoke("erase", "team", "--yes", "--json", *db)
    assert gone.exit_code == 1
    assert json.loads(gone.stderr) == {
        "error": f"no memories under team in {db[1]}: nothing to erase (see: langmem namespaces)",
        "exit_code": 1,
    }
    assert invoke("history", "team", "retro", *db).exit_code == 1  # its history went too
    missing = invoke("get", "team", "nope", "--json", *db)
    assert missing.exit_code == 1 and json.loads(missing.stderr)["exit_code"] == 1


@pytest.mark.parametrize("command", ["get", "update", "delete", "history"])
def test_unknown_keys_exit_1(db, command):
    ok("add", "users/alice", "something", *db)
    args = ["users/alice", "nope"] + (["text"] if command == "update" else [])
    result = invoke(command, *args, *db)
    assert result.exit_code == 1 and "nope" in result.output


READS = [
    ["search", "a", "q"],
    ["history", "a", "k"],
    ["namespaces"],
    ["get", "a", "k"],
    ["export"],
]


@pytest.mark.parametrize("args", READS)
def test_read_commands_refuse_a_missing_file(tmp_path, args):
    path = tmp_path / "typo.sqlite"
    result = invoke(*args, "--db", path, "--embed", "hash")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {path}: no such database file (check --db or LANGMEM_DB)"
    ]
    assert not path.exists()


def _unusable(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some text, not a database\n" * 10)
    foreign = tmp_path / "other-app.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.execute("INSERT INTO songs VALUES ('a')")
    conn.commit()
    conn.close()
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    return {"text": text, "foreign": foreign, "corrupt": corrupt}


@pytest.mark.parametrize("kind", ["text", "foreign", "corrupt"])
@pytest.mark.parametrize("args", [["add", "a", "x"], ["search", "a", "q"], ["namespaces"]])
def test_an_unusable_file_gets_one_line_and_stays_unchanged(tmp_path, kind, args):
    files = _unusable(tmp_path)
    path = files[kind]
    before = path.read_bytes()
    result = invoke(*args, "--db", path, "--embed", "hash")
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: ") and str(path) in line
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == sorted(files.values())  # no -wal, -shm, journal


def test_a_directory_or_a_missing_folder_is_named(tmp_path):
    result = invoke("add", "a", "x", "--db", tmp_path, "--embed", "hash")
    assert result.exit_code == 2 and f"{tmp_path}: is a directory" in result.output
    missing = tmp_path / "nope" / "m.sqlite"
    result = invoke("add", "a", "x", "--db", missing, "--embed", "hash")
    assert result.exit_code == 2
    assert f"{missing}: the folder {missing.parent} does not exist" in result.output
    assert not missing.parent.exists()


def test_bad_usage_exits_2(db, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ok("add", "a", "x", *db)
    path = db[1]
    bad_embed = invoke("add", "b", "y", "--db", path, "--embed", "openai:text-embedding-3-small")
    assert bad_embed.exit_code == 2 and "error:" in bad_embed.output
    assert invoke("add", "/", "v", *db).exit_code == 2
    bad_mode = invoke("search", "a", "q", *db, "--mode", "fuzzy")
    assert bad_mode.exit_code == 2 and "search_mode" in bad_mode.output
    assert invoke("add", "a", *db).exit_code == 2  # missing text
    assert invoke("add", "a", "x", "--importance", 2, *db).exit_code == 2


@pytest.mark.slow  # loads the local MiniLM embedder
def test_the_file_remembers_its_embedder(tmp_path):
    path = tmp_path / "local.sqlite"
    ok("add", "notes", "The boiler was serviced in March", "--db", path, "--embed", "local")
    # No --embed: the file's own embedder (local, 384 dims) is used.
    found = ok("search", "notes", "heating maintenance", "--db", path).output
    assert "boiler" in found
    wrong = invoke("search", "notes", "heating", "--db", path, "--embed", "hash")
    assert wrong.exit_code == 2
    [line] = wrong.output.strip().splitlines()
    assert str(path) in line and "384" in line and "'hash'" in line


def test_export_import_round_trip_through_stdout_and_stdin(tmp_path, db):
    ok("add", "users/alice", "Alice drinks tea", "--key", "tea", *db)
    ok("update", "users/alice", "tea", "Alice drinks coffee", *db)
    ok("add", "users/bob", "Bob is a pilot", "--key", "job", *db)
    ok("add", "team", "standup at 10am", "--key", "standup", *db)
    exported = ok("export", "--history", *db).stdout
    header, *lines = exported.splitlines()
    assert json.loads(header) == {
        "langmem_export": 1,
        "count": 3,
        "index": {"fields": None, "embedder": "hash", "dims": 256},
    }
    assert len(lines) == 3
    fresh = ["--db", tmp_path / "fresh.sqlite", "--embed", "hash"]
    assert json.loads(ok("import", "-", "--json", *fresh, input=exported).stdout) == {
        "imported": 3,
        "skipped": 0,
    }
    assert ok("export", "--history", *fresh).stdout == exported
    for args in (["get", "users/alice", "tea", "--json"], ["history", "users/alice", "tea", "--json"]):
        assert ok(*args, *fresh).stdout == ok(*args, *db).stdout

    one = tmp_path / "bob.jsonl"
    ok("export", "users/bob", "--out", one, *db)
    assert [json.loads(line)["key"] for line in one.read_text().splitlines()[1:]] == ["job"]
    assert "history" not in one.read_text()
    other = ["--db", tmp_path / "bob.sqlite", "--embed", "hash"]
    assert "Imported 1 memory into" in ok("import", one, *other).output
    assert ok("namespaces", *other).output.split() == ["users/bob"]


def test_import_of_a_bad_file_names_the_line_and_writes_nothing(tmp_path, db):
    ok("add", "users/bob", "Bob is a pilot", "--key", "job", *db)
    good = ok("export", *db).stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good + '{"namespace": ["x"], "key": 1}\n')
    target = tmp_path / "target.sqlite"
    result = invoke("import", bad, "--db", target, "--embed", "hash")
    assert result.exit_code == 2 and "line 3" in result.output  # line 1 is the header
    assert not target.exists()
    assert invoke("import", tmp_path / "missing.jsonl", *db).exit_code == 2


def _extractor(monkeypatch, fact="The user lives in Lisbon"):
    """A scripted model that always extracts ``fact``; returns the prompts it saw."""
    seen = []

    def reply(call):
        seen.append(call.text)
        return ai(("Memory", {"content": fact}))

    model = ScriptedChatModel(default=reply)
    monkeypatch.setattr(_models, "resolve_chat_model", lambda spec: model)
    return seen


@pytest.mark.parametrize(
    "conversation",
    [
        "user: I just moved to Lisbon\nassistant: How exciting!\n",
        json.dumps([{"role": "user", "content": "I just moved to Lisbon"}]),
        json.dumps({"messages": [{"role": "human", "content": "I just moved to Lisbon"}]}),
    ],
)
def test_extract_stores_the_models_memories(tmp_path, db, monkeypatch, conversation):
    seen = _extractor(monkeypatch)
    source = tmp_path / "chat.txt"
    source.write_text(conversation)
    puts = json.loads(
        ok("extract", source, "--namespace", "users/maya", "--json", *db, LANGMEM_MODEL="x:y").stdout
    )
    assert len(seen) == 1 and "I just moved to Lisbon" in seen[0]
    assert [p["value"] for p in puts] == [{"kind": "Memory", "content": {"content": "The user lives in Lisbon"}}]
    hits = json.loads(ok("search", "users/maya", "where does she live", "--json", *db).stdout)
    assert [h["key"] for h in hits] == [puts[0]["key"]]


def test_extract_needs_a_model_and_a_readable_conversation(tmp_path, db, monkeypatch):
    monkeypatch.delenv("LANGMEM_MODEL", raising=False)
    source = tmp_path / "chat.txt"
    source.write_text("user: hello\n")
    no_model = invoke("extract", source, *db)
    assert no_model.exit_code == 2 and "--model" in no_model.output
    _extractor(monkeypatch)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert invoke("extract", empty, "--model", "x:y", *db).exit_code == 2
    broken = tmp_path / "broken.json"
    broken.write_text('[{"role": "user"}]')
    result = invoke("extract", broken, "--model", "x:y", *db)
    assert result.exit_code == 2 and "broken.json" in result.output


def test_mcp_command_refuses_a_template_without_a_user(db):
    result = invoke("mcp", *db)
    assert result.exit_code == 2 and "--user" in result.output


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

    run("add", "team/notes", "standup moved to 10am")
    assert run("namespaces").split() == ["team/notes"]


@pytest.mark.slow  # the demo at its defaults: the local MiniLM embedder
def test_demo_at_its_defaults_puts_the_right_turn_first(tmp_path):
    db = tmp_path / "demo.sqlite"
    ok("demo", "--db", db)
    with cli.open_store(db, "local") as store:
        for question, answer in [
            ("What is the name of Maya's dog?", "Pepper"),
            ("What is the budget for the new flat?", "1,600 euros"),
            ("Where does Maya work and what does the company do?", "Solaria"),
        ]:
            hits = store.search(cli.DEMO_NAMESPACE, query=question, limit=3)
            assert answer in memory_text(hits[0].value), (question, [h.value for h in hits])
        hits = store.search(cli.DEMO_NAMESPACE, query="Where does Maya work?", limit=3)
        assert any("Solaria" in memory_text(h.value) for h in hits)
