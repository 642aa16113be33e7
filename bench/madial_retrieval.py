"""MADial-Bench (English) memory recall of ``SQLiteStore``: extracted memories, not turns.

The 160 memories of ``../shared/data/madial/memory_en.jsonl`` go into one namespace as
values ``{"content": <event>, "time", "scene", "emotion"}`` (field ``content`` indexed), the
way an extractor would store them: no value is a conversation turn, so adjacency credit never
applies. Each of the 160 dialogues is one ``store.search(limit=5)`` over all 160 memories,
scored by recall@1/3/5 (the share of its ``relevant-id`` memories in the top k) and MRR
(1 / rank of the first relevant memory, 0 if none in the top 5).

Query forms (``--query``): ``context`` (default) is the dialogue before the test turn (the
first assistant line that recalls a memory), every line's text without its speaker label,
one per line, as the store manager's ``query_text`` builds it; ``last`` is the last user
line before the test turn; ``multi`` runs both searches and merges them as the store
manager merges several queries (``merge_results``: best score per memory), the path a
``query_model`` that writes more than one query takes. Modes as ``locomo_adapter.MODES``.

Searches record no accesses (the store is reopened read-only), so each dialogue is scored as
if it came first: the 160 dialogues belong to different users, and access counts left by
the others would only add noise to the recency term; ``--record-access`` keeps a writable
store. MiniLM vectors and token vectors are cached in ``bench/results/madial-minilm*.npz``.
Reads the data in place.

    python bench/madial_retrieval.py [--modes default vector hybrid] [--query context last multi]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from langgraph.store.base import PutOp  # noqa: E402

from _embcache import CachedTokenEmbeddings  # noqa: E402
from langmem.knowledge._search import merge_results  # noqa: E402
from langmem.store import SQLiteStore  # noqa: E402
from locomo_adapter import MODES, bytes_per_item, make_embeddings  # noqa: E402
from locomo_retrieval import percentiles  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "madial"
NAMESPACE = ("madial",)
KS = (1, 3, 5)
_LINE = re.compile(r'<(?P<who>[^>]+)>:\s*"?(?P<text>.*?)"?\s*$', re.DOTALL)


def load(data: Path = DATA):
    """``(memories, dialogues)``: memories ``id -> record``; dialogues as
    ``(lines before the test turn as (speaker, text), relevant ids)``."""
    memories: dict[str, dict] = {}
    for line in (data / "memory_en.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            memories.update(json.loads(line))
    dialogues = []
    for line in (data / "dialogue_en.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        before = record["dialogue"][1 : min(record["test-turn"])]
        lines = [(m["who"], m["text"]) for m in map(_LINE.match, before) if m]
        dialogues.append((lines, [str(i) for i in record["relevant-id"]]))
    return memories, dialogues


def query_of(lines: list[tuple[str, str]], form: str) -> str:
    if form == "last":
        user = [text for who, text in lines if who != "Assistant"]
        return user[-1] if user else lines[-1][1]
    return "\n".join(text for _, text in lines)


FORMS = ("context", "last", "multi")


def search(store, lines: list[tuple[str, str]], form: str, limit: int) -> list[str]:
    """The keys of the ``limit`` best memories for a dialogue, queried in ``form``."""
    if form != "multi":
        return [it.key for it in store.search(NAMESPACE, query=query_of(lines, form), limit=limit)]
    results = [
        store.search(NAMESPACE, query=query_of(lines, f), limit=limit) for f in ("last", "context")
    ]
    return [it.key for it in merge_results(results, limit)]


def open_store(mode: str, embeddings, dims: int, path=":memory:", read_only=False):
    """A store at ``path`` searching as ``mode`` (``locomo_adapter.MODES``), field ``content``."""
    search_mode, ranking = MODES[mode]
    index = {"dims": dims, "embed": embeddings, "fields": ["content"]}
    return SQLiteStore(
        path, index=index, search_mode=search_mode, ranking=ranking, read_only=read_only
    )


def build_store(memories: dict[str, dict], mode: str, embed: str = "local", path=":memory:"):
    embeddings, dims = make_embeddings(embed, cache="madial-minilm")
    store = open_store(mode, embeddings, dims, path)
    store.batch(
        [
            PutOp(
                NAMESPACE,
                key,
                {"content": m["event"], "time": m["time"], "scene": m["scene"]}
                | {"emotion": m["emotion"]},
            )
            for key, m in memories.items()
        ]
    )
    if isinstance(embeddings, CachedTokenEmbeddings):
        embeddings.save()
    return store


def evaluate(store, dialogues, form: str) -> dict:
    sums = dict.fromkeys([*(f"recall@{k}" for k in KS), "mrr"], 0.0)
    times = []
    for lines, relevant in dialogues:
        t0 = time.perf_counter()
        keys = search(store, lines, form, max(KS))
        times.append((time.perf_counter() - t0) * 1000)
        gold = set(relevant)
        for k in KS:
            sums[f"recall@{k}"] += len(gold & set(keys[:k])) / len(gold)
        sums["mrr"] += next((1 / r for r, key in enumerate(keys, 1) if key in gold), 0.0)
    out = {name: round(total / len(dialogues), 3) for name, total in sums.items()}
    return {"n": len(dialogues), **out, **percentiles(times)}


def run(modes, forms, embed: str = "local", data: Path = DATA, record_access=False) -> dict:
    memories, dialogues = load(data)
    results: dict[str, dict] = {}
    for mode in modes:
        with tempfile.TemporaryDirectory() as tmp:
            path = ":memory:" if record_access else Path(tmp) / "madial.db"
            store = build_store(memories, mode, embed, path)
            size = bytes_per_item(store)
            if not record_access:
                store.close()
                dims = store.index_config["dims"]
                store = open_store(mode, store.embeddings, dims, path, read_only=True)
            results[mode] = {form: evaluate(store, dialogues, form) for form in forms}
            results[mode]["bytes"] = size
            if isinstance(store.embeddings, CachedTokenEmbeddings):
                store.embeddings.save()  # the queries' vectors too
            store.close()
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    ap.add_argument("--query", nargs="+", choices=FORMS, default=["context"])
    ap.add_argument("--record-access", action="store_true", help="searches update access stats")
    ap.add_argument("--embed", choices=["local", "hash"], default="local")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "madial.json")
    args = ap.parse_args(argv)
    results = run(args.modes, args.query, args.embed, args.data, args.record_access)
    cols = [*(f"recall@{k}" for k in KS), "mrr", "p50", "p95"]
    print(f"{'mode':<15}{'query':<9}" + "".join(f"{c:>10}" for c in cols))
    for mode, by_form in results.items():
        for form in args.query:
            row = by_form[form]
            print(f"{mode:<15}{form:<9}" + "".join(f"{row[c]:>10.3f}" for c in cols))
        print(f"{mode:<15}bytes per memory: {by_form['bytes']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
