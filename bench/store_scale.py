"""SQLiteStore at scale: put throughput, search latency, recall vs exact, memory.

    python bench/store_scale.py [--sizes 10000 100000 1000000] [--queries 200]

For each size a fresh store file (in a temp dir) gets that many memories in one
namespace, each with 384-dim vectors from a cheap deterministic generator (a
hash of the id: uniformly random directions, no embedding model) and 8 words
of a 5,000-word synthetic vocabulary. Then:

- put: memories per second through ``store.batch`` (1,000 puts per batch);
- search ``vector``: ``store.search(limit=10)`` whose query vector is given
  (the embed function only looks it up), p50/p95 ms, recall@10 against an exact
  float32 scan; ``index``: the same on the bare ``VectorIndex``;
- search ``hybrid``: the default mode, adding FTS5 keyword search and ranking;
  ``hybrid_uncapped``: the same searches, interleaved one by one with ``hybrid``
  (so both share the machine's load), with the keyword side as before issue 15
  (one join query scoring every FTS5 match);
- search ``small ns``: a 100-memory namespace inside the big store;
- quantized ready: seconds after reopening until the index's quantized shortlist
  copy (used from ~200k vectors) is built; searches before that scan exactly;
- RSS after the searches, its peak while reopening and searching, and while building;
- embedder: MiniLM's time per text (if installed), to compare with the store's.

    python bench/store_scale.py --compare [--sizes 10000 100000] [--slow-queries 20]

``--compare`` runs, in one process and at each size, ours (``SQLiteStore``),
LangGraph's ``SqliteStore`` (WAL, ``synchronous=NORMAL``, as ours) and
``InMemoryStore`` on the same memories, with every vector computed before the
clock starts (the embed function only looks it up): batch puts (1,000 per
batch), single ``put`` latency (into the filled store), vector search p50/p95
and recall@10, hybrid search (ours only: the others have no keyword search),
RSS growth and file size. The two LangGraph stores scan every vector per
search, so they get ``--slow-queries`` queries.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from langgraph.store.base import PutOp

from langmem.store import SQLiteStore, _read, _sql

DIMS = 384
QUERY_OFFSET = 10**12
VOCAB = 5000
RESULTS = Path(__file__).resolve().parent / "results"


def vectors_for(ids: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random vectors (splitmix64 of id and coordinate)."""
    x = ids.astype(np.uint64)[:, None] * np.uint64(DIMS) + np.arange(DIMS, dtype=np.uint64)
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return ((x >> np.uint64(11)).astype(np.float64) / 2**52 - 1.0).astype(np.float32)


def words_for(i: int) -> str:
    rng = np.random.default_rng(i)
    return " ".join(f"w{w}" for w in rng.integers(0, VOCAB, 8))


def embed(texts: list[str]) -> list[np.ndarray]:
    """The "embedder": texts start with m<id> (memories) or q<id> (queries)."""
    ids = np.array(
        [int(t.split(" ", 1)[0][1:]) + (QUERY_OFFSET if t[0] == "q" else 0) for t in texts]
    )
    return list(vectors_for(ids))


def exact_top10(n: int, queries: np.ndarray, make=None) -> list[set[str]]:
    """The true 10 nearest memories (cosine, float32) of each query; ``make`` gives the
    vectors of ids (default :func:`vectors_for`)."""
    make = make or vectors_for
    qv = make(queries + QUERY_OFFSET)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    best_s = np.full((len(qv), 0), -np.inf, dtype=np.float32)
    best_i = np.empty((len(qv), 0), dtype=np.int64)
    for start in range(0, n, 20_000):
        ids = np.arange(start, min(n, start + 20_000))
        v = make(ids)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        s = np.concatenate([best_s, qv @ v.T], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(ids, (len(qv), len(ids)))], axis=1)
        top = np.argsort(-s, axis=1)[:, :10]
        best_s, best_i = np.take_along_axis(s, top, 1), np.take_along_axis(i, top, 1)
    return [{f"m{i}" for i in row} for row in best_i]


def timed(fn, args) -> list[float]:
    out = []
    for a in args:
        t = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - t) * 1000)
    return out


def pcts(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"p50": round(statistics.median(ms), 3), "p95": round(ms[int(0.95 * (len(ms) - 1))], 3)}


def uncapped_keyword_hits(db, match, prefix, allowed, pool, now, budget):
    """The keyword side before issue 15: one join query, BM25 computed for every match."""
    rows = db.execute(*_sql.keyword_sql(match, prefix, allowed, now, pool))
    return {rid: (r, score) for r, (rid, score) in enumerate(rows)}, {}


def hybrid_ab(store: SQLiteStore, texts: list[str], ns: tuple[str, ...] = ("bench",)) -> dict:
    """``hybrid`` and ``hybrid_uncapped`` p50/p95, each query timed both ways in turn."""
    capped, uncapped = [], []
    search = store.search_mode
    store.search_mode = "hybrid"
    try:
        for text in texts:
            capped += timed(lambda t: store.search(ns, query=t, limit=10), [text])
            with _swapped(_read.Reader, "_keyword_hits", staticmethod(uncapped_keyword_hits)):
                uncapped += timed(lambda t: store.search(ns, query=t, limit=10), [text])
    finally:
        store.search_mode = search
    return {"hybrid": pcts(capped), "hybrid_uncapped": pcts(uncapped)}


