"""The memory console: a Starlette app over one store, pages rendered by the server.

``create_app(store)`` serves the namespaces under ``namespace`` (the console's root):
a tree with counts, each namespace's memories as a table, search with the explanation
of every hit, a page per memory (versions with diffs, edit, delete, revert,
near-duplicates), export, import and erase. Every page reads through the store's
public API and :mod:`langmem.memory`; every change is a POST (see
:mod:`langmem.console.guard`), recorded in the history as made by ``origin``.

Namespaces travel in addresses as their labels below the root, one ``ns`` parameter
each (``/namespace?ns=users&ns=alice``): nothing in an address can name a namespace
outside the root, and a label holding ``/`` or ``%2F`` is one label.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Protocol, cast
from urllib.parse import urlencode

import jinja2
from langgraph.store.base import BaseStore, Item, SearchItem
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, QueryParams, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from langmem.console import chart, listing
from langmem.console.diffs import word_diff
from langmem.console.guard import Guard
from langmem.memory import memory_text, memory_value, with_text
from langmem.store._ops import importance_of
from langmem.store._read import explanation_text
from langmem.store.history import HistoryEntry, recording_origin
from langmem.store.near import find_similar, similarity
from langmem.store.transfer import (
    export_header,
    export_items,
    import_items,
    read_export,
    write_jsonl,
)

__all__ = ["MODES", "ORIGIN", "create_app"]

ORIGIN = "langmem ui"
# The search modes offered, and the store's ``search_mode`` of each.
MODES = {"default": "hybrid", "vector": "vector", "keyword": "keyword"}
CHART_ITEMS = 300  # the activity picture reads the history of this many memories at most
SEARCH_LIMIT = 10


class _Keeping(Protocol):
    """What the console needs besides ``BaseStore``: history, revert and erase."""

    def history(self, namespace: tuple[str, ...], key: str) -> list[HistoryEntry]: ...

    def revert(self, namespace: tuple[str, ...], key: str, version: int) -> int: ...

    def erase(self, namespace: tuple[str, ...], key: str | None = None) -> int: ...


@dataclass
class Console:
    """The store the app serves and how (see :func:`create_app`)."""

    store: BaseStore
    root: tuple[str, ...]
    read_only: bool
    origin: str
    title: str
    mode_store: Callable[[str], BaseStore] | None
    templates: jinja2.Environment
    _modes: dict[str, BaseStore] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def keeping(self) -> _Keeping:
        return cast(_Keeping, self.store)

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(MODES) if self.mode_store is not None else ("default",)

    def searcher(self, mode: str = "default") -> BaseStore:
        """The store that searches in ``mode`` (opened on first use)."""
        if self.mode_store is None:
            return self.store
        with self._lock:
            if mode not in self._modes:
                self._modes[mode] = self.mode_store(MODES[mode])
            return self._modes[mode]

    def full(self, labels: Sequence[str], *, whole: bool = True) -> tuple[str, ...]:
        """The namespace ``labels`` name below the root; 400 for a label no store takes.
        ``whole``: the root itself may be named (else at least one label overall)."""
        for label in labels:
            if not label or "." in label or "\x00" in label:
                raise HTTPException(
                    400,
                    f"{label!r} is not a namespace label (labels are non-empty, without"
                    " '.' or NUL)",
                )
        namespace = (*self.root, *labels)
        if not namespace and not whole:
            raise HTTPException(400, "name a namespace")
        return namespace

    def below(self, namespace: Sequence[str]) -> tuple[str, ...]:
        """``namespace``'s labels below the root (it lies under the root)."""
        if tuple(namespace[: len(self.root)]) != self.root:  # never shown, never linked
            raise HTTPException(404, "outside this console's namespace")
        return tuple(namespace[len(self.root) :])

    def render(self, name: str, request: Request, code: int = 200, **data: Any) -> HTMLResponse:
        page = self.templates.get_template(name).render(console=self, request=request, **data)
        return HTMLResponse(page, code)


