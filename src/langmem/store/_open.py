"""Opening an ``SQLiteStore`` file: connect, recognise the file, check its embedder, inspect it.

Nothing here changes a file it refuses: a path that is a folder or lies in a
missing one, a file that is not SQLite or is damaged, another application's
database and one written by a newer langmem each raise
:class:`~langmem.errors.ConfigurationError` (one line naming the file and the
problem) before the store writes a byte.

A read-only open leaves no file behind. Where this process may write the file,
its folder and its ``-wal``/``-shm`` files, it connects ``mode=rw`` with
``PRAGMA query_only``: SQLite removes the side files it made when the last
connection closes. Elsewhere it connects ``mode=ro``, which creates no file:
through existing ``-wal`` and ``-shm`` files (another connection may be
writing), else ``immutable`` (nothing may write the file here); a ``-wal``
holding commits without the ``-shm`` that reading it needs is refused rather
than ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
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
    "naming_damage",
    "opens_read_only",
]

logger = logging.getLogger(__name__)

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


def connect(path: str, *, read_only: bool, timeout: float) -> sqlite3.Connection:
    """An autocommit connection to ``path`` that writes nothing yet; refuses, when not
    ``read_only``, a file, ``-wal``/``-shm`` file or folder this process may not write."""
    kwargs: dict[str, Any] = dict(isolation_level=None, check_same_thread=False, timeout=timeout)
    if path == ":memory:":
        return sqlite3.connect(path, **kwargs)
    file = Path(path)
    _check_path(file, must_exist=read_only)
    blocker = _unwritable(file)
    if read_only:
        mode = "rw" if blocker is None else _read_only_mode(file)
    elif blocker is None:
        mode = "rwc"
    elif not file.exists():
        raise ConfigurationError(f"{file}: cannot create it: the folder {blocker} is read-only here")
    else:
        raise ConfigurationError(
            f"{file}: {_why(file, blocker)}: open the store with read_only=True, or give this"
            " process write access"
        )
    try:
        db = sqlite3.connect(f"{file.absolute().as_uri()}?mode={mode}", uri=True, **kwargs)
        if read_only:
            db.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise ConfigurationError(f"{path}: cannot open the database ({exc})") from None
    return db


def opens_read_only(path: str) -> bool:
    """Whether ``read_only=None`` opens ``path`` read-only: an existing file this process
    may not write, or not write beside (logged)."""
    file = Path(path)
    if path == ":memory:" or not file.is_file():
        return False
    blocker = _unwritable(file)
    if blocker is not None and blocker != file:
        logger.warning("%s: opened read-only: %s", path, _why(file, blocker))
    return blocker is not None


# What SQLite says of a damaged file (FTS5 reports a damaged index as its constructor failing).
_DAMAGE_TEXTS = ("malformed", "not a database", "vtable constructor failed")


def _is_damage(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` reports a damaged or non-SQLite file (SQLITE_CORRUPT, SQLITE_NOTADB)."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is None:
        return any(text in str(exc) for text in _DAMAGE_TEXTS)
    return code & 0xFF in (11, 26)


@contextlib.contextmanager
def naming_damage(path: str, *, opening: bool = False) -> Iterator[None]:
    """Report a damaged file with its name: a :class:`ConfigurationError` when
    ``opening``, else the ``sqlite3`` error's own class (an internal fault, not a
    ``ValueError``), chained to SQLite's."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if not _is_damage(exc):
            raise
        text = f"{path}: damaged database file ({exc}); restore it from a backup"
        if opening:
            raise ConfigurationError(text) from None
        error = type(exc)(text)
        for name in ("sqlite_errorcode", "sqlite_errorname"):
            if hasattr(exc, name):
                setattr(error, name, getattr(exc, name))
        raise error from exc


def check_database(db: sqlite3.Connection, path: str, *, new: bool = True) -> list[str]:
    """The migrations applied to ``db``, refusing files that are not (this version's) stores.

    Only reads: call it before anything writes (even ``PRAGMA journal_mode``).
    A database with no tables (a 0-byte file too) is a new store, refused unless ``new``.
    """
    try:
        tables = {
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            if not name.startswith("sqlite_")
        }
        done = migrations.applied(db)
    except sqlite3.DatabaseError as exc:
        what = "not an SQLite database, or damaged" if _is_damage(exc) else "cannot be read"
        raise ConfigurationError(f"{path}: {what} ({exc})") from None
    if tables and migrations.TABLE not in tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise ConfigurationError(
            f"{path}: another application's database (tables: {shown}), not a langmem store;"
            " it was left unchanged"
        )
    if not done and not new:
        empty = path != ":memory:" and os.path.getsize(path) == 0
        what = "an empty file (0 bytes)" if empty else "an empty SQLite database"
        raise ConfigurationError(f"{path}: {what}, not a langmem store")
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

    Opens it read-only (no file appears that outlives the call). Raises
    :class:`~langmem.errors.ConfigurationError` for a missing file, a folder, a
    file that is not SQLite or is damaged, an empty database, another
    application's database and one created by a newer langmem.
    """
    text = str(path)
    db = connect(text, read_only=True, timeout=5.0)
    try:
        done = check_database(db, text, new=False)
        try:
            stored = _settings(db)
            dims: int | str | None = stored.get("dims")
            if dims is None:  # a file from before dims were recorded: its vectors' size
                row = db.execute("SELECT length(embedding) FROM vectors LIMIT 1").fetchone()
                dims = None if row is None else row[0] // 4
            now = time.time_ns() // 1000
            sql = "SELECT count(*) FROM items WHERE expires_at IS NULL OR expires_at > ?"
            items = db.execute(sql, (now,)).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(f"{text}: damaged langmem store ({exc})") from None
    finally:
        db.close()
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


def _unwritable(file: Path) -> Path | None:
    """The first of ``file``, its ``-wal``/``-shm`` files and its folder this process may
    not write (a writable store needs all of them), else None."""
    sides = [f for f in (file, Path(f"{file}-wal"), Path(f"{file}-shm")) if f.exists()]
    for f in (*sides, file.absolute().parent):
        if not os.access(f, os.W_OK):
            return f
    return None


def _why(file: Path, blocker: Path) -> str:
    if blocker == file:
        return "the file is read-only here"
    if blocker.is_dir():
        return (
            f"the folder {blocker} is read-only here, and a writable store keeps -wal and -shm"
            " files beside its file"
        )
    return f"{blocker.name} is read-only here"


def _read_only_mode(file: Path) -> str:
    """``mode`` of a read-only open that creates no file (see the module docstring)."""
    wal, shm = Path(f"{file}-wal"), Path(f"{file}-shm")
    if wal.exists() and shm.exists():
        return "ro"
    if wal.exists() and wal.stat().st_size > 0:
        raise ConfigurationError(
            f"{file}: {wal.name} holds commits not yet in the file, and reading them needs"
            f" an {shm.name} file a read-only open does not create; open the store once"
            " writable to merge them"
        )
    return "ro&immutable=1"


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
