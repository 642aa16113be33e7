"""Store files this process may not write (run for real as an unprivileged user), and empty files.

Root writes any file, so the permission scenarios run in a subprocess as ``nobody``
(``setpriv``, no capabilities left) when the tests run as root, else as the
current user. Each scenario reports what it saw as JSON; the assertions are here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from langmem.errors import ConfigurationError
from langmem.store import SQLiteStore

pytestmark = [pytest.mark.core, pytest.mark.skipif(os.name != "posix", reason="POSIX files")]

NOBODY = 65534

PRELUDE = """
import json, logging, os, signal, sys
from pathlib import Path
from langmem.errors import ConfigurationError
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

INDEX = {"dims": 16, "embed": HashEmbeddings(16)}
base = Path(sys.argv[1])
status = Path("/proc/self/status")
lines = status.read_text().splitlines() if status.exists() else ["CapEff: 0"]
seen = {"uid": os.geteuid(), "caps": next(l.split()[1] for l in lines if l.startswith("CapEff"))}
warnings = []

class Remember(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())

logging.getLogger("langmem").addHandler(Remember())

def make(folder, *keys):
    folder.mkdir(mode=0o755)
    with SQLiteStore(folder / "s.db", index=INDEX) as store:
        for key in keys:
            store.put(("m",), key, {"text": f"{key} keeps bees"})
    return folder / "s.db"

def files(folder):
    return sorted(p.name for p in folder.iterdir())

def search(path, **kwargs):
    try:
        with SQLiteStore(path, index=INDEX, **kwargs) as store:
            hits = store.search(("m",), query="who keeps bees?")
            return {"read_only": store.read_only, "keys": sorted(h.key for h in hits)}
    except ConfigurationError as exc:
        return {"error": str(exc)}
