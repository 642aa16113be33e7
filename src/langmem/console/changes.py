"""The console's changes, each a POST that redirects to the page showing its result:
edit, delete and revert a memory, erase a namespace, import a file. Each is recorded
in the history as made by the console's ``origin``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from langmem.console.core import Console, back, held, key_of, number, shown
from langmem.memory import memory_value, with_text
from langmem.store.history import recording_origin
from langmem.store.transfer import import_items, read_export

__all__ = ["delete", "edit", "erase", "import_", "revert"]


def edit(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    """Save a new text (and importance) as a new version, unless another came first."""
    labels, key = params["ns"], key_of(params)
    namespace = console.full(labels, whole=False)
    item = held(console, namespace, key)
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
    return back("/memory", labels, key=key, done="edited")


def delete(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    """Delete a memory; its history stays, so it can be reverted."""
    labels, key = params["ns"], key_of(params)
    namespace = console.full(labels, whole=False)
    held(console, namespace, key)
    with recording_origin(console.origin):
        console.store.delete(namespace, key)
    return back("/memory", labels, key=key, done="deleted")


def revert(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    """Put back an earlier version as a new one."""
    labels, key = params["ns"], key_of(params)
    namespace = console.full(labels, whole=False)
    version = number(params.get("version"), 0)
    try:
        with recording_origin(console.origin):
            new = console.keeping.revert(namespace, key, version)
    except ValueError as exc:
        raise HTTPException(404, f"{shown(namespace)}/{key}: {exc}") from None
    return back("/memory", labels, key=key, done="reverted", v=version, now=new)


def erase(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    """Erase a namespace, leaving no trace, once its name is typed to confirm."""
    labels = params["ns"]
    namespace = console.full(labels, whole=False)
    if params.get("confirm", "").strip() != shown(namespace):
        raise HTTPException(
            400,
            f"To erase it, type the namespace's name, {shown(namespace)}, in the confirmation"
            " box. Nothing was erased.",
        )
    if not console.store.search(namespace, limit=1, refresh_ttl=False, include_closed=True):
        raise HTTPException(404, f"No memories under {shown(namespace)}: nothing to erase.")
    count = console.keeping.erase(namespace)
    return back("/", (), done="erased", n=count)


def import_(console: Console, request: Request, params: Mapping[str, Any]) -> Response:
    """Import an uploaded export; refused whole if any record lies outside the root."""
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
    return back("/", (), done="imported", n=count, skipped=len(records) - count)
