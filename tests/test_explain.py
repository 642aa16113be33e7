"""Explained recall (issue 28): ``search(..., explain=True)`` on both backends."""

from __future__ import annotations

import json
import re

import pytest
from langgraph.store.base import PutOp, SearchItem, SearchOp

from langmem.store import RankingWeights
from langmem.store._read import ExplainedItem, ExplainSearchOp, explanation_text
from langmem.testing import HashEmbeddings
from test_late_interaction import WordEmbeddings

NS = ("u",)
SIGNALS = {"vector", "keyword", "late_interaction", "importance", "recency", "neighbours", "speaker"}
MEMORIES = [
    {"text": "Alice likes hiking in the Alps every summer", "importance": 0.9},
    {"text": "Bob prefers dark mode in every editor"},
    {"text": "The team meets on Mondays to plan the week", "importance": 0.3},
    {"text": "Alice is allergic to cats and dogs"},
    {"text": "Bob's dog is a puppy called Rex"},
]
TURNS = [
    ("Caroline", "I went hiking in the Alps yesterday"),
    ("Mel", "Yes, in May!"),
    ("Caroline", "My dog came along, the puppy loved it"),
    ("Mel", "Did the cat stay home?"),
]
QUERIES = [
    "What did Caroline say about hiking?",
    "dark mode editor",
    "who has a dog or a puppy",
    "when was the Alps trip",
    "cat",
]
MODES = {
    "hybrid": {"index": {"dims": 64, "embed": HashEmbeddings(64), "fields": ["text"]}},
    "rrf": {
        "index": {"dims": 64, "embed": HashEmbeddings(64), "fields": ["text"]},
        "ranking": RankingWeights(fusion="rrf"),
    },
    "late": {
        "index": {"dims": 8, "embed": WordEmbeddings(), "fields": ["text"]},
        "ranking": RankingWeights(late_interaction=2.0),
    },
    "vector": {
        "index": {"dims": 64, "embed": HashEmbeddings(64), "fields": ["text"]},
        "search_mode": "vector",
    },
    "keyword": {"index": {"fields": ["text"]}, "search_mode": "keyword"},
}


def _filled(store_factory, mode: str, **ranking):
    kwargs = dict(MODES[mode])
    if ranking:
        kwargs["ranking"] = RankingWeights(**ranking)
    store = store_factory(**kwargs)
    ops = [PutOp(NS, f"m{i}", value) for i, value in enumerate(MEMORIES)]
    ops += [
        PutOp((*NS, "chat"), f"t{i}", {"kind": "turn", "speaker": who, "text": f"{who}: {text}"})
        for i, (who, text) in enumerate(TURNS)
    ]
    store.batch(ops)
    store.put((*NS, "unindexed"), "x", {"note": "no text field"}, index=False)
    return store


def _check_parts(hit: dict | SearchItem) -> None:
    score, why = (hit["score"], hit) if isinstance(hit, dict) else (hit.score, hit.explanation)
    assert set(why["parts"]) <= SIGNALS
    assert sum(why["parts"].values()) == pytest.approx(score, abs=1e-6)


@pytest.mark.parametrize("mode", list(MODES))
async def test_parts_add_up_to_the_score(store_factory, mode):
    store = _filled(store_factory, mode)
    seen = set()
    for query in QUERIES:
        for hits in (
            store.search(NS, query=query, limit=4, explain=True),
            await store.asearch(NS, query=query, limit=4, offset=1, explain=True),
        ):
            assert hits and all(isinstance(h, ExplainedItem) for h in hits)
            for hit in hits:
                if hit.score is None:  # the unindexed item follows the ranked ones
                    assert hit.explanation == {"parts": {}}
                    continue
                _check_parts(hit)
                seen.update(hit.explanation["parts"])
                assert set(hit.explanation.get("terms", ())) <= set(re.findall(r"\w+", query.lower()))
            for runner in hits[-1].explanation.get("runners_up", ()):
                _check_parts(runner)
                assert runner["score"] <= min(h.score for h in hits if h.score is not None)
            json.dumps([h.dict() for h in hits])  # the explanation is plain JSON
    expected = {
        "hybrid": {"vector", "keyword", "importance", "recency", "neighbours", "speaker"},
        "rrf": {"vector", "keyword", "importance", "recency", "speaker"},
        "late": {"vector", "late_interaction", "keyword"},
        "vector": {"vector"},
        "keyword": {"keyword", "recency"},
    }[mode]
    assert expected <= seen


