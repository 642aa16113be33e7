"""Schema, migrations and SQL of ``PostgresStore``: each builder returns ``(sql, params)``.

Tables live in the connection's current schema (the first of ``search_path``):

- ``langmem_items``: one row per item. Namespaces are their labels joined by
  ``"."`` in a ``COLLATE "C"`` column, so a prefix is an index range (as in
  :mod:`langmem.store._sql`); values ``jsonb``; times ``bigint`` microseconds.
- ``langmem_text``: the indexed text of an item as a ``tsvector`` (GIN index) and
  its token count; ``langmem_terms`` the document frequency of every lexeme and
  ``langmem_counters`` the document count and total length, so keyword search
  scores BM25 exactly as SQLite's FTS5 ``bm25()`` (k1 = 1.2, b = 0.75).
- ``langmem_vectors``: one row per embedded text, ``vector(dims)`` with an HNSW
  index (``vector_cosine_ops``), the item's namespace (filtered vector search
  needs no join) and its token vectors (``bytea``) for late interaction. Made
  when a store with an embedder first opens the schema (dims are recorded in
  ``langmem_meta``).
- ``langmem_history``, and ``langmem_migrations`` (versioned, append-only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langmem.store._sql import TIME_TESTS, ns_text, storable, time_bounds
from langmem.store._time import Bounds

Sql = tuple[str, Any]

# Item rows in the column order of ``_read.item_from_row``.
ITEM_COLUMNS = (
    "id, namespace, key, value::text, created_at, updated_at, accessed_at, access_count,"
    " ttl_minutes, valid_from, valid_until"
)
LIVE = "(expires_at IS NULL OR expires_at > %(now)s)"
CONFIG = "langmem_english"  # porter-style stemming, no stopwords removed (as FTS5 porter)
K1, B = 1.2, 0.75
# A lexeme quoted for tsquery input (backslashes and quotes escaped).
TSQUERY_LEXEME = r"'''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''''"
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 128  # graph degree; candidates kept while inserting
# A write adding at least this many vectors to an empty table builds the HNSW index
# once after loading them (several times faster than inserting into the graph).
BULK_BUILD = 1000

MIGRATIONS: list[tuple[str, tuple[str, ...]]] = [
    (
        "m001_initial",
        (
            """CREATE TABLE langmem_items (
                id bigint PRIMARY KEY,
                namespace text COLLATE "C" NOT NULL,
                key text NOT NULL,
                value jsonb NOT NULL,
                created_at bigint NOT NULL,
                updated_at bigint NOT NULL,
                accessed_at bigint,
                access_count bigint NOT NULL DEFAULT 0,
                ttl_minutes double precision,
                expires_at bigint,
                indexed smallint NOT NULL DEFAULT 0,
                UNIQUE (namespace, key)
            )""",
            "CREATE INDEX langmem_items_updated ON langmem_items (updated_at DESC, id DESC)",
            "CREATE INDEX langmem_items_expires ON langmem_items (expires_at)"
            " WHERE expires_at IS NOT NULL",
            "CREATE INDEX langmem_items_unindexed ON langmem_items (updated_at) WHERE indexed = 0",
            """CREATE TABLE langmem_text (
                item_id bigint PRIMARY KEY,
                body tsvector NOT NULL,
                length integer NOT NULL
            )""",
            "CREATE INDEX langmem_text_body ON langmem_text USING gin (body)",
            "CREATE TABLE langmem_terms (lexeme text PRIMARY KEY, df bigint NOT NULL)",
            """CREATE TABLE langmem_counters (
                id integer PRIMARY KEY CHECK (id = 1),
                next_item bigint NOT NULL,
                next_vector bigint NOT NULL,
                docs bigint NOT NULL,
                total_length bigint NOT NULL
            )""",
            "INSERT INTO langmem_counters VALUES (1, 1, 1, 0, 0)",
            """CREATE TABLE langmem_history (
                id bigserial PRIMARY KEY,
                namespace text COLLATE "C" NOT NULL,
                key text NOT NULL,
                action text NOT NULL,
                old_value jsonb,
                new_value jsonb,
                at bigint NOT NULL,
                origin text
            )""",
            "CREATE INDEX langmem_history_item ON langmem_history (namespace, key, id)",
            "CREATE TABLE langmem_meta (key text PRIMARY KEY, value text NOT NULL)",
            "CREATE TEXT SEARCH DICTIONARY langmem_stem (TEMPLATE = snowball, language = english)",
            f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = english)",
            f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR asciiword, asciihword,"
            " hword_asciipart, word, hword, hword_part WITH langmem_stem",
        ),
    ),
    (
        # ANALYZE samples column values into pg_statistic, whose old rows an erase
        # cannot reach: no statistics of content (values, keys, texts, lexemes, vectors).
        "m002_no_content_statistics",
        tuple(
            f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS 0"
            for table, columns in (
                ("langmem_items", ("key", "value")),
                ("langmem_text", ("body",)),
                ("langmem_terms", ("lexeme",)),
                ("langmem_history", ("key", "old_value", "new_value", "origin")),
            )
            for column in columns
        ),
    ),
    (
        # Build the HNSW graph with a wider candidate list than pgvector's default (64):
        # better neighbours for every insert from now on (REINDEX rebuilds the old ones).
        "m003_hnsw_build_params",
        (
            "ALTER INDEX IF EXISTS langmem_vectors_hnsw"
            f" SET (ef_construction = {HNSW_EF_CONSTRUCTION})",
        ),
    ),
    (
        # GIN's pending list (fastupdate) defers filing new lexemes, and every search
        # reads all of it: 5,000 fresh puts doubled hybrid search time at 100k. Off, each
        # write files its lexemes in the index; the pending entries are filed now.
        "m004_gin_without_pending_list",
        (
            "ALTER INDEX langmem_text_body SET (fastupdate = off)",
            "SELECT gin_clean_pending_list('langmem_text_body')",
        ),
    ),
    (
        # Each change of an item is a numbered version (1, 2, ... in order of recording),
        # with the reason given for it, if any (content: no statistics, as m002).
        "m005_history_versions",
        (
            "ALTER TABLE langmem_history ADD COLUMN version integer NOT NULL DEFAULT 0,"
            " ADD COLUMN reason text",
            "ALTER TABLE langmem_history ALTER COLUMN reason SET STATISTICS 0",
            "UPDATE langmem_history h SET version = n.version FROM (SELECT id, row_number()"
            " OVER (PARTITION BY namespace, key ORDER BY id) AS version FROM langmem_history) n"
            " WHERE h.id = n.id",
        ),
    ),
    (
        # When a memory happened or held (event time, µs; NULL: unknown), as SQLite's
        # m007_event_time: copied from the value by every write, indexed as searched.
        "m006_event_time",
        (
            "ALTER TABLE langmem_items ADD COLUMN valid_from bigint, ADD COLUMN valid_until bigint",
            "CREATE INDEX langmem_items_event_start ON langmem_items"
            " ((coalesce(valid_from, created_at)))",
            "CREATE INDEX langmem_items_valid_until ON langmem_items (valid_until)"
            " WHERE valid_until IS NOT NULL",
        ),
    ),
]

CREATE_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS langmem_migrations"
    " (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz DEFAULT now())"
)
# Serialises setup() and every write of a schema (across processes and servers' clients).
LOCK_SETUP = "SELECT pg_advisory_xact_lock(hashtext('langmem setup ' || current_schema()))"
LOCK_WRITES = "SELECT pg_advisory_xact_lock(hashtext('langmem writes ' || current_schema()))"


HNSW_INDEX = (
    "CREATE INDEX langmem_vectors_hnsw ON langmem_vectors USING hnsw (embedding vector_cosine_ops)"
    f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
)
VECTORS_EMPTY_SQL = "SELECT NOT EXISTS (SELECT 1 FROM langmem_vectors)"
DROP_HNSW_SQL = "DROP INDEX langmem_vectors_hnsw"


def vectors_ddl(dims: int) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE langmem_vectors (
            id bigint PRIMARY KEY,
            item_id bigint NOT NULL,
            namespace text COLLATE "C" NOT NULL,
            path text NOT NULL,
            embedding vector({int(dims)}) NOT NULL,
            tokens bytea
        )""",
        "CREATE INDEX langmem_vectors_item ON langmem_vectors (item_id)",
        "CREATE INDEX langmem_vectors_namespace ON langmem_vectors (namespace)",
        HNSW_INDEX,
        *(
            f"ALTER TABLE langmem_vectors ALTER COLUMN {column} SET STATISTICS 0"
            for column in ("path", "embedding", "tokens")
        ),
    )


