"""The memory console (``langmem ui``) through its ASGI app and as a subprocess: pages,
escaping, the token, cross-site writes, read-only, namespace confinement, edits, export
and import. The flows in a real browser are in ``test_console_browser.py``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from _helpers import stop_server

pytest.importorskip("starlette")
pytest.importorskip("jinja2")
pytest.importorskip("multipart")

from starlette.testclient import TestClient  # noqa: E402

from langmem.console import create_app  # noqa: E402
from langmem.console.chart import activity, bars  # noqa: E402
from langmem.console.diffs import word_diff  # noqa: E402
from langmem.store import SQLiteStore  # noqa: E402
from langmem.store.history import HistoryEntry, recording_origin  # noqa: E402
from langmem.testing import HashEmbeddings  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
HOSTILE = "<script>alert(1)</script> Alice's note"
TOKEN = "s3cret-token-for-tests-0123456789"
ALICE, BOB = ("users", "alice"), ("users", "bob")


def hash_index() -> dict:
    return {"dims": 256, "embed": HashEmbeddings(256)}  # what `--embed hash` builds


def fill(store) -> None:
    """Alice's and Bob's memories, written by two origins; one of Alice's is hostile HTML."""
    with recording_origin("langmem cli"):
        store.put(ALICE, "hike", {"content": "Alice likes hiking in the Alps", "importance": 0.7})
        store.put(ALICE, "html", {"content": HOSTILE})
        store.put(ALICE, "tea", {"content": "Alice drinks green tea every morning"})
    with recording_origin("langmem mcp"):
        store.put(BOB, "bob-hike", {"content": "Bob likes hiking with his dog"})
        store.put((*BOB, "work"), "acme", {"kind": "Memory", "content": {"content": "Bob works at Acme"}})


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "memories.sqlite"
    with SQLiteStore(path, index=hash_index()) as store:
        fill(store)
    return path


@pytest.fixture
def store(db) -> Iterator[SQLiteStore]:
    with SQLiteStore(db, index=hash_index()) as opened:
        yield opened


def client(store, **kwargs) -> TestClient:
    return TestClient(create_app(store, **kwargs), base_url="http://127.0.0.1")


SAME = {"sec-fetch-site": "same-origin"}  # what a browser sends with the console's own forms


def versions(store, namespace, key) -> list[tuple]:
    return [(e.version, e.action, e.new_value) for e in store.history(namespace, key)]


# --- pages -----------------------------------------------------------------------------------


def test_pages_show_the_tree_table_search_and_memory_with_text_escaped(store):
    web = client(store)
    home = web.get("/")
    assert home.status_code == 200
    assert "5 memories" in home.text
    for label, total in (("users", 5), ("alice", 3), ("bob", 2), ("work", 1)):
        assert f">{label}</a>" in home.text and f">{total}</span>" in home.text
    assert "langmem cli" in home.text and "langmem mcp" in home.text  # the activity legend
    assert "<svg" in home.text and "5 writes from" in home.text
    table = web.get("/namespace", params=[("ns", "users"), ("ns", "alice")])
    assert "Alice likes hiking in the Alps" in table.text and "Bob" not in table.text
    assert "0.70" in table.text and "langmem cli" in table.text
    found = web.get("/search", params={"q": "hiking", "where": '["users"]'})
    assert found.status_code == 200
    assert "Why it ranked here" in found.text and "cosine similarity" in found.text
    assert "matched words" in found.text and "= vector" in found.text
    page = web.get("/memory", params=[("ns", "users"), ("ns", "alice"), ("key", "html")])
    for html in (home.text, table.text, found.text, page.text):
        assert "<script>alert(1)" not in html
    for html in (table.text, page.text):
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Alice&#39;s note" in html
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_search_modes_use_the_store_opened_for_that_mode(db, store):
    opened = []

    def mode_store(mode):
        opened.append(mode)
        return SQLiteStore(db, index=hash_index(), search_mode=mode)

    web = client(store, mode_store=mode_store)
    keyword = web.get("/search", params={"q": "green tea", "mode": "keyword"})
    assert "Alice drinks green tea" in keyword.text
    assert "keyword" in keyword.text.split("Why it ranked here")[1]
    vector = web.get("/search", params={"q": "green tea", "mode": "vector"})
    assert vector.status_code == 200 and "cosine similarity" in vector.text
    web.get("/search", params={"q": "tea", "mode": "vector"})
    assert opened == ["keyword", "vector"]  # each opened once, on first use
    assert web.get("/search", params={"q": "tea", "mode": "nonsense"}).status_code == 400
    assert client(store).get("/search", params={"q": "tea", "mode": "vector"}).status_code == 400


