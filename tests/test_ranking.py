"""Pure hybrid ranking and FTS5 query building (no database)."""

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from langmem.store.ranking import (
    Candidate,
    RankingWeights,
    fts_query,
    is_turn,
    name_speakers,
    rank,
    speaker_of,
    spread_keyword_hits,
)

pytestmark = pytest.mark.core

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def order(cands, weights=RankingWeights()):
    return [c.rowid for c, _ in rank(cands, weights, NOW)]


def test_score_fusion_adds_normalised_bm25_to_cosine():
    w = RankingWeights(importance=0.0, recency=0.0)
    both = Candidate(1, vector_sim=0.5, vector_rank=1, keyword_rank=0, keyword_score=-4.0)
    vec_only = Candidate(2, vector_sim=0.6, vector_rank=0)
    kw_only = Candidate(3, keyword_rank=1, keyword_score=-3.0)
    scored = dict((c.rowid, s) for c, s in rank([vec_only, kw_only, both], w, NOW))
    assert scored[1] == pytest.approx(0.5 + w.keyword * 1.0)
    assert scored[2] == pytest.approx(0.6)
    assert scored[3] == pytest.approx(0.5 + w.keyword * 0.75)  # floor cosine, 3/4 of best bm25
    assert order([vec_only, kw_only, both], w) == [1, 3, 2]
    assert order([vec_only, kw_only, both], replace(w, keyword=0.0)) == [2, 1, 3]


def test_rrf_fusion_rewards_agreement_of_both_retrievers():
    w = RankingWeights(fusion="rrf", keyword=1.0, importance=0.0, recency=0.0)
    both = Candidate(1, vector_sim=0.5, vector_rank=2, keyword_rank=1)
    vec_only = Candidate(2, vector_sim=0.9, vector_rank=0)
    kw_only = Candidate(3, keyword_rank=0, keyword_score=-5.0)
    scored = rank([vec_only, kw_only, both], w, NOW)
    assert [c.rowid for c, _ in scored] == [1, 2, 3]
    assert scored[0][1] == pytest.approx(1 / 63 + 1 / 62)


def test_importance_breaks_near_ties_and_its_weight_is_configurable():
    plain = Candidate(1, vector_sim=0.80, vector_rank=0)
    important = Candidate(2, vector_sim=0.78, vector_rank=1, importance=1.0)
    assert order([plain, important]) == [2, 1]
    assert order([plain, important], RankingWeights(importance=0.0)) == [1, 2]
    # Importance cannot lift an item over a much better match at the default weight.
    assert order([plain, replace(important, vector_sim=0.5)]) == [1, 2]


def test_recent_and_often_used_memories_rank_higher():
    old = Candidate(1, vector_sim=0.80, created_at=NOW - timedelta(days=365))
    fresh = Candidate(2, vector_sim=0.79, created_at=NOW - timedelta(hours=1))
    assert order([old, fresh]) == [2, 1]
    assert order([old, fresh], RankingWeights(recency=0.0)) == [1, 2]
    # Access refreshes an old memory; access count strengthens it.
    touched = replace(old, accessed_at=NOW, access_count=5)
    assert order([touched, fresh]) == [1, 2]
    # A longer half-life makes age matter less.
    assert order([old, fresh], RankingWeights(half_life_days=10_000)) == [1, 2]


def test_pure_vector_weights_ignore_keywords():
    pure = RankingWeights(keyword=0.0, importance=0.0, recency=0.0)
    a = Candidate(1, vector_sim=0.7, keyword_score=-3.0)
    b = Candidate(2, vector_sim=0.75)
    assert order([a, b], pure) == [2, 1]
    assert order([a, b]) == [1, 2]


def test_ties_are_deterministic_by_rowid_and_bad_weights_rejected():
    assert order([Candidate(5), Candidate(3), Candidate(4)]) == [3, 4, 5]
    with pytest.raises(ValueError, match="fusion"):
        RankingWeights(fusion="max")
    with pytest.raises(ValueError, match="positive"):
        RankingWeights(half_life_days=0)


def test_neighbours_lend_a_share_of_their_score_between_turns_of_one_namespace():
    w = RankingWeights(importance=0.0, recency=0.0, keyword=0.0, neighbours=0.5)
    question = Candidate(10, vector_sim=0.8, namespace="chat", turn=True)
    answer = Candidate(11, vector_sim=0.2, namespace="chat", turn=True)  # the turn after it
    other_ns = Candidate(9, vector_sim=0.2, namespace="other", turn=True)  # other tenant
    distant = Candidate(13, vector_sim=0.3, namespace="chat", turn=True)  # not adjacent
    memory = Candidate(12, vector_sim=0.1, namespace="chat")  # adjacent, but not a turn
    everything = [question, answer, other_ns, distant, memory]
    scored = dict((c.rowid, s) for c, s in rank(everything, w, NOW))
    assert scored[11] == pytest.approx(0.5 * 0.2 + 0.5 * 0.8)  # raised toward its neighbour
    assert scored[10] == pytest.approx(0.8)  # never lowered by a weaker neighbour
    assert scored[9] == pytest.approx(0.2) and scored[13] == pytest.approx(0.3)
    assert scored[12] == pytest.approx(0.1)  # a memory next to turns gets no credit
    assert order(everything, w) == [10, 11, 13, 9, 12]
    assert order(everything, replace(w, neighbours=0.0)) == [10, 13, 9, 11, 12]
    # The same items as extracted memories (not turns): order only by their own scores.
    memories = [replace(c, turn=False) for c in everything]
    assert order(memories, w) == [10, 13, 9, 11, 12]
    with pytest.raises(ValueError, match="neighbours"):
        RankingWeights(neighbours=1.5)


