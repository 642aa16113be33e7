"""LOCOMO retrieval recall of ``SQLiteStore``: pure vector and hybrid side by side.

Every turn of every conversation is a memory (namespace per conversation, text
``"[<session date>] <speaker>: <text>"``); every question of categories 1-4 is a
``store.search`` scored by recall@1/5/10 of its evidence turns, overall and per
category. Modes: ``vector``, ``hybrid`` (the default store), ``neighbours`` (hybrid where
adjacent turns lend each other evidence, ``RankingWeights(neighbours=0.5)``), ``late``
(``neighbours`` plus ``late_interaction=2.0``, token MaxSim with the adjacent-turn window)
and ``late-nowindow`` (hybrid plus ``late_interaction=2.0``); see ``locomo_adapter.MODES``.
Embeddings: MiniLM (cached under ``bench/results/``; the late modes run the model for
every turn and question, which their setup time and search time include). Reads the data
from ``../shared`` and never copies it.

    python bench/locomo_retrieval.py [--modes vector hybrid neighbours late] [--convs conv-26] [--embed hash]
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from locomo_adapter import MODES, build_store, search_keys  # noqa: E402

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
    """One row per question: category and recall@k of the ranked keys ``search`` returns."""
    rows = []
    for cid, category, question, evidence in questions:
        ranked = list(dict.fromkeys(search(cid, question, max(KS))))
        gold = set(evidence)
        row = {"category": category}
        for k in KS:
            row[f"recall@{k}"] = len(gold & set(ranked[:k])) / len(gold)
        rows.append(row)
    return rows


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


def run(data: Path, modes, embed: str = "local", convs=None) -> dict[str, dict]:
    items, questions = load(data, convs)
    results = {}
    for mode in modes:
        t0 = time.perf_counter()
        store = build_store(items, mode=mode, embed=embed)
        t1 = time.perf_counter()
        summary = summarise(evaluate(questions, functools.partial(search_keys, store)))
        t2 = time.perf_counter()
        summary["timing"] = {
            "setup_s": round(t1 - t0, 2),
            "search_ms_mean": round((t2 - t1) * 1000 / len(questions), 2),
        }
        results[mode] = summary
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument(
        "--modes", nargs="+", choices=list(MODES), default=["vector", "hybrid", "neighbours"]
    )
    ap.add_argument("--embed", choices=["local", "hash"], default="local")
    ap.add_argument("--convs", nargs="*", default=None, help="only these sample_ids")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "locomo_retrieval.json"
    )
    args = ap.parse_args(argv)
    results = run(args.data, args.modes, args.embed, args.convs)
    print(f"{'mode':<15}{'group':<15}{'n':>5}" + "".join(f"{f'recall@{k}':>11}" for k in KS))
    for mode, summary in results.items():
        for group, agg in summary.items():
            if group != "timing":
                cells = "".join(f"{agg[f'recall@{k}']:>11.3f}" for k in KS)
                print(f"{mode:<15}{group:<15}{agg['n']:>5}{cells}")
        print(f"{mode:<15}timing: {summary['timing']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
