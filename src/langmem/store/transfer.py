"""Move memories between stores: export to and import from JSON Lines.

A header line, then one line per item, oldest-created first::

    {"langmem_export": 1, "count": 2, "index": {"fields": null, "embedder": "local", "dims": 384}}
    {"namespace": ["users", "alice"], "key": "k", "value": {...},
     "created_at": "2026-01-02T03:04:05.123456+00:00", "updated_at": "...",
     "history": [{"action": "put", "old_value": null, "new_value": {...},
                  "at": "...", "origin": "langmem cli", "version": 1, "reason": null}]}

The header records how the source indexed its items (``fields``: ``null`` for the
default, each value's memory text; the embedder and its dims) and how many
records follow, so a truncated file is refused. Files without a header (older
exports) are read too. ``history`` is present only when exported with
``history=True``; an import numbers its changes 1, 2, ... in order (as they were
numbered, and so files without versions import too). Works over any LangGraph ``BaseStore`` (paged ``search``
without a query); timestamps and history come back exactly into a store with a
``restore(items, history)`` method (``SQLiteStore``, ``PostgresStore``), other
stores get the values with fresh timestamps. Vectors are not exported: the
importing store indexes every item with its own fields and embeds it with its
own embedder. Access statistics (what recency/strength ranking counts:
``accessed_at`` and ``access_count``, present once a search recalled the item)
come from and go to stores with ``accesses()`` (``SQLiteStore``,
``PostgresStore``), so a restored store ranks as the original did. An import
commits in chunks and skips records already imported unchanged, so an
interrupted import is finished by running it again.

Event times (when a memory happened or held, and when it stopped) travel in the
values (``valid_from``/``valid_until``, :mod:`langmem.memory`), so every record and
history entry carries them and an import gives the target store the same event
times, indexed; closed memories (those that stopped being true) are exported too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import IO, Any, Final, Literal, Protocol, cast

from langgraph.store.base import BaseStore, GetOp, Item, PutOp, validate_op_namespace
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from langmem.store._open import embedder_name
from langmem.store._ops import EVERY_ITEM
from langmem.store._read import ExplainingStore
from langmem.store.history import Accesses, HistoryEntry, recording_origin

__all__ = [
    "ExportHeader",
    "ExportRecord",
    "IndexSettings",
    "export_header",
    "export_items",
    "import_items",
    "read_export",
    "read_jsonl",
    "write_jsonl",
]

FORMAT: Final = 1  # the header's "langmem_export" version

ORIGIN = "langmem import"  # the origin an import records (see import_items)

Progress = Callable[[int], None]


class _KeepsHistory(Protocol):
    """A store with a change history (``SQLiteStore``, ``PostgresStore``)."""

    def history(self, namespace: tuple[str, ...], key: str) -> list[HistoryEntry]: ...


class _KeepsAccesses(Protocol):
    """A store with access statistics (``SQLiteStore``, ``PostgresStore``)."""

    def accesses(self, namespace: tuple[str, ...] = ()) -> Accesses: ...


class ExportedChange(BaseModel):
    """One history entry of an exported item."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["put", "delete", "expire"]
    old_value: dict[str, Any] | None = None
    new_value: dict[str, Any] | None = None
    at: AwareDatetime
    origin: str | None = None
    version: int | None = None  # older files: none (an import numbers changes in order)
    reason: str | None = None

    @classmethod
    def of(cls, entry: HistoryEntry) -> ExportedChange:
        return cls(
            action=entry.action,
            old_value=entry.old_value,
            new_value=entry.new_value,
            at=entry.at,
            origin=entry.origin,
            version=entry.version,
            reason=entry.reason,
        )