def test_turns_share_keyword_matches_with_turns_near_them_in_their_namespace():
    hits = {10: -4.0, 20: -3.0, 30: -1.0}  # FTS5 bm25: lower is better
    turns = {10: "chat", 11: "chat", 12: "chat", 13: "chat", 9: "other", 20: "chat", 21: "chat"}
    spread = spread_keyword_hits(hits, turns, share=0.5, limit=10, span=2)
    scores = {rid: score for rid, (_, score) in spread.items()}
    assert scores[11] == pytest.approx(0.5 * -4.0)  # matched nothing itself: now a candidate
    assert scores[12] == pytest.approx(0.5 * -4.0)  # two rowids away
    assert 13 not in scores and 9 not in scores  # too far; another namespace
    assert scores[10] == pytest.approx(-4.0) and scores[20] == pytest.approx(-3.0)
    assert scores[21] == pytest.approx(0.5 * -3.0)
    assert scores[30] == pytest.approx(-1.0)  # not a turn: keeps its own, lends nothing
    assert 29 not in scores and 31 not in scores
    ranks = sorted(spread, key=lambda rid: spread[rid][0])
    assert ranks == [10, 20, 11, 12, 21, 30]
    assert list(spread_keyword_hits(hits, turns, share=0.5, limit=2)) == [10, 20]
    # Turns adjacent to each other both matching add up.
    both = spread_keyword_hits({1: -2.0, 2: -2.0}, {1: "c", 2: "c"}, share=0.5, limit=5)
    assert both[1][1] == pytest.approx(-3.0) and both[2][1] == pytest.approx(-3.0)
    with pytest.raises(ValueError, match="keyword_neighbours"):
        RankingWeights(keyword_neighbours=-1.0)


def test_a_query_naming_a_speaker_lifts_that_speakers_turns_only():
    w = RankingWeights(importance=0.0, recency=0.0, keyword=0.0, neighbours=0.5, speaker=0.2)
    hers = Candidate(1, vector_sim=0.5, namespace="c", turn=True, speaker="caroline")
    his = Candidate(2, vector_sim=0.6, namespace="c", turn=True, speaker="melanie")
    two_words = Candidate(3, vector_sim=0.55, namespace="x", turn=True, speaker="dr lee")
    cands = [hers, his, two_words]

    def first(query, weights=w):
        return [c.rowid for c, _ in rank(name_speakers(cands, query), weights, NOW)][0]

    scored = {c.rowid: s for c, s in rank(name_speakers(cands, "What did Caroline paint?"), w, NOW)}
    assert scored[1] == pytest.approx(0.5 * 0.5 + 0.5 * 0.6 + 0.2)  # his spread, then hers
    assert scored[2] == pytest.approx(0.6)  # her neighbour: her bonus is not spread to him
    assert first("what did caroline paint?") == 1
    assert first("What did Lee say?") == 2  # not every word of "dr lee"
    assert first("What did Dr Lee say?") == 3
    assert first("Caroline?", replace(w, speaker=0.0)) == 2
    assert [c.rowid for c, _ in rank(cands, w, NOW)][0] == 2  # none marked named


def test_speaker_is_a_turns_named_speaker_never_a_generic_chat_role():
    assert speaker_of({"role": "Caroline", "content": "hi"}) == "caroline"
    assert speaker_of({"kind": "turn", "text": "hi", "speaker": "Maya"}) == "maya"
    assert speaker_of({"role": "user", "name": "Sam", "content": "hi"}) == "sam"
    assert speaker_of({"role": "user", "content": "hi"}) is None
    assert speaker_of({"role": "Assistant", "content": "hi"}) is None
    assert speaker_of({"speaker": "Maya", "content": "a note"}) is None  # not a turn


def test_turns_are_chat_messages_or_marked_values():
    assert is_turn({"role": "user", "content": "I moved to Lisbon"})
    assert is_turn({"kind": "turn", "text": "[2026-03-02] Maya: hi", "speaker": "Maya"})
    assert not is_turn({"kind": "Memory", "content": {"content": "Maya lives in Lisbon"}})
    assert not is_turn({"content": "no role"}) and not is_turn({"role": 3, "content": "x"})
    assert not is_turn({"text": "a note"}) and not is_turn(["role", "content"])


def test_default_late_interaction_follows_the_embedder():
    auto = RankingWeights()
    assert auto.late_interaction is None and auto.neighbours == 0.5
    assert auto.resolved(token_vectors=True).late_interaction == 2.0
    assert auto.resolved(token_vectors=False).late_interaction == 0.0
    explicit = RankingWeights(late_interaction=0.0)
    assert explicit.resolved(token_vectors=True) is explicit


def test_fts_query_keeps_content_words_quoted_and_ored():
    assert fts_query("When did Caroline go to the LGBTQ support group?") == (
        '"caroline" OR "go" OR "lgbtq" OR "support" OR "group"'
    )
    assert fts_query("what is it?") is None
    assert fts_query("") is None
    assert fts_query("tea tea TEA") == '"tea"'


def test_fts_query_is_safe_fts5_syntax():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    db.executemany(
        "INSERT INTO t(body) VALUES (?)",
        [("alice likes NEAR tea",), ("bob hates coffee",), ("say AND or NOT",)],
    )
    for text in ['tea" OR body:*', "NEAR(alice bob)", "AND OR NEAR", "coffee*", "café ünïcode"]:
        q = fts_query(text)
        assert q is not None
        db.execute("SELECT rowid FROM t WHERE t MATCH ?", (q,)).fetchall()  # no syntax error
    hits = db.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts_query("NEAR coffee"),)).fetchall()
    assert sorted(r[0] for r in hits) == [1, 2]
