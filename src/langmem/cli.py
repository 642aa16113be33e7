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
import json
import re
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from importlib import metadata, resources
from pathlib import Path
from typing import Annotated, Any

import typer
from langgraph.store.base import PutOp
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from langmem.errors import ConfigurationError

app = typer.Typer(
    help="Long-term memory for LLM agents: try the demo, manage memories, or serve them over MCP.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

DEMO_NAMESPACE = ("demo", "conversation")
DEMO_MEMORIES = ("demo", "memories")
SAMPLE = "data/sample_conversation.json"
# What gets embedded and keyword-indexed: demo turns keep their text in "text";
# memories (``add``, ``extract``, the MCP server) are stored as the store manager
# stores them, ``{"kind": "Memory", "content": {"content": ...}}``.
FIELDS = ["text", "content.content"]
DEFAULT_EMBED = "local"

NOT_FOUND, BAD_USAGE = 1, 2

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
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Namespace = Annotated[str, typer.Argument(help="Namespace, slash-separated (users/alice).")]
Key = Annotated[str, typer.Argument(help="Key of the memory in its namespace.")]
Importance = Annotated[
    float | None, typer.Option(min=0.0, max=1.0, help="Importance in [0, 1].")
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


# --- opening the store --------------------------------------------------------------


def open_store(db: Path, embed: str, **kwargs: Any):
    """An ``SQLiteStore`` at ``db`` indexing :data:`FIELDS` with ``embed``."""
    from langmem.store import SQLiteStore

    embeddings, dims = _embedder(embed)
    index = {"dims": dims, "embed": embeddings, "fields": FIELDS}
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
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _postgres_url(db: Path) -> str | None:
    """``--db`` given as a ``postgresql://`` URL (as a ``Path`` its ``//`` became ``/``)."""
    match = re.match(r"(postgres(?:ql)?):/+(.*)", str(db), flags=re.S)
    return f"{match[1]}://{match[2]}" if match else None


def _open_postgres(url: str, embed: str | None, *, read: bool, **kwargs: Any) -> Any:
    """A ``PostgresStore`` at ``url`` with ``embed``, else the one its schema records.
    Read commands refuse a database that holds no store (they create nothing)."""
    import psycopg

    from langmem.store.postgres import PostgresStore, _connect_error, _describe

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            exists = conn.execute("SELECT to_regclass('langmem_items') IS NOT NULL").fetchone()[0]
            meta = conn.execute("SELECT to_regclass('langmem_meta') IS NOT NULL").fetchone()[0]
            rows = conn.execute("SELECT key, value FROM langmem_meta").fetchall() if meta else []
    except psycopg.Error as exc:
        raise _connect_error(url, exc) from None
    if read and not exists:
        raise ConfigurationError(f"{_describe(url)}: holds no langmem store (nothing to read)")
    embed = embed or dict(rows).get("embedder") or DEFAULT_EMBED
    embeddings, dims = _embedder(embed)
    index = {"dims": dims, "embed": embeddings, "fields": FIELDS}
    return PostgresStore(url, index=index, **kwargs)


def _check_path(db: Path, *, must_exist: bool) -> None:
    if db.is_dir():
        raise _fail(f"{db}: is a directory, not a database file")
    if not db.exists():
        if must_exist:
            raise _fail(f"{db}: no such database file (check --db or LANGMEM_DB)")
        if not db.absolute().parent.is_dir():
            raise _fail(f"{db}: the folder {db.absolute().parent} does not exist")


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


def _choose_embed(db: Path, embed: str | None) -> str:
    """``embed``, or the file's own embedder; a mismatch with the file is refused."""
    name, dims = _built_with(db) if db.exists() else (None, None)
    if embed is None:
        # A file that records no embedder: the CLI's embedder with its vectors' dims.
        return name or {256: "hash"}.get(dims or 0, DEFAULT_EMBED)
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
    db: Path, embed: str | None, *, read: bool, status: str | None = None, **kwargs: Any
) -> Iterator[Any]:
    """The open store, or a one-line error (exit 2) naming the file and the problem.

    ``read``: the file must exist. ``status``: shown while the store opens.
    """
    url = _postgres_url(db)
    if url is None:
        _check_path(db, must_exist=read)
    try:
        with err.status(status) if status else contextlib.nullcontext():
            if url is not None:
                store = _open_postgres(url, embed, read=read, **kwargs)
            else:
                store = open_store(db, _choose_embed(db, embed), **kwargs)
    except (ValueError, OSError, sqlite3.DatabaseError) as exc:  # ConfigurationError too
        raise _fail(_about(db, exc)) from None
    with store:
        try:
            yield store
        except sqlite3.DatabaseError as exc:
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
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word.replace('memory', 'memorie')}s"


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