def prefix_clause(prefix: Sequence[str], column: str = "namespace") -> tuple[str, dict]:
    """Rows whose namespace is ``prefix`` or below it; always true for ``()``."""
    if not prefix:
        return "TRUE", {}
    p = ns_text(prefix)
    return (
        f"({column} = %(p)s OR ({column} >= %(p_lo)s AND {column} < %(p_hi)s))",
        {"p": p, "p_lo": p + ".", "p_hi": p + "/"},
    )


def ids_clause(ids: Sequence[int] | None, column: str, name: str = "ids") -> tuple[str, dict]:
    if ids is None:
        return "TRUE", {}
    return f"{column} = ANY(%({name})s::bigint[])", {name: list(ids)}


def get_sql(namespace: Sequence[str], key: str, now: int) -> Sql:
    return (
        f"SELECT {ITEM_COLUMNS} FROM langmem_items"
        f" WHERE namespace = %(ns)s AND key = %(key)s AND {LIVE}",
        {"ns": ns_text(namespace), "key": key, "now": now},
    )


def equality_prefilter(filter: dict[str, Any]) -> tuple[str, dict]:
    """``jsonb`` containment for ``{"key": "text"}`` filters (a coarse pre-filter: the
    caller checks the whole filter on each row, as ``_sql.equality_prefilter``); text
    ``jsonb`` cannot hold (NUL, lone surrogates) is left to the caller."""
    plain = {
        k: (v["$eq"] if isinstance(v, dict) and set(v) == {"$eq"} else v) for k, v in filter.items()
    }
    strings = {k: v for k, v in plain.items() if isinstance(v, str) and storable(k) and storable(v)}
    if not strings:
        return "TRUE", {}
    return "value @> %(eq)s::jsonb", {"eq": json.dumps(strings, ensure_ascii=False)}


