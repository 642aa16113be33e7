"""A writer killed with SIGKILL mid-stream loses no acknowledged write and leaves a clean file."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="SIGKILL")]

KILLS = 20
WRITES = 10_000

# Acknowledges each write by printing its key only after ``put`` returned (committed).
WRITER = """
import sys
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

path, run, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
index = {"dims": 16, "embed": HashEmbeddings(16), "fields": ["text"]}
store = SQLiteStore(path, index=index)
print("ready", flush=True)
for i in range(n):
    key = f"{run}-{i}"
    store.put(("w", run), key, {"text": f"write {i} of run {run}", "i": i})
    print(key, flush=True)
print("done", flush=True)
"""


def _index():
    return {"dims": 16, "embed": HashEmbeddings(16), "fields": ["text"]}


def _run_and_kill(path, run: str, delay: float) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), run, str(WRITES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            if line.strip() == "ready":
                ready.set()
            else:
                lines.append(line.strip())

    reader = threading.Thread(target=read)
    reader.start()
    assert ready.wait(60), "writer did not start"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join()
    return [key for key in lines if key != "done"]


def test_sigkilled_writer_loses_no_acknowledged_write(tmp_path):
    path = tmp_path / "durable.db"
    rng = random.Random(20261125)
    acknowledged: list[str] = []
    for run in range(KILLS):
        acked = _run_and_kill(path, f"r{run}", rng.uniform(0.0, 1.5))
        acknowledged += acked
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {
            key
            for (key,) in db.execute("SELECT key FROM items WHERE namespace = ?", (f"w.r{run}",))
        }
        missing = set(acked) - stored
        assert not missing, f"run {run}: {len(missing)} acknowledged writes lost"
        # At most the one write in flight at the kill is stored without an acknowledgement.
        assert len(stored) - len(acked) in (0, 1)
        db.close()
    assert len(acknowledged) > KILLS

    # The file opens clean through the store: migrations, vectors, keyword index.
    with SQLiteStore(path, index=_index()) as store:
        store._db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
        rows = store._db.execute("SELECT count(*) FROM items").fetchone()[0]
        assert len(store._index) == rows
        run, i = acknowledged[-1].split("-")
        hit = store.search(("w", run), query=f"write {i} of run {run}", limit=1)
        assert [h.key for h in hit] == [acknowledged[-1]]
