"""``langmem`` command line: the demo, an MCP server, and thin shells over the store.

Every store command opens an SQLite file (``--db``, env ``LANGMEM_DB``; or a
``postgresql://`` URL: a ``PostgresStore``, so ``export``/``import`` move memories
between the two) with an
embedder (``--embed``, env ``LANGMEM_EMBED``: ``local`` for the offline MiniLM
model, ``hash`` for fast deterministic test vectors, or a ``provider:model``
string; by default the one the file was built with), calls one public method and
prints the result (``--json``: as JSON). Namespaces are written with slashes:
``users/alice``. Exit status: 0 ok, 1 not found, 2 bad usage or an unusable file
(one line on stderr naming it; the file is left as it was). Read commands never
create a database.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import json
import re
import socket
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import typer
from langgraph.store.base import PutOp
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from langmem.conversation import parse_conversation
from langmem.errors import ConfigurationError
from langmem.memory import memory_text, memory_value, parse_when, with_event_time, with_text

if TYPE_CHECKING:  # imported where used: the CLI starts without them
    import psycopg
    from langchain_core.messages import MessageLikeRepresentation

app = typer.Typer(
    help="Long-term memory for LLM agents: try the demo, manage memories, or serve them over MCP.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: texts as written, flags without type tags
)
# Messages are not wrapped (paths and keys stay whole for copying); tables fit the terminal.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEMO_NAMESPACE = ("demo", "conversation")
DEMO_MEMORIES = ("demo", "memories")
SAMPLE = "data/sample_conversation.json"
DEFAULT_EMBED = "local"

NOT_FOUND, BAD_USAGE, INTERRUPTED = 1, 2, 130

Db = Annotated[
    Path, typer.Option("--db", envvar="LANGMEM_DB", help="SQLite file holding the memories.")
]
Embed = Annotated[
    str | None,
    typer.Option(
        "--embed",
        envvar="LANGMEM_EMBED",
        help="Embedder: 'local' (offline MiniLM), 'hash' (test vectors) or 'provider:model'; "
        "default: the one the file was built with, else 'local'.",
        show_default=False,
    ),
]
Model = Annotated[
    str | None,
    typer.Option(
        "--model", envvar="LANGMEM_MODEL", help="'provider:model' chat model (openai:gpt-4o-mini)."
    ),
]
_JSON_ERRORS = contextvars.ContextVar("langmem_cli_json", default=False)


def _json_mode(value: bool) -> bool:
    """``--json`` also makes errors JSON (see :func:`_fail`)."""
    _JSON_ERRORS.set(bool(value))
    return value


Json = Annotated[
    bool,
    typer.Option("--json", callback=_json_mode, help="Print JSON instead of text (errors too)."),
]
Namespace = Annotated[str, typer.Argument(help="Namespace, slash-separated (users/alice).")]
Key = Annotated[str, typer.Argument(help="Key of the memory in its namespace.")]
Importance = Annotated[
    float | None, typer.Option(min=0.0, max=1.0, help="Importance in [0, 1].")
]
IncludeClosed = Annotated[
    bool, typer.Option("--include-closed", help="Also memories that stopped being true.")
]
DEFAULT_DB = Path("langmem.sqlite")


def main() -> None:
    """Entry point of the ``langmem`` script."""
    app()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"langmem {metadata.version('langmem-plus')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Long-term memory for LLM agents."""
    _JSON_ERRORS.set(False)  # until a command's --json says otherwise


# --- opening the store --------------------------------------------------------------


def open_store(db: Path, embed: str, **kwargs: Any):
    """An ``SQLiteStore`` at ``db`` embedding with ``embed``; every value is indexed by
    its memory text (:func:`langmem.memory.memory_text`), whatever its shape."""
    from langmem.store import SQLiteStore

    embeddings, dims = _embedder(embed)
    index = {"dims": dims, "embed": embeddings}
    return SQLiteStore(db, index=index, **kwargs)


def _embedder(name: str) -> tuple[Any, int]:
    if name == "hash":
        from langmem.testing import HashEmbeddings

        return HashEmbeddings(256), 256
    from langmem.store.embeddings import LOCAL_DIMS, LocalEmbeddings, resolve_embeddings

    embeddings = resolve_embeddings(name)
    if isinstance(embeddings, LocalEmbeddings):
        return embeddings, LOCAL_DIMS
    return embeddings, len(embeddings.embed_query("dimension probe"))