def time_clause(bounds: Bounds | None) -> tuple[str, dict]:
    """The items inside a search's time window (``_sql.TIME_TESTS``)."""
    params = time_bounds(bounds)
    where = " AND ".join(TIME_TESTS[name].format(f"%({name})s") for name in params)
    return where or "TRUE", params


def scan_sql(
    prefix: Sequence[str],
    now: int,
    limit: int | None = None,
    offset: int = 0,
    filter: dict[str, Any] | None = None,
    bounds: Bounds | None = None,
) -> Sql:
    """Live items under ``prefix`` inside ``bounds``, most recently updated first."""
    where, params = prefix_clause(prefix)
    eq_where, eq_params = equality_prefilter(filter or {})
    time_where, time_params = time_clause(bounds)
    return (
        f"SELECT {ITEM_COLUMNS} FROM langmem_items WHERE {where} AND {LIVE} AND {eq_where}"
        f" AND {time_where} ORDER BY updated_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {**params, **eq_params, **time_params, "now": now, "limit": limit, "offset": offset},
    )


def closed_ids_sql(prefix: Sequence[str], now: int) -> Sql:
    """Ids of the items under ``prefix`` whose event time ended by ``now``."""
    where, params = prefix_clause(prefix)
    return (
        "SELECT id FROM langmem_items WHERE valid_until IS NOT NULL"
        f" AND valid_until <= %(now)s AND {where}",
        {**params, "now": now},
    )


def unindexed_sql(prefix: Sequence[str], now: int, bounds: Bounds | None = None) -> Sql:
    where, params = prefix_clause(prefix)
    time_where, time_params = time_clause(bounds)
    return (
        f"SELECT {ITEM_COLUMNS} FROM langmem_items WHERE indexed = 0 AND {where} AND {LIVE}"
        f" AND {time_where} ORDER BY updated_at DESC, id DESC",
        {**params, **time_params, "now": now},
    )


def items_by_id_sql(ids: Sequence[int], now: int) -> Sql:
    return (
        f"SELECT {ITEM_COLUMNS} FROM langmem_items WHERE id = ANY(%(ids)s::bigint[]) AND {LIVE}",
        {"ids": list(ids), "now": now},
    )


def vector_text(vector: Sequence[float]) -> str:
    """pgvector's text form (psycopg's float-array dumper is ~50x slower)."""
    return json.dumps(vector if isinstance(vector, list) else [float(x) for x in vector])


