"""bench/madial_retrieval.py on a tiny dataset in the MADial format (hash embeddings)."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import madial_retrieval as madial  # noqa: E402

MEMORIES = {
    "1": "Ann played the piano at the school concert and felt proud.",
    "2": "Ann lost her red umbrella on the bus and felt sad.",
    "3": "Ben baked a chocolate cake for his sister's birthday.",
    "4": "Carl went fishing with his grandfather at the lake.",
    "5": "Dora visited the zoo and watched the penguins swim.",
    "6": "Eve finished a puzzle of a thousand pieces.",
    "7": "Finn scored a goal in the football final.",
    "8": "Gail planted tomatoes in the garden with her mother.",
}


def _write(tmp: Path) -> Path:
    lines = [
        json.dumps({k: {"time": "2023-01-01", "scene": "x", "emotion": "Happy", "event": v}})
        for k, v in MEMORIES.items()
    ]
    (tmp / "memory_en.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    dialogues = [
        # The whole context points at the umbrella, the last user line at the piano.
        (["<Ann>: \"It rained and my umbrella is gone, on the bus again.\"\n",
          "<Assistant>: \"Oh no, that is annoying.\"\n",
          "<Ann>: \"Anyway, I have a piano concert at school tomorrow.\"\n"], ["1", "2"]),
        (["<Ben>: \"My sister's birthday is coming, I want to bake a cake.\"\n"], ["3"]),
    ]  # fmt: skip
    with (tmp / "dialogue_en.jsonl").open("w", encoding="utf-8") as out:
        for lines_, relevant in dialogues:
            dialogue = ["<BOD>\n", *lines_, '<Assistant>: "..."\n', "<EOD>\n"]
            test_turn = len(dialogue) - 2
            record = {"dialogue": dialogue, "test-turn": [test_turn], "relevant-id": relevant}
            out.write(json.dumps(record) + "\n")
    return tmp


def test_dialogue_lines_and_query_forms(tmp_path):
    memories, dialogues = madial.load(_write(tmp_path))
    assert set(memories) == set(MEMORIES)
    lines, relevant = dialogues[0]
    assert relevant == ["1", "2"] and [who for who, _ in lines] == ["Ann", "Assistant", "Ann"]
    assert madial.query_of(lines, "last") == "Anyway, I have a piano concert at school tomorrow."
    assert madial.query_of(lines, "context").count("\n") == 2  # no speaker labels


def test_multi_merges_the_last_line_and_context_queries(tmp_path):
    data = _write(tmp_path)
    results = madial.run(["hybrid"], ["last", "multi"], embed="hash", data=data)["hybrid"]
    assert results["last"]["n"] == results["multi"]["n"] == 2
    memories, dialogues = madial.load(data)
    store = madial.build_store(memories, "hybrid", "hash", tmp_path / "m.db")
    lines = dialogues[0][0]
    last = madial.search(store, lines, "last", 2)
    context = madial.search(store, lines, "context", 2)
    merged = madial.search(store, lines, "multi", 4)
    # Every memory either query ranked first is among the merged results.
    assert {last[0], context[0]} <= set(merged) and len(merged) == len(set(merged))
    assert "1" in last[:1]  # the last line names the piano concert
