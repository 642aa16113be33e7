"""LOCOMO retrieval recall of ``SQLiteStore``: pure vector and hybrid side by side.

Every turn of every conversation is a memory (namespace per conversation, a chat-message
value ``{"role": <speaker>, "content": "[<session date>] <speaker>: <text>"}``); every question
of categories 1-4 is a ``store.search`` scored by recall@1/5/10 of its evidence turns, overall
and per category. Modes (``locomo_adapter.MODES``): ``default`` (``RankingWeights()``, what a
user gets), ``vector``, ``hybrid`` (no late interaction, no neighbours), ``neighbours``,
``late-nowindow``, ``late`` (the default without the transcript settings), and those
settings one at a time: ``kw-neighbours`` (``keyword_neighbours=0.5``) and ``speaker``
(``speaker=0.5``).
Embeddings: MiniLM with token vectors, cached under
``bench/results/``, so search times are the store's own (query vector given);
``--query-latency N`` also times N searches of the default store with the query embedded by
MiniLM. Reads the data from ``../shared`` and never copies it.

    python bench/locomo_retrieval.py [--modes default vector hybrid] [--convs conv-26] [--embed hash]

``--backend postgres`` runs the same modes through ``PostgresStore`` on a throwaway server
(``tests/_pgserver.py``), one fresh schema per mode (results: ``locomo_retrieval_pg.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from langmem.store import RankingWeights  # noqa: E402
from locomo_adapter import (  # noqa: E402
    MODES,
    NAMESPACE,
    build_store,
    bytes_per_item,
    search_keys,
)

# The transcript settings (issue 13, on by default) one at a time, measured beside the adapter's
# modes ("late" is the default without them).
MODES.update(
    {
        "kw-neighbours": ("hybrid", RankingWeights(keyword_neighbours=0.5, speaker=0.0)),
        "speaker": ("hybrid", RankingWeights(keyword_neighbours=0.0, speaker=0.5)),
    }
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "locomo" / "locomo_dev.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
KS = (1, 5, 10)


def load(path: Path, convs: list[str] | None = None):
    """``(items, questions)``: items ``(conv, dia_id, text, when)``, questions
    ``(conv, category, question, evidence dia_ids)``."""
    items, questions = [], []
    for sample in json.loads(Path(path).read_text(encoding="utf-8")):
        cid, conv = sample["sample_id"], sample["conversation"]
        if convs and cid not in convs:
            continue
        sessions = sorted(
            int(m.group(1))
            for key, val in conv.items()
            if (m := re.fullmatch(r"session_(\d+)", key)) and isinstance(val, list)
        )
        valid = set()
        for n in sessions:
            when = conv.get(f"session_{n}_date_time", "")
            for turn in conv[f"session_{n}"]:
                text = turn.get("text", turn.get("clean_text", ""))
                items.append((cid, turn["dia_id"], f"[{when}] {turn['speaker']}: {text}", when))
                valid.add(turn["dia_id"])
        for qa in sample["qa"]:
            evidence = _evidence(qa.get("evidence"), valid)
            if qa.get("category") in CATEGORIES and evidence:
                questions.append((cid, qa["category"], str(qa["question"]), evidence))
    return items, questions


def _evidence(raw, valid: set[str]) -> list[str]:
    """Evidence dia_ids, with the data's few malformed ones ('D8:6; D9:17', 'D30:05') fixed."""
    out: list[str] = []
    for ev in raw or []:
        for tok in re.split(r"[;,\s]+", str(ev).strip()):
            m = re.fullmatch(r"D:?(\d+):0*(\d+)", tok)
            cand = f"D{int(m.group(1))}:{int(m.group(2))}" if m else tok
            if cand in valid and cand not in out:
                out.append(cand)
    return out


