"""Move memories between stores: export to and import from JSON Lines.

One line per item, oldest-created first::

    {"namespace": ["users", "alice"], "key": "k", "value": {...},
     "created_at": "2026-01-02T03:04:05.123456+00:00", "updated_at": "...",
     "history": [{"action": "put", "old_value": null, "new_value": {...},
                  "at": "...", "origin": "langmem cli"}]}

``history`` is present only when exported with ``history=True``. Works over any
LangGraph ``BaseStore`` (paged ``search`` without a query); timestamps and history
come back exactly into a store with a ``restore(items, history)`` method
(``SQLiteStore``, ``PostgresStore``), other stores get the values with fresh timestamps. Vectors are not
exported: the importing store embeds the values with its own embedder. Access
statistics (what recency/strength ranking counts) are not carried.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import IO, Any, Literal

from langgraph.store.base import BaseStore, GetOp, Item, PutOp, validate_op_namespace
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from langmem.store.history import HistoryEntry

__all__ = ["ExportRecord", "export_items", "import_items", "read_jsonl", "write_jsonl"]

PAGE = 1000

Progress = Callable[[int], None]


class ExportedChange(BaseModel):
    """One history entry of an exported item."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["put", "delete", "expire"]
    old_value: dict[str, Any] | None = None
    new_value: dict[str, Any] | None = None
    at: AwareDatetime
    origin: str | None = None

    @classmethod
    def of(cls, entry: HistoryEntry) -> ExportedChange:
        return cls(
            action=entry.action,
            old_value=entry.old_value,
            new_value=entry.new_value,
            at=entry.at,
            origin=entry.origin,
        )


class ExportRecord(BaseModel):
    """One exported item (one JSONL line)."""

    model_config = ConfigDict(extra="forbid")

    namespace: list[str] = Field(min_length=1)
    key: str
    value: dict[str, Any]
    created_at: AwareDatetime
    updated_at: AwareDatetime
    history: list[ExportedChange] | None = None

    @field_validator("namespace")
    @classmethod
    def _valid_namespace(cls, namespace: list[str]) -> list[str]:
        validate_op_namespace(GetOp(tuple(namespace), ""))
        if any(not label or "." in label for label in namespace):
            raise ValueError(f"namespace labels must be non-empty and without '.': {namespace}")
        return namespace

    def item(self) -> Item:
        return Item(
            namespace=tuple(self.namespace),
            key=self.key,
            value=self.value,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def changes(self) -> list[HistoryEntry]:
        ns = tuple(self.namespace)
        return [
            HistoryEntry(ns, self.key, c.action, c.old_value, c.new_value, c.at, c.origin)
            for c in self.history or ()
        ]


def export_items(
    store: BaseStore,
    namespace: tuple[str, ...] = (),
    *,
    history: bool = False,
    on_progress: Progress | None = None,
) -> list[ExportRecord]:
    """Every item under ``namespace`` (``()``: the whole store), oldest-created first.

    ``history=True`` adds each item's change history (the store needs a
    ``history(namespace, key)`` method, as ``SQLiteStore`` has).
    """
    if history and not callable(getattr(store, "history", None)):
        raise TypeError(f"{type(store).__name__} keeps no history to export")
    items: list[Item] = []
    while page := store.search(namespace, limit=PAGE, offset=len(items), refresh_ttl=False):
        items += page
        if len(page) < PAGE:
            break
    # Oldest-created first, so an import creates the items in their original order
    # (rank ties and neighbouring turns follow creation order).
    items.reverse()
    items.sort(key=lambda item: item.created_at)
    records = []
    for item in items:
        record = ExportRecord(
            namespace=list(item.namespace),
            key=item.key,
            value=item.value,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )
        if history:
            record.history = [
                ExportedChange.of(e) for e in store.history(item.namespace, item.key)
            ]
        records.append(record)
        if on_progress:
            on_progress(1)
    return records


def import_items(
    store: BaseStore,
    records: Iterable[ExportRecord | dict],
    *,
    chunk: int = 500,
    on_progress: Progress | None = None,
) -> int:
    """Write exported records into ``store``; returns how many were written.

    Every record is validated before the first write (a bad one raises
    ``ValueError`` naming it, and nothing is written). Existing items with the
    same namespace and key are replaced.
    """
    checked = [_check(r, f"record {n}") for n, r in enumerate(records, 1)]
    restore = getattr(store, "restore", None)
    for start in range(0, len(checked), chunk):
        part = checked[start : start + chunk]
        if callable(restore):
            restore([r.item() for r in part], [c for r in part for c in r.changes()])
        else:
            store.batch([PutOp(tuple(r.namespace), r.key, r.value) for r in part])
        if on_progress:
            on_progress(len(part))
    return len(checked)


def write_jsonl(records: Iterable[ExportRecord], out: IO[str]) -> int:
    """Write ``records`` as JSON Lines to ``out``; returns how many were written."""
    count = 0
    for record in records:
        data = record.model_dump(mode="json")
        if data["history"] is None:
            del data["history"]
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        count += 1
    return count


def read_jsonl(lines: Iterable[str]) -> list[ExportRecord]:
    """Parse and validate JSON Lines (blank lines skipped); errors name the line."""
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number}: not JSON ({exc})") from None
        records.append(_check(data, f"line {number}"))
    return records


def _check(record: ExportRecord | dict, where: str) -> ExportRecord:
    if isinstance(record, ExportRecord):
        return record
    try:
        return ExportRecord.model_validate(record)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"{where}: {problems}") from None