# --- the demo -------------------------------------------------------------------------


@app.command()
def demo(
    db: Annotated[
        Path, typer.Option("--db", envvar="LANGMEM_DB", help="SQLite file for the demo.")
    ] = Path("langmem-demo.sqlite"),
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
    """Remember a sample conversation in an SQLite file and show what it recalls."""
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
        console.print(
            f"Remembered [bold]{len(turns)}[/bold] turns of '{sample['title']}' in [cyan]{db}[/cyan]."
        )
        console.print(
            "score: meaning + keyword + token matches (+ adjacent turns); higher is closer, "
            "comparable within one question only."
        )
        for question in sample["questions"]:
            hits = store.search(DEMO_NAMESPACE, query=question, limit=limit)
            _print_hits(question, hits)
        if chat_model is not None:
            _extract(store, chat_model, model, sample, limit)
        else:
            console.print(
                "Set [bold]LANGMEM_MODEL=provider:model[/bold] (e.g. openai:gpt-4o-mini) to also "
                "extract memories with a language model."
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
            messages = [
                {"role": "user" if speaker == user else "assistant", "content": text}
                for speaker, text in session["turns"]
            ]
            manager.invoke({"messages": messages})
            progress.advance(task)
    memories = store.search(DEMO_MEMORIES, limit=100)
    table = Table(title=f"{_plural(len(memories), 'memory')} extracted by {model}")
    table.add_column("key", style="dim")
    table.add_column("memory")
    for item in memories:
        table.add_row(item.key, text_of(item.value))
    console.print(table)
    question = sample["questions"][0]
    _print_hits(question, store.search(DEMO_MEMORIES, query=question, limit=limit))


def _print_hits(question: str, hits: list, *, where: bool = False) -> None:
    table = Table(title=f"[bold]{question}[/bold]", title_justify="left", show_header=True)
    table.add_column("score", justify="right", style="green")
    if where:
        table.add_column("namespace", style="cyan")
        table.add_column("key", style="dim")
    table.add_column("memory")
    for hit in hits:
        score = "" if hit.score is None else f"{hit.score:.3f}"
        place = ("/".join(hit.namespace), hit.key) if where else ()
        table.add_row(score, *place, text_of(hit.value))
    console.print(table)


def text_of(value: dict) -> str:
    """The text of a stored memory, whichever shape it was stored in."""
    content = value.get("content")
    if isinstance(content, dict) and isinstance(content.get("content"), str):
        return content["content"]
    text = value.get("text", content)
    return text if isinstance(text, str) else json.dumps(value, ensure_ascii=False)


def memory_value(text: str, importance: float | None = None) -> dict:
    """A memory as the store manager stores it (so ``extract`` and agents can update it)."""
    value: dict[str, Any] = {"kind": "Memory", "content": {"content": text}}
    if importance is not None:
        value["importance"] = importance
    return value


def with_text(value: dict, text: str) -> dict:
    """``value`` with its text replaced where that shape keeps it; other fields kept."""
    new = dict(value)
    content = new.get("content")
    if isinstance(content, dict) and isinstance(content.get("content"), str):
        new["content"] = {**content, "content": text}
    elif isinstance(content, str):
        new["content"] = text
    else:
        new["text"] = text
    return new


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
    as_json: Json = False,
) -> None:
    """Store (or replace) one memory; prints its key."""
    ns, key = _ns(namespace), key or str(uuid.uuid4())
    with _store(db, embed, read=False, origin="langmem cli") as store:
        store.put(ns, key, memory_value(text, importance))
    if as_json:
        _echo_json({"namespace": list(ns), "key": key})
    else:
        console.print(f"Stored [bold]{key}[/bold] in {namespace}.", highlight=False)


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
        console.print(text_of(item.value), highlight=False)
        console.print(
            f"[dim]{namespace}/{key} · created {item.created_at:%Y-%m-%d %H:%M:%S} · "
            f"updated {item.updated_at:%Y-%m-%d %H:%M:%S}[/dim]",
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
    """Replace the text of an existing memory, keeping its other fields (exit 1 if none)."""
    ns = _ns(namespace)
    with _store(db, embed, read=True, origin="langmem cli") as store:
        item = _existing(store, namespace, key)
        value = with_text(item.value, text)
        if importance is not None:
            value["importance"] = importance
        store.put(ns, key, value)
    if as_json:
        _echo_json({"namespace": list(ns), "key": key, "value": value})
    else:
        console.print(f"Updated [bold]{key}[/bold] in {namespace}.", highlight=False)


@app.command()
def delete(
    namespace: Namespace, key: Key, db: Db = DEFAULT_DB, embed: Embed = None, as_json: Json = False
) -> None:
    """Delete one memory, keeping its history (``erase`` leaves no trace); exit 1 if none."""
    ns = _ns(namespace)
    with _store(db, embed, read=True, origin="langmem cli") as store:
        _existing(store, namespace, key)
        store.delete(ns, key)
    if as_json:
        _echo_json({"namespace": list(ns), "key": key, "deleted": True})
    else:
        console.print(f"Deleted [bold]{key}[/bold] from {namespace}.", highlight=False)


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
) -> None:
    """Search a namespace (and those below it) for memories related to QUERY."""
    with _store(db, embed, read=True, search_mode=mode) as store:
        hits = store.search(_ns(namespace), query=query, limit=limit)
    if as_json:
        _echo_json([hit.dict() for hit in hits])
    else:
        _print_hits(query, hits, where=True)


@app.command()
def history(
    namespace: Namespace, key: Key, db: Db = DEFAULT_DB, embed: Embed = None, as_json: Json = False
) -> None:
    """Show every recorded change of one memory, oldest first (exit 1 if none)."""
    with _store(db, embed, read=True) as store:
        entries = store.history(_ns(namespace), key)
    if not entries:
        raise _fail(f"no history for {key!r} in {namespace}", NOT_FOUND)
    if as_json:
        from langmem.store.transfer import ExportedChange

        _echo_json([ExportedChange.of(e).model_dump(mode="json") for e in entries])
        return
    table = Table(title=f"history of {namespace}/{key}")
    for column in ("at", "action", "origin", "new value"):
        table.add_column(column)
    for e in entries:
        new = "" if e.new_value is None else json.dumps(e.new_value, ensure_ascii=False)
        table.add_row(e.at.isoformat(timespec="seconds"), e.action, e.origin or "", new)
    console.print(table)


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
    if as_json:
        _echo_json(["/".join(ns) for ns in found])
        return
    for ns in found:
        console.print("/".join(ns), highlight=False)


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
    """Erase a memory or a namespace, with its history, leaving no trace in the file."""
    target = f"{namespace}/{key}" if key else f"everything under {namespace}"
    ns = _ns(namespace)
    if not yes:
        typer.confirm(f"Erase {target}?", abort=True)
    with _store(db, embed, read=True) as store:
        count = store.erase(ns, key)
    if as_json:
        _echo_json({"namespace": list(ns), "key": key, "erased": count})
    else:
        console.print(f"Erased {_plural(count, 'memory')} ({target}).", highlight=False)


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
    """Write memories as JSON Lines (keys, values, timestamps; history with --history)."""
    from langmem.store.transfer import export_items, write_jsonl

    prefix = _ns(namespace) if namespace else ()
    with _store(db, embed, read=True) as store, _progress() as progress:
        task = progress.add_task("Exporting", total=None)
        records = export_items(
            store, prefix, history=with_history, on_progress=lambda n: progress.advance(task, n)
        )
        progress.update(task, total=len(records))
    if str(out) == "-":
        write_jsonl(records, sys.stdout)
        sys.stdout.flush()
    else:
        with open(out, "w", encoding="utf-8") as f:
            write_jsonl(records, f)
    err.print(f"Exported {_plural(len(records), 'memory')}.", highlight=False)


@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="JSONL file from `langmem export` ('-': stdin).")],
    db: Db = DEFAULT_DB,
    embed: Embed = None,
    as_json: Json = False,
) -> None:
    """Read memories exported by `langmem export`, keeping their timestamps and history."""
    from langmem.store.transfer import import_items, read_jsonl

    try:
        if str(source) == "-":
            records = read_jsonl(sys.stdin)
        else:
            with open(source, encoding="utf-8") as f:
                records = read_jsonl(f)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(f"{source}: {exc}") from None
    with _store(db, embed, read=False, origin="langmem import") as store, _progress() as progress:
        task = progress.add_task("Importing", total=len(records))
        count = import_items(store, records, on_progress=lambda n: progress.advance(task, n))
    if as_json:
        _echo_json({"imported": count})
    else:
        console.print(f"Imported {_plural(count, 'memory')} into {_shown(db)}.", highlight=False)


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
    """Extract memories from a conversation with a language model and store them."""
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
            puts = manager.invoke({"messages": messages})
    if as_json:
        _echo_json([{**p, "namespace": list(p["namespace"])} for p in puts])
        return
    table = Table(title=f"{_plural(len(puts), 'memory')} written by {model}")
    table.add_column("key", style="dim")
    table.add_column("memory")
    for put in puts:
        table.add_row(put["key"], text_of(put["value"]))
    console.print(table)


