"""Time-aware memory (issue 30): LOCOMO with event times, and an as-of set of changing facts.

1. **LOCOMO dev** (``../shared/data/locomo``, read in place): every turn a memory as in
   ``locomo_retrieval.py`` (``{"role": speaker, "content": "[<session date>] <speaker>:
   <text>"}``, MiniLM cached under ``bench/results/``), each question a plain
   ``store.search`` scored by recall@1/5/10 of its evidence turns, overall and for the
   temporal category (2). Modes: ``record-time`` (no event times: the default store as
   before), ``event-time`` (each turn's ``valid_from`` = its session's date, default
   ranking: recency by event time) and ``event-unranked`` (the same event times,
   ``RankingWeights(event_recency=0)``: stored but not ranked).
2. **As-of set** (:data:`PEOPLE`, written here): 8 people whose home, job and favourite
   drink each changed twice (72 versions); every version is asked about twice ("Where
   does Noor live?" as of a day inside it: its middle and its first week), 144 questions.
   An answer counts when the best hit is the version true then. Ways: ``as_of``
   (versions superseding each other, each closed by the next, searched ``as_of`` the
   date); ``all versions, no time`` (the same store searched with
   ``include_closed=True``, no date: versions kept but no event time asked for);
   ``open versions, as_of`` (each version only says when it began, as an import of old
   logs would: nothing is closed, so ``as_of`` keeps every version begun by then and
   recency by event time must rank the latest first) and the same with
   ``RankingWeights(event_recency=0)``; ``update in place`` (LangMem's default: one
   memory per fact, overwritten, searched without a date).

    python bench/temporal.py [--embed local|hash] [--skip-locomo] [--convs conv-26]

Results: ``bench/results/temporal.json``; figures in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from langgraph.store.base import PutOp  # noqa: E402

from langmem.memory import with_event_time  # noqa: E402
from langmem.store import RankingWeights, SQLiteStore  # noqa: E402
from locomo_adapter import NAMESPACE, _speaker, make_embeddings, search_keys  # noqa: E402
from locomo_retrieval import DATA, KS, evaluate, load, summarise  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "temporal.json"

LOCOMO_MODES = {
    "record-time": (False, RankingWeights()),
    "event-time": (True, RankingWeights()),
    "event-unranked": (True, RankingWeights(event_recency=0)),
}


def session_time(text: str) -> datetime:
    """LOCOMO's ``"1:56 pm on 8 May, 2023"`` as a UTC datetime."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=timezone.utc)


def locomo_store(items, *, timed: bool, ranking: RankingWeights, embed: str) -> SQLiteStore:
    embeddings, dims = make_embeddings(embed)
    index = {"dims": dims, "embed": embeddings, "fields": ["content"]}
    store = SQLiteStore(":memory:", index=index, ranking=ranking)
    ops = []
    for cid, dia, text, when in items:
        value = {"role": _speaker(text), "content": text, "when": when}
        if timed:
            value = with_event_time(value, valid_from=session_time(when))
        ops.append(PutOp((NAMESPACE, cid), dia, value))
    for start in range(0, len(ops), 1000):
        store.batch(ops[start : start + 1000])
    if hasattr(embeddings, "save"):
        embeddings.save()
    return store


def run_locomo(embed: str, convs: list[str] | None) -> dict:
    items, questions = load(DATA, convs)
    out = {}
    for mode, (timed, ranking) in LOCOMO_MODES.items():
        t0 = time.perf_counter()
        store = locomo_store(items, timed=timed, ranking=ranking, embed=embed)
        rows = evaluate(questions, lambda cid, q, k, s=store: search_keys(s, cid, q, k))
        if hasattr(store.embeddings, "save"):
            store.embeddings.save()
        summary = summarise(rows)
        out[mode] = {g: summary[g] for g in ("overall", "2:temporal")}
        out[mode]["seconds"] = round(time.perf_counter() - t0, 1)
        store.close()
    return out


# --------------------------------------------------------------------------- as-of set

# (name, [home cities], [jobs], [drinks]); each list is the fact's three versions in order.
PEOPLE = [
    ("Noor", ["Cairo", "Leeds", "Montreal"], ["pharmacist", "data analyst", "bakery owner"],
     ["mint tea", "espresso", "oat milk latte"]),
    ("Tomasz", ["Gdansk", "Berlin", "Oslo"], ["welder", "train driver", "carpentry teacher"],
     ["black coffee", "kefir", "sparkling water"]),
    ("Ines", ["Porto", "Madrid", "Toronto"], ["architect", "urban planner", "furniture designer"],
     ["port wine", "green tea", "kombucha"]),
    ("Kwame", ["Accra", "Lagos", "Amsterdam"], ["accountant", "startup founder", "investor"],
     ["ginger beer", "hot chocolate", "rooibos tea"]),
    ("Hana", ["Osaka", "Seoul", "Vancouver"], ["nurse", "midwife", "hospital manager"],
     ["matcha", "barley tea", "iced americano"]),
    ("Lucas", ["Lyon", "Brussels", "Dublin"], ["chef", "food critic", "cookbook editor"],
     ["red wine", "cider", "chamomile tea"]),
    ("Priya", ["Chennai", "Singapore", "Sydney"], ["software engineer", "product manager",
     "yoga instructor"], ["filter coffee", "lassi", "coconut water"]),
    ("Elena", ["Bologna", "Vienna", "Copenhagen"], ["violinist", "music teacher",
     "orchestra conductor"], ["cappuccino", "lemonade", "hibiscus tea"]),
]
ATTRIBUTES = {  # attribute -> (memory text, question)
    "home": ("{name} lives in {v}", "Where does {name} live?"),
    "job": ("{name} works as a {v}", "What is {name}'s job?"),
    "drink": ("{name}'s favourite drink is {v}", "What does {name} like to drink?"),
}