def test_table_pages_sorts_and_filters(tmp_path):
    with SQLiteStore(tmp_path / "many.sqlite", index=hash_index()) as store:
        for n in range(30):
            store.put(("notes",), f"n{n:02d}", {"content": f"note number {n:02d}", "importance": n / 30})
        web = client(store)
        first = web.get("/namespace", params={"ns": "notes"})
        assert "1–25 of 30" in first.text and "Page 1 of 2" in first.text
        assert first.text.index("note number 29") < first.text.index("note number 28")
        second = web.get("/namespace", params={"ns": "notes", "page": 2})
        assert "26–30 of 30" in second.text and "note number 00" in second.text
        by_text = web.get("/namespace", params={"ns": "notes", "sort": "content", "dir": "asc"})
        assert by_text.text.index("note number 00") < by_text.text.index("note number 01")
        assert "note number 29" not in by_text.text  # on page 2
        by_weight = web.get("/namespace", params={"ns": "notes", "sort": "importance"})
        assert by_weight.text.index("note number 29") < by_weight.text.index("note number 27")
        filtered = web.get("/namespace", params={"ns": "notes", "q": "NUMBER 1"})
        assert "1–10 of 10" in filtered.text and "note number 20" not in filtered.text


# --- changes -----------------------------------------------------------------------------------


def test_edit_revert_delete_record_the_console_as_origin(store):
    web = client(store)
    where = {"ns": ["users", "alice"], "key": "tea"}
    edit = {**where, "text": " Alice drinks black tea ", "version": "1"}
    edited = web.post("/memory/edit", data=edit, headers=SAME, follow_redirects=False)
    assert edited.status_code == 303
    assert store.get(ALICE, "tea").value == {"content": "Alice drinks black tea"}
    page = web.get(edited.headers["location"])
    assert "Saved: a new version" in page.text
    assert "<del>green</del>" in page.text and "<ins>black</ins>" in page.text
    web.post("/memory/revert", data={**where, "version": "1"}, headers=SAME)
    assert store.get(ALICE, "tea").value["content"] == "Alice drinks green tea every morning"
    web.post("/memory/delete", data=where, headers=SAME)
    assert store.get(ALICE, "tea") is None
    entries = store.history(ALICE, "tea")
    assert [(e.version, e.action, e.origin) for e in entries] == [
        (1, "put", "langmem cli"),
        (2, "put", "langmem ui"),
        (3, "put", "langmem ui"),
        (4, "delete", "langmem ui"),
    ]
    assert entries[2].reason == "revert to version 1"
    gone = web.get("/memory", params=where)  # a deleted memory still shows its versions
    assert "Deleted memory" in gone.text and "Revert to version 3" in gone.text
    web.post("/memory/revert", data={**where, "version": "3"}, headers=SAME)
    assert store.get(ALICE, "tea").value["content"] == "Alice drinks green tea every morning"


def test_a_bad_or_stale_edit_changes_nothing(store):
    web = client(store)
    where = {"ns": ["users", "alice"], "key": "hike"}
    before = versions(store, ALICE, "hike")
    for data, code in [
        ({"text": "   ", "version": "1"}, 400),  # blank (memory.check_text)
        ({"text": "ok\x00", "version": "1"}, 400),  # NUL
        ({"text": "fine", "importance": "7", "version": "1"}, 400),
        ({"text": "fine", "version": "0"}, 409),  # another version was saved since
    ]:
        answer = web.post("/memory/edit", data={**where, **data}, headers=SAME)
        assert answer.status_code == code, data
        assert "Nothing was saved" in answer.text or "nothing was saved" in answer.text
    assert web.post("/memory/revert", data={**where, "version": "9"}, headers=SAME).status_code == 404
    missing = {**where, "key": "nope", "text": "x", "version": "0"}
    assert web.post("/memory/edit", data=missing, headers=SAME).status_code == 404
    assert versions(store, ALICE, "hike") == before
    assert store.get(ALICE, "nope") is None


