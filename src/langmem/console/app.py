"""The memory console: a Starlette app over one store, pages rendered by the server.

``create_app(store)`` serves the namespaces under ``namespace`` (the console's root):
a tree with counts, each namespace's memories as a table, search with the explanation
of every hit, a page per memory (versions with diffs, edit, delete, revert,
near-duplicates), export, import and erase (:mod:`~langmem.console.pages`,
:mod:`~langmem.console.changes`). Every page reads through the store's public API and
:mod:`langmem.memory`; every change is a POST (see :mod:`langmem.console.guard`),
recorded in the history as made by ``origin``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import time
from importlib import resources
from typing import Any

import jinja2
from langgraph.store.base import BaseStore
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from langmem.console import changes, pages
from langmem.console.core import ORIGIN, Console, Params, href, shown
from langmem.console.guard import Guard
from langmem.memory import memory_text
from langmem.store._ops import importance_of
from langmem.store._read import ExplainingStore

__all__ = ["create_app"]


def create_app(
    store: ExplainingStore,
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
        Route("/", _view(pages.home)),
        Route("/namespace", _view(pages.namespace_page)),
        Route("/search", _view(pages.search)),
        Route("/memory", _view(pages.memory)),
        Route("/export", _view(pages.export)),
        Route("/memory/edit", _view(changes.edit, write=True), methods=["POST"]),
        Route("/memory/delete", _view(changes.delete, write=True), methods=["POST"]),
        Route("/memory/revert", _view(changes.revert, write=True), methods=["POST"]),
        Route("/namespace/erase", _view(changes.erase, write=True), methods=["POST"]),
        Route("/import", _view(changes.import_, write=True), methods=["POST"]),
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
            return await run_in_threadpool(view, console, request, Params(request.query_params))
        async with request.form() as form:
            return await run_in_threadpool(view, console, request, Params(form))

    return endpoint


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("langmem.console", "templates"),
        autoescape=True,  # memory text is model output: hostile HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        href=href,
        shown=shown,
        text_of=memory_text,
        importance_of=importance_of,
    )
    env.filters["when"] = lambda at: f"{at:%Y-%m-%d %H:%M:%S}"
    env.filters["day"] = lambda at: f"{at:%Y-%m-%d}" if at.time() == time() else f"{at:%Y-%m-%d %H:%M}"
    return env