def evaluate(questions, search) -> list[dict]:
    """One row per question: category, recall@k of the ranked keys ``search`` returns, and
    the search's milliseconds."""
    rows = []
    for cid, category, question, evidence in questions:
        t0 = time.perf_counter()
        found = search(cid, question, max(KS))
        ms = (time.perf_counter() - t0) * 1000
        ranked = list(dict.fromkeys(found))
        gold = set(evidence)
        row = {"category": category, "ms": ms}
        for k in KS:
            row[f"recall@{k}"] = len(gold & set(ranked[:k])) / len(gold)
        rows.append(row)
    return rows


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 and p95 (nearest rank, as the reference scorer)."""
    v = sorted(values)
    return {
        f"p{q}": round(v[min(len(v) - 1, max(0, -(-q * len(v) // 100) - 1))], 2) for q in (50, 95)
    }


def summarise(rows: list[dict]) -> dict[str, dict]:
    groups = {"overall": rows}
    for cat, name in CATEGORIES.items():
        groups[f"{cat}:{name}"] = [r for r in rows if r["category"] == cat]
    return {
        g: {
            "n": len(rs),
            **{f"recall@{k}": sum(r[f"recall@{k}"] for r in rs) / len(rs) for k in KS},
        }
        for g, rs in groups.items()
        if rs
    }


@contextlib.contextmanager
def store_builder(backend: str):
    """``build(items, mode=, embed=)`` for ``"sqlite"`` (``build_store``) or ``"postgres"``."""
    if backend == "sqlite":
        yield build_store
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from langgraph.store.base import PutOp

    from _pgserver import PgServer
    from langmem.store import PostgresStore
    from locomo_adapter import MODES as PG_MODES
    from locomo_adapter import _speaker, make_embeddings

    with PgServer() as server, contextlib.ExitStack() as stack:

        def build(items, *, mode: str, embed: str):
            embeddings, dims = make_embeddings(embed)
            search_mode, ranking = PG_MODES[mode]
            index = {"dims": dims, "embed": embeddings, "fields": ["content"]}
            url = stack.enter_context(server.schema())
            store = stack.enter_context(
                PostgresStore(url, index=index, search_mode=search_mode, ranking=ranking)
            )
            ops = [  # as locomo_adapter.build_store
                PutOp((NAMESPACE, cid), dia, {"role": _speaker(t), "content": t, "when": when})
                for cid, dia, t, when in items
            ]
            for start in range(0, len(ops), 1000):
                store.batch(ops[start : start + 1000])
            return store

        yield build


def run(
    data: Path, modes, embed: str = "local", convs=None, query_latency: int = 0, backend="sqlite"
):
    items, questions = load(data, convs)
    results = {}
    with store_builder(backend) as build:
        for mode in modes:
            results[mode] = run_mode(build, items, questions, mode, embed, backend)
    if query_latency:
        results["query_latency"] = time_embedded_queries(items, questions[:query_latency])
    return results


def run_mode(build, items, questions, mode: str, embed: str, backend: str) -> dict:
    t0 = time.perf_counter()
    store = build(items, mode=mode, embed=embed)
    t1 = time.perf_counter()
    rows = evaluate(questions, functools.partial(search_keys, store))
    if hasattr(store.embeddings, "save"):
        store.embeddings.save()  # the questions' vectors too
    summary = summarise(rows)
    summary["timing"] = {
        "setup_s": round(t1 - t0, 2),
        **percentiles([r["ms"] for r in rows]),
        **(bytes_per_item(store) if backend == "sqlite" else {}),
    }
    return summary


def time_embedded_queries(items, questions) -> dict[str, float]:
    """Milliseconds per ``store.search`` of the default store with the query embedded by MiniLM
    (not cached) each time: what a user waits for."""
    from langmem.store.embeddings import resolve_embeddings

    store = build_store(items, mode="default")
    store.embeddings = resolve_embeddings("local")  # the store's own model, no cache
    store.search((NAMESPACE, questions[0][0]), query="warm-up", limit=10)
    times = []
    for cid, _, question, _ in questions:
        t0 = time.perf_counter()
        search_keys(store, cid, question, max(KS))
        times.append((time.perf_counter() - t0) * 1000)
    return {"n": len(times), **percentiles(times)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument(
        "--modes", nargs="+", choices=list(MODES), default=["default", "vector", "hybrid"]
    )
    ap.add_argument("--query-latency", type=int, default=0, metavar="N")
    ap.add_argument("--embed", choices=["local", "hash"], default="local")
    ap.add_argument("--convs", nargs="*", default=None, help="only these sample_ids")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    name = "locomo_retrieval_pg.json" if args.backend == "postgres" else "locomo_retrieval.json"
    args.out = args.out or ROOT / "bench" / "results" / name
    results = run(
        args.data, args.modes, args.embed, args.convs, args.query_latency, args.backend
    )
    print(f"{'mode':<15}{'group':<15}{'n':>5}" + "".join(f"{f'recall@{k}':>11}" for k in KS))
    for mode, summary in results.items():
        if mode == "query_latency":
            print(f"default store, query embedded by MiniLM: {summary}")
            continue
        for group, agg in summary.items():
            if group != "timing":
                cells = "".join(f"{agg[f'recall@{k}']:>11.3f}" for k in KS)
                print(f"{mode:<15}{group:<15}{agg['n']:>5}{cells}")
        print(f"{mode:<15}timing: {summary['timing']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