@pytest.mark.parametrize("mode", list(MODES))
async def test_explain_changes_no_result(store_factory, mode):
    # No recency: every search records accesses, which moves the next one's recency.
    weights = {"fusion": "rrf"} if mode == "rrf" else {}
    late = {"late_interaction": 2.0} if mode == "late" else {}
    store = _filled(store_factory, mode, recency=0.0, **weights, **late)

    def shown(items):
        return [(i.namespace, i.key, i.score) for i in items]

    for query in [*QUERIES, None]:
        for offset in (0, 2):
            plain = store.search(NS, query=query, limit=3, offset=offset)
            assert all(not isinstance(i, ExplainedItem) and "explanation" not in i.dict() for i in plain)
            assert shown(store.search(NS, query=query, limit=3, offset=offset, explain=True)) == (
                shown(plain)
            )
            explained = await store.asearch(NS, query=query, limit=3, offset=offset, explain=True)
            assert shown(explained) == shown(plain)
            assert all("explanation" in i.dict() for i in explained)
    # batch: an ExplainSearchOp next to a plain SearchOp
    op = SearchOp(NS, None, 3, 0, QUERIES[0])
    plain, explained = store.batch([op, ExplainSearchOp(*op)])
    assert shown(plain) == shown(explained)
    assert [type(i) for i in explained] == [ExplainedItem] * len(explained)


def test_compact_text(store_factory):
    store = _filled(store_factory, "hybrid")
    [hit] = store.search(NS, query="Alice hiking", limit=1, explain=True)
    text = explanation_text(hit)
    assert text.startswith(f"{hit.score:.3f} = vector ") and " + keyword " in text
    assert text.endswith("terms: alice, hiking")
    assert explanation_text(store.search(NS, query="Alice hiking", limit=1)[0]) == ""


# ---------------------------------------------------------------- surfaces (SQLite)


def _sqlite(tmp_path):
    from langmem.store import SQLiteStore

    index = {"dims": 256, "embed": HashEmbeddings(256), "fields": ["content"]}  # as the CLI's
    store = SQLiteStore(tmp_path / "m.db", index=index)
    for i, value in enumerate(MEMORIES):
        store.put(NS, f"m{i}", {"content": value["text"]})
    return store


def test_search_tool_explains_in_its_content(tmp_path):
    from langmem import create_search_memory_tool

    with _sqlite(tmp_path) as store:
        plain = create_search_memory_tool(NS, store=store)
        tool = create_search_memory_tool(NS, store=store, explain=True)
        assert tool.args == plain.args  # the model sees the same schema
        hits = json.loads(tool.invoke({"query": "Alice hiking", "limit": 2}))
        assert hits[0]["why"].endswith("terms: alice, hiking") and "explanation" not in hits[0]
        assert "why" not in json.loads(plain.invoke({"query": "Alice hiking"}))[0]


def test_cli_search_explain(tmp_path):
    from typer.testing import CliRunner

    from langmem import cli

    _sqlite(tmp_path).close()
    args = ["search", "u", "Alice hiking", "--db", str(tmp_path / "m.db"), "--embed", "hash"]
    run = CliRunner().invoke(cli.app, [*args, "--limit", "2", "--explain"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "m0  " in run.output and "= vector " in run.output and "terms: alice, hiking" in run.output
    assert "ranked out: " in run.output
    run = CliRunner().invoke(cli.app, [*args, "--limit", "1", "--explain", "--json"])
    [hit] = json.loads(run.output)
    _check_parts(hit | hit["explanation"])


async def test_mcp_search_explain(tmp_path):
    pytest.importorskip("mcp")
    from mcp import Client

    from langmem.mcp import create_server

    with _sqlite(tmp_path) as store:
        async with Client(create_server(store, namespace=NS)) as client:
            args = {"query": "Alice hiking", "limit": 2}
            plain = await client.call_tool("search_memories", args)
            why = await client.call_tool("search_memories", {**args, "explain": True})
    hits = why.structured_content["result"]
    assert hits[0]["why"].endswith("terms: alice, hiking")
    assert plain.structured_content["result"][0]["why"] is None
