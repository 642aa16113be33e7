"""SQLiteStore search over conversation turns with the opt-in transcript settings:
keyword evidence shared between nearby turns, and the speaker a query names."""

import pytest

from langmem.store import RankingWeights, SQLiteStore

pytestmark = pytest.mark.core

CHAT = ("chat", "t1")
TURNS = [
    ("Maya", "Did you finally book the trip to Lisbon with your sister?"),
    ("Sam", "Yes, in May!"),
    ("Maya", "I repainted the kitchen a pale green."),
    ("Sam", "My cat knocked over a plant yesterday."),
    ("Maya", "We watched an old film about sailing."),
]


def store(**weights) -> SQLiteStore:
    ranking = RankingWeights(neighbours=0.0, **weights)
    s = SQLiteStore(":memory:", index={"fields": ["content"]}, search_mode="keyword", ranking=ranking)
    for n, (who, text) in enumerate(TURNS):
        s.put(CHAT, f"t{n}", {"role": who, "content": text})
    s.put(("notes",), "n0", {"content": "Lisbon trip notes"})  # not a turn
    s.put(("notes",), "n1", {"content": "packing list"})
    return s


def keys(s: SQLiteStore, namespace, query: str, limit: int = 10) -> list[str]:
    return [item.key for item in s.search(namespace, query=query, limit=limit)]


def test_a_turn_matching_nothing_is_found_through_the_turn_before_it():
    query = "When is the Lisbon trip?"
    assert keys(store(keyword_neighbours=0.0), CHAT, query) == ["t0"]
    assert keys(store(), CHAT, query) == keys(store(keyword_neighbours=0.5), CHAT, query)
    found = keys(store(keyword_neighbours=0.5), CHAT, query)
    assert found[0] == "t0" and set(found) == {"t0", "t1", "t2"}  # within two rowids
    # Extracted memories lend nothing, whatever their write order.
    assert keys(store(keyword_neighbours=0.5), ("notes",), "Lisbon trip") == ["n0"]


def test_keyword_neighbours_stay_within_the_namespace_and_the_filter():
    s = store(keyword_neighbours=0.5)
    s.put(("chat", "t2"), "u0", {"role": "Ann", "content": "Lisbon again?"})
    s.put(("chat", "t2"), "u1", {"role": "Bo", "content": "No."})
    assert keys(s, ("chat", "t2"), "Lisbon") == ["u0", "u1"]
    assert "u0" not in keys(s, CHAT, "Lisbon")
    # A filtered search only hears the items it may return: t0 (Maya) lends Sam's turn nothing.
    assert keys(s, CHAT, "Lisbon trip") == ["t0", "t1", "t2"]
    assert [i.key for i in s.search(CHAT, query="Lisbon trip", filter={"role": "Sam"})] == []


def test_a_query_naming_a_speaker_ranks_that_speakers_turn_first():
    query = "What did {} say about the plant, the film and sailing?"
    off = store(speaker=0.0, keyword_neighbours=0.0)
    assert keys(off, CHAT, query.format("Sam"))[:2] == ["t4", "t3"]  # more words matched
    on = store(speaker=0.5, keyword_neighbours=0.0)
    assert keys(on, CHAT, query.format("Sam"))[:2] == ["t3", "t4"]
    assert keys(on, CHAT, query.format("Maya"))[:2] == ["t4", "t3"]
    assert keys(on, CHAT, query.format("the user"))[:2] == ["t4", "t3"]
    assert keys(store(), CHAT, query.format("Sam"))[0] == "t3"  # on by default