class ExportRecord(BaseModel):
    """One exported item (one JSONL line)."""

    model_config = ConfigDict(extra="forbid")

    namespace: list[str] = Field(min_length=1)
    key: str
    value: dict[str, Any]
    created_at: AwareDatetime
    updated_at: AwareDatetime
    accessed_at: AwareDatetime | None = None
    access_count: int = Field(default=0, ge=0)
    history: list[ExportedChange] | None = None

    @field_validator("namespace")
    @classmethod
    def _valid_namespace(cls, namespace: list[str]) -> list[str]:
        validate_op_namespace(GetOp(tuple(namespace), ""))
        if any(not label or "." in label for label in namespace):
            raise ValueError(f"namespace labels must be non-empty and without '.': {namespace}")
        return namespace

    def item(self) -> Item:
        """The record as a store ``Item``."""
        return Item(
            namespace=tuple(self.namespace),
            key=self.key,
            value=self.value,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def changes(self) -> list[HistoryEntry]:
        """The record's history entries (empty when exported without ``--history``)."""
        ns = tuple(self.namespace)
        return [
            HistoryEntry(
                ns, self.key, c.action, c.old_value, c.new_value, c.at, c.origin, reason=c.reason
            )
            for c in self.history or ()
        ]


class IndexSettings(BaseModel):
    """How a store indexes its items, as an export header records it."""

    fields: list[str] | None = None  # None: the default, each value's memory text
    embedder: str | None = None
    dims: int | None = None

    @classmethod
    def of(cls, store: BaseStore) -> IndexSettings | None:
        """``store``'s settings, or ``None`` if it keeps no index."""
        config = getattr(store, "index_config", None)
        if not config:
            return None
        embed = config.get("embed")
        name = None if embed is None else embedder_name(embed, getattr(store, "embeddings", None))
        fields = config.get("fields")
        return cls(fields=None if fields is None else list(fields), embedder=name, dims=config.get("dims"))


class ExportHeader(BaseModel):
    """The first line of an export: its format version, record count and source index."""

    model_config = ConfigDict(extra="ignore")  # later versions may add fields

    langmem_export: Literal[1] = FORMAT
    count: int = Field(ge=0)
    index: IndexSettings | None = None


def export_header(store: BaseStore, records: list[ExportRecord]) -> ExportHeader:
    """The header of an export of ``records`` from ``store``."""
    return ExportHeader(count=len(records), index=IndexSettings.of(store))


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
    accesses: Accesses = {}
    if callable(getattr(store, "accesses", None)):
        accesses = cast(_KeepsAccesses, store).accesses(namespace)
    # Our stores leave closed memories out of a search unless asked.
    closed: dict[str, Any] = {"include_closed": True} if isinstance(store, ExplainingStore) else {}
    # One statement: pages by offset would each sort the namespace again (4.4 s against
    # 1.2 s for 50,000 memories).
    items: list[Item] = list(
        store.search(namespace, limit=EVERY_ITEM, refresh_ttl=False, **closed)
    )
    # Oldest-created first, so an import creates the items in their original order
    # (rank ties and neighbouring turns follow creation order).
    items.reverse()
    items.sort(key=lambda item: item.created_at)
    records = []
    for item in items:
        accessed_at, access_count = accesses.get((tuple(item.namespace), item.key), (None, 0))
        record = ExportRecord(
            namespace=list(item.namespace),
            key=item.key,
            value=item.value,
            created_at=item.created_at,
            updated_at=item.updated_at,
            accessed_at=accessed_at,
            access_count=access_count,
        )
        if history:  # checked above: the store has a history method
            record.history = [
                ExportedChange.of(e)
                for e in cast(_KeepsHistory, store).history(item.namespace, item.key)
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
    same namespace and key are replaced, except those already equal to the
    record (value and timestamps), which are skipped: rerunning an interrupted
    import writes only what is missing. Each chunk is committed whole;
    ``on_progress`` gets the number of records done (written or skipped) after each.
    Changes without an exported history are recorded as made by ``"langmem import"``
    where neither the caller nor the store names another origin.
    """
    checked = [_check(r, f"record {n}") for n, r in enumerate(records, 1)]
    restore = getattr(store, "restore", None)
    written = 0
    for start in range(0, len(checked), chunk):
        part = _missing(store, checked[start : start + chunk])
        accesses = {
            (tuple(r.namespace), r.key): (r.accessed_at, r.access_count)
            for r in part
            if r.access_count
        }
        with recording_origin(ORIGIN, fallback=True):
            if callable(restore):
                restore([r.item() for r in part], [c for r in part for c in r.changes()], accesses)
            elif part:
                store.batch([PutOp(tuple(r.namespace), r.key, r.value) for r in part])
        written += len(part)
        if on_progress:
            on_progress(min(chunk, len(checked) - start))
    return written


def _missing(store: BaseStore, records: list[ExportRecord]) -> list[ExportRecord]:
    """The records ``store`` does not already hold as they are."""
    # batch's result type covers every op; a GetOp's is Item | None
    found = cast(
        "list[Item | None]",
        store.batch([GetOp(tuple(r.namespace), r.key, refresh_ttl=False) for r in records]),
    )
    return [
        r
        for r, item in zip(records, found)
        if item is None
        or (item.value, item.created_at, item.updated_at)
        != (r.value, r.created_at, r.updated_at)
    ]


def write_jsonl(
    records: Iterable[ExportRecord], out: IO[str], *, header: ExportHeader | None = None
) -> int:
    """Write ``records`` (after ``header``, if given) as JSON Lines to ``out``; returns
    how many records were written."""
    if header is not None:
        out.write(header.model_dump_json() + "\n")
    count = 0
    for record in records:
        data = record.model_dump(mode="json")
        for field, absent in (("accessed_at", None), ("access_count", 0), ("history", None)):
            if data[field] == absent:
                del data[field]
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        count += 1
    return count


def read_jsonl(lines: Iterable[str]) -> list[ExportRecord]:
    """Parse and validate JSON Lines (blank lines skipped); errors name the line.

    A header line is checked (a file with fewer records than it counts is
    refused as truncated) and not returned: :func:`read_export` returns it.
    """
    return read_export(lines)[1]


def read_export(lines: Iterable[str]) -> tuple[ExportHeader | None, list[ExportRecord]]:
    """``(header, records)`` of an export (``header`` is ``None`` in older files)."""
    header: ExportHeader | None = None
    records: list[ExportRecord] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number}: not JSON ({exc})") from None
        if isinstance(data, dict) and "langmem_export" in data:
            if header is not None or records:
                raise ValueError(f"line {number}: a second export header")
            header = _check_header(data, f"line {number}")
            continue
        records.append(_check(data, f"line {number}"))
    if header is not None and len(records) != header.count:
        raise ValueError(
            f"the export header counts {header.count} records but {len(records)} follow"
            " (a truncated or edited file); nothing was imported"
        )
    return header, records


def _check_header(data: dict, where: str) -> ExportHeader:
    if data.get("langmem_export") != FORMAT:
        raise ValueError(
            f"{where}: export format {data.get('langmem_export')!r} is not {FORMAT};"
            " upgrade langmem to import it"
        )
    try:
        return ExportHeader.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{where}: a malformed export header ({exc.errors()[0]['msg']})") from None


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