ROLES = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
}


def parse_conversation(text: str) -> list[dict]:
    """Messages from a conversation given as JSON or as ``role: message`` lines.

    JSON: a list of ``{"role", "content"}`` messages, or an object with
    ``"messages"``. Text: each non-empty line is a turn; a line starting with a
    known role (user, human, assistant, ai, system) and ``:`` takes that role,
    any other line is a user turn.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the conversation is empty")
    if stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
        messages = data.get("messages") if isinstance(data, dict) else data
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages
        ):
            raise ValueError('JSON must be a list of {"role", "content"} messages')
        return [
            {"role": ROLES.get(str(m.get("role", "user")).lower(), "user"), "content": m["content"]}
            for m in messages
        ]
    turns = []
    for line in stripped.splitlines():
        if not line.strip():
            continue
        head, sep, rest = line.partition(":")
        role = ROLES.get(head.strip().lower()) if sep else None
        turns.append({"role": role or "user", "content": (rest if role else line).strip()})
    return turns


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
    """Serve the memories to any MCP client (Claude Desktop, Claude Code, Cursor...)."""
    try:
        from langmem.mcp import create_server, resolve_namespace
    except ImportError as exc:
        raise _fail(f"the MCP server needs the mcp extra: pip install 'langmem-plus[mcp]' ({exc})") from None
    try:
        ns = resolve_namespace(namespace, user)
    except ValueError as exc:
        raise _fail(exc) from None
    chat_model = _chat_model(model) if model else None
    with _store(db, embed, read=False, origin="langmem mcp") as store:
        server = create_server(store, namespace=ns, model=chat_model)
        err.print(
            f"langmem MCP server: {db}, namespace {'/'.join(ns)}"
            + (f", http://{host}:{port}/mcp" if http else ", stdio"),
            highlight=False,
        )
        if http:
            server.run("streamable-http", host=host, port=port)
        else:
            server.run("stdio")


if __name__ == "__main__":  # pragma: no cover
    main()