def test_event_time_shows_closed_memories_and_searches_as_of(store):
    carol = ("users", "carol")
    store.put(carol, "paris", {"content": "Carol lives in Paris", "superseded_by": "berlin"},
              valid_from="2018-03-01", valid_until="2021-06-15")
    store.put(carol, "berlin", {"content": "Carol lives in Berlin", "supersedes": "paris"},
              valid_from="2021-06-15", valid_until="2024-01-10")
    store.put(carol, "rome", {"content": "Carol lives in Rome"}, valid_from="2024-01-10")
    web = client(store)
    table = web.get("/namespace", params=[("ns", "users"), ("ns", "carol")])
    assert "Carol lives in Paris" in table.text and "Carol lives in Berlin" in table.text
    assert "held 2018-03-01 → 2021-06-15 (closed)" in table.text
    assert "held 2024-01-10 → now</div>" in table.text
    where = '["users", "carol"]'

    def found(**extra) -> list[str]:
        page = web.get("/search", params={"q": "where does Carol live", "where": where, **extra})
        assert page.status_code == 200, page.text
        return re.findall(r"Carol lives in (\w+)</a>", page.text)

    assert found() == ["Rome"]  # what is true now
    assert found(as_of="2020-01-01") == ["Paris"]
    assert found(as_of="2022-05-01T12:00:00+02:00") == ["Berlin"]
    bad = web.get("/search", params={"q": "Carol", "where": where, "as_of": "last spring"})
    assert bad.status_code == 400 and "ISO 8601" in bad.text
    page = web.get("/memory", params=[("ns", "users"), ("ns", "carol"), ("key", "paris")])
    assert "2018-03-01 → 2021-06-15" in page.text and "Superseded by" in page.text
    assert 'key=berlin"' in page.text
    gone = web.post("/namespace/erase", data={"ns": ["users", "carol"], "confirm": "users/carol"},
                    headers=SAME)
    assert gone.status_code == 200 and "Erased 3 memories" in gone.text
    assert store.search(carol, include_closed=True) == []


def test_erase_needs_the_namespace_typed(store):
    web = client(store)
    wrong = web.post("/namespace/erase", data={"ns": ["users", "bob"], "confirm": "users"}, headers=SAME)
    assert wrong.status_code == 400 and "Nothing was erased" in wrong.text
    assert len(store.search(BOB)) == 2
    done = web.post("/namespace/erase", data={"ns": ["users", "bob"], "confirm": "users/bob"}, headers=SAME)
    assert done.status_code == 200 and "Erased 2 memories" in done.text
    assert store.search(BOB) == [] and store.history(BOB, "bob-hike") == []
    assert len(store.search(ALICE)) == 3


def test_export_then_import_into_another_store(store, tmp_path):
    exported = client(store).get("/export", params={"ns": "users", "history": "1"})
    assert exported.headers["content-disposition"] == 'attachment; filename="langmem-users.jsonl"'
    lines = exported.text.splitlines()
    assert json.loads(lines[0])["count"] == 5 and len(lines) == 6
    with SQLiteStore(tmp_path / "copy.sqlite", index=hash_index()) as copy:
        web = client(copy)
        upload = {"file": ("backup.jsonl", exported.content, "application/jsonl")}
        done = web.post("/import", files=upload, headers=SAME)
        assert "Imported 5 memories" in done.text
        assert copy.get(ALICE, "html").value == {"content": HOSTILE}
        assert [e.origin for e in copy.history(ALICE, "hike")] == ["langmem cli"]  # kept
        again = web.post("/import", files=upload, headers=SAME)
        assert "Imported 0 memories (5 already there, unchanged)" in again.text
        cut = "\n".join(lines[:3]).encode()  # the header counts 5 records
        refused = web.post("/import", files={"file": ("cut.jsonl", cut, "application/jsonl")}, headers=SAME)
        assert refused.status_code == 400 and "Nothing was imported" in refused.text


