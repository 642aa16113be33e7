"""SQL builders for ``SQLiteStore``: each returns ``(sql, params)`` and runs nothing.

Namespaces are stored as their labels joined by ``"."`` (LangGraph forbids
``"."`` in labels), so a namespace prefix is an index-friendly range:
``ns = 'a.b' OR 'a.b.' <= ns < 'a.b/'`` (``"/"`` follows ``"."``).
Times are integer microseconds since the epoch (UTC).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langmem.store._time import Bounds

Sql = tuple[str, tuple[Any, ...]]

ITEM_COLUMNS = (
    "id, namespace, key, value, created_at, updated_at, accessed_at, access_count, ttl_minutes,"
    " valid_from, valid_until"
)
LIVE = "(expires_at IS NULL OR expires_at > ?)"
# An item's event start: when it happened if known, else when it was recorded.
EVENT_START = "coalesce(valid_from, created_at)"


def ns_text(namespace: Sequence[str]) -> str:
    return ".".join(namespace)


def ns_tuple(text: str) -> tuple[str, ...]:
    return tuple(text.split("."))


def prefix_clause(prefix: Sequence[str], column: str = "namespace") -> Sql:
    """Rows whose namespace is ``prefix`` or below it; always true for ``()``."""
    if not prefix:
        return "1", ()
    p = ns_text(prefix)
    return f"({column} = ? OR ({column} >= ? AND {column} < ?))", (p, p + ".", p + "/")


def ids_clause(ids: Sequence[int] | None, column: str) -> Sql:
    """``column`` among ``ids`` (bound as one JSON array); always true for ``None``."""
    if ids is None:
        return "1", ()
    return f"{column} IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)


def get_sql(namespace: Sequence[str], key: str, now: int) -> Sql:
    return (
        f"SELECT {ITEM_COLUMNS} FROM items WHERE namespace = ? AND key = ? AND {LIVE}",
        (ns_text(namespace), key, now),
    )


# A time window's tests (both backends), by ``Bounds`` field; ``{}`` is the parameter.
TIME_TESTS = {
    "started_by": f"{EVENT_START} <= {{}}",
    "since": f"{EVENT_START} >= {{}}",
    "until": f"{EVENT_START} < {{}}",
    "ended_after": "(valid_until IS NULL OR valid_until > {})",
}


def time_bounds(bounds: Bounds | None) -> dict[str, int]:
    """The set fields of ``bounds`` (:class:`~langmem.store._time.Bounds`), in test order."""
    if bounds is None:
        return {}
    return {name: at for name in TIME_TESTS if (at := getattr(bounds, name)) is not None}


def time_clause(bounds: Bounds | None) -> Sql:
    """The items inside a search's time window; always true for ``None``."""
    tests = time_bounds(bounds)
    return (" AND ".join(TIME_TESTS[name].format("?") for name in tests) or "1"), tuple(tests.values())


def scan_sql(
    prefix: Sequence[str],
    now: int,
    limit: int = -1,
    offset: int = 0,
    filter: dict[str, Any] | None = None,
    bounds: Bounds | None = None,
) -> Sql:
    """Live items under ``prefix`` inside the time window ``bounds``, most recently
    updated first.

    With ``filter``, only its plain top-level equalities become SQL (a coarse
    pre-filter); the caller still checks the full filter on each row.
    """
    where, params = prefix_clause(prefix)
    eq_where, eq_params = equality_prefilter(filter or {})
    time_where, time_params = time_clause(bounds)
    return (
        f"SELECT {ITEM_COLUMNS} FROM items WHERE {where} AND {LIVE} AND {eq_where}"
        f" AND {time_where} ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
        (*params, now, *eq_params, *time_params, limit, offset),
    )


def closed_ids_sql(prefix: Sequence[str], now: int) -> Sql:
    """Ids of the items under ``prefix`` whose event time ended by ``now`` (what a
    default search leaves out)."""
    where, params = prefix_clause(prefix)
    # Closed memories are few: found by their partial index, then kept if under the prefix
    # (the planner would walk the whole namespace by its index instead: 1.1 ms at 5,000
    # items, against 0.004 ms).
    return (
        "SELECT id FROM items INDEXED BY items_valid_until"
        f" WHERE valid_until IS NOT NULL AND valid_until <= ? AND {where}",
        (now, *params),
    )


