"""Pure op planning for ``SQLiteStore``: no database, no embedder.

``plan_ops`` sorts a batch into reads and (deduplicated) writes, encodes each
written value once and gathers the texts to embed and the queries to embed, so
the sync and async front ends differ only in how they call the embedder.
``plan_writes`` turns a batch's puts, given the rows they replace, into the rows
the store writes in bulk (one ``executemany`` per table).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchOp,
    get_text_at_path,
    tokenize_path,
)
from langgraph.store.base import validate_op_namespace as _validate_op_namespace

from langmem.memory import memory_text
from langmem.store._sql import ns_tuple
from langmem.store._time import times_us

__all__ = [
    "EVERY_ITEM",
    "FILTER_OPERATORS",
    "Found",
    "ORDERING_OPERATORS",
    "Plan",
    "Writes",
    "importance_of",
    "matches_filter",
    "matches_namespace",
    "plan_ops",
    "plan_writes",
]

ItemKey = tuple[tuple[str, ...], str]
EVERY_ITEM = 2**62  # a search ``limit`` meaning all of them (any store's LIMIT takes it)
Fields = Sequence[tuple[str, Any]]  # (path, tokenized path) as LangGraph stores them


@dataclass
class Plan:
    """A batch, sorted: reads run first (they see the state before the batch's writes)."""

    results: list[Result]
    reads: list[tuple[int, GetOp | SearchOp | ListNamespacesOp]] = field(default_factory=list)
    puts: dict[ItemKey, PutOp] = field(default_factory=dict)
    values: dict[ItemKey, str] = field(default_factory=dict)  # each put value as JSON
    times: dict[ItemKey, tuple[int | None, int | None]] = field(default_factory=dict)  # event
    texts: dict[ItemKey, list[tuple[str, str]]] = field(default_factory=dict)  # (path, text)
    queries: list[str] = field(default_factory=list)
    origin: str | None = None

    @property
    def doc_texts(self) -> list[str]:
        """Every text to embed, in a stable order matching ``texts``."""
        return [text for pairs in self.texts.values() for _, text in pairs]


def tokenize_fields(paths: Iterable[str]) -> list[tuple[str, Any]]:
    return [(p, p if p == "$" else tokenize_path(p)) for p in paths]


def plan_ops(
    ops: Iterable[Op], fields: Fields | None, *, embed_queries: bool, origin: str | None = None
) -> Plan:
    """Validate and sort ``ops``; ``fields`` is None when the store has no index."""
    ops = list(ops)
    plan = Plan(results=[None] * len(ops), origin=origin)
    for i, op in enumerate(ops):
        if not isinstance(op, (GetOp, SearchOp, ListNamespacesOp, PutOp)):
            raise ValueError(f"Unknown operation type: {type(op).__name__}")
        _validate_op_namespace(op)
        if isinstance(op, PutOp):
            if not op.namespace:
                raise InvalidNamespaceError("Namespace cannot be empty.")
            if op.value is not None and not isinstance(op.value, dict):
                raise TypeError(f"Store values must be dicts, got {type(op.value).__name__}")
            plan.puts[(op.namespace, op.key)] = op  # the last put of a key wins
            if op.value is not None:
                plan.values[(op.namespace, op.key)] = encode_value(op.value)
                plan.times[(op.namespace, op.key)] = times_us(op.value)
        else:
            query = op.query if isinstance(op, SearchOp) and embed_queries else None
            if query and query not in plan.queries:
                plan.queries.append(query)
            plan.reads.append((i, op))
    if fields is not None:
        for item_key, op in plan.puts.items():
            if op.value is not None and op.index is not False:
                paths = fields if op.index is None else tokenize_fields(op.index)
                plan.texts[item_key] = extract_texts(op.value, paths)
    return plan


def encode_value(value: dict) -> str:
    """A stored value's JSON (UTF-8 as is; NaN and Infinity are refused)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"Store values must be JSON (no NaN/Infinity): {exc}") from None


@dataclass(frozen=True)
class Found:
    """The stored row a put replaces (expired or not)."""

    id: int
    value: str
    expires_at: int | None


@dataclass
class Writes:
    """The rows one batch's puts write, in the column order of ``_sql``'s bulk statements."""

    drop: list[int] = field(default_factory=list)  # deleted or expired items: every trace
    reindex: list[int] = field(default_factory=list)  # updated items: old index entries only
    inserts: list[tuple] = field(default_factory=list)  # new items, ids assigned
    updates: list[tuple] = field(default_factory=list)
    fts: list[tuple[int, str]] = field(default_factory=list)  # (item id, indexed text)
    vectors: list[tuple] = field(default_factory=list)  # (vector id, item id, path, blob, tokens)
    history: list[tuple] = field(default_factory=list)


def found_by_key(rows: Iterable[tuple]) -> dict[ItemKey, Found]:
    """The stored rows of the keys a batch puts (``found_sql``'s columns: id, namespace
    text, key, value, expires_at), by key."""
    return {(ns_tuple(ns), key): Found(i, value, exp) for i, ns, key, value, exp in rows}


def plan_writes(
    plan: Plan,
    found: dict[ItemKey, Found],
    now: int,
    next_ids: Sequence[int],
    indexed: bool,
    embeddings: Any = None,
    tokens: Sequence[Any] | None = None,
) -> Writes:
    """The rows for ``plan.puts``: ``found`` holds the stored rows of their keys.

    New items take ids from ``next_ids[0]`` and vectors from ``next_ids[1]`` in
    put order (so items put one after the other get adjacent ids). ``indexed``:
    the store keeps an index (FTS rows, and with ``embeddings``, a float32 matrix
    in ``plan.doc_texts`` order, vector rows; ``tokens``: their token vectors).
    """
    next_item, next_vector = next_ids
    out = Writes()
    row = 0  # position in plan.doc_texts
    for item_key, op in plan.puts.items():
        ns, key = ".".join(item_key[0]), item_key[1]
        old_row = found.get(item_key)
        live = old_row is not None and (old_row.expires_at is None or old_row.expires_at > now)
        old = old_row.value if old_row is not None and live else None
        if old_row is not None and (op.value is None or not live):
            out.drop.append(old_row.id)
        if op.value is None:
            if live:
                out.history.append((ns, key, "delete", old, None, now, plan.origin))
            continue
        new = plan.values[item_key]
        texts = plan.texts.get(item_key, []) if indexed else []
        expires = None if op.ttl is None else now + int(op.ttl * 60_000_000)
        start, end = plan.times[item_key]
        if old_row is not None and live:
            item_id = old_row.id
            out.updates.append((new, now, op.ttl, expires, int(bool(texts)), start, end, item_id))
            if indexed:
                out.reindex.append(item_id)
        else:
            item_id, next_item = next_item, next_item + 1
            out.inserts.append(
                (item_id, ns, key, new, now, now, op.ttl, expires, int(bool(texts)), start, end)
            )
        if texts:
            out.fts.append((item_id, "\n".join(t for _, t in texts)))
        if embeddings is not None:
            for path, _ in texts:
                toks = tokens[row] if tokens is not None else None
                blob = toks.to_bytes() if toks is not None and len(toks.ids) else None
                out.vectors.append((next_vector, item_id, path, embeddings[row].tobytes(), blob))
                next_vector += 1
                row += 1
        out.history.append((ns, key, "put", old, new, now, plan.origin))
    return out


def extract_texts(value: Mapping[str, Any], paths: Fields) -> list[tuple[str, str]]:
    """The ``(path, text)`` pairs to index, as LangGraph names them (``path.i`` for lists).

    ``"$"`` (the default field) is the value's text as :func:`langmem.memory.memory_text`
    reads it, whatever its shape (where LangGraph embeds the whole value's JSON).
    """
    pairs: list[tuple[str, str]] = []
    for path, tokens in paths:
        if path == "$":
            pairs.append((path, memory_text(value)))
            continue
        text = value.get(path) if path.isidentifier() else None
        if isinstance(text, str):  # a top-level string field, as LangGraph reads it
            pairs.append((path, text))
            continue
        texts = get_text_at_path(value, tokens)
        if len(texts) == 1:
            pairs.append((path, texts[0]))
        else:
            pairs.extend((f"{path}.{i}", text) for i, text in enumerate(texts))
    return [(p, t) for p, t in pairs if t]


def matches_namespace(cond: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """LangGraph's prefix/suffix match, ``"*"`` matching any one label."""
    path = tuple(cond.path)
    if len(namespace) < len(path):
        return False
    if cond.match_type == "prefix":
        pairs = zip(namespace, path)
    elif cond.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path))
    else:
        raise ValueError(f"Unsupported match type: {cond.match_type!r}")
    return all(p == "*" or n == p for n, p in pairs)