def create_app(
    store: BaseStore,
    *,
    namespace: Sequence[str] = (),
    read_only: bool = False,
    token: str | None = None,
    hosts: Iterable[str] | None = (),
    mode_store: Callable[[str], BaseStore] | None = None,
    origin: str = ORIGIN,
    title: str = "memories",
) -> Starlette:
    """The console over ``store`` (an ``SQLiteStore`` or ``PostgresStore``: it keeps history).

    Args:
        namespace: the console's root; nothing outside it is shown or changed.
        read_only: show everything, change nothing (write controls hidden, writes refused).
        token: required on every request (see :mod:`langmem.console.guard`).
        hosts: ``Host`` names answered besides loopback ones; ``None``: any (with a token).
        mode_store: opens a store that searches the same data with ``search_mode``
            ``"hybrid"``, ``"vector"`` or ``"keyword"`` (as ``langmem search --mode``
            does), once per mode on first use, for searches and near-duplicates (open it
            read-only so that looking does not count as recalling); without it, they use
            ``store`` and its own mode.
        origin: recorded in the history of every change made here.
        title: what the pages call the store (a file name, a database).
    """
    if any(not isinstance(label, str) or not label or "." in label for label in namespace):
        raise ValueError(f"{namespace!r}: namespace labels are non-empty, without '.'")
    for method in ("history", "revert", "erase"):
        if not callable(getattr(store, method, None)):
            raise TypeError(
                f"the console needs a store with {method}() (SQLiteStore, PostgresStore)"
            )
    console = Console(
        store=store,
        root=tuple(namespace),
        read_only=read_only,
        origin=origin,
        title=title,
        mode_store=mode_store,
        templates=_templates(),
    )
    static = StaticFiles(directory=str(resources.files("langmem.console") / "static"))
    routes = [
        Route("/", _view(home)),
        Route("/namespace", _view(namespace_page)),
        Route("/search", _view(search)),
        Route("/memory", _view(memory)),
        Route("/export", _view(export)),
        Route("/memory/edit", _view(edit, write=True), methods=["POST"]),
        Route("/memory/delete", _view(delete, write=True), methods=["POST"]),
        Route("/memory/revert", _view(revert, write=True), methods=["POST"]),
        Route("/namespace/erase", _view(erase, write=True), methods=["POST"]),
        Route("/import", _view(import_, write=True), methods=["POST"]),
        Mount("/static", static, name="static"),
    ]

    async def error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return console.render(
            "error.html", request, exc.status_code, status=exc.status_code, message=exc.detail
        )

    async def refused(request: Request, exc: Exception) -> Response:  # the store said no
        return console.render("error.html", request, 400, status=400, message=str(exc))

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=token, hosts=hosts)],
        exception_handlers={HTTPException: error, ValueError: refused},
    )
    app.state.console = console
    return app


View = Callable[[Console, Request, Mapping[str, Any]], Response]


def _view(view: View, *, write: bool = False) -> Callable[[Request], Any]:
    """An endpoint running ``view(console, request, params)`` in a worker thread: params
    are the query's (GET) or the form's (POST); ``write``: refused by a read-only console."""

    async def endpoint(request: Request) -> Response:
        console: Console = request.app.state.console
        if write and console.read_only:
            raise HTTPException(403, "This console is read-only: nothing was changed.")
        if request.method != "POST":
            return await run_in_threadpool(view, console, request, _Params(request.query_params))
        async with request.form() as form:
            return await run_in_threadpool(view, console, request, _Params(form))

    return endpoint


class _Params(dict):
    """A request's parameters: ``params["ns"]`` is every ``ns`` given, the others one value."""

    def __init__(self, source: QueryParams | FormData) -> None:
        super().__init__(source.items())
        self["ns"] = tuple(source.getlist("ns"))


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("langmem.console", "templates"),
        autoescape=True,  # memory text is model output: hostile HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(href=href, shown=shown, text_of=memory_text, importance_of=importance_of)
    env.filters["when"] = lambda at: f"{at:%Y-%m-%d %H:%M:%S}"
    return env


def href(path: str, ns: Sequence[str] = (), **params: Any) -> str:
    """``path`` with ``ns`` (labels below the root) and ``params`` (None: left out)."""
    pairs = [("ns", label) for label in ns]
    pairs += [(name, value) for name, value in params.items() if value is not None]
    return path + (f"?{urlencode(pairs)}" if pairs else "")


def shown(namespace: Sequence[str]) -> str:
    """A namespace as people write it: ``users/alice``."""
    return "/".join(namespace)


# ------------------------------------------------------------------------- reading


