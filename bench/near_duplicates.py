"""Near-duplicate detection on writes (issue 28): what the similarity threshold flags.

    HF_HUB_OFFLINE=1 python bench/near_duplicates.py [--embed local]

A ``SQLiteStore`` (``embed="local"``, 384 dims, ONNX) holds 30 distinct facts in
one namespace. Then, for each fact, ``langmem.store.near.find_similar`` (the one
search the manage tool, ``langmem add`` and the MCP ``add_memory`` run before they
write) is asked about

- a paraphrase of it (should be flagged, naming that fact);
- a near-opposite ("likes X"/"dislikes X", "lives in A"/"lives in B"): a similar
  sentence with another meaning; flagging it is expected (the agent decides);
- each stored fact is also checked against the other 29 (an unrelated new
  fact: a flag is a false alarm);
- and 15 other facts about a stored fact's subject ("Alice plays tennis on
  Sundays" beside "Alice likes green tea"): distinct memories sharing words, so a
  flag is a false alarm too.

Prints, for each threshold, the counts, and the cosine distribution of each set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from langmem.store import SQLiteStore
from langmem.store.near import SIMILAR, find_similar, similar_items, similar_op, similarity

NS = ("bench", "near")

# (fact, paraphrase, near-opposite)
CASES: list[tuple[str, str, str]] = [
    ("Alice likes green tea", "Alice enjoys drinking green tea", "Alice dislikes green tea"),
    ("Bob lives in Berlin", "Bob's home is in Berlin", "Bob lives in Madrid"),
    (
        "The user prefers dark mode in every app",
        "The user wants apps in dark mode",
        "The user prefers light mode in every app",
    ),
    (
        "Carol is allergic to peanuts",
        "Carol has a peanut allergy",
        "Carol is not allergic to peanuts",
    ),
    (
        "Dan works as a nurse at the city hospital",
        "Dan is a nurse at the city hospital",
        "Dan works as a surgeon at the city hospital",
    ),
    (
        "Eve's birthday is on March 3",
        "Eve was born on the 3rd of March",
        "Eve's birthday is on July 9",
    ),
    (
        "The team deploys on Fridays",
        "Deployments happen every Friday",
        "The team never deploys on Fridays",
    ),
    ("Frank drives a red Toyota", "Frank's car is a red Toyota", "Frank drives a blue Honda"),
    ("Grace is vegetarian", "Grace does not eat meat", "Grace eats meat every day"),
    (
        "Henry plays the guitar in a band",
        "Henry is a guitarist in a band",
        "Henry plays the drums in a band",
    ),
    (
        "The project uses PostgreSQL 16",
        "PostgreSQL 16 is the project's database",
        "The project uses MySQL 8",
    ),
    (
        "Ivy has two cats named Milo and Luna",
        "Ivy owns two cats, Milo and Luna",
        "Ivy has two dogs named Milo and Luna",
    ),
    (
        "Jack runs a marathon every spring",
        "Each spring Jack runs a marathon",
        "Jack stopped running marathons",
    ),
    (
        "Karen speaks fluent Japanese",
        "Karen is fluent in Japanese",
        "Karen speaks no Japanese at all",
    ),
    (
        "The meeting with the landlord is on Tuesday at 10am",
        "We meet the landlord Tuesday 10am",
        "The meeting with the landlord is on Thursday at 3pm",
    ),
    (
        "Leo prefers email over phone calls",
        "Leo would rather be emailed than called",
        "Leo prefers phone calls over email",
    ),
    ("Mia is learning to play chess", "Mia is taking up chess", "Mia gave up playing chess"),
    (
        "The office wifi password changes monthly",
        "Every month the office wifi password is changed",
        "The office wifi password never changes",
    ),
    ("Noah is afraid of flying", "Noah has a fear of flying", "Noah loves flying"),
    (
        "Olivia's favourite colour is purple",
        "Purple is Olivia's favourite colour",
        "Olivia's favourite colour is orange",
    ),
    ("Paul takes the train to work", "Paul commutes to work by train", "Paul drives to work"),
    (
        "The budget for the trip is 2000 euros",
        "We can spend 2000 euros on the trip",
        "The budget for the trip is 500 euros",
    ),
    ("Quinn is allergic to cats", "Quinn has a cat allergy", "Quinn adores cats"),
    (
        "Rosa wakes up at 6am on weekdays",
        "On weekdays Rosa gets up at 6 in the morning",
        "Rosa wakes up at 10am on weekdays",
    ),
    (
        "Sam is a fan of the Boston Celtics",
        "Sam supports the Boston Celtics",
        "Sam can't stand the Boston Celtics",
    ),
    (
        "The garden needs watering twice a week",
        "Water the garden two times a week",
        "The garden needs watering every day",
    ),
    (
        "Tina studied physics at MIT",
        "Tina has a physics degree from MIT",
        "Tina studied law at Yale",
    ),
    (
        "Uma drinks her coffee black",
        "Uma takes her coffee without milk or sugar",
        "Uma drinks her coffee with lots of milk",
    ),
    (
        "Victor is moving to Canada next year",
        "Next year Victor relocates to Canada",
        "Victor is moving to Australia next year",
    ),
    (
        "The user's preferred language for code is Python",
        "The user likes to code in Python",
        "The user's preferred language for code is Rust",
    ),
]

# Another fact about the same subject (case index, text): a new, distinct memory that
# shares words with a stored one; a flag is a false alarm.
RELATED: list[tuple[int, str]] = [
    (0, "Alice plays tennis on Sundays"),
    (1, "Bob is learning to cook Thai food"),
    (2, "The user wants short answers without bullet points"),
    (3, "Carol runs a bakery downtown"),
    (4, "Dan has night shifts on weekends"),
    (5, "Eve is planning a trip to Lisbon"),
    (6, "The team uses GitHub Actions for CI"),
    (8, "Grace is training for a triathlon"),
    (10, "The project's API is written in Go"),
    (11, "Ivy works from home on Mondays"),
    (13, "Karen teaches at a primary school"),
    (18, "Noah collects vintage watches"),
    (20, "Paul is saving money for a house"),
    (24, "Sam watches every game with his brother"),
    (29, "The user's laptop runs Ubuntu"),
]

THRESHOLDS = (0.70, 0.75, 0.80, 0.85, 0.90)


def top_cosines(store, text: str, exclude: str | None = None) -> list[tuple[str, float]]:
    """(key, cosine) of the hits the write-time search sees (threshold 0: all of them)."""
    [hits] = store.batch([similar_op(NS, text)])
    return [
        (h.key, similarity(h) or 0.0)
        for h in similar_items(hits, NS, exclude=exclude, threshold=-1.0)
    ]


def run(embed: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "near.sqlite", index={"embed": embed, "dims": 384})
        for i, (fact, _, _) in enumerate(CASES):
            store.put(NS, f"f{i}", {"content": fact})
        para = [top_cosines(store, p) for _, p, _ in CASES]
        opp = [top_cosines(store, o) for _, _, o in CASES]
        other = [top_cosines(store, f, exclude=f"f{i}") for i, (f, _, _) in enumerate(CASES)]
        related = [top_cosines(store, t) for _, t in RELATED]
        # sanity: the shipped function agrees with the threshold sweep
        shipped = sum(bool(find_similar(store, NS, p)) for _, p, _ in CASES)
        store.close()

    def own(hits: list[tuple[str, float]], i: int) -> float:
        return max((c for k, c in hits if k == f"f{i}"), default=0.0)

    def best(hits: list[tuple[str, float]]) -> float:
        return max((c for _, c in hits), default=0.0)

    para_own = [own(h, i) for i, h in enumerate(para)]
    opp_own = [own(h, i) for i, h in enumerate(opp)]
    other_best = [best(h) for h in other]
    related_best = [best(h) for h in related]
    rows = []
    for t in THRESHOLDS:
        rows.append(
            {
                "threshold": t,
                "paraphrases_flagged": sum(c >= t for c in para_own),
                "distinct_wrongly_flagged": sum(c >= t for c in other_best),
                "near_opposites_flagged": sum(c >= t for c in opp_own),
                "same_subject_other_fact_flagged": sum(c >= t for c in related_best),
            }
        )
    dist = {
        name: {
            "min": round(min(v), 3),
            "median": round(statistics.median(v), 3),
            "max": round(max(v), 3),
        }
        for name, v in (
            ("paraphrase", para_own),
            ("near_opposite", opp_own),
            ("distinct_best", other_best),
            ("same_subject_best", related_best),
        )
    }
    misses = [CASES[i][1] for i, c in enumerate(para_own) if c < SIMILAR]
    alarms = [CASES[i][0] for i, c in enumerate(other_best) if c >= SIMILAR] + [
        t for (_, t), c in zip(RELATED, related_best) if c >= SIMILAR
    ]
    return {
        "n": len(CASES),
        "n_same_subject": len(RELATED),
        "shipped_threshold": SIMILAR,
        "shipped_paraphrases_flagged": shipped,
        "sweep": rows,
        "cosines": dist,
        "missed_at_shipped": misses,
        "false_alarms_at_shipped": alarms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed", default="local")
    args = parser.parse_args()
    print(json.dumps(run(args.embed), indent=2))


if __name__ == "__main__":
    main()