def matches_filter(value: dict, filter: dict[str, Any]) -> bool:
    """LangGraph's filter semantics: equality, nested dicts, ``$eq $ne $gt $gte $lt $lte``."""
    return all(_compare(value.get(k), v) for k, v in filter.items())


def _compare(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        if any(k.startswith("$") for k in expected):
            return all(_operator(actual, op, operand) for op, operand in expected.items())
        return isinstance(actual, dict) and all(
            _compare(actual.get(k), v) for k, v in expected.items()
        )
    if isinstance(expected, (list, tuple)):
        return (
            isinstance(actual, (list, tuple))
            and len(actual) == len(expected)
            and all(_compare(a, e) for a, e in zip(actual, expected))
        )
    return actual == expected


_ORDER = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
# LangGraph's filter operators (what every store supports), and those comparing numbers.
ORDERING_OPERATORS = frozenset(_ORDER)
FILTER_OPERATORS = ("$eq", "$ne", *_ORDER)


def _operator(actual: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return actual == operand
    if op == "$ne":
        return actual != operand
    if op not in _ORDER:
        raise ValueError(f"Unsupported filter operator: {op!r}")
    try:
        return _ORDER[op](_number(actual), _number(operand))
    except (TypeError, ValueError):
        return False  # a missing or non-numeric field never satisfies a comparison


def _number(value: Any) -> int | float:
    """``value`` as LangGraph's ``float(value)`` reads it, but ints stay exact (Python
    compares ints of any size with floats exactly, where ``float(10**400)`` overflows)."""
    return value if isinstance(value, (int, float)) else float(value)


def importance_of(value: dict) -> float | None:
    """The item's ``importance`` (top level, or inside ``content``) if numeric, clamped to [0, 1]."""
    raw = value.get("importance")
    if raw is None and isinstance(value.get("content"), dict):
        raw = value["content"].get("importance")
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != raw:  # NaN
        return None
    return float(min(max(raw, 0), 1))  # clamped first: float(10**400) overflows
