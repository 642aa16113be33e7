"""The cost of explained recall (issue 28): search p50/p95 with ``explain`` off and on.

    timeout 180 python bench/explain_cost.py [--n 5000] [--queries 200] [--postgres]

One store gets ``n`` items in one namespace: half extracted memories (with an
importance), half conversation turns of two speakers, each with
``store_scale.py``'s given vector (384 dims from a hash of the id: no model) and
8 of its synthetic words. Every query (its own words; every fourth names a
speaker) runs with explain off and on (which goes first alternates), in
``hybrid`` and ``vector`` modes, ``limit=10``; p50/p95 ms of each. ``--postgres`` runs the same on a
``PostgresStore`` (a throwaway server, as ``store_scale_pg.py``).

On a checkout without ``explain`` (``PYTHONPATH=<it>/src``) only the off column is
timed: the search before the feature, to compare with the off path after it.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import tempfile
import time
from pathlib import Path

from langgraph.store.base import PutOp

from langmem.store import RankingWeights, SQLiteStore
from store_scale import embed, pcts, words_for

SPEAKERS = ("Caroline", "Melanie")


def fill(store, n: int) -> None:
    for start in range(0, n, 1000):
        ops = []
        for i in range(start, min(n, start + 1000)):
            text = f"m{i} {words_for(i)}"
            if i % 2:
                value = {"kind": "turn", "speaker": SPEAKERS[i // 2 % 2], "text": text}
            else:
                value = {"text": text, "importance": i % 10 / 10}
            ops.append(PutOp(("bench",), f"m{i}", value))
        store.batch(ops)


def bench(store, texts: list[str]) -> dict:
    explains = "explain" in inspect.signature(store.search).parameters
    out = {}
    for mode in ("hybrid", "vector"):
        store.search_mode = mode
        ms: dict[bool, list[float]] = {False: [], True: []}
        for j, text in enumerate(texts):  # each query both ways, alternating which goes first
            for explain in [(False, True), (True, False)][j % 2] if explains else [False]:
                kwargs = {"explain": True} if explain else {}  # the old search has no explain
                t = time.perf_counter()
                store.search(("bench",), query=text, limit=10, **kwargs)
                ms[explain].append((time.perf_counter() - t) * 1000)
        out[mode] = {"off": pcts(ms[False])} | ({"on": pcts(ms[True])} if explains else {})
    store.search_mode = "hybrid"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    texts = [
        f"q{j} {words_for(10**12 + j)}" + (f" {SPEAKERS[j // 4 % 2]}" if j % 4 == 0 else "")
        for j in range(args.queries)
    ]
    index = {"dims": 384, "embed": embed, "fields": ["text"]}
    ranking = RankingWeights(late_interaction=0.0)
    with contextlib.ExitStack() as stack:
        if args.postgres:
            from langmem.store import PostgresStore
            from store_scale_pg import fresh_database, server

            url = fresh_database(stack.enter_context(server(None)), "explain_cost")
            store = stack.enter_context(PostgresStore(url, index=index, ranking=ranking))
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            path = Path(tmp) / "explain.sqlite"
            store = stack.enter_context(SQLiteStore(path, index=index, ranking=ranking))
        fill(store, args.n)
        bench(store, texts[:20])  # warm-up
        res = {"backend": "postgres" if args.postgres else "sqlite", "n": args.n}
        print(json.dumps(res | bench(store, texts)), flush=True)


if __name__ == "__main__":
    main()