def _fail(message: Any, code: int = BAD_USAGE) -> typer.Exit:
    """Print ``message`` on stderr (as JSON under ``--json``); the exit to raise."""
    if _JSON_ERRORS.get():
        typer.echo(json.dumps({"error": str(message), "exit_code": code}), err=True)
    else:
        err.print(f"[red]error:[/red] {escape(str(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _postgres_url(db: Path) -> str | None:
    """``--db`` given as a ``postgresql://`` URL (as a ``Path`` its ``//`` became ``/``)."""
    match = re.match(r"(postgres(?:ql)?):/+(.*)", str(db), flags=re.S)
    return f"{match[1]}://{match[2]}" if match else None


def _open_postgres(
    url: str, embed: str | None, *, read: bool, default_embed: str = DEFAULT_EMBED, **kwargs: Any
) -> Any:
    """A ``PostgresStore`` at ``url`` with ``embed``, else the one its schema records.
    Read commands refuse a database that holds no store (they create nothing)."""
    import psycopg

    from langmem.store.postgres import PostgresStore, _connect_error, _describe

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            exists = _scalar(conn, "SELECT to_regclass('langmem_items') IS NOT NULL")
            meta = _scalar(conn, "SELECT to_regclass('langmem_meta') IS NOT NULL")
            rows: list[tuple[Any, ...]] = (
                conn.execute("SELECT key, value FROM langmem_meta").fetchall() if meta else []
            )
    except psycopg.Error as exc:
        raise _connect_error(url, exc) from None
    if read and not exists:
        raise ConfigurationError(f"{_describe(url)}: holds no langmem store (nothing to read)")
    embed = embed or dict(rows).get("embedder") or default_embed
    embeddings, dims = _embedder(embed)
    return PostgresStore(url, index={"dims": dims, "embed": embeddings}, **kwargs)


def _scalar(conn: psycopg.Connection, sql: str) -> Any:
    """The value of a one-row, one-column query."""
    row = conn.execute(sql).fetchone()
    assert row is not None  # a SELECT without FROM returns one row
    return row[0]


def _check_path(db: Path, *, must_exist: bool) -> None:
    if db.is_dir():
        raise _fail(f"{db}: is a directory, not a database file")
    if not db.exists():
        if must_exist:
            raise _fail(f"{db}: no such database file (check --db or LANGMEM_DB)")
        if not db.absolute().parent.is_dir():
            raise _fail(f"{db}: the folder {db.absolute().parent} does not exist")
    elif must_exist and db.stat().st_size == 0:
        raise _fail(f"{db}: an empty file (0 bytes), not a langmem store; it was left unchanged")


def _built_with(db: Path) -> tuple[str | None, int | None]:
    """``(embedder name, dims)`` the file was built with, as far as it records them.

    Reads the file without changing it; an empty file is a new database. A
    non-SQLite, corrupt or foreign file raises :class:`ConfigurationError`.
    """
    from langmem.store.sqlite import inspect_database

    if db.stat().st_size == 0:
        return None, None
    info = inspect_database(db)
    return info.embedder, info.dims


def _choose_embed(db: Path, embed: str | None, default: str = DEFAULT_EMBED) -> str:
    """``embed``, or the file's own embedder; a mismatch with the file is refused."""
    name, dims = _built_with(db) if db.exists() else (None, None)
    if embed is None:
        # A file that records no embedder: the CLI's embedder with its vectors' dims.
        return name or {256: "hash"}.get(dims or 0, default)
    if name is not None and name != embed:
        raise ConfigurationError(
            f"{db} was built with the embedder {name!r}"
            + (f" ({dims} dims)" if dims else "")
            + f", not {embed!r}: omit --embed to use it"
        )
    if name is None and dims is not None:
        wanted = _embedder(embed)[1]
        if wanted != dims:
            raise ConfigurationError(
                f"{db} holds {dims}-dim vectors, but the embedder {embed!r} makes {wanted}: "
                "pass the --embed the file was built with"
            )
    return embed


@contextlib.contextmanager
def _store(
    db: Path,
    embed: str | None,
    *,
    read: bool,
    status: str | None = None,
    default_embed: str = DEFAULT_EMBED,
    **kwargs: Any,
) -> Iterator[Any]:
    """The open store, or a one-line error (exit 2) naming the file and the problem.

    ``read``: the file must exist. ``status``: shown while the store opens.
    ``default_embed``: the embedder of a new store when ``embed`` is None.
    """
    url = _postgres_url(db)
    if url is None:
        _check_path(db, must_exist=read)
    try:
        with err.status(status) if status else contextlib.nullcontext():
            if url is not None:
                store = _open_postgres(url, embed, read=read, default_embed=default_embed, **kwargs)
            else:
                store = open_store(db, _choose_embed(db, embed, default_embed), **kwargs)
    except (ValueError, OSError, sqlite3.DatabaseError) as exc:  # ConfigurationError too
        raise _fail(_about(db, exc)) from None
    with store:
        try:
            yield store
        except (sqlite3.DatabaseError, PermissionError) as exc:  # damaged, or open read-only
            raise _fail(_about(db, exc)) from None


def _existing(store: Any, namespace: str, key: str) -> Any:
    """The item at ``key``, or exit 1 (not found)."""
    item = store.get(_ns(namespace), key)
    if item is None:
        raise _fail(f"no memory {key!r} in {namespace}", NOT_FOUND)
    return item


def _about(db: Path, exc: BaseException) -> str:
    text = str(exc)
    return text if str(db) in text or _postgres_url(db) else f"{db}: {text}"


def _shown(db: Path) -> str:
    """``db`` as printed: a Postgres URL without its password."""
    url = _postgres_url(db)
    if url is None:
        return str(db)
    from langmem.store.postgres import _describe

    return _describe(url)


def _ns(text: str) -> tuple[str, ...]:
    parts = tuple(p for p in text.split("/") if p)
    if not parts:
        raise typer.BadParameter("a namespace needs at least one label, e.g. users/alice")
    return parts


def _progress() -> Progress:
    """A progress bar on stderr: done/total, rate, elapsed time and time remaining."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


class _RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word.replace('memory', 'memorie')}s"


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


# --- the demo -------------------------------------------------------------------------


@app.command()
def demo(
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            envvar="LANGMEM_MODEL",
            help="'provider:model' chat model; when set, also extract memories with it.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Memories shown per question.")] = 3,
) -> None:
    """Remember a sample conversation and show what it recalls.

    The turns go to the namespace demo/conversation (replaced on every run).
    """
    chat_model = _chat_model(model) if model else None  # a setup problem stops us first
    sample = json.loads(resources.files("langmem").joinpath(SAMPLE).read_text("utf-8"))
    turns = [
        (f"s{i}-t{j}", session["date"], speaker, text)
        for i, session in enumerate(sample["sessions"], 1)
        for j, (speaker, text) in enumerate(session["turns"], 1)
    ]
    opening = "Loading the embedder and opening the store..."
    with _store(db, embed, read=False, status=opening, origin="langmem demo") as store:
        store.erase(DEMO_NAMESPACE)  # a rerun starts from the same state
        with _progress() as progress:
            task = progress.add_task("Remembering the conversation", total=len(turns))
            for start in range(0, len(turns), 8):
                batch = turns[start : start + 8]
                store.batch(
                    [
                        PutOp(
                            DEMO_NAMESPACE,
                            key,  # "kind": "turn": adjacent turns lend each other evidence
                            {"kind": "turn", "speaker": who, "text": f"[{date}] {who}: {text}"}
                            | {"date": date},
                        )
                        for key, date, who, text in batch
                    ]
                )
                progress.advance(task, len(batch))
        where = "/".join(DEMO_NAMESPACE)
        console.print(
            f"Remembered [bold]{len(turns)}[/bold] turns of '{escape(sample['title'])}' in "
            f"[cyan]{escape(_shown(db))}[/cyan], namespace [cyan]{where}[/cyan].",
            highlight=False,
        )
        console.print(
            "score: meaning + keyword + token matches (+ adjacent turns); higher is closer, "
            "comparable within one question only."
        )
        for question in sample["questions"]:
            hits = store.search(DEMO_NAMESPACE, query=question, limit=limit)
            _print_hits(question, hits)
        if chat_model is not None and model is not None:  # chat_model comes from model
            _extract(store, chat_model, model, sample, limit)
        else:
            console.print(
                "Set [bold]LANGMEM_MODEL=provider:model[/bold] (e.g. openai:gpt-4o-mini) to also "
                "extract memories with a language model."
            )
    db_arg = "" if db == DEFAULT_DB else f" --db {_shown(db)}"
    console.print(
        f'Try: [bold]langmem search {where} "{escape(sample["questions"][0])}"{escape(db_arg)}[/bold]'
        f" or [bold]langmem list {where}{escape(db_arg)}[/bold]",
        highlight=False,
    )


def _chat_model(model: str) -> Any:
    from langmem._models import resolve_chat_model

    try:
        return resolve_chat_model(model)
    except (ConfigurationError, TypeError) as exc:
        raise _fail(exc) from None


def _extract(store: Any, chat_model: Any, model: str, sample: dict, limit: int) -> None:
    from langmem.knowledge.store_manager import create_memory_store_manager

    manager = create_memory_store_manager(chat_model, namespace=DEMO_MEMORIES, store=store)
    store.erase(DEMO_MEMORIES)
    user = sample["user"]
    with _progress() as progress:
        task = progress.add_task(f"Extracting memories with {model}", total=len(sample["sessions"]))
        for session in sample["sessions"]:
            messages: list[MessageLikeRepresentation] = [
                {"role": "user" if speaker == user else "assistant", "content": text}
                for speaker, text in session["turns"]
            ]
            manager.invoke({"messages": messages})
            progress.advance(task)
    memories = store.search(DEMO_MEMORIES, limit=100)
    console.print(_table(Text(f"{_plural(len(memories), 'memory')} extracted by {model}"), memories))
    question = sample["questions"][0]
    _print_hits(question, store.search(DEMO_MEMORIES, query=question, limit=limit))


def _print_hits(question: str, hits: list, *, where: bool = False) -> None:
    console.print(_table(Text(question, style="bold"), hits, score=True, where=where))


def _table(
    title: str | Text, items: list, *, score: bool = False, where: bool = False, updated: bool = False
) -> Table:
    """Memories as a table: keys in full (they are pasted into other commands) and
    every text shown as written (never read as markup)."""
    table = Table(title=title, title_justify="left")
    if score:
        table.add_column("score", justify="right", style="green")
    if where:
        table.add_column("namespace", style="cyan", overflow="fold")
    widest = max((len(item.key) for item in items), default=3)
    table.add_column("key", style="dim", no_wrap=True, min_width=min(widest, 40))
    if updated:
        table.add_column("updated", no_wrap=True)
    table.add_column("memory", ratio=1, min_width=24)
    timed = any(getattr(i, "valid_from", None) or getattr(i, "valid_until", None) for i in items)
    if timed:
        table.add_column("when", no_wrap=True)
    for item in items:
        row: list[str | Text] = []
        if score:
            row.append("" if item.score is None else f"{item.score:.3f}")
        if where:
            row.append(Text("/".join(item.namespace)))
        row.append(Text(item.key))
        if updated:
            row.append(f"{item.updated_at:%Y-%m-%d %H:%M}")
        row.append(Text(memory_text(item.value)))
        if timed:
            row.append(_period(item))
        table.add_row(*row)
    return table


def _period(item: Any) -> str:
    """When a memory held, as far as known: ``2024-03-01 → 2024-06-01``."""
    start, end = getattr(item, "valid_from", None), getattr(item, "valid_until", None)
    if start is None and end is None:
        return ""
    days = ["?" if at is None else f"{at:%Y-%m-%d}" for at in (start, end)]
    return f"{days[0]} →" if end is None else f"{days[0]} → {days[1]}"


def _time(text: str | None, what: str) -> datetime | None:
    """An option's ISO 8601 date or time; a bad one is a usage error (exit 2)."""
    try:
        return None if text is None else parse_when(text, what)
    except ValueError as exc:
        raise _fail(exc) from None


_TIME_HELP = "an ISO 8601 date or date and time, e.g. 2024-03-01"


# --- one memory -----------------------------------------------------------------------


@app.command()
def add(
    namespace: Namespace,
    text: Annotated[str, typer.Argument(help="The memory's text (indexed for search).")],
    key: Annotated[
        str | None, typer.Option(help="Key in the namespace (default: a new uuid4).")
    ] = None,
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    importance: Importance = None,
    when: Annotated[
        str | None, typer.Option(help=f"When it happened or began to hold: {_TIME_HELP}.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Store (or replace) one memory; prints its key, and any memory of the namespace
    that says nearly the same (to update instead: the new one is stored anyway)."""
    ns, key = _ns(namespace), key or str(uuid.uuid4())
    value = _checked(memory_value, text, importance)
    if when is not None:
        value = with_event_time(value, valid_from=_time(when, "--when"))
    from langmem.store.near import as_dicts, find_similar

    with _store(db, embed, read=False, origin="langmem cli") as store:
        similar = find_similar(store, ns, value["content"], exclude=key)  # named, not merged
        store.put(ns, key, value)
    if as_json:
        _echo_json({"namespace": list(ns), "key": key, "value": value, "similar": as_dicts(similar)})
        return
    console.print(f"Stored [bold]{escape(key)}[/bold] in {escape(namespace)}.", highlight=False)
    for hit in similar:
        console.print(
            Text(
                f"Note: similar existing memory {hit.key}: {memory_text(hit.value)!r}; "
                f"update it instead if it is the same fact (langmem update {namespace} {hit.key} ...)",
                style="yellow",
            ),
            highlight=False,
        )


def _checked(make: Any, *args: Any) -> dict:
    """``make(*args)``, a memory value; its ``ValueError`` is a usage error (exit 2)."""
    try:
        return make(*args)
    except ValueError as exc:
        raise _fail(exc) from None


@app.command()
def get(
    namespace: Namespace, key: Key, db: Db = DEFAULT_DB, embed: Embed = None, as_json: Json = False
) -> None:
    """Show one memory (exit 1 if there is none)."""
    with _store(db, embed, read=True) as store:
        item = _existing(store, namespace, key)
    if as_json:
        _echo_json(item.dict())
    else:
        console.print(memory_text(item.value), highlight=False, markup=False)
        console.print(
            Text(
                f"{namespace}/{key} · created {item.created_at:%Y-%m-%d %H:%M:%S} · "
                f"updated {item.updated_at:%Y-%m-%d %H:%M:%S}",
                style="dim",
            ),
            highlight=False,
        )


@app.command()
def update(
    namespace: Namespace,
    key: Key,
    text: Annotated[str, typer.Argument(help="The memory's new text.")],
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    importance: Importance = None,
    as_json: Json = False,
) -> None:
    """Replace the text of a memory, keeping its other fields. Exit 1 if there is none."""
    ns = _ns(namespace)
    _checked(memory_value, text, importance)  # a blank text is refused before the store opens
    with _store(db, embed, read=True, origin="langmem cli") as store:
        item = _existing(store, namespace, key)
        value = _checked(with_text, item.value, text)
        if importance is not None:
            value["importance"] = importance
        store.put(ns, key, value)
    if as_json:
        _echo_json({"namespace": list(ns), "key": key, "value": value})
    else:
        console.print(f"Updated [bold]{escape(key)}[/bold] in {escape(namespace)}.", highlight=False)


@app.command()
def delete(
    namespace: Namespace, key: Key, db: Db = DEFAULT_DB, embed: Embed = None, as_json: Json = False
) -> None:
    """Delete one memory, keeping its history. 'erase' leaves no trace; exit 1 if none."""
    ns = _ns(namespace)
    with _store(db, embed, read=True, origin="langmem cli") as store:
        _existing(store, namespace, key)
        store.delete(ns, key)
    if as_json:
        _echo_json({"namespace": list(ns), "key": key, "deleted": True})
    else:
        console.print(
            f"Deleted [bold]{escape(key)}[/bold] from {escape(namespace)}.", highlight=False
        )


# --- reading ------------------------------------------------------------------------------


@app.command()
def search(
    namespace: Namespace,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    limit: Annotated[int, typer.Option(min=1, help="How many memories to show.")] = 5,
    mode: Annotated[str, typer.Option(help="Ranking: 'hybrid', 'vector' or 'keyword'.")] = "hybrid",
    as_json: Json = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show why: each score's parts and matched words.")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option(help=f"Only what was true then: {_TIME_HELP}.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help=f"Only what happened at or after: {_TIME_HELP}.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help=f"Only what happened before: {_TIME_HELP}.")
    ] = None,
    include_closed: IncludeClosed = False,
) -> None:
    """Search memories related to QUERY. Searches the namespace and those below it.
    Memories that stopped being true are left out unless asked for by time."""
    times = {
        "as_of": _time(as_of, "--as-of"),
        "since": _time(since, "--since"),
        "until": _time(until, "--until"),
    }
    if times["since"] and times["until"] and times["until"] <= times["since"]:
        raise _fail("--until must be after --since")
    with _store(db, embed, read=True, search_mode=mode) as store:
        hits = store.search(
            _ns(namespace),
            query=query,
            limit=limit,
            explain=explain,
            include_closed=include_closed,
            **times,
        )
    if as_json:
        _echo_json([hit.dict() for hit in hits])
        return
    _print_hits(query, hits, where=_elsewhere(hits, namespace))
    if explain and hits:
        from langmem.store._read import explanation_text

        for hit in hits:
            console.print(Text(f"{hit.key}  {explanation_text(hit)}"))
        for runner in getattr(hits[-1], "explanation", {}).get("runners_up", ()):
            console.print(Text(f"ranked out: {runner['key']}  {explanation_text(runner)}"))


@app.command("list")
def list_(
    namespace: Namespace,
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    limit: Annotated[int, typer.Option(min=1, help="How many memories to show.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="How many to skip (paging).")] = 0,
    as_json: Json = False,
    include_closed: IncludeClosed = False,
) -> None:
    """List the memories of a namespace, newest first. Includes those below it."""
    with _store(db, embed, read=True) as store:
        items = store.search(
            _ns(namespace),
            limit=limit,
            offset=offset,
            refresh_ttl=False,
            include_closed=include_closed,
        )
    if as_json:
        _echo_json([item.dict() for item in items])
        return
    title = f"{namespace}: {_plural(len(items), 'memory')}" + (f" from {offset + 1}" if offset else "")
    console.print(_table(Text(title), items, where=_elsewhere(items, namespace), updated=True))


def _elsewhere(items: list, namespace: str) -> bool:
    """Whether some of ``items`` lie below ``namespace`` (so the table names theirs)."""
    return any(item.namespace != _ns(namespace) for item in items)


@app.command()
def history(
    namespace: Namespace, key: Key, db: Db = DEFAULT_DB, embed: Embed = None, as_json: Json = False
) -> None:
    """Show every version of one memory, oldest first: when, what, who, why, and how its
    text changed. Exit 1 if there is none."""
    with _store(db, embed, read=True) as store:
        entries = store.history(_ns(namespace), key)
    if not entries:
        raise _fail(f"no history for {key!r} in {namespace}", NOT_FOUND)
    if as_json:
        from langmem.store.transfer import ExportedChange

        _echo_json([ExportedChange.of(e).model_dump(mode="json") for e in entries])
        return
    console.print(Text(f"history of {namespace}/{key}", style="bold"))
    for e in entries:
        console.print(
            Text(
                f"version {e.version} · {e.at:%Y-%m-%d %H:%M:%S} · {e.action} · "
                f"{e.origin or 'origin unknown'}",
                style="bold",
            )
        )
        if e.reason:
            console.print(Text(f"  why: {e.reason}", style="dim"))
        for line in _diff(e.old_value, e.new_value) or ["  (text unchanged)"]:
            console.print(Text(line, style={"-": "red", "+": "green"}.get(line[2], "")))


def _diff(old: Any, new: Any) -> list[str]:
    """The lines of a memory's text that a change removed (``-``) and added (``+``)."""
    before, after = ([] if v is None else memory_text(v).splitlines() for v in (old, new))
    return [f"  {line}" for line in difflib.ndiff(before, after) if line[:2] in ("- ", "+ ")]


@app.command()
def revert(
    namespace: Namespace,
    key: Key,
    version: Annotated[int, typer.Argument(help="The version to put back (see: langmem history).")],
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    as_json: Json = False,
) -> None:
    """Put back an earlier version of a memory, or a deleted one, as a new version; prints
    its number. Exit 1 if there is no such memory or version."""
    ns = _ns(namespace)
    with _store(db, embed, read=True, origin="langmem cli") as store:
        try:
            new = store.revert(ns, key, version)
        except ValueError as exc:
            raise _fail(f"{namespace}/{key}: {exc}", NOT_FOUND) from None
    if as_json:
        _echo_json({"namespace": list(ns), "key": key, "reverted_to": version, "version": new})
    else:
        console.print(
            f"Restored version {version} of [bold]{escape(key)}[/bold] in {escape(namespace)}"
            f" as version {new}.",
            highlight=False,
        )


@app.command()
def namespaces(
    prefix: Annotated[
        str | None, typer.Argument(help="Only namespaces under this one (users/alice).")
    ] = None,
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    max_depth: Annotated[
        int | None, typer.Option(help="Truncate namespaces to this depth.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List the namespaces that hold memories."""
    with _store(db, embed, read=True) as store:
        found = store.list_namespaces(
            prefix=_ns(prefix) if prefix else None, max_depth=max_depth, limit=10_000
        )
    if as_json:  # lists of labels, as search and list give an item's namespace
        _echo_json([list(ns) for ns in found])
        return
    for ns in found:
        console.print("/".join(ns), highlight=False, markup=False)


@app.command()
def erase(
    namespace: Namespace,
    key: Annotated[
        str | None, typer.Option(help="Erase only this memory (default: the whole namespace).")
    ] = None,
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Json = False,
) -> None:
    """Erase a memory or a namespace, leaving no trace.

    Its history goes too, and the file is compacted. Exit 1 if there is nothing to erase.
    """
    target = f"{namespace}/{key}" if key else f"everything under {namespace}"
    ns = _ns(namespace)
    with _store(db, embed, read=True) as store:
        if key:  # a deleted memory still has a history to erase
            held = store.get(ns, key) is not None or bool(store.history(ns, key))
            if not held:
                raise _fail(f"no memory {key!r} in {namespace}: nothing to erase", NOT_FOUND)
        else:
            held = bool(store.search(ns, limit=1, refresh_ttl=False, include_closed=True))
        if held and not yes:
            typer.confirm(f"Erase {target}?", abort=True)
        count = store.erase(ns, key)  # with no memory held, only deleted ones' history goes
    if not held:
        raise _fail(
            f"no memories under {namespace} in {_shown(db)}: nothing to erase "
            "(see: langmem namespaces)",
            NOT_FOUND,
        )
    if as_json:
        _echo_json({"namespace": list(ns), "key": key, "erased": count})
    else:
        console.print(f"Erased {_plural(count, 'memory')} ({escape(target)}).", highlight=False)


# --- moving memories ----------------------------------------------------------------------


@app.command("export")
def export_(
    namespace: Annotated[
        str | None, typer.Argument(help="Only this namespace and those below it.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="JSONL file to write ('-': stdout).")
    ] = Path("-"),
    with_history: Annotated[
        bool, typer.Option("--history", help="Include each memory's change history.")
    ] = False,
    db: Db = DEFAULT_DB,
    embed: Embed = None,
) -> None:
    """Write memories as JSON Lines, for 'langmem import'.

    A header records the source's index settings and the record count; then one
    line per memory: keys, values and timestamps (and history with --history).
    """
    from langmem.store.transfer import export_header, export_items, write_jsonl

    prefix = _ns(namespace) if namespace else ()
    with _store(db, embed, read=True) as store, _progress() as progress:
        task = progress.add_task("Exporting", total=None)
        records = export_items(
            store, prefix, history=with_history, on_progress=lambda n: progress.advance(task, n)
        )
        progress.update(task, total=len(records))
        header = export_header(store, records)
    if str(out) == "-":
        write_jsonl(records, sys.stdout, header=header)
        sys.stdout.flush()
    else:
        with open(out, "w", encoding="utf-8") as f:
            write_jsonl(records, f, header=header)
    err.print(f"Exported {_plural(len(records), 'memory')}.", highlight=False)


@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="JSONL file from 'langmem export' ('-': stdin).")],
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    as_json: Json = False,
) -> None:
    """Read memories from 'langmem export', indexed for search.

    Timestamps and history are kept. Rerun an interrupted import to finish it:
    memories already imported are skipped, none is duplicated.
    """
    from langmem.store.transfer import IndexSettings, import_items, read_export

    try:
        if str(source) == "-":
            header, records = read_export(sys.stdin)
        else:
            with open(source, encoding="utf-8") as f:
                header, records = read_export(f)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(f"{source}: {exc}") from None
    source_embed = header.index.embedder if header and header.index else None
    # A new store embeds as the source did, when that embedder can be named here.
    fallback = source_embed if source_embed and _buildable(source_embed) else DEFAULT_EMBED
    done = 0
    with _store(db, embed, read=False, default_embed=fallback, origin="langmem import") as store:
        settings = IndexSettings.of(store)
        target_embed = settings.embedder if settings else None
        if source_embed and target_embed and source_embed != target_embed and not as_json:
            err.print(
                f"Embedding with {target_embed!r} (the export was made with {source_embed!r}).",
                highlight=False,
                markup=False,
            )
        with _progress() as progress:
            task = progress.add_task("Importing", total=len(records))

            def advance(n: int) -> None:
                nonlocal done
                done += n
                progress.advance(task, n)

            try:
                count = import_items(store, records, on_progress=advance)
            except KeyboardInterrupt:
                progress.stop()
                raise _fail(
                    f"interrupted: {done} of {len(records)} records are in {_shown(db)} (each "
                    "batch is committed whole). Run the same command again to import the rest: "
                    "records already imported are skipped, none is duplicated.",
                    INTERRUPTED,
                ) from None
    if as_json:
        _echo_json({"imported": count, "skipped": len(records) - count})
    else:
        same = len(records) - count
        console.print(
            f"Imported {_plural(count, 'memory')} into {escape(_shown(db))}"
            + (f" ({same} already there, unchanged)." if same else "."),
            highlight=False,
        )


def _buildable(embed: str) -> bool:
    """Whether ``embed`` names an embedder the CLI can build (not a class name)."""
    return embed in ("local", "hash") or re.fullmatch(r"[\w.-]+:\S+", embed) is not None


@app.command()
def extract(
    source: Annotated[
        Path,
        typer.Argument(
            help="Conversation: JSON (a list of {role, content} messages or {\"messages\": [...]}) "
            "or text, one 'role: message' line per turn ('-': stdin)."
        ),
    ],
    namespace: Annotated[str, typer.Option(help="Where the memories go.")] = "memories",
    model: Model = None,
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    as_json: Json = False,
) -> None:
    """Extract memories from a conversation with a model. They go to --namespace."""
    from langmem.knowledge.store_manager import create_memory_store_manager

    if not model:
        raise _fail("extract needs a model: pass --model provider:model or set LANGMEM_MODEL")
    try:
        text = sys.stdin.read() if str(source) == "-" else source.read_text(encoding="utf-8")
        messages = parse_conversation(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(f"{source}: {exc}") from None
    chat_model = _chat_model(model)
    ns = _ns(namespace)
    with _store(db, embed, read=False, origin=f"langmem extract ({model})") as store:
        manager = create_memory_store_manager(chat_model, namespace=ns, store=store)
        with err.status(f"Extracting memories with {model}..."):
            puts = manager.invoke({"messages": list(messages)})
    if as_json:
        _echo_json([{**p, "namespace": list(p["namespace"])} for p in puts])
        return
    table = Table(title=Text(f"{_plural(len(puts), 'memory')} written by {model}"))
    table.add_column("key", style="dim", no_wrap=True)
    table.add_column("memory")
    for put in puts:
        table.add_row(Text(put["key"]), Text(memory_text(put["value"])))
    console.print(table)


# --- the MCP server -------------------------------------------------------------------------


@app.command()
def mcp(
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    namespace: Annotated[
        str,
        typer.Option(
            help="Namespace of the memories; {user_id} is filled from --user.",
        ),
    ] = "memories/{user_id}",
    user: Annotated[
        str | None, typer.Option(envvar="LANGMEM_USER", help="User id for {user_id}.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            envvar="LANGMEM_MODEL",
            help="'provider:model' chat model; enables the extract_memories tool.",
        ),
    ] = None,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP, not stdio.")] = False,
    host: Annotated[str, typer.Option(help="HTTP host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 8000,
) -> None:
    """Serve the memories to any MCP client.

    Claude Desktop, Claude Code, Cursor and others: stdio by default, or
    streamable HTTP with --http.
    """
    try:
        from langmem.mcp import create_server, resolve_namespace
    except ImportError as exc:
        from langmem._extras import install_extra

        raise _fail(f"the MCP server needs the mcp extra ({exc}): {install_extra('mcp')}") from None
    try:
        ns = resolve_namespace(namespace, user)
    except ValueError as exc:
        raise _fail(exc) from None
    chat_model = _chat_model(model) if model else None
    if http:
        _check_port(host, port)  # before the store opens: a busy port leaves no new file
    with _store(db, embed, read=False, origin="langmem mcp") as store:
        server = create_server(store, namespace=ns, model=chat_model)
        err.print(
            f"langmem MCP server: {_shown(db)}, namespace {'/'.join(ns)}"
            + (f", http://{host}:{port}/mcp" if http else ", stdio"),
            highlight=False,
            markup=False,
        )
        if http:
            server.run("streamable-http", host=host, port=port)
        else:
            server.run("stdio")


# --- the web console ---------------------------------------------------------------------


@app.command()
def ui(
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    host: Annotated[
        str, typer.Option(help="Address to serve on; another than loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="LANGMEM_UI_TOKEN",
            help="Access token every request must carry (16+ characters).",
            show_default=False,
        ),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Show everything, change nothing.")
    ] = False,
    namespace: Annotated[
        str | None, typer.Option(help="Show only this namespace and those below (users/alice).")
    ] = None,
) -> None:
    """Browse, search, edit and erase the memories in a web console.

    Prints the console's address, then serves it until Ctrl-C.
    """
    try:
        import uvicorn

        from langmem.console import create_app
        from langmem.console.guard import is_loopback
    except ImportError as exc:
        from langmem._extras import install_extra

        raise _fail(f"the console needs the ui extra ({exc}): {install_extra('ui')}") from None

    if token is not None and len(token) < 16:
        raise _fail(
            "--token needs 16 characters or more, e.g. from: "
            "python -c 'import secrets; print(secrets.token_urlsafe())'"
        )
    if token is None and not is_loopback(host):
        raise _fail(
            f"serving on {host} lets other machines in: pass --token (or set "
            "LANGMEM_UI_TOKEN), or serve on 127.0.0.1"
        )
    root = _ns(namespace) if namespace else ()
    sock = _bound(host, port)
    # Looking is not recalling: SQLite files open read-only, Postgres records no access.
    looking: dict[str, Any] = (
        {"read_only": True} if _postgres_url(db) is None else {"record_access": False}
    )
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(_store(db, embed, read=True, **(looking if read_only else {})))

        def mode_store(mode: str) -> Any:  # one per search mode, opened on first use
            return stack.enter_context(_store(db, embed, read=True, search_mode=mode, **looking))

        try:
            console_app = create_app(
                store,
                namespace=root,
                read_only=read_only,
                token=token,
                hosts=None if token else [host],
                mode_store=mode_store,
                title=_shown(db),
            )
        except ValueError as exc:  # a --namespace no store can hold
            raise _fail(f"--namespace {namespace}: {exc}") from None
        bound = sock.getsockname()[1]
        where = f"[{host}]" if ":" in host else host
        shown_host = where if host not in ("0.0.0.0", "::") else socket.gethostname()
        url = f"http://{shown_host}:{bound}/" + (f"?token={quote(token)}" if token else "")
        typer.echo(url)
        err.print(
            f"langmem console: {_shown(db)}"
            + (f", namespace {'/'.join(root)}" if root else "")
            + (", read-only" if read_only else "")
            + ". Ctrl-C stops it.",
            highlight=False,
            markup=False,
        )
        config = uvicorn.Config(console_app, log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[sock])


def _bound(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, or exit 2 with a message."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        sock = socket.socket(infos[0][0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
        sock.listen(128)
    except OSError as exc:
        raise _fail(
            f"cannot serve on {host}:{port} ({exc.strerror or exc}): another server may be "
            "using the port; pick another with --port"
        ) from None
    return sock


def _check_port(host: str, port: int) -> None:
    """Exit 2 with a message unless ``host:port`` can be bound now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
            probe.bind(infos[0][4])
    except OSError as exc:
        raise _fail(
            f"cannot serve on {host}:{port} ({exc.strerror or exc}): another server may be "
            "using the port; pick another with --port"
        ) from None


if __name__ == "__main__":  # pragma: no cover
    main()