def home(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    items = listing.all_items(console.store, console.root)
    return console.render(
        "home.html",
        request,
        tree=listing.tree(items, console.root),
        count=len(items),
        activity=_activity(console, items),
        done=_done(params),
    )


def namespace_page(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    labels = params["ns"]
    namespace = console.full(labels)
    items = listing.all_items(console.store, namespace)
    if not items:
        raise HTTPException(404, f"No memories under {shown(namespace) or 'this console'}.")
    descending = {"asc": False, "desc": True}.get(params.get("dir", ""))
    page = listing.page_of(
        items,
        filter=params.get("q", ""),
        sort=params.get("sort", "updated"),
        descending=descending,
        number=_int(params.get("page"), 1),
    )
    origins = {item.key: _last_origin(console, item) for item in page.items}
    return console.render(
        "namespace.html",
        request,
        labels=labels,
        namespace=namespace,
        page=page,
        sorts=listing.SORTS,
        origins=origins,
        nested=any(tuple(item.namespace) != namespace for item in items),
        tree=listing.tree(items, console.root),
        count=len(items),
        activity=_activity(console, items),
    )


@dataclass(frozen=True)
class SearchForm:
    """A search as the form asks it; :meth:`kwargs` are ``store.search``'s arguments."""

    labels: tuple[str, ...]
    query: str
    mode: str
    limit: int

    @classmethod
    def of(cls, params: Mapping[str, Any], modes: Sequence[str]) -> SearchForm:
        mode = params.get("mode") or "default"
        if mode not in modes:
            raise HTTPException(400, f"mode must be one of {', '.join(modes)}, got {mode!r}")
        limit = min(max(_int(params.get("limit"), SEARCH_LIMIT), 1), 50)
        return cls(_where(params.get("where")), params.get("q", "").strip(), mode, limit)

    def kwargs(self) -> dict[str, Any]:
        return {"query": self.query, "limit": self.limit, "explain": True}


def search(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    form = SearchForm.of(params, console.modes)
    namespace = console.full(form.labels)
    hits: list[SearchItem] = []
    if form.query:
        found = console.searcher(form.mode).search(namespace, **form.kwargs())
        hits = [hit for hit in found if tuple(hit.namespace[: len(console.root)]) == console.root]
    places = console.store.list_namespaces(prefix=console.root or None, limit=10_000)
    below = [console.below(place) for place in places]
    choices = sorted({labels[:depth] for labels in below for depth in range(len(labels) + 1)})
    return console.render(
        "search.html",
        request,
        form=form,
        namespace=namespace,
        choices=choices,
        hits=hits,
        explained=explanation_text,
        runners_up=(getattr(hits[-1], "explanation", None) or {}).get("runners_up", [])
        if hits
        else [],
    )


def memory(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    labels, key = params["ns"], _key(params)
    namespace = console.full(labels, whole=False)
    item = console.store.get(namespace, key, refresh_ttl=False)
    entries = console.keeping.history(namespace, key)
    if item is None and not entries:
        raise HTTPException(404, f"No memory {key!r} in {shown(namespace)}.")
    near = (
        []
        if item is None
        else find_similar(console.searcher(), namespace, memory_text(item.value), exclude=key)
    )
    return console.render(
        "memory.html",
        request,
        labels=labels,
        namespace=namespace,
        key=key,
        item=item,
        value_json=None
        if item is None
        else json.dumps(item.value, indent=2, ensure_ascii=False, sort_keys=True),
        versions=[_version(entry) for entry in reversed(entries)],
        current=entries[-1].version if entries else 0,
        near=[(hit, similarity(hit)) for hit in near],
        done=_done(params),
    )


def export(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    namespace = console.full(params["ns"])
    records = export_items(console.store, namespace, history=params.get("history") == "1")
    out = io.StringIO()
    write_jsonl(records, out, header=export_header(console.store, records))
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(namespace)).strip("-") or "all"
    return Response(
        out.getvalue(),
        media_type="application/jsonl; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="langmem-{name}.jsonl"'},
    )


# ------------------------------------------------------------------------- writing


def edit(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    labels, key = params["ns"], _key(params)
    namespace = console.full(labels, whole=False)
    item = _held(console, namespace, key)
    entries = console.keeping.history(namespace, key)
    if str(entries[-1].version if entries else 0) != params.get("version"):
        raise HTTPException(
            409,
            "This memory changed since the page was opened (another writer saved a version):"
            " nothing was saved. Open it again to see its new text.",
        )
    text = params.get("text", "")
    importance = params.get("importance", "").strip()
    try:
        weight = float(importance) if importance else None
        memory_value(text, weight)  # checks the text and the importance
        value = with_text(item.value, text)
    except ValueError as exc:
        raise HTTPException(400, f"Nothing was saved: {exc}") from None
    if weight is not None:
        value["importance"] = weight
    with recording_origin(console.origin):
        console.store.put(namespace, key, value)
    return _back("/memory", labels, key=key, done="edited")


def delete(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    labels, key = params["ns"], _key(params)
    namespace = console.full(labels, whole=False)
    _held(console, namespace, key)
    with recording_origin(console.origin):
        console.store.delete(namespace, key)
    return _back("/memory", labels, key=key, done="deleted")


def revert(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    labels, key = params["ns"], _key(params)
    namespace = console.full(labels, whole=False)
    version = _int(params.get("version"), 0)
    try:
        with recording_origin(console.origin):
            new = console.keeping.revert(namespace, key, version)
    except ValueError as exc:
        raise HTTPException(404, f"{shown(namespace)}/{key}: {exc}") from None
    return _back("/memory", labels, key=key, done="reverted", v=version, now=new)


def erase(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    labels = params["ns"]
    namespace = console.full(labels, whole=False)
    if params.get("confirm", "").strip() != shown(namespace):
        raise HTTPException(
            400,
            f"To erase it, type the namespace's name, {shown(namespace)}, in the confirmation"
            " box. Nothing was erased.",
        )
    if not console.store.search(namespace, limit=1, refresh_ttl=False):
        raise HTTPException(404, f"No memories under {shown(namespace)}: nothing to erase.")
    count = console.keeping.erase(namespace)
    return _back("/", (), done="erased", n=count)


def import_(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    upload = params.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise HTTPException(400, "Choose a JSONL file from an export to import.")
    try:
        text = upload.file.read().decode("utf-8")
        _, records = read_export(text.splitlines())
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, f"{upload.filename}: {exc}. Nothing was imported.") from None
    outside = next(
        (r for r in records if tuple(r.namespace[: len(console.root)]) != console.root), None
    )
    if outside is not None:
        raise HTTPException(
            400,
            f"{upload.filename}: {shown(outside.namespace)} lies outside this console's"
            f" namespace {shown(console.root)}. Nothing was imported.",
        )
    with recording_origin(console.origin):
        count = import_items(console.store, records)
    return _back("/", (), done="imported", n=count, skipped=len(records) - count)


# ------------------------------------------------------------------------- helpers


def _where(text: str | None) -> tuple[str, ...]:
    """The search form's namespace: a JSON list of labels below the root."""
    try:
        labels = json.loads(text) if text else []
    except ValueError:
        labels = None
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise HTTPException(400, "where must be a JSON list of namespace labels")
    return tuple(labels)


def _key(params: Mapping[str, Any]) -> str:
    key = params.get("key")
    if not isinstance(key, str) or not key:
        raise HTTPException(400, "name a memory (key=...)")
    return key


def _held(console: Console, namespace: tuple[str, ...], key: str) -> Item:
    item = console.store.get(namespace, key, refresh_ttl=False)
    if item is None:
        raise HTTPException(404, f"No memory {key!r} in {shown(namespace)}: nothing was changed.")
    return item


def _int(text: Any, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _back(path: str, labels: Sequence[str], **params: Any) -> RedirectResponse:
    return RedirectResponse(href(path, labels, **params), 303)


def _done(params: Mapping[str, Any]) -> dict[str, Any]:
    """What the previous POST did, as its redirect said (shown once, as fixed texts)."""
    return {name: params[name] for name in ("done", "n", "skipped", "v", "now") if name in params}


def _last_origin(console: Console, item: Item) -> str | None:
    entries = console.keeping.history(tuple(item.namespace), item.key)
    return entries[-1].origin if entries else None


def _version(entry: HistoryEntry) -> dict[str, Any]:
    old = "" if entry.old_value is None else memory_text(entry.old_value)
    new = "" if entry.new_value is None else memory_text(entry.new_value)
    return {"entry": entry, "diff": word_diff(old, new), "restorable": entry.new_value is not None}


def _activity(console: Console, items: Sequence[Item]) -> dict[str, Any]:
    """The activity picture of (the most recently updated of) ``items``."""
    read = items[:CHART_ITEMS]
    entries = [e for item in read for e in console.keeping.history(tuple(item.namespace), item.key)]
    data = chart.activity(entries, last=datetime.now(timezone.utc).date())
    return {"chart": chart.bars(data), "read": len(read), "of": len(items)}