def vector_sql(
    query: Sequence[float],
    prefix: Sequence[str],
    allowed: Sequence[int] | None,
    now: int,
    k: int,
) -> Sql:
    """The ``k`` nearest vectors under ``prefix``: ``(item id, cosine similarity, *item
    row)`` of those whose item is live."""
    where, params = prefix_clause(prefix)
    ids_where, ids_params = ids_clause(allowed, "item_id")
    return (
        "SELECT v.item_id, v.sim, ok.* FROM (SELECT item_id, 1 - (embedding <=> %(q)s::vector)"
        f" AS sim FROM langmem_vectors WHERE {where} AND {ids_where}"
        " ORDER BY embedding <=> %(q)s::vector LIMIT %(k)s) v"
        f" CROSS JOIN LATERAL (SELECT {ITEM_COLUMNS} FROM langmem_items"
        f" WHERE id = v.item_id AND {LIVE}) ok",
        {**params, **ids_params, "q": vector_text(query), "k": k, "now": now},
    )


def search_effort_sql(k: int, ef_search: int | None = None) -> Sql:
    """HNSW settings for one search of ``k`` neighbours (this transaction only):
    ``ef_search`` candidates (default ``2 * k``, at least 100, at most 1000), and
    iterative scans so namespace- and filter-restricted searches fill their ``k``."""
    ef = max(100, 2 * k) if ef_search is None else max(ef_search, k)
    return (
        "SELECT set_config('hnsw.ef_search', %s, true),"
        " set_config('hnsw.iterative_scan', 'relaxed_order', true)",
        (str(min(ef, 1000)),),
    )


def keyword_sql(
    terms: Sequence[str],
    prefix: Sequence[str],
    allowed: Sequence[int] | None,
    now: int,
    limit: int,
) -> Sql:
    """Best BM25 matches ``(item id, score, *item row)`` of the query ``terms``, in one
    statement: FTS5's ``bm25()`` (its idf, k1, b and sign: lower is better)."""
    where, params = prefix_clause(prefix, "i.namespace")
    ids_where, ids_params = ids_clause(allowed, "i.id")
    return (
        # The query's lexemes some document holds, with their idf; their tsquery (an
        # InitPlan, so the GIN index serves it); the matches, each scored from its own
        # lexemes that are the query's (marked with weight A and kept: no scan of the
        # others); then, best first, item rows by key (namespace, filter, expiry) until
        # ``limit`` pass: never a scan of the namespace.
        "WITH q AS MATERIALIZED (SELECT t.lexeme,"
        " greatest(ln((c.docs - t.df + 0.5)::float8 / (t.df + 0.5)), 1e-6) AS idf,"
        " greatest(c.total_length::float8 / greatest(c.docs, 1), 1e-9) AS avg"
        f" FROM (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('{CONFIG}', %(text)s)))"
        " AS lexeme) x JOIN langmem_terms t ON t.lexeme = x.lexeme"
        " CROSS JOIN langmem_counters c WHERE t.df > 0),"
        " m AS MATERIALIZED (SELECT item_id, body, length FROM langmem_text"
        f" WHERE body @@ (SELECT string_agg({TSQUERY_LEXEME}, ' | ')::tsquery FROM q)),"
        " s AS MATERIALIZED (SELECT m.item_id, -(SELECT sum(q.idf * cardinality(u.positions)"
        " * %(k1p1)s / (cardinality(u.positions) + %(k1)s * (1 - %(b)s + %(b)s * m.length"
        " / q.avg))) FROM unnest(ts_filter(setweight(m.body, 'A', (SELECT array_agg(lexeme)"
        " FROM q)), '{a}')) u JOIN q ON q.lexeme = u.lexeme) AS score FROM m)"
        # Best first, then the item rows until ``limit`` pass: not one lookup per match.
        " SELECT s.item_id, s.score, ok.* FROM (SELECT * FROM s ORDER BY score, item_id) s"
        f" CROSS JOIN LATERAL (SELECT {ITEM_COLUMNS} FROM langmem_items i"
        f" WHERE i.id = s.item_id AND {where} AND {ids_where}"
        " AND (i.expires_at IS NULL OR i.expires_at > %(now)s)) ok"
        " ORDER BY s.score, s.item_id LIMIT %(limit)s",
        {
            **params,
            **ids_params,
            "text": " ".join(terms),
            "k1": K1,
            "k1p1": K1 + 1,
            "b": B,
            "now": now,
            "limit": limit,
        },
    )


