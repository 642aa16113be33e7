"""The console's pages: the namespace tree, a namespace's table, search, a memory, export."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from langgraph.store.base import Item, SearchItem
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from langmem.console import chart, listing
from langmem.console.core import Console, key_of, number, shown
from langmem.console.diffs import word_diff
from langmem.memory import memory_text, parse_when
from langmem.store._read import explanation_text
from langmem.store.history import HistoryEntry
from langmem.store.near import find_similar, similarity
from langmem.store.transfer import export_header, export_items, write_jsonl

__all__ = ["SearchForm", "export", "home", "memory", "namespace_page", "search"]

CHART_ITEMS = 300  # the activity picture reads the history of this many memories at most
SEARCH_LIMIT = 10


def home(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    """The namespace tree with counts, the activity picture, export and import."""
    items = listing.all_items(console.store, console.root)
    return console.render(
        "home.html",
        request,
        tree=listing.tree(items, console.root),
        count=len(items),
        activity=_activity(_histories(console, items), len(items)),
        done=_done(params),
    )


def namespace_page(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    """A namespace's memories (and those below it) as a filtered, sorted, paged table."""
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
        number=number(params.get("page"), 1),
    )
    histories = _histories(console, items)
    activity = _activity(histories, len(items))
    for item in page.items:  # rows beyond the pictured ones (another sort, a filter)
        if (where := (tuple(item.namespace), item.key)) not in histories:
            histories[where] = console.keeping.history(*where)
    origins = {where: entries[-1].origin if entries else None for where, entries in histories.items()}
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
        activity=activity,
    )


@dataclass(frozen=True)
class SearchForm:
    """A search as the form asks it; :meth:`kwargs` are ``store.search``'s arguments."""

    labels: tuple[str, ...]
    query: str
    mode: str
    limit: int
    as_of: str = ""  # what was true then (ISO 8601, as typed); empty: what is true now

    @classmethod
    def of(cls, params: Mapping[str, Any], modes: Sequence[str]) -> SearchForm:
        mode = params.get("mode") or "default"
        if mode not in modes:
            raise HTTPException(400, f"mode must be one of {', '.join(modes)}, got {mode!r}")
        limit = min(max(number(params.get("limit"), SEARCH_LIMIT), 1), 50)
        as_of = params.get("as_of", "").strip()
        if as_of:
            try:
                parse_when(as_of, "as of")
            except ValueError as exc:
                raise HTTPException(400, str(exc)) from None
        return cls(_where(params.get("where")), params.get("q", "").strip(), mode, limit, as_of)

    def kwargs(self) -> dict[str, Any]:
        return {"query": self.query, "limit": self.limit, "explain": True} | (
            {"as_of": self.as_of} if self.as_of else {}
        )


def search(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    """Search in the mode asked for, each hit with the explanation of its score."""
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
    """One memory: its text, versions with diffs, near-duplicates, and what changes it."""
    labels, key = params["ns"], key_of(params)
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
    """The memories under a namespace as a JSONL download (``langmem export``'s format)."""
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


def _where(text: str | None) -> tuple[str, ...]:
    """The search form's namespace: a JSON list of labels below the root."""
    try:
        labels = json.loads(text) if text else []
    except ValueError:
        labels = None
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise HTTPException(400, "where must be a JSON list of namespace labels")
    return tuple(labels)


def _done(params: Mapping[str, Any]) -> dict[str, Any]:
    """What the previous POST did, as its redirect said (shown once, as fixed texts)."""
    return {name: params[name] for name in ("done", "n", "skipped", "v", "now") if name in params}


def _version(entry: HistoryEntry) -> dict[str, Any]:
    old = "" if entry.old_value is None else memory_text(entry.old_value)
    new = "" if entry.new_value is None else memory_text(entry.new_value)
    return {"entry": entry, "diff": word_diff(old, new), "restorable": entry.new_value is not None}


def _histories(
    console: Console, items: Sequence[Item]
) -> dict[tuple[tuple[str, ...], str], list[HistoryEntry]]:
    """The histories of the most recently updated of ``items`` (the pictured ones), by
    ``(namespace, key)``."""
    wheres = [(tuple(item.namespace), item.key) for item in items[:CHART_ITEMS]]
    return {where: console.keeping.history(*where) for where in wheres}


def _activity(
    histories: Mapping[tuple[tuple[str, ...], str], list[HistoryEntry]], count: int
) -> dict[str, Any]:
    """The activity picture of the memories whose ``histories`` were read, of ``count``."""
    entries = [entry for history in histories.values() for entry in history]
    data = chart.activity(entries, last=datetime.now(timezone.utc).date())
    return {"chart": chart.bars(data), "read": len(histories), "of": count}
