"""Opening an ``SQLiteStore`` file: connect, recognise the file, check its embedder, inspect it.

Nothing here changes a file it refuses: a path that is a folder or lies in a
missing one, a file that is not SQLite, another application's database and one
written by a newer langmem each raise :class:`~langmem.errors.ConfigurationError`
(one line naming the file and the problem) before the store writes a byte.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langmem.errors import ConfigurationError
from langmem.store import migrations

__all__ = [
    "DatabaseInfo",
    "check_database",
    "check_embedder",
    "connect",
    "embedder_name",
    "inspect_database",
    "is_read_only_file",
]

# Embedders known by the short names the CLI and ``resolve_embeddings`` take.
_SHORT_NAMES = {
    "langmem.store.embeddings.LocalEmbeddings": "local",
    "langmem.testing.HashEmbeddings": "hash",
}
_LOCAL_SPECS = {"local", "local:all-minilm-l6-v2"}


@dataclass(frozen=True)
class DatabaseInfo:
    """What :func:`inspect_database` found in a store file."""

    path: str
    schema_version: int  # number of migrations applied
    migrations: tuple[str, ...]
    embedder: str | None  # None: never opened with an embedder
    dims: int | None  # as recorded, else the stored vectors' size (older files)
    items: int  # live (unexpired) items


def connect(
    path: str, *, read_only: bool, timeout: float, immutable: bool = False
) -> sqlite3.Connection:
    """An autocommit connection to ``path`` (``mode=ro`` when ``read_only``, and with
    ``immutable`` not even ``-wal``/``-shm`` files are made); writes nothing."""
    kwargs: dict[str, Any] = dict(isolation_level=None, check_same_thread=False, timeout=timeout)
    if path == ":memory:":
        return sqlite3.connect(path, **kwargs)
    file = Path(path)
    _check_path(file, must_exist=read_only)
    uri = file.absolute().as_uri() + ("?mode=ro" if read_only else "?mode=rwc")
    if immutable:
        uri += "&immutable=1"
    try:
        return sqlite3.connect(uri, uri=True, **kwargs)
    except sqlite3.Error as exc:
        raise ConfigurationError(f"{path}: cannot open the database ({exc})") from None


def is_read_only_file(path: str) -> bool:
    """Whether ``path`` is an existing file this process may not write."""
    return path != ":memory:" and os.path.isfile(path) and not os.access(path, os.W_OK)


def check_database(db: sqlite3.Connection, path: str) -> list[str]:
    """The migrations applied to ``db``, refusing files that are not (this version's) stores.

    Only reads: call it before anything writes (even ``PRAGMA journal_mode``).
    A database with no tables is a new store.
    """
    try:
        tables = {
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            if not name.startswith("sqlite_")
        }
        done = migrations.applied(db)
    except sqlite3.DatabaseError as exc:
        raise ConfigurationError(f"{path}: not an SQLite database, or damaged ({exc})") from None
    if tables and migrations.TABLE not in tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise ConfigurationError(
            f"{path}: another application's database (tables: {shown}), not a langmem store;"
            " it was left unchanged"
        )
    known = {m.__name__ for m in migrations.MIGRATIONS}
    unknown = [name for name in done if name not in known]
    if unknown:
        raise ConfigurationError(
            f"{path}: created by a newer version of langmem (unknown migrations:"
            f" {', '.join(unknown)}); upgrade langmem to open it"
        )
    return done


def embedder_name(embed: Any, embeddings: Any) -> str:
    """How the store file records an embedder: ``"local"``, ``"hash"``, the
    ``"provider:model"`` string it was given, else the class (and model) name."""
    if isinstance(embed, str):
        spec = embed.strip()
        return "local" if spec.lower() in _LOCAL_SPECS else spec
    cls = type(embeddings)
    short = _SHORT_NAMES.get(f"{cls.__module__}.{cls.__qualname__}")
    if short:
        return short
    if callable(embed) and embeddings is not embed:  # a function wrapped by LangGraph
        return getattr(embed, "__qualname__", type(embed).__qualname__)
    model = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
    return f"{cls.__qualname__}({model})" if isinstance(model, str) else cls.__qualname__


def check_embedder(
    db: sqlite3.Connection, path: str, name: str, dims: int, *, record: bool
) -> None:
    """Refuse an embedder other than the one the file was built with; the first
    embedder to open the file is recorded (when ``record``)."""
    if record:
        db.execute("BEGIN IMMEDIATE")  # two first opens at once record one embedder
    try:
        stored = _settings(db)
        if "embedder" not in stored:
            _check_vector_size(db, path, name, dims)
            if record:
                db.executemany(
                    "INSERT INTO settings (key, value) VALUES (?, ?)",
                    [("embedder", name), ("dims", str(dims))],
                )
        elif (stored["embedder"], stored.get("dims")) != (name, str(dims)):
            raise ConfigurationError(
                f"{path}: built with embedder {stored['embedder']!r} ({stored.get('dims')} dims),"
                f" opened with {name!r} ({dims} dims); open it with the embedder it was built"
                " with, or use a new file"
            )
        if record:
            db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def inspect_database(path: str | os.PathLike[str]) -> DatabaseInfo:
    """Describe the store file at ``path`` without changing it.

    Opens it read-only (and, when no other connection has a write-ahead log
    open, ``immutable``, so not even ``-wal``/``-shm`` files appear). Raises
    :class:`~langmem.errors.ConfigurationError` for a missing file, a folder, a
    file that is not SQLite or is damaged, an empty database, another
    application's database and one created by a newer langmem.
    """
    text = str(path)
    wal = Path(f"{text}-wal")
    live_wal = wal.exists() and wal.stat().st_size > 0
    db = connect(text, read_only=True, timeout=5.0, immutable=not live_wal)
    try:
        done = check_database(db, text)
        if not done:
            raise ConfigurationError(f"{text}: an empty SQLite database, not a langmem store")
        try:
            stored = _settings(db)
            if "dims" not in stored:
                row = db.execute("SELECT length(embedding) FROM vectors LIMIT 1").fetchone()
                stored["dims"] = None if row is None else row[0] // 4
            now = time.time_ns() // 1000
            sql = "SELECT count(*) FROM items WHERE expires_at IS NULL OR expires_at > ?"
            items = db.execute(sql, (now,)).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(f"{text}: damaged langmem store ({exc})") from None
    finally:
        db.close()
    dims = stored["dims"]
    return DatabaseInfo(
        path=text,
        schema_version=len(done),
        migrations=tuple(done),
        embedder=stored.get("embedder"),
        dims=None if dims is None else int(dims),
        items=items,
    )


def _check_path(file: Path, *, must_exist: bool) -> None:
    if file.is_dir():
        raise ConfigurationError(f"{file}: is a folder, not a database file")
    if not file.parent.is_dir():
        raise ConfigurationError(f"{file}: the folder {file.parent} does not exist")
    if must_exist and not file.exists():
        raise ConfigurationError(f"{file}: no such database file")


def _settings(db: sqlite3.Connection) -> dict[str, str]:
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'"
    ).fetchone()
    return dict(db.execute("SELECT key, value FROM settings")) if exists else {}


def _check_vector_size(db: sqlite3.Connection, path: str, name: str, dims: int) -> None:
    """A file from before embedders were recorded: its vectors must have ``dims``."""
    row = db.execute("SELECT length(embedding) FROM vectors LIMIT 1").fetchone()
    if row is not None and row[0] != 4 * dims:
        raise ConfigurationError(
            f"{path}: holds vectors of {row[0] // 4} dims, opened with {name!r} ({dims} dims);"
            " open it with the embedder it was built with, or use a new file"
        )
