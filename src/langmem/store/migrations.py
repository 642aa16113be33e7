"""Schema migrations for ``SQLiteStore``: ordered functions, each applied once.

Append new migrations at the end; never edit one that has shipped. Each
migration and the row recording it commit in one transaction, so a crash
leaves either both or neither.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

__all__ = ["MIGRATIONS", "TABLE", "applied", "migrate", "pending"]

TABLE = "_langmem_migrations"

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []
migration = MIGRATIONS.append


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            accessed_at INTEGER,
            access_count INTEGER NOT NULL DEFAULT 0,
            ttl_minutes REAL,
            expires_at INTEGER,
            UNIQUE (namespace, key)
        )"""
    )
    db.execute("CREATE INDEX items_updated ON items (updated_at)")
    db.execute("CREATE INDEX items_expires ON items (expires_at) WHERE expires_at IS NOT NULL")
    # One row per item (rowid = items.id): the indexed text, for BM25.
    db.execute(
        "CREATE VIRTUAL TABLE items_fts USING fts5("
        "text, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    # One row per embedded text of an item (a LangGraph index path may yield several).
    db.execute(
        """CREATE TABLE vectors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            item_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            embedding BLOB NOT NULL
        )"""
    )
    db.execute("CREATE INDEX vectors_item ON vectors (item_id)")
    db.execute(
        """CREATE TABLE history (
            id INTEGER PRIMARY KEY,
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            action TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT,
            at INTEGER NOT NULL,
            origin TEXT
        )"""
    )
    db.execute("CREATE INDEX history_item ON history (namespace, key, id)")


@migration
def m002_indexed_flag(db: sqlite3.Connection) -> None:
    # Lets a query search find the items with nothing indexed without probing FTS per row.
    db.execute("ALTER TABLE items ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE items SET indexed = 1 WHERE id IN (SELECT rowid FROM items_fts)")
    db.execute("CREATE INDEX items_unindexed ON items (updated_at) WHERE indexed = 0")


@migration
def m003_vectors_version(db: sqlite3.Connection) -> None:
    # Bumped by every commit that changes vectors, so other connections reload
    # their in-memory index only when vectors changed (not on every write).
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('vectors_version', 0)")


@migration
def m004_token_vectors(db: sqlite3.Connection) -> None:
    # Late interaction: the embedded text's content-token vectors (layout:
    # ranking.TokenVectors.to_bytes), NULL when the store does not keep them.
    # In the vectors row, so every path that drops a vector drops its tokens.
    db.execute("ALTER TABLE vectors ADD COLUMN tokens BLOB")


@migration
def m005_settings(db: sqlite3.Connection) -> None:
    # What the file was built with ("embedder": its name, "dims"), recorded by the
    # first open with an embedder and checked by every later one.
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migration
def m006_history_versions(db: sqlite3.Connection) -> None:
    # Each change of an item is a numbered version (1, 2, ... in order of recording),
    # with the reason given for it, if any.
    db.execute("ALTER TABLE history ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE history ADD COLUMN reason TEXT")
    db.execute(
        "UPDATE history SET version = (SELECT count(*) FROM history h WHERE h.namespace ="
        " history.namespace AND h.key = history.key AND h.id <= history.id)"
    )


@migration
def m007_event_time(db: sqlite3.Connection) -> None:
    # When a memory happened or held (event time, µs; NULL: unknown), beside its record
    # times; copied from the value's "valid_from"/"valid_until" by every write. Indexed
    # as searches read them: the event start (record time standing in), and the ends.
    db.execute("ALTER TABLE items ADD COLUMN valid_from INTEGER")
    db.execute("ALTER TABLE items ADD COLUMN valid_until INTEGER")
    db.execute("CREATE INDEX items_event_start ON items (coalesce(valid_from, created_at))")
    db.execute(
        "CREATE INDEX items_valid_until ON items (valid_until) WHERE valid_until IS NOT NULL"
    )


def applied(db: sqlite3.Connection) -> list[str]:
    """Names of the migrations already applied, in order (read-only)."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    ).fetchone()
    if not exists:
        return []
    return [row[0] for row in db.execute(f"SELECT name FROM {TABLE} ORDER BY rowid")]


def pending(db: sqlite3.Connection) -> list[Migration]:
    """Migrations not yet applied, in order (read-only)."""
    done = set(applied(db))
    return [m for m in MIGRATIONS if m.__name__ not in done]


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations, one transaction each; returns the names applied.

    ``db`` must be in autocommit mode (``isolation_level=None``). Safe when
    several processes open the same file at once: each migration re-checks
    under the write lock.
    """
    done: list[str] = []
    db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at REAL)")
    for m in MIGRATIONS:
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute(f"SELECT 1 FROM {TABLE} WHERE name = ?", (m.__name__,)).fetchone():
                db.execute("COMMIT")
                continue
            m(db)
            db.execute(f"INSERT INTO {TABLE} VALUES (?, ?)", (m.__name__, time.time()))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite rolls back itself after some errors
                db.execute("ROLLBACK")
            raise
        done.append(m.__name__)
    return done