# --- safety ------------------------------------------------------------------------------------


def test_cross_site_writes_are_refused_and_change_nothing(store):
    web = client(store)
    edit = {"ns": ["users", "alice"], "key": "hike", "text": "pwned", "version": "1"}
    erase = {"ns": ["users"], "confirm": "users"}
    for headers in (
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site", "origin": "http://evil.example"},
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site", "origin": "http://127.0.0.1"},  # the header wins
    ):
        assert web.post("/memory/edit", data=edit, headers=headers).status_code == 403
        assert web.post("/namespace/erase", data=erase, headers=headers).status_code == 403
    assert versions(store, ALICE, "hike")[-1][0] == 1 and len(store.search(("users",))) == 5
    own = web.post("/memory/edit", data=edit, headers={"origin": "http://127.0.0.1"})
    assert own.status_code == 200 and store.get(ALICE, "hike").value["content"] == "pwned"


def test_only_loopback_host_names_are_answered_without_a_token(store):
    web = client(store)
    assert web.get("/", headers={"host": "rebound.evil.example"}).status_code == 421
    assert web.get("/", headers={"host": "localhost:8765"}).status_code == 200
    assert client(store, hosts=["memories.lan"]).get("/", headers={"host": "memories.lan"}).status_code == 200


def test_the_token_is_checked_on_every_request(store):
    web = client(store, token=TOKEN, hosts=None)
    assert web.get("/").status_code == 401
    assert web.get("/static/console.css").status_code == 401
    assert web.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert web.get("/", params={"token": "wrong"}).status_code == 401
    assert web.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    edit = {"ns": ["users", "alice"], "key": "hike", "text": "x", "version": "1"}
    assert web.post("/memory/edit", data=edit, params={"token": TOKEN}).status_code == 401
    assert versions(store, ALICE, "hike")[-1][0] == 1
    opened = web.get("/namespace", params={"ns": "users", "token": TOKEN}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/namespace?ns=users"
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert web.get("/namespace", params={"ns": "users"}).status_code == 200  # the cookie


def test_read_only_refuses_every_write_and_hides_the_controls(store):
    app = create_app(store, read_only=True)
    web = TestClient(app, base_url="http://127.0.0.1")
    writes = [r.path for r in app.routes if "POST" in (getattr(r, "methods", None) or ())]
    assert sorted(writes) == ["/import", "/memory/delete", "/memory/edit", "/memory/revert", "/namespace/erase"]
    data = {"ns": ["users", "alice"], "key": "hike", "text": "x", "version": "1", "confirm": "users/alice"}
    for path in writes:
        answer = web.post(path, data=data, files={"file": ("a.jsonl", b"", "application/jsonl")}, headers=SAME)
        assert answer.status_code == 403, path
        assert "read-only" in answer.text
    assert versions(store, ALICE, "hike") == [(1, "put", {"content": "Alice likes hiking in the Alps", "importance": 0.7})]
    assert len(store.search(("users",))) == 5
    for url, params in [("/", {}), ("/namespace", {"ns": "users"}), ("/memory", [("ns", "users"), ("ns", "alice"), ("key", "hike")])]:
        html = web.get(url, params=params).text
        assert 'method="post"' not in html and "read-only" in html


def test_a_confined_console_cannot_be_escaped(store):
    web = client(store, namespace=ALICE)
    home = web.get("/")
    assert "3 memories" in home.text and "Bob" not in home.text
    tricks = [
        ("/namespace", [("ns", "..")]),
        ("/namespace", [("ns", ".."), ("ns", "bob")]),
        ("/namespace", [("ns", "../bob")]),
        ("/namespace", [("ns", "users/bob")]),  # one label holding a slash
        ("/namespace", [("ns", "")]),
        ("/memory", [("ns", ".."), ("ns", "bob"), ("key", "bob-hike")]),
        ("/memory", [("ns", "%2E%2E"), ("ns", "bob"), ("key", "bob-hike")]),
        ("/memory", [("key", "bob-hike")]),
        ("/search", {"q": "hiking", "where": '[".."]'}),
        ("/search", {"q": "hiking", "where": '["..", "bob"]'}),
        ("/export", [("ns", "..")]),
        ("/export", [("ns", "bob")]),
    ]
    for path, params in tricks:
        answer = web.get(path, params=params)
        assert "Bob" not in answer.text, (path, params)
        assert "bob-hike" not in answer.text or answer.status_code >= 400, (path, params)
    for raw in ("/namespace?ns=..%2Fbob", "/memory?ns=%2e%2e&ns=bob&key=bob-hike", "/static/..%2F..%2Fcli.py",
                "/static/%2e%2e/app.py", "/..%2F..%2Fetc/passwd"):
        answer = web.get(raw)
        assert answer.status_code in (400, 404), raw
        assert "Bob" not in answer.text and "import" not in answer.text[:200], raw
    hits = web.get("/search", params={"q": "hiking"})  # searches the root only
    assert "Alice likes hiking" in hits.text and "Bob likes" not in hits.text
    writes = [
        ("/memory/edit", {"ns": ["..", "bob"], "key": "bob-hike", "text": "x", "version": "1"}),
        ("/memory/delete", {"ns": ["..", "bob"], "key": "bob-hike"}),
        ("/memory/revert", {"ns": [".."], "key": "bob-hike", "version": "1"}),
        ("/namespace/erase", {"ns": [".."], "confirm": ".."}),
        ("/namespace/erase", {"ns": ["users/bob"], "confirm": "users/alice/users/bob"}),
    ]
    for path, data in writes:
        assert web.post(path, data=data, headers=SAME).status_code in (400, 404), (path, data)
    bob = json.dumps({"namespace": ["users", "bob"], "key": "new", "value": {"content": "planted"},
                      "created_at": "2026-01-01T00:00:00+00:00", "updated_at": "2026-01-01T00:00:00+00:00"})
    refused = web.post("/import", files={"file": ("x.jsonl", bob.encode(), "application/jsonl")}, headers=SAME)
    assert refused.status_code == 400 and "outside this console" in refused.text
    assert store.get(BOB, "new") is None
    assert versions(store, BOB, "bob-hike") == [(1, "put", {"content": "Bob likes hiking with his dog"})]
    erased = web.post("/namespace/erase", data={"confirm": "users/alice"}, headers=SAME)
    assert "Erased 3 memories" in erased.text  # the console's own root may be erased
    assert len(store.search(("users",))) == 2


# --- pieces ------------------------------------------------------------------------------------


def test_word_diff_marks_what_changed():
    assert word_diff("Alice likes green tea", "Alice likes black tea daily") == [
        ("same", "Alice likes "),
        ("removed", "green"),
        ("added", "black"),
        ("same", " tea"),
        ("added", " daily"),
    ]
    assert word_diff("", "new text") == [("added", "new text")]


def test_activity_counts_writes_per_day_by_origin():
    today = date(2026, 12, 7)

    def at(days_ago: int) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), timezone.utc)

    entries = [HistoryEntry(("n",), "k", "put", None, {}, at(d), origin) for d, origin in
               [(0, "langmem ui"), (0, "langmem ui"), (0, None), (3, "langmem mcp"), (40, "langmem ui")]]
    data = activity(entries, last=today)
    assert data.total == 4  # the one 40 days ago is out of the window
    chart = bars(data)
    assert [bar.total for bar in chart.bars][-4:] == [1, 0, 0, 3]
    assert [(origin, count) for _, origin, count in chart.legend] == [
        ("langmem ui", 2), ("langmem mcp", 1), ("origin unknown", 1)]  # busiest first, then a-z
    assert chart.summary.startswith("4 writes from 2026-11-08 to 2026-12-07 (UTC)")
    today_bar = chart.bars[-1]  # the busiest day: 3 writes, stacked to the top of the axis
    assert [n for _, n in chart.y_ticks] == [0, 1, 2, 3]
    plot = chart.plot_bottom - chart.plot_top
    assert [seg.height for seg in today_bar.segments] == pytest.approx([plot * 2 / 3, plot / 3])
    assert today_bar.segments[-1].y == pytest.approx(chart.plot_top)
    busy = bars(activity([entries[0]] * 130, last=today))
    assert [n for _, n in busy.y_ticks][-1] == 200  # 130 rounds up to 200