@contextlib.contextmanager
def _swapped(owner, name: str, value):
    old = owner.__dict__[name]
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory (peak since :func:`reset_peak_rss`), in MB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return tuple(round(int(status[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM"))


def reset_peak_rss() -> None:
    """Start the peak (VmHWM) afresh, so it covers the store and not the set-up (Linux)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def bench_size(n: int, n_queries: int, workdir: Path) -> dict:
    queries = np.arange(n_queries)
    texts = [f"q{j} {words_for(QUERY_OFFSET + j)}" for j in queries]
    truth = exact_top10(n, queries)
    reset_peak_rss()
    path = workdir / f"scale-{n}.sqlite"
    index = {"dims": DIMS, "embed": embed, "fields": ["text"]}
    store = SQLiteStore(path, index=index)
    t0 = time.perf_counter()
    for start in range(0, n, 1000):
        ops = [
            PutOp(("bench",), f"m{i}", {"text": f"m{i} {words_for(i)}"})
            for i in range(start, min(n, start + 1000))
        ]
        store.batch(ops)
    put_s = time.perf_counter() - t0
    small = [
        PutOp(("small",), f"s{i}", {"text": f"m{n + i} {words_for(n + i)}"}) for i in range(100)
    ]
    store.batch(small)
    res = {"n": n, "put_per_s": round(n / put_s), "put_s": round(put_s, 1)}
    store.close()
    del store
    res["build_peak_rss_mb"] = rss_mb()[1]
    reset_peak_rss()
    t0 = time.perf_counter()
    store = SQLiteStore(path, index=index, search_mode="vector")
    res["open_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    store._index.wait()  # the quantized shortlist copy (>= 200k vectors) builds in the background
    res["quantized_ready_s"] = round(time.perf_counter() - t0, 2)

    got: list[set[str]] = []

    def vector_search(text: str) -> None:
        got.append({it.key for it in store.search(("bench",), query=text, limit=10)})

    res["vector"] = pcts(timed(vector_search, texts))
    res["recall@10"] = round(float(np.mean([len(g & t) / 10 for g, t in zip(got, truth)])), 4)
    qv = np.stack(embed(texts))
    res["index"] = pcts(timed(lambda q: store._index.search(q, 10), qv))
    res["small_ns"] = pcts(timed(lambda t: store.search(("small",), query=t, limit=10), texts))
    res.update(hybrid_ab(store, texts))
    small = hybrid_ab(store, texts, ("small",))
    res["small_ns_hybrid"], res["small_ns_hybrid_uncapped"] = small.values()
    res["rss_mb"], res["serve_peak_rss_mb"] = rss_mb()
    res["file_mb"] = round(path.stat().st_size / 2**20, 1)
    store.close()
    return res


class Precomputed:
    """An embed function answering from vectors computed beforehand (``load``)."""

    def __init__(self, as_list: bool) -> None:
        self.as_list = as_list  # LangGraph's stores take lists of floats, ours arrays
        self.vectors: dict[str, object] = {}

    def load(self, texts: list[str]) -> None:
        self.vectors = dict(zip(texts, (v.tolist() if self.as_list else v for v in embed(texts))))

    def __call__(self, texts: list[str]) -> list:
        return [self.vectors[t] for t in texts]


def memory_text(i: int) -> str:
    return f"m{i} {words_for(i)}"


def open_store(kind: str, path: Path, index: dict):
    if kind == "ours":
        return SQLiteStore(path, index=index)
    if kind == "langgraph-sqlite":
        from langgraph.store.sqlite import SqliteStore

        # It loads sqlite-vec; a Python built without extension loading uses pysqlite3.
        driver = sqlite3
        if not hasattr(sqlite3.Connection, "enable_load_extension"):
            import pysqlite3.dbapi2 as driver
        conn = driver.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        store = SqliteStore(conn, index={**index, "text_fields": index["fields"]})  # its name
        store.setup()
        return store
    from langgraph.store.memory import InMemoryStore

    return InMemoryStore(index=index)


def close_store(kind: str, store) -> None:
    if kind == "ours":
        store.close()
    elif kind == "langgraph-sqlite":
        store.conn.close()


def compare_store(kind: str, n: int, texts: list[str], truth, n_slow: int, workdir: Path) -> dict:
    """One store's figures at size ``n`` (queries ``texts``, exact top-10 ``truth``)."""
    gc.collect()
    rss0 = rss_mb()[0]
    emb = Precomputed(as_list=kind != "ours")
    path = workdir / f"{kind}-{n}.sqlite"
    store = open_store(kind, path, {"dims": DIMS, "embed": emb, "fields": ["text"]})
    res: dict = {"store": kind, "n": n}
    put_s = 0.0
    for start in range(0, n, 1000):
        ids = range(start, min(n, start + 1000))
        emb.load([memory_text(i) for i in ids])
        ops = [PutOp(("bench",), f"m{i}", {"text": memory_text(i)}) for i in ids]
        t = time.perf_counter()
        store.batch(ops)
        put_s += time.perf_counter() - t
    res["batch_put_per_s"] = round(n / put_s)
    singles = [(f"m{i}", memory_text(i)) for i in range(n, n + 500)]
    emb.load([text for _, text in singles])
    ms = timed(lambda kt: store.put(("bench",), kt[0], {"text": kt[1]}), singles)
    res["single_put_ms"] = pcts(ms)
    res["single_put_per_s"] = round(1000 * len(ms) / sum(ms))
    queries = texts if kind == "ours" else texts[:n_slow]
    emb.load(queries)
    got: list[set[str]] = []

    def vector_search(text: str) -> None:
        got.append({it.key for it in store.search(("bench",), query=text, limit=10)})

    if kind == "ours":
        store.search_mode = "vector"
    res["vector"] = pcts(timed(vector_search, queries))
    res["queries"] = len(queries)
    res["recall@10"] = round(float(np.mean([len(g & t) / 10 for g, t in zip(got, truth)])), 4)
    if kind == "ours":
        store.search_mode = "hybrid"
        res["hybrid"] = pcts(timed(lambda t: store.search(("bench",), query=t, limit=10), queries))
    gc.collect()
    res["rss_growth_mb"] = round(rss_mb()[0] - rss0, 1)
    close_store(kind, store)
    files = [path, path.with_name(path.name + "-wal")]
    res["file_mb"] = round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1) or None
    return res


def compare_size(n: int, n_queries: int, n_slow: int, workdir: Path) -> list[dict]:
    """Ours, LangGraph's ``SqliteStore`` and ``InMemoryStore`` at size ``n``, ratios to ours.

    Single puts go to the filled store (500 new keys); its ``n`` in recall and
    searches is the store before them, so ``truth`` covers those 500 too.
    """
    queries = np.arange(n_queries)
    texts = [f"q{j} {words_for(QUERY_OFFSET + j)}" for j in queries]
    truth = exact_top10(n + 500, queries)
    rows = [compare_store(k, n, texts, truth, n_slow, workdir) for k in STORES]
    ours = rows[0]
    for row in rows[1:]:
        row["ours_batch_put_ratio"] = round(ours["batch_put_per_s"] / row["batch_put_per_s"], 2)
        ratio = row["single_put_ms"]["p50"] / ours["single_put_ms"]["p50"]
        row["ours_single_put_speedup"] = round(ratio, 2)
        row["ours_vector_p95_speedup"] = round(row["vector"]["p95"] / ours["vector"]["p95"], 1)
    return rows


STORES = ("ours", "langgraph-sqlite", "in-memory")


def embedder_cost() -> dict | None:
    """MiniLM milliseconds per text (batch of 256 sentences), if the extra is installed."""
    try:
        from langmem.store.embeddings import resolve_embeddings

        local = resolve_embeddings("local")
        local.embed_documents(["warm up"])
    except BaseException as exc:  # ConfigurationError derives from BaseException
        print(f"(no local embedder: {exc})")
        return None
    texts = [f"Memory {i}: {words_for(i)} and a few ordinary words" for i in range(256)]
    t = time.perf_counter()
    local.embed_documents(texts)
    per_text = (time.perf_counter() - t) * 1000 / len(texts)
    t = time.perf_counter()
    for text in texts[:50]:
        local.embed_query(text)
    per_query = (time.perf_counter() - t) * 1000 / 50
    return {"batch_ms_per_text": round(per_text, 3), "query_ms": round(per_query, 3)}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    at = argv.index("--backend") if "--backend" in argv else -1
    if at >= 0 and argv[at + 1 : at + 2] == ["postgres"]:
        from store_scale_pg import main as postgres_main  # PostgresStore vs LangGraph's

        return postgres_main(argv[:at] + argv[at + 2 :])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-embedder", action="store_true", help="skip the MiniLM comparison")
    ap.add_argument("--compare", action="store_true", help="ours vs LangGraph's stores")
    ap.add_argument("--slow-queries", type=int, default=20, help="queries for LangGraph's stores")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--backend", choices=["sqlite"], default="sqlite", help="or postgres")
    args = ap.parse_args(argv)
    name = "store_compare.json" if args.compare else "store_scale.json"
    args.out = args.out or RESULTS / name
    report: dict = {"sizes": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            if args.compare:
                res = compare_size(n, args.queries, args.slow_queries, Path(tmp))
                for row in res:
                    print(json.dumps(row), flush=True)
            else:
                res = bench_size(n, args.queries, Path(tmp))
                print(json.dumps(res), flush=True)
            report["sizes"].append(res)
    if args.compare:
        args.no_embedder = True
    if not args.no_embedder:
        report["embedder"] = embedder_cost()
        print(json.dumps({"embedder": report["embedder"]}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
