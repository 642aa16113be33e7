"""The memory console in a real browser: headless Debian chromium driven by Playwright,
against ``langmem ui`` started as a subprocess on a real SQLite file (and once on the
Postgres test server). Screenshots of the main pages go to build/screenshots/ (not
committed). Skipped, with the reason, without Playwright or chromium."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install -e '.[ui-test]'")
pytest.importorskip("starlette")

from langmem.store import SQLiteStore  # noqa: E402
from test_console import ALICE, BOB, HOSTILE, TOKEN, fill, hash_index, serving  # noqa: E402

CHROMIUM = os.environ.get("LANGMEM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
expect = sync_api.expect

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A page that fails the test if any dialog opens (a memory's script would run)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert dialogs == [], f"a dialog opened: {dialogs}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_browse_search_edit_revert_delete_erase(backend, page, tmp_path, request):
    if backend == "postgres":
        from langmem.store import PostgresStore

        db = request.getfixturevalue("pg_url")
        reopen = lambda: PostgresStore(db, index=hash_index())  # noqa: E731
    else:
        db = tmp_path / "memories.sqlite"
        reopen = lambda: SQLiteStore(db, index=hash_index())  # noqa: E731
    with reopen() as store:
        fill(store)
    suffix = "" if backend == "sqlite" else "-postgres"
    with serving("--db", db) as url:
        # The namespace tree, with counts.
        page.goto(url)
        tree = page.get_by_role("navigation", name="Namespaces")
        expect(tree.get_by_role("link", name="alice")).to_be_visible()
        expect(tree.locator("li:has(> a:text-is('alice')) > .count")).to_have_text("3")
        expect(tree.locator("li:has(> a:text-is('users')) > .count")).to_have_text("5")
        expect(page.get_by_role("img")).to_be_visible()  # the activity picture
        shot(page, f"home{suffix}")
        tree.get_by_role("link", name="alice").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("users/alice")
        expect(page.get_by_role("cell", name=HOSTILE)).to_be_visible()  # text, not a script
        shot(page, f"namespace{suffix}")

        # Search from the keyboard ("/" focuses the box) and read an explanation.
        page.keyboard.press("/")
        expect(page.locator("#quick-q")).to_be_focused()
        page.keyboard.type("hiking in the Alps")
        page.keyboard.press("Enter")
        first = page.locator("li.hit").first
        expect(first.get_by_role("link")).to_have_text("Alice likes hiking in the Alps")
        parts = first.get_by_role("table")
        expect(parts.get_by_role("rowheader", name="vector")).to_be_visible()
        expect(parts.get_by_role("rowheader", name="keyword")).to_be_visible()
        expect(first.locator("dl.inputs")).to_contain_text("matched words")
        expect(first.locator("p.formula")).to_contain_text(re.compile(r"\d\.\d{3} = vector"))
        page.get_by_label("keyword (BM25 word matches)").check()
        page.get_by_role("button", name="Search").click()
        expect(page.locator("li.hit").first.get_by_role("link")).to_have_text("Alice likes hiking in the Alps")
        shot(page, f"search{suffix}")
        with reopen() as store:  # looking is not recalling, on either backend
            assert store.accesses() == {}

        # Edit the memory, then revert it, then delete it.
        page.locator("li.hit").first.get_by_role("link").click()
        page.get_by_label("Text", exact=True).fill("Alice likes hiking in the Dolomites")
        page.get_by_role("button", name="Save as a new version").click()
        expect(page.get_by_role("status")).to_contain_text("Saved")
        expect(page.get_by_role("heading", level=1)).to_have_text("Alice likes hiking in the Dolomites")
        diff = page.locator("li.version").first.locator(".diff")
        expect(diff.locator("del")).to_have_text("Alps")
        expect(diff.locator("ins")).to_have_text("Dolomites")
        shot(page, f"memory{suffix}")
        page.get_by_role("button", name="Revert to version 1").click()
        expect(page.get_by_role("status")).to_contain_text("Restored version 1 as version 3")
        expect(page.get_by_role("heading", level=1)).to_have_text("Alice likes hiking in the Alps")
        newest = page.locator("li.version").first
        expect(newest).to_contain_text("by langmem ui")
        expect(newest).to_contain_text("why: revert to version 1")
        page.get_by_role("button", name="Delete this memory").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Deleted memory")

        # Erase Bob's namespace: the wrong name is refused, his name erases it.
        page.goto(url + "namespace?ns=users&ns=bob")
        page.get_by_label("Type users/bob to confirm").fill("users")
        page.get_by_role("button", name="Erase users/bob").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Nothing was erased")
        page.go_back()
        page.get_by_label("Type users/bob to confirm").fill("users/bob")
        shot(page, f"erase{suffix}")
        page.get_by_role("button", name="Erase users/bob").click()
        expect(page.get_by_role("status")).to_have_text("Erased 2 memories, with their history.")
        expect(page.get_by_role("navigation", name="Namespaces").get_by_role("link", name="bob")).to_have_count(0)

        # The hostile memory renders as text on its own page too.
        page.goto(url + "memory?ns=users&ns=alice&key=html")
        expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE)
    with reopen() as store:
        assert store.get(ALICE, "hike") is None
        assert [(e.action, e.origin) for e in store.history(ALICE, "hike")] == [
            ("put", "langmem cli"), ("put", "langmem ui"), ("put", "langmem ui"), ("delete", "langmem ui")]
        assert store.search(BOB) == [] and len(store.search(ALICE)) == 2
        if backend == "sqlite":  # looking (searches, near-duplicates) counted no recall
            assert store.accesses(("users",)) == {}


def test_read_only_confined_console_with_a_token(page, tmp_path):
    db = tmp_path / "memories.sqlite"
    with SQLiteStore(db, index=hash_index()) as store:
        fill(store)
    with serving("--db", db, "--read-only", "--namespace", "users/alice", "--token", TOKEN) as url:
        page.goto(url)  # the printed address: its token becomes a cookie
        expect(page).to_have_url(url.split("?")[0])
        expect(page.locator(".badge.ro")).to_have_text("read-only")
        expect(page.get_by_role("navigation", name="Namespaces")).to_have_count(0)  # no label below
        expect(page.locator("main")).to_contain_text("3 memories")
        page.get_by_role("link", name="Table of all of them").click()
        expect(page.get_by_role("cell", name="Alice likes hiking in the Alps")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("Erase|Delete|Save|Import|Revert"))).to_have_count(0)
        expect(page.locator("form[method=post]")).to_have_count(0)
        page.get_by_role("link", name="Alice likes hiking in the Alps").click()
        expect(page.locator("form[method=post]")).to_have_count(0)
        shot(page, "memory-read-only")
        page.goto(url.split("?")[0] + "memory?ns=..&ns=bob&key=bob-hike")
        expect(page.locator("main")).not_to_contain_text("Bob")
