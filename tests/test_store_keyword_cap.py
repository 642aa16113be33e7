"""Keyword search reads a capped set of the best FTS5 matches first (``_read._keyword_hits``):
namespace prefix, filter, expiry and paging must still see their own best matches."""

from __future__ import annotations

import random

import pytest
from langgraph.store.base import PutOp

from langmem.store import RankingWeights, SQLiteStore, _read

pytestmark = pytest.mark.core

# Pure BM25 order (no recency, importance or neighbours), few candidates, so that the cap
# (_KEYWORD_CAP * candidates) is far below the matches outside the searched namespace.
WEIGHTS = RankingWeights(recency=0.0, importance=0.0, neighbours=0.0, candidates=2)


def _store(**kw) -> SQLiteStore:
    return SQLiteStore(":memory:", index={"fields": ["text"]}, search_mode="keyword", **kw)


def _text(word: str, filler: int) -> str:
    """BM25 falls with length: more filler, weaker match (distinct lengths, no ties)."""
    return " ".join([word, *(f"pad{j}" for j in range(filler))])


def _fill(store: SQLiteStore, ns: tuple[str, ...], prefix: str, fillers, **value) -> None:
    store.batch(
        [PutOp(ns, f"{prefix}{i}", {"text": _text("apple", f), **value}) for i, f in fillers]
    )


def _keys(store: SQLiteStore, ns: tuple[str, ...], **kw) -> list[str]:
    return [it.key for it in store.search(ns, query="apple", **kw)]


@pytest.fixture
def crowded() -> SQLiteStore:
    """("mine",) holds weak matches; ("other",) 300 stronger ones that fill any cap."""
    s = _store(ranking=WEIGHTS)
    _fill(s, ("other",), "o", [(i, 0) for i in range(300)])  # one word: the strongest
    _fill(s, ("mine",), "m", [(i, 1 + i) for i in range(40)])  # m0 best, then m1, ...
    _fill(s, ("mine", "sub"), "s", [(i, 100 + i) for i in range(5)])  # below the prefix
    return s


@pytest.mark.parametrize("limit", [1, 10])
def test_namespace_prefix_finds_its_matches_among_stronger_ones_elsewhere(crowded, limit):
    assert _keys(crowded, ("mine",), limit=limit) == [f"m{i}" for i in range(limit)]


def test_prefix_includes_descendant_namespaces(crowded):
    got = _keys(crowded, ("mine",), limit=50)
    assert got == [*(f"m{i}" for i in range(40)), *(f"s{i}" for i in range(5))]


def test_offset_and_limit_beyond_the_cap(crowded):
    assert _keys(crowded, ("mine",), limit=10, offset=25) == [f"m{i}" for i in range(25, 35)]
    everywhere = _keys(crowded, (), limit=10, offset=295)
    assert everywhere[:5] == [f"o{i}" for i in range(295, 300)]
    assert everywhere[5:] == [f"m{i}" for i in range(5)]


def test_filter_keeps_only_its_items_among_stronger_ones():
    s = _store(ranking=WEIGHTS)
    _fill(s, ("n",), "drop", [(i, 0) for i in range(200)], tag="drop")
    _fill(s, ("n",), "keep", [(i, 3 + i) for i in range(20)], tag="keep")
    got = _keys(s, ("n",), limit=5, filter={"tag": "keep"})
    assert got == [f"keep{i}" for i in range(5)]


def test_large_namespace_with_few_top_matches(monkeypatch):
    """A namespace too large to list (more items than the scoring budget) is joined instead."""
    monkeypatch.setattr(_read, "_KEYWORD_SCORED", 4)  # budget: 4 * pool items
    s = _store(ranking=WEIGHTS)
    _fill(s, ("other",), "o", [(i, 0) for i in range(200)])
    _fill(s, ("mine",), "m", [(i, 1 + i) for i in range(60)])
    _fill(s, ("mine",), "x", [(i, 0) for i in range(10)], text="pear")  # no match
    assert _keys(s, ("mine",), limit=3) == ["m0", "m1", "m2"]


