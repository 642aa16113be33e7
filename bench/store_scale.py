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
- search ``small ns``: a 100-memory namespace inside the big store;
- quantized ready: seconds after reopening until the index's quantized shortlist
  copy (used from ~200k vectors) is built; searches before that scan exactly;
- RSS after the searches, its peak while reopening and searching, and while building;
- embedder: MiniLM's time per text (if installed), to compare with the store's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from langgraph.store.base import PutOp

from langmem.store import SQLiteStore

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


def exact_top10(n: int, queries: np.ndarray) -> list[set[str]]:
    qv = vectors_for(queries + QUERY_OFFSET)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    best_s = np.full((len(qv), 0), -np.inf, dtype=np.float32)
    best_i = np.empty((len(qv), 0), dtype=np.int64)
    for start in range(0, n, 20_000):
        ids = np.arange(start, min(n, start + 20_000))
        v = vectors_for(ids)
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
    store.search_mode = "hybrid"
    res["hybrid"] = pcts(timed(lambda t: store.search(("bench",), query=t, limit=10), texts))
    res["rss_mb"], res["serve_peak_rss_mb"] = rss_mb()
    res["file_mb"] = round(path.stat().st_size / 2**20, 1)
    store.close()
    return res


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-embedder", action="store_true", help="skip the MiniLM comparison")
    ap.add_argument("--out", type=Path, default=RESULTS / "store_scale.json")
    args = ap.parse_args(argv)
    report: dict = {"sizes": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            res = bench_size(n, args.queries, Path(tmp))
            print(json.dumps(res), flush=True)
            report["sizes"].append(res)
    if not args.no_embedder:
        report["embedder"] = embedder_cost()
        print(json.dumps({"embedder": report["embedder"]}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