def token_rows_sql(
    item_ids: Sequence[int], prefix: Sequence[str], allowed: Sequence[int] | None, now: int
) -> Sql:
    """``(item id, namespace, token blob)`` of the given live items a search may see."""
    where, params = prefix_clause(prefix, "i.namespace")
    ok_where, ok_params = ids_clause(allowed, "i.id", "allowed")
    return (
        "SELECT v.item_id, i.namespace, v.tokens FROM langmem_vectors v"
        " JOIN langmem_items i ON i.id = v.item_id"
        f" WHERE v.item_id = ANY(%(ids)s::bigint[]) AND {where} AND {ok_where}"
        " AND v.tokens IS NOT NULL AND (i.expires_at IS NULL OR i.expires_at > %(now)s)",
        {**params, **ok_params, "ids": list(item_ids), "now": now},
    )


def touch_sql(ids: Sequence[int], now: int, refresh_ttl: bool) -> Sql:
    """Record an access (and refresh TTLs), skipping rows a writer holds."""
    ttl = (
        ", expires_at = CASE WHEN ttl_minutes IS NULL THEN expires_at"
        " ELSE %(now)s + (ttl_minutes * 60000000)::bigint END"
        if refresh_ttl
        else ""
    )
    return (
        f"UPDATE langmem_items SET accessed_at = %(now)s, access_count = access_count + 1{ttl}"
        " WHERE id IN (SELECT id FROM langmem_items WHERE id = ANY(%(ids)s::bigint[])"
        " FOR UPDATE SKIP LOCKED)",
        {"now": now, "ids": list(ids)},
    )


def refresh_ttl_sql(ids: Sequence[int], now: int) -> Sql:
    return (
        "UPDATE langmem_items SET expires_at = %(now)s + (ttl_minutes * 60000000)::bigint"
        " WHERE id IN (SELECT id FROM langmem_items WHERE id = ANY(%(ids)s::bigint[])"
        " AND ttl_minutes IS NOT NULL FOR UPDATE SKIP LOCKED)",
        {"now": now, "ids": list(ids)},
    )


def namespaces_sql(now: int) -> Sql:
    return f"SELECT DISTINCT namespace FROM langmem_items WHERE {LIVE}", {"now": now}


def found_sql(keys: Sequence[tuple[Sequence[str], str]]) -> Sql:
    """``id, namespace, key, value, expires_at`` of the stored rows of these keys."""
    return (
        "SELECT i.id, i.namespace, i.key, i.value::text, i.expires_at FROM langmem_items i"
        " JOIN unnest(%(ns)s::text[], %(keys)s::text[]) AS k (ns, key)"
        " ON i.namespace = k.ns AND i.key = k.key",
        {"ns": [ns_text(ns) for ns, _ in keys], "keys": [key for _, key in keys]},
    )


NEXT_IDS_SQL = "SELECT next_item, next_vector FROM langmem_counters"
SET_NEXT_IDS_SQL = (
    "UPDATE langmem_counters SET next_item = greatest(next_item, %s),"
    " next_vector = greatest(next_vector, %s)"
)
INSERT_ITEMS_SQL = (
    "INSERT INTO langmem_items (id, namespace, key, value, created_at, updated_at, ttl_minutes,"
    " expires_at, indexed, valid_from, valid_until)"
    " VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s)"
)
UPDATE_ITEMS_SQL = (
    "UPDATE langmem_items SET value = %s::jsonb, updated_at = %s, ttl_minutes = %s,"
    " expires_at = %s, indexed = %s, valid_from = %s, valid_until = %s WHERE id = %s"
)
INSERT_VECTORS_SQL = (
    "INSERT INTO langmem_vectors (id, item_id, namespace, path, embedding, tokens)"
    " VALUES (%s, %s, %s, %s, %s::vector, %s)"
)
# Rows as _sql.INSERT_HISTORY_SQL's; the version follows the item's last one (writes
# hold LOCK_WRITES).
INSERT_HISTORY_SQL = (
    "INSERT INTO langmem_history (namespace, key, action, old_value, new_value, at, origin,"
    " reason, version) SELECT v.*, 1 + coalesce((SELECT h.version FROM langmem_history h"
    " WHERE h.namespace = v.ns AND h.key = v.key ORDER BY h.id DESC LIMIT 1), 0)"
    " FROM (VALUES (%s::text, %s::text, %s::text, %s::jsonb, %s::jsonb, %s::bigint, %s::text,"
    " %s::text)) AS v (ns, key, action, old, new, at, origin, reason)"
)


