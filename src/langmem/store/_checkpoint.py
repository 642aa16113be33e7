"""WAL checkpoints off the write path: a background connection copies the log into the file.

SQLite's own autocheckpoint runs inside the ``COMMIT`` that crosses its threshold,
so one write in a few hundred waits for the whole log to be copied and synced.
Here the store's connection never checkpoints on its own (``wal_autocheckpoint =
0``). After each write it compares the log's size with a threshold (one ``stat``)
and, past it, wakes a thread whose own connection runs a ``PASSIVE`` checkpoint,
which blocks no reader or writer. The log can only restart from its beginning
once every frame is copied, and writes go on during the thread's pass: after a
pass, the writer's next commit copies the frames written meanwhile itself when
they are few (a tenth of a threshold), else the thread runs another pass; the
write after that restarts the log (``journal_size_limit = 0`` truncates it then,
so its size is what it holds since the last restart). Should the log pass four
thresholds while the thread copies, the writer waits for the pass to end and
checkpoints itself, which bounds the log. Commits are as durable as before: each
is in the log before it is acknowledged, whoever copies it later.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from langmem.store._open import connect

__all__ = ["Checkpointer"]


class Checkpointer:
    """Checkpoints ``path``'s write-ahead log from a daemon thread once it holds ``pages``."""

    def __init__(self, path: str, db: sqlite3.Connection, *, pages: int) -> None:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        db.execute("PRAGMA wal_autocheckpoint = 0")
        db.execute("PRAGMA journal_size_limit = 0")
        self._wal = f"{path}-wal"
        self._frame = page_size + 24  # a log frame: header and page, after a 32-byte header
        self._threshold = pages * page_size
        self._copied = 0  # frames of the log the last pass copied
        self._wake = threading.Event()
        self._state = "idle"  # "idle" -> "running" (the thread's pass) -> "done" -> "idle"
        self._passed = threading.Event()  # set when a pass ends
        self._stopping = False
        self._own = connect(path, read_only=False, timeout=0.0)
        self._thread = threading.Thread(target=self._loop, name="langmem-checkpoint", daemon=True)
        self._thread.start()

    def committed(self, db: sqlite3.Connection) -> None:
        """Called by the writer after each commit, on its connection ``db``."""
        try:
            size = os.stat(self._wal).st_size
        except OSError:
            return
        if self._state == "done":  # what was written during the pass: copy it, or pass again
            self._state = "idle"
            if (size - 32) // self._frame - self._copied <= self._threshold // (10 * self._frame):
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # the log can restart
                return
        if size > 4 * self._threshold:  # the thread fell behind: wait for it, then copy the rest
            if self._state == "running":
                self._passed.wait()
            self._state = "idle"
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        elif size >= self._threshold and self._state == "idle":
            self._state = "running"
            self._passed.clear()
            self._wake.set()

    def close(self) -> None:
        """Stop the thread and close its connection (idempotent)."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._own.close()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                row = self._own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self._copied = max(row[2], 0)  # -1 when it could not run
            except sqlite3.Error:
                self._copied = 0  # busy (e.g. compact() checkpointing): pass again
            finally:
                self._state = "done"
                self._passed.set()