"""


def _run_unprivileged(scenario: str) -> dict:
    """Run ``PRELUDE + scenario`` as an unprivileged user in a folder it owns; its ``seen``."""
    folder = Path(tempfile.mkdtemp(prefix="langmem-access-"))
    cmd = [sys.executable, "-c", PRELUDE + textwrap.dedent(scenario) + "\nprint(json.dumps(seen))"]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root, and no setpriv to drop root")
        os.chown(folder, NOBODY, NOBODY)
        drop = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        probe = subprocess.run([*drop, sys.executable, "-c", "import langmem.store"],
                               capture_output=True, text=True, timeout=120)
        if probe.returncode:  # e.g. this Python lives in a folder only root may read
            shutil.rmtree(folder)
            pytest.skip(f"python cannot run unprivileged here: {probe.stderr.strip()[-300:]}")
        cmd = [*drop, *cmd]
    try:
        run = subprocess.run([*cmd, str(folder)], capture_output=True, text=True, timeout=300)
    finally:
        for sub in folder.rglob("*"):  # as root or the owner: make it removable
            if sub.is_dir():
                sub.chmod(0o755)
        shutil.rmtree(folder)
    if run.returncode and "Permission denied" in run.stderr and "Traceback" not in run.stderr:
        pytest.skip(f"python cannot run unprivileged here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.splitlines()[-1])
    assert seen["uid"] != 0 and int(seen["caps"], 16) == 0  # truly unprivileged
    return seen


def test_a_read_only_file_in_a_read_only_folder_opens_searches_and_leaves_nothing():
    seen = _run_unprivileged("""
        path = make(base / "d", "a", "b")
        path.chmod(0o444)
        path.parent.chmod(0o555)
        before = path.read_bytes()
        seen["true"] = search(path, read_only=True)
        seen["default"] = search(path)
        seen["false"] = search(path, read_only=False)
        seen["files"] = files(path.parent)
        seen["unchanged"] = path.read_bytes() == before
    """)
    assert seen["true"] == {"read_only": True, "keys": ["a", "b"]}
    assert seen["default"] == {"read_only": True, "keys": ["a", "b"]}
    assert "s.db: the file is read-only here: open the store with read_only=True" in seen["false"][
        "error"
    ]
    assert seen["files"] == ["s.db"] and seen["unchanged"]


def test_a_writable_file_in_a_read_only_folder_opens_read_only_with_a_notice():
    seen = _run_unprivileged("""
        path = make(base / "d", "a")
        path.parent.chmod(0o555)
        seen["default"] = search(path)
        seen["warnings"] = warnings
        seen["false"] = search(path, read_only=False)
        seen["files"] = files(path.parent)
    """)
    assert seen["default"] == {"read_only": True, "keys": ["a"]}
    assert any("opened read-only: the folder" in w for w in seen["warnings"])
    assert "the folder" in seen["false"]["error"] and "read_only=True" in seen["false"]["error"]
    assert seen["files"] == ["s.db"]


def test_a_read_only_open_leaves_nothing_that_blocks_a_later_writable_open():
    seen = _run_unprivileged("""
        path = make(base / "d", "a")
        path.chmod(0o444)  # the folder stays writable: SQLite could make 0444 -wal/-shm files
        seen["read"] = search(path, read_only=True)
        seen["files"] = files(path.parent)
        path.chmod(0o644)
        with SQLiteStore(path, index=INDEX) as store:
            store.put(("m",), "c", {"text": "c keeps bees too"})
        seen["written"] = search(path)
        Path(f"{path}-shm").touch(mode=0o444)  # as an older version's read-only open left it
        seen["stale"] = search(path, read_only=False)
    """)
    assert seen["read"] == {"read_only": True, "keys": ["a"]}
    assert seen["files"] == ["s.db"]
    assert seen["written"] == {"read_only": False, "keys": ["a", "c"]}
    assert "s.db-shm is read-only here" in seen["stale"]["error"]


def test_commits_still_in_the_write_ahead_log_are_read_not_ignored():
    seen = _run_unprivileged("""
        path = make(base / "d", "a")
        pid = os.fork()
        if pid == 0:  # a writer killed after its commit: "late" stays in s.db-wal only
            store = SQLiteStore(path, index=INDEX)
            store.put(("m",), "late", {"text": "late keeps bees"})
            os.kill(os.getpid(), signal.SIGKILL)
        os.waitpid(pid, 0)
        seen["log"] = os.path.getsize(f"{path}-wal")
        for p in path.parent.iterdir():
            p.chmod(0o444)
        path.parent.chmod(0o555)
        before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
        seen["read"] = search(path, read_only=True)
        seen["unchanged"] = before == {p.name: p.read_bytes() for p in path.parent.iterdir()}
        path.parent.chmod(0o755)
        Path(f"{path}-shm").unlink()  # reading the log needs it
        path.parent.chmod(0o555)
        seen["no_shm"] = search(path, read_only=True)
        seen["files"] = files(path.parent)
    """)
    assert seen["log"] > 0
    assert seen["read"] == {"read_only": True, "keys": ["a", "late"]} and seen["unchanged"]
    assert "s.db-wal holds commits not yet in the file" in seen["no_shm"]["error"]
    assert seen["files"] == ["s.db", "s.db-wal"]


def test_an_empty_file_is_no_store_to_read_and_a_new_store_to_write(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(ConfigurationError, match=r"empty file \(0 bytes\), not a langmem store"):
        SQLiteStore(path, read_only=True)
    assert path.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]
    with SQLiteStore(path) as store:  # touch, then use
        store.put(("m",), "a", {"text": "hello"})
    with SQLiteStore(path, read_only=True) as store:
        assert store.get(("m",), "a").value == {"text": "hello"}


def test_an_empty_read_only_file_is_refused_and_left_empty():
    seen = _run_unprivileged("""
        path = base / "empty.db"
        path.touch(mode=0o444)
        seen["default"] = search(path)
        seen["size"] = path.stat().st_size
        seen["files"] = files(base)
    """)
    assert "empty file (0 bytes), not a langmem store" in seen["default"]["error"]
    assert seen["size"] == 0 and seen["files"] == ["empty.db"]