# --- the command -------------------------------------------------------------------------------


def langmem(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "langmem", *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_help_lists_ui_and_an_open_bind_needs_a_token(db):
    assert "ui" in langmem("--help").stdout.split()
    for args in (["--host", "0.0.0.0"], ["--host", "192.168.1.20"], ["--host", "127.0.0.1.nip.io"]):
        run = langmem("ui", "--db", db, *args)
        assert run.returncode == 2 and "pass --token" in run.stderr, run.stderr
    dotted = langmem("ui", "--db", db, "--namespace", "users/a.b", "--port", 0)
    assert dotted.returncode == 2 and "without '.'" in dotted.stderr, dotted.stderr
    short = langmem("ui", "--db", db, "--token", "short")
    assert short.returncode == 2 and "16 characters" in short.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = langmem("ui", "--db", db, "--port", busy.getsockname()[1])
    assert taken.returncode == 2 and "pick another with --port" in taken.stderr
    missing = langmem("ui", "--db", db.with_name("typo.sqlite"))
    assert missing.returncode == 2 and "no such database file" in missing.stderr
    assert not db.with_name("typo.sqlite").exists()


@contextlib.contextmanager
def serving(*args) -> Iterator[str]:
    """``langmem ui ARGS --port 0`` as a subprocess: the address it prints; stopped by pid."""
    proc = subprocess.Popen([sys.executable, "-m", "langmem", "ui", *map(str, args), "--port", "0"],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
        deadline = time.monotonic() + 30
        while True:  # the socket listens before the address is printed; wait for the app
            try:
                import httpx

                httpx.get(url, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        yield url
    finally:
        stop_server(proc)


def test_the_served_console_needs_its_token(db):
    httpx = pytest.importorskip("httpx")
    with serving("--db", db, "--token", TOKEN) as url:
        base = url.split("?")[0]
        assert url == f"{base}?token={TOKEN}"
        assert httpx.get(base).status_code == 401
        assert httpx.get(base, headers={"authorization": "Bearer nope-nope-nope-nope"}).status_code == 401
        assert httpx.get(base, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        with httpx.Client() as browser_like:  # the printed address sets the cookie
            assert browser_like.get(url, follow_redirects=True).status_code == 200
            assert "5 memories" in browser_like.get(base).text
            refused = browser_like.post(f"{base}memory/delete", data={"ns": ["users", "alice"], "key": "hike"},
                                        headers={"origin": "http://evil.example"})
            assert refused.status_code == 403
    with SQLiteStore(db, index=hash_index()) as store:
        assert store.get(ALICE, "hike") is not None


def test_a_memory_page_names_its_near_duplicates(db, store):
    store.put(ALICE, "hike-again", {"content": "Alice likes hiking in the Alps a lot"})
    store.put(BOB, "bob-alps", {"content": "Alice likes hiking in the Alps"})  # another namespace
    opened = []

    def mode_store(mode):  # read-only, as langmem ui opens them: looking counts no recall
        opened.append(mode)
        return SQLiteStore(db, index=hash_index(), search_mode=mode, read_only=True)

    web = client(store, mode_store=mode_store)
    page = web.get("/memory", params={"ns": ["users", "alice"], "key": "hike"}).text
    near = page.split('id="near-h"')[1].split("</section>")[0]
    assert "Alice likes hiking in the Alps a lot" in near and re.search(r"cosine 0\.[89]\d", near)
    assert "hike-again" in near and "bob-alps" not in near and ">hike<" not in near
    assert opened == ["hybrid"] and store.accesses(("users",)) == {}