def insert_text_sql(rows: Sequence[tuple[int, str]]) -> Sql:
    """Index the texts ``(item id, text)``: their tsvectors, term frequencies and totals."""
    return (
        f"""WITH new AS (
            INSERT INTO langmem_text (item_id, body, length)
            SELECT x.id, v.body, (SELECT coalesce(sum(cardinality(positions)), 0) FROM
            unnest(v.body)) FROM unnest(%(ids)s::bigint[], %(texts)s::text[]) AS x (id, txt)
            CROSS JOIN LATERAL (SELECT to_tsvector('{CONFIG}', x.txt) AS body) v
            RETURNING body, length
        ), terms AS (
            INSERT INTO langmem_terms (lexeme, df)
            SELECT lx, count(*) FROM new, unnest(tsvector_to_array(new.body)) AS lx GROUP BY lx
            ON CONFLICT (lexeme) DO UPDATE SET df = langmem_terms.df + excluded.df
        )
        UPDATE langmem_counters SET docs = docs + (SELECT count(*) FROM new),
            total_length = total_length + (SELECT coalesce(sum(length), 0) FROM new)""",
        {"ids": [r[0] for r in rows], "texts": [r[1].replace("\x00", " ") for r in rows]},
    )


def drop_text_sql(ids: Sequence[int]) -> Sql:
    """Unindex items: their text rows, term frequencies and totals; returns the
    lexemes no document holds any more (to delete)."""
    return (
        """WITH gone AS (
            DELETE FROM langmem_text WHERE item_id = ANY(%(ids)s::bigint[]) RETURNING body, length
        ), totals AS (
            UPDATE langmem_counters SET docs = docs - (SELECT count(*) FROM gone),
                total_length = total_length - (SELECT coalesce(sum(length), 0) FROM gone)
        )
        UPDATE langmem_terms t SET df = t.df - g.n FROM (SELECT lx, count(*) AS n FROM gone,
            unnest(tsvector_to_array(gone.body)) AS lx GROUP BY lx) g
        WHERE t.lexeme = g.lx RETURNING t.lexeme, t.df""",
        {"ids": list(ids)},
    )


DROP_TERMS_SQL = "DELETE FROM langmem_terms WHERE lexeme = ANY(%s::text[]) AND df <= 0"


def read_history_sql(namespace: Sequence[str], key: str) -> Sql:
    return (
        "SELECT namespace, key, action, old_value::text, new_value::text, at, origin, version,"
        " reason FROM langmem_history WHERE namespace = %s AND key = %s ORDER BY id",
        (ns_text(namespace), key),
    )


def accesses_sql(prefix: Sequence[str]) -> tuple[str, dict]:
    """Items under ``prefix`` that searches recalled: namespace, key, last time, count."""
    where, params = prefix_clause(prefix)
    return (
        f"SELECT namespace, key, accessed_at, access_count FROM langmem_items"
        f" WHERE {where} AND access_count > 0",
        params,
    )


def expired_sql(now: int) -> Sql:
    return (
        "SELECT id, namespace, key, value::text FROM langmem_items"
        " WHERE expires_at IS NOT NULL AND expires_at <= %s",
        (now,),
    )


def erase_targets_sql(namespace: Sequence[str], key: str | None) -> Sql:
    where, params = _erased(namespace, key)
    return f"SELECT id FROM langmem_items WHERE {where}", params


def erase_history_sql(namespace: Sequence[str], key: str | None) -> Sql:
    where, params = _erased(namespace, key)
    return f"DELETE FROM langmem_history WHERE {where}", params


def _erased(namespace: Sequence[str], key: str | None) -> tuple[str, dict]:
    """One item, or a namespace and everything below it."""
    if key is not None:
        return "namespace = %(p)s AND key = %(key)s", {"p": ns_text(namespace), "key": key}
    return prefix_clause(namespace)


# Rewritten (with their indexes) by compaction, so erased rows leave no bytes in the
# data files; then analyzed afresh, and pg_statistic rewritten where the role may
# (namespaces keep statistics for the planner: an erased one may linger there).
COMPACT_TABLES = (
    "langmem_items",
    "langmem_text",
    "langmem_terms",
    "langmem_history",
    "langmem_vectors",
)
COMPACT_STATISTICS = "VACUUM FULL pg_catalog.pg_statistic"