def timelines() -> list[dict]:
    """Every version: person, attribute, text, start, end (``None``: still true)."""
    versions = []
    for p, (name, *values) in enumerate(PEOPLE):
        for a, (attribute, options) in enumerate(zip(ATTRIBUTES, values)):
            # Changes at person- and attribute-specific dates, 1-3 years apart.
            first = date(2016, 1 + (3 * p + a) % 12, 1 + (7 * p + 5 * a) % 27)
            starts = [first, first + timedelta(days=400 + 90 * a + 30 * p),
                      first + timedelta(days=1100 + 60 * p + 45 * a)]
            for n, value in enumerate(options):
                versions.append({
                    "name": name, "attribute": attribute, "n": n,
                    "text": ATTRIBUTES[attribute][0].format(name=name, v=value),
                    "start": starts[n], "end": starts[n + 1] if n < 2 else None,
                })
    return versions


def questions(versions: list[dict]) -> list[dict]:
    """Two per version: a day in its first week and its middle (the last: a year on)."""
    out = []
    for v in versions:
        end = v["end"] or v["start"] + timedelta(days=730)
        for at in (v["start"] + timedelta(days=3), v["start"] + (end - v["start"]) / 2):
            q = ATTRIBUTES[v["attribute"]][1].format(name=v["name"])
            out.append({"question": q, "as_of": at, "version": v})
    return out


def key(v: dict, *, versioned: bool) -> str:
    base = f"{v['name']}-{v['attribute']}"
    return f"{base}-{v['n']}" if versioned else base


def _at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def run_as_of(embed: str) -> dict:
    versions = timelines()
    asked = questions(versions)
    embeddings, dims = make_embeddings(embed, cache="temporal-minilm")
    index = {"dims": dims, "embed": embeddings}
    ns = ("people",)
    versioned = SQLiteStore(":memory:", index=index)
    opened = SQLiteStore(":memory:", index=index)
    unranked = SQLiteStore(":memory:", index=index, ranking=RankingWeights(event_recency=0))
    in_place = SQLiteStore(":memory:", index=index)
    for v in versions:  # in time order per fact: each version supersedes the last
        value = {"content": v["text"]}
        if v["n"]:
            value["supersedes"] = key({**v, "n": v["n"] - 1}, versioned=True)
        if v["end"] is not None:
            value["superseded_by"] = key({**v, "n": v["n"] + 1}, versioned=True)
        versioned.put(ns, key(v, versioned=True), value, valid_from=_at(v["start"]),
                      valid_until=None if v["end"] is None else _at(v["end"]))
        for store in (opened, unranked):  # when each began, no end
            store.put(ns, key(v, versioned=True), {"content": v["text"]},
                      valid_from=_at(v["start"]))
        in_place.put(ns, key(v, versioned=False), {"content": v["text"]})  # overwrites
    ways = {
        "as_of": lambda q: versioned.search(ns, query=q["question"], as_of=_at(q["as_of"]),
                                            limit=1),
        "all versions, no time": lambda q: versioned.search(ns, query=q["question"],
                                                            include_closed=True, limit=1),
        "open versions, as_of": lambda q: opened.search(ns, query=q["question"],
                                                        as_of=_at(q["as_of"]), limit=1),
        "open, event_recency=0": lambda q: unranked.search(ns, query=q["question"],
                                                            as_of=_at(q["as_of"]), limit=1),
        "update in place": lambda q: in_place.search(ns, query=q["question"], limit=1),
    }
    out = {}
    for way, search in ways.items():
        right = 0
        for q in asked:
            [hit] = search(q)
            v = q["version"]
            # The right text for the right person and fact, true at that date.
            right += hit.value["content"] == v["text"]
        out[way] = {"right": right, "of": len(asked), "share": round(right / len(asked), 3)}
    if hasattr(embeddings, "save"):
        embeddings.save()
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--embed", choices=["local", "hash"], default="local")
    ap.add_argument("--convs", nargs="*", default=None, help="only these LOCOMO sample_ids")
    ap.add_argument("--skip-locomo", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    results: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    results["as_of_set"] = run_as_of(args.embed)
    for way, score in results["as_of_set"].items():
        print(f"as-of set  {way:<24}{score['right']:>4} / {score['of']}  ({score['share']:.3f})")
    if not args.skip_locomo:
        results["locomo"] = run_locomo(args.embed, args.convs)
        for mode, groups in results["locomo"].items():
            for group in ("overall", "2:temporal"):
                agg = groups[group]
                cells = "".join(f"{agg[f'recall@{k}']:>9.3f}" for k in KS)
                print(f"locomo  {mode:<16}{group:<12}{agg['n']:>5}{cells}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