MAX_PREFILTER = 16  # equality tests per query (SQLite bounds an expression's depth)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_PATH_UNSAFE = re.compile('[\x00-\x1f"\\\\\ud800-\udfff]')  # JSON escapes them in keys


def storable(text: str) -> bool:
    """Whether both databases keep ``text`` as Python has it: no NUL, no lone surrogate."""
    return _UNSTORABLE.search(text) is None


def equality_prefilter(filter: dict[str, Any]) -> Sql:
    """``json_extract`` tests for up to ``MAX_PREFILTER`` ``{"key": scalar}`` /
    ``{"key": {"$eq": scalar}}`` entries.

    Never stricter than LangGraph's Python equality: strings SQLite keeps as is
    and 64-bit ints and floats compare alike in both; keys a quoted JSON path
    label holds as is; anything else is left to the caller.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for key, expected in filter.items():
        if isinstance(expected, dict) and set(expected) == {"$eq"}:
            expected = expected["$eq"]
        plain = (isinstance(expected, str) and storable(expected)) or (
            isinstance(expected, (int, float))
            and not isinstance(expected, bool)
            and abs(expected) < 2**53
        )
        if plain and not _PATH_UNSAFE.search(key) and len(clauses) < MAX_PREFILTER:
            clauses.append("json_extract(value, ?) = ?")
            params += [f'$."{key}"', expected]
    return (" AND ".join(clauses) or "1"), tuple(params)


def unindexed_sql(prefix: Sequence[str], now: int, bounds: Bounds | None = None) -> Sql:
    """Live items under ``prefix`` with nothing indexed, inside ``bounds``, newest
    updated first."""
    where, params = prefix_clause(prefix)
    time_where, time_params = time_clause(bounds)
    return (
        f"SELECT {ITEM_COLUMNS} FROM items WHERE indexed = 0 AND {where} AND {LIVE}"
        f" AND {time_where} ORDER BY updated_at DESC, id DESC",
        (*params, now, *time_params),
    )


def items_by_id_sql(ids: Sequence[int], now: int) -> Sql:
    where, params = ids_clause(ids, "id")
    return f"SELECT {ITEM_COLUMNS} FROM items WHERE {where} AND {LIVE}", (*params, now)


def vector_ids_sql(prefix: Sequence[str], item_ids: Sequence[int] | None) -> Sql:
    """Vector rows of the items a search may return (namespace, then filter)."""
    where, params = prefix_clause(prefix, "i.namespace")
    ids_where, ids_params = ids_clause(item_ids, "i.id")
    return (
        f"SELECT v.id FROM vectors v JOIN items i ON i.id = v.item_id WHERE {where} AND {ids_where}",
        (*params, *ids_params),
    )


def vector_owners_sql(vector_ids: Sequence[int], prefix: Sequence[str], now: int) -> Sql:
    """``(vector id, item id)`` of the given vectors whose live items are under ``prefix``."""
    where, params = ids_clause(vector_ids, "v.id")
    ns_where, ns_params = prefix_clause(prefix, "i.namespace")
    return (
        f"SELECT v.id, v.item_id FROM vectors v JOIN items i ON i.id = v.item_id WHERE {where}"
        f" AND {ns_where} AND (i.expires_at IS NULL OR i.expires_at > ?)",
        (*params, *ns_params, now),
    )


def token_rows_sql(
    item_ids: Sequence[int], prefix: Sequence[str], allowed: Sequence[int] | None, now: int
) -> Sql:
    """``(item id, namespace, token blob)`` of the given live items a search may see."""
    where, params = ids_clause(item_ids, "v.item_id")
    ns_where, ns_params = prefix_clause(prefix, "i.namespace")
    ok_where, ok_params = ids_clause(allowed, "i.id")
    return (
        "SELECT v.item_id, i.namespace, v.tokens FROM vectors v JOIN items i ON i.id = v.item_id"
        f" WHERE {where} AND {ns_where} AND {ok_where} AND v.tokens IS NOT NULL"
        " AND (i.expires_at IS NULL OR i.expires_at > ?)",  # any order: MaxSim ignores it
        (*params, *ns_params, *ok_params, now),
    )


def keyword_sql(
    match: str, prefix: Sequence[str], item_ids: Sequence[int] | None, now: int, limit: int
) -> Sql:
    """Best BM25 matches (FTS5 ``bm25()``: lower is better) within the allowed items."""
    where, params = prefix_clause(prefix, "i.namespace")
    ids_where, ids_params = ids_clause(item_ids, "i.id")
    return (
        "SELECT f.rowid, bm25(items_fts) AS score FROM items_fts f JOIN items i ON i.id = f.rowid"
        f" WHERE items_fts MATCH ? AND {where} AND {ids_where}"
        f" AND (i.expires_at IS NULL OR i.expires_at > ?) ORDER BY score, f.rowid LIMIT ?",
        (match, *params, *ids_params, now, limit),
    )


def keyword_top_sql(match: str, limit: int) -> Sql:
    """The best BM25 matches of the whole index, before any namespace or filter."""
    return (
        "SELECT rowid, bm25(items_fts) AS score FROM items_fts WHERE items_fts MATCH ?"
        " ORDER BY score, rowid LIMIT ?",
        (match, limit),
    )


def keyword_among_sql(match: str, item_ids: Sequence[int], limit: int) -> Sql:
    """Best BM25 matches among ``item_ids``, computing BM25 for those only.

    The unary ``+`` keeps FTS5 from looking up each id (re-reading every
    term's doclist per id): the matches are read once and filtered.
    """
    return (
        "SELECT rowid, bm25(items_fts) AS score FROM items_fts WHERE items_fts MATCH ?"
        " AND +rowid IN (SELECT value FROM json_each(?)) ORDER BY score, rowid LIMIT ?",
        (match, json.dumps(list(item_ids)), limit),
    )


def live_ids_under_sql(prefix: Sequence[str], now: int, limit: int) -> Sql:
    """Ids of up to ``limit`` live items under ``prefix``."""
    where, params = prefix_clause(prefix)
    return f"SELECT id FROM items WHERE {where} AND {LIVE} LIMIT ?", (*params, now, limit)


def term_counts_sql(terms: Sequence[str]) -> Sql:
    """How many items each FTS5 term (a quoted word) matches, in the given order."""
    return (
        "SELECT (SELECT count(*) FROM items_fts WHERE items_fts MATCH j.value)"
        " FROM json_each(?) j ORDER BY j.key",
        (json.dumps(list(terms)),),
    )


def live_items_sql(
    ids: Sequence[int], prefix: Sequence[str], item_ids: Sequence[int] | None, now: int
) -> Sql:
    """The rows of those of ``ids`` that are live items under ``prefix`` and among ``item_ids``."""
    where, params = ids_clause(ids, "id")
    ns_where, ns_params = prefix_clause(prefix)
    ok_where, ok_params = ids_clause(item_ids, "id")
    return (
        f"SELECT {ITEM_COLUMNS} FROM items WHERE {where} AND {ns_where} AND {ok_where} AND {LIVE}",
        (*params, *ns_params, *ok_params, now),
    )


def touch_sql(ids: Sequence[int], now: int, refresh_ttl: bool) -> Sql:
    """Record an access (searches feed recency/strength) and optionally refresh TTLs."""
    where, params = ids_clause(ids, "id")
    ttl = (
        ", expires_at = CASE WHEN ttl_minutes IS NULL THEN expires_at"
        " ELSE ? + CAST(ttl_minutes * 60000000 AS INTEGER) END"
        if refresh_ttl
        else ""
    )
    return (
        f"UPDATE items SET accessed_at = ?, access_count = access_count + 1{ttl} WHERE {where}",
        (now, *((now,) if refresh_ttl else ()), *params),
    )


def refresh_ttl_sql(item_id: int, now: int) -> Sql:
    return (
        "UPDATE items SET expires_at = ? + CAST(ttl_minutes * 60000000 AS INTEGER)"
        " WHERE id = ? AND ttl_minutes IS NOT NULL",
        (now, item_id),
    )


def namespaces_sql(now: int) -> Sql:
    return f"SELECT DISTINCT namespace FROM items WHERE {LIVE} ORDER BY namespace", (now,)


def found_sql(keys: Sequence[tuple[Sequence[str], str]]) -> Sql:
    """The stored rows of the ``(namespace, key)`` items, expired or not:
    ``id, namespace, key, value, expires_at`` (one lookup for a batch's puts)."""
    pairs = json.dumps([[ns_text(ns), key] for ns, key in keys], ensure_ascii=False)
    return (
        "SELECT i.id, i.namespace, i.key, i.value, i.expires_at FROM json_each(?) j"
        " CROSS JOIN items i ON i.namespace = json_extract(j.value, '$[0]')"
        " AND i.key = json_extract(j.value, '$[1]')",
        (pairs,),
    )


# The ids after the largest item id and the largest vector id ever used.
NEXT_IDS_SQL = (
    "SELECT (SELECT coalesce(max(id), 0) FROM items) + 1,"
    " (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'vectors') + 1"
)
# Bulk writes (``executemany``; rows from ``_ops.plan_writes``).
INSERT_ITEMS_SQL = (
    "INSERT INTO items (id, namespace, key, value, created_at, updated_at, ttl_minutes,"
    " expires_at, indexed, valid_from, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_ITEMS_SQL = (
    "UPDATE items SET value = ?, updated_at = ?, ttl_minutes = ?, expires_at = ?, indexed = ?,"
    " valid_from = ?, valid_until = ? WHERE id = ?"
)
INSERT_FTS_SQL = "INSERT INTO items_fts (rowid, text) VALUES (?, ?)"
INSERT_VECTORS_SQL = (
    "INSERT INTO vectors (id, item_id, path, embedding, tokens) VALUES (?, ?, ?, ?, ?)"
)
# Rows: namespace text, key, action, old and new value JSON, time, origin, reason; the
# version follows the item's last one (writes hold the file's write lock).
INSERT_HISTORY_SQL = (
    "INSERT INTO history (namespace, key, action, old_value, new_value, at, origin, reason,"
    " version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1 + coalesce((SELECT version FROM"
    " history WHERE namespace = ?1 AND key = ?2 ORDER BY id DESC LIMIT 1), 0))"
)


def history_sql(
    namespace: Sequence[str],
    key: str,
    action: str,
    old: str | None,
    new: str | None,
    now: int,
    origin: str | None,
    reason: str | None,
) -> Sql:
    return INSERT_HISTORY_SQL, (ns_text(namespace), key, action, old, new, now, origin, reason)


def read_history_sql(namespace: Sequence[str], key: str) -> Sql:
    return (
        "SELECT namespace, key, action, old_value, new_value, at, origin, version, reason"
        " FROM history WHERE namespace = ? AND key = ? ORDER BY id",
        (ns_text(namespace), key),
    )


def accesses_sql(prefix: Sequence[str]) -> Sql:
    """Items under ``prefix`` that searches recalled: namespace, key, last time, count."""
    where, params = prefix_clause(prefix)
    return (
        f"SELECT namespace, key, accessed_at, access_count FROM items"
        f" WHERE {where} AND access_count > 0",
        params,
    )


def expired_sql(now: int) -> Sql:
    return (
        "SELECT id, namespace, key, value FROM items"
        " WHERE expires_at IS NOT NULL AND expires_at <= ?",
        (now,),
    )


def erase_targets_sql(namespace: Sequence[str], key: str | None) -> Sql:
    """Item ids to erase: one item, or a namespace and everything below it."""
    where, params = _erased(namespace, key)
    return f"SELECT id FROM items WHERE {where}", params


def erase_history_sql(namespace: Sequence[str], key: str | None) -> Sql:
    where, params = _erased(namespace, key)
    return f"DELETE FROM history WHERE {where}", params


def _erased(namespace: Sequence[str], key: str | None) -> Sql:
    if key is not None:
        return "namespace = ? AND key = ?", (ns_text(namespace), key)
    return prefix_clause(namespace)


VECTORS_VERSION_SQL = "SELECT value FROM meta WHERE key = 'vectors_version'"
BUMP_VECTORS_VERSION_SQL = (
    "UPDATE meta SET value = value + 1 WHERE key = 'vectors_version' RETURNING value"
)
