"""``langmem`` command line: the demo and thin shells over ``SQLiteStore``.

Every command opens the store file (``--db``, env ``LANGMEM_DB``) with an
embedder (``--embed``, env ``LANGMEM_EMBED``: ``local`` for the offline
MiniLM model, ``hash`` for fast deterministic test vectors, or a
``provider:model`` string), calls one public method and prints the result.
Namespaces are written with slashes: ``users/alice``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from langgraph.store.base import PutOp
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from langmem.errors import ConfigurationError

app = typer.Typer(
    help="Long-term memory for LLM agents: try the demo, or add, search and erase memories.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

DEMO_NAMESPACE = ("demo", "conversation")
DEMO_MEMORIES = ("demo", "memories")
SAMPLE = "data/sample_conversation.json"
# What gets embedded and keyword-indexed: CLI/demo memories keep their text in
# "text"; the store manager's ``Memory`` values keep it in "content.content".
FIELDS = ["text", "content.content"]

Db = Annotated[
    Path, typer.Option("--db", envvar="LANGMEM_DB", help="SQLite file holding the memories.")
]
Embed = Annotated[
    str,
    typer.Option(
        "--embed",
        envvar="LANGMEM_EMBED",
        help="Embedder: 'local' (offline MiniLM), 'hash' (test vectors) or 'provider:model'.",
    ),
]
Namespace = Annotated[str, typer.Argument(help="Namespace, slash-separated (users/alice).")]


def main() -> None:
    """Entry point of the ``langmem`` script."""
    app()


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


def _ns(text: str) -> tuple[str, ...]:
    parts = tuple(p for p in text.split("/") if p)
    if not parts:
        raise typer.BadParameter("a namespace needs at least one label, e.g. users/alice")
    return parts


def _fail(exc: BaseException) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@app.command()
def demo(
    db: Annotated[
        Path, typer.Option("--db", envvar="LANGMEM_DB", help="SQLite file for the demo.")
    ] = Path("langmem-demo.sqlite"),
    embed: Embed = "local",
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
    sample = json.loads(resources.files("langmem").joinpath(SAMPLE).read_text("utf-8"))
    turns = [
        (f"s{i}-t{j}", session["date"], speaker, text)
        for i, session in enumerate(sample["sessions"], 1)
        for j, (speaker, text) in enumerate(session["turns"], 1)
    ]
    try:
        with console.status("Loading the embedder and opening the store..."):
            store = open_store(db, embed, origin="langmem demo")
    except ConfigurationError as exc:
        raise _fail(exc) from None
    with store:
        store.erase(DEMO_NAMESPACE)  # a rerun starts from the same state
        with _progress() as progress:
            task = progress.add_task("Remembering the conversation", total=len(turns))
            for start in range(0, len(turns), 8):
                batch = turns[start : start + 8]
                store.batch(
                    [
                        PutOp(
                            DEMO_NAMESPACE, key, {"text": f"[{date}] {who}: {text}", "date": date}
                        )
                        for key, date, who, text in batch
                    ]
                )
                progress.advance(task, len(batch))
        console.print(
            f"Remembered [bold]{len(turns)}[/bold] turns of '{sample['title']}' in [cyan]{db}[/cyan]."
        )
        for question in sample["questions"]:
            hits = store.search(DEMO_NAMESPACE, query=question, limit=limit)
            _print_hits(question, hits)
        if model:
            _extract(store, model, sample, limit)
        else:
            console.print(
                "Set [bold]LANGMEM_MODEL=provider:model[/bold] (e.g. openai:gpt-4o-mini) to also "
                "extract memories with a language model."
            )


def _extract(store: Any, model: str, sample: dict, limit: int) -> None:
    from langmem.knowledge.store_manager import create_memory_store_manager

    try:
        manager = create_memory_store_manager(model, namespace=DEMO_MEMORIES, store=store)
    except ConfigurationError as exc:
        raise _fail(exc) from None
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
    table = Table(title=f"{len(memories)} memories extracted by {model}")
    table.add_column("key", style="dim")
    table.add_column("memory")
    for item in memories:
        table.add_row(item.key, _text(item.value))
    console.print(table)
    question = sample["questions"][0]
    _print_hits(question, store.search(DEMO_MEMORIES, query=question, limit=limit))


def _print_hits(question: str, hits: list) -> None:
    table = Table(title=f"[bold]{question}[/bold]", title_justify="left", show_header=True)
    table.add_column("score", justify="right", style="green")
    table.add_column("memory")
    for hit in hits:
        score = "" if hit.score is None else f"{hit.score:.3f}"
        table.add_row(score, _text(hit.value))
    console.print(table)


def _text(value: dict) -> str:
    content = value.get("content")
    if isinstance(content, dict) and isinstance(content.get("content"), str):
        return content["content"]
    text = value.get("text", content)
    return text if isinstance(text, str) else json.dumps(value, ensure_ascii=False)


@app.command()
def add(
    namespace: Namespace,
    key: Annotated[str, typer.Argument(help="Key of the memory in its namespace.")],
    text: Annotated[str, typer.Argument(help="The memory's text (indexed for search).")],
    db: Db = Path("langmem.sqlite"),
    embed: Embed = "local",
    importance: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Importance in [0, 1].")
    ] = None,
) -> None:
    """Store (or replace) one memory."""
    value: dict[str, Any] = {"text": text}
    if importance is not None:
        value["importance"] = importance
    with _store(db, embed, origin="langmem cli") as store:
        store.put(_ns(namespace), key, value)
    console.print(f"Stored [bold]{key}[/bold] in {namespace}.")


@app.command()
def search(
    namespace: Namespace,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    db: Db = Path("langmem.sqlite"),
    embed: Embed = "local",
    limit: Annotated[int, typer.Option(min=1, help="How many memories to show.")] = 5,
    mode: Annotated[str, typer.Option(help="Ranking: 'hybrid', 'vector' or 'keyword'.")] = "hybrid",
) -> None:
    """Search a namespace (and those below it) for memories related to QUERY."""
    with _store(db, embed, search_mode=mode) as store:
        _print_hits(query, store.search(_ns(namespace), query=query, limit=limit))


@app.command()
def history(
    namespace: Namespace,
    key: Annotated[str, typer.Argument(help="Key of the memory.")],
    db: Db = Path("langmem.sqlite"),
    embed: Embed = "local",
) -> None:
    """Show every recorded change of one memory, oldest first."""
    with _store(db, embed) as store:
        entries = store.history(_ns(namespace), key)
    table = Table(title=f"history of {namespace}/{key}")
    for column in ("at", "action", "origin", "new value"):
        table.add_column(column)
    for e in entries:
        new = "" if e.new_value is None else json.dumps(e.new_value, ensure_ascii=False)
        table.add_row(e.at.isoformat(timespec="seconds"), e.action, e.origin or "", new)
    console.print(table)


@app.command()
def erase(
    namespace: Namespace,
    key: Annotated[
        str | None, typer.Option(help="Erase only this memory (default: the whole namespace).")
    ] = None,
    db: Db = Path("langmem.sqlite"),
    embed: Embed = "local",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a memory or a namespace, with its history, leaving no trace in the file."""
    target = f"{namespace}/{key}" if key else f"everything under {namespace}"
    if not yes:
        typer.confirm(f"Erase {target}?", abort=True)
    with _store(db, embed) as store:
        count = store.erase(_ns(namespace), key)
    console.print(f"Erased {count} memories ({target}).")


@app.command()
def namespaces(
    prefix: Annotated[
        str | None, typer.Argument(help="Only namespaces under this one (users/alice).")
    ] = None,
    db: Db = Path("langmem.sqlite"),
    embed: Embed = "local",
    max_depth: Annotated[
        int | None, typer.Option(help="Truncate namespaces to this depth.")
    ] = None,
) -> None:
    """List the namespaces that hold memories."""
    with _store(db, embed) as store:
        found = store.list_namespaces(
            prefix=_ns(prefix) if prefix else None, max_depth=max_depth, limit=10_000
        )
    for ns in found:
        console.print("/".join(ns), highlight=False)


def _store(db: Path, embed: str, **kwargs: Any):
    try:
        return open_store(db, embed, **kwargs)
    except (ConfigurationError, ValueError) as exc:
        raise _fail(exc) from None


if __name__ == "__main__":  # pragma: no cover
    main()