def test_large_filter_with_few_top_matches(monkeypatch):
    """A filter allowing more items than the scoring budget: capped, then joined."""
    monkeypatch.setattr(_read, "_KEYWORD_SCORED", 4)
    s = _store(ranking=WEIGHTS)
    _fill(s, ("n",), "drop", [(i, 0) for i in range(200)], tag="drop")
    _fill(s, ("n",), "keep", [(i, 3 + i) for i in range(60)], tag="keep")
    got = _keys(s, ("n",), limit=3, filter={"tag": "keep"})
    assert got == ["keep0", "keep1", "keep2"]


def test_expired_best_matches_are_skipped(monkeypatch):
    from langmem.store import sqlite as engine

    now = [1_700_000_000_000_000]
    monkeypatch.setattr(engine, "now_us", lambda: now[0])
    s = _store(ranking=WEIGHTS, ttl={"sweep_interval_minutes": 10_000})
    s.batch([PutOp(("n",), f"gone{i}", {"text": "apple"}, ttl=1) for i in range(100)])
    _fill(s, ("n",), "m", [(i, 1 + i) for i in range(10)])
    now[0] += 2 * 60_000_000  # the strong matches expire (not swept yet)
    assert _keys(s, ("n",), limit=3) == ["m0", "m1", "m2"]


def test_rare_terms_survive_pruning(monkeypatch):
    """When the terms together match more than the budget, the rarest are scored."""
    monkeypatch.setattr(_read, "_KEYWORD_SCORED", 10)  # budget: 10 * pool items
    s = _store(ranking=WEIGHTS)
    _fill(s, ("n",), "c", [(i, i % 3) for i in range(300)])  # "apple": common
    s.batch([PutOp(("n",), f"r{i}", {"text": _text("quince", 4 + i)}) for i in range(3)])
    got = [it.key for it in s.search(("n",), query="apple quince", limit=3)]
    assert got == ["r0", "r1", "r2"]


@pytest.mark.parametrize("scored", [1, 10**6])  # namespaces/filters capped or scored alone
def test_capped_search_returns_what_an_uncapped_one_does(monkeypatch, scored):
    """Random namespaces, filters, terms and pages: the same items, scores and order."""
    rng = random.Random(7)
    words = [f"w{i}" for i in range(30)]
    spaces = [("a",), ("a", "x"), ("b",), ("c", "d")]
    s = _store(ranking=WEIGHTS)
    s.batch(
        [
            PutOp(
                rng.choice(spaces),
                f"k{i}",
                {"text": " ".join(rng.choices(words, k=rng.randint(1, 12))), "g": i % 3},
            )
            for i in range(600)
        ]
    )
    searches = [
        (
            rng.choice([(), *spaces]),
            dict(
                query=" ".join(rng.sample(words, rng.randint(1, 4))),
                filter=rng.choice([None, {"g": 1}]),
                limit=rng.choice([1, 5, 20]),
                offset=rng.choice([0, 3, 30]),
            ),
        )
        for _ in range(60)
    ]

    def run() -> list[list[tuple[str, float]]]:
        return [[(it.key, round(it.score, 9)) for it in s.search(ns, **q)] for ns, q in searches]

    # Pruning is tested above: here every term is scored.
    monkeypatch.setattr(_read, "_rarest", lambda terms, counts, budget: " OR ".join(terms))
    monkeypatch.setattr(_read, "_KEYWORD_SCORED", scored)
    capped = run()
    monkeypatch.setattr(_read, "_KEYWORD_CAP", 10**6)
    monkeypatch.setattr(_read, "_KEYWORD_SCORED", 10**6)
    uncapped = run()
    assert capped == uncapped
    assert sum(map(len, capped)) > 200  # the searches do find things
