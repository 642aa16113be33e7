"""Memory manager: model calls and prompt tokens per call, by number of existing memories.

The scripted model inserts one memory and patches one existing memory (when
there is one). The "repair" rows add one malformed call, which costs one repair
call; "deletes on" binds RemoveDoc too.
"""

from __future__ import annotations

import uuid

from langmem.knowledge.manager import Memory, create_memory_manager
from langmem.testing import ScriptedChatModel, ai

TITLE = "Memory manager (create_memory_manager): calls and prompt tokens per invoke"

CONVO = [
    ("user", "I moved to Lisbon last month and started learning Portuguese."),
    ("assistant", "Exciting! How is the learning going?"),
    ("user", "Slowly. I practise 20 minutes every morning before work."),
]


def _reply(call, *, malformed: bool):
    ids = [line.split()[1][3:] for line in call.text.splitlines() if line.startswith("- id=")]
    calls = [("Memory", {"content": "User practises Portuguese 20 minutes each morning"})]
    if ids:
        edit = [{"op": "replace", "path": "/content", "value": "User lives in Lisbon"}]
        calls.append(
            ("PatchDoc", {"json_doc_id": ids[0], "planned_edits": "move", "patches": edit})
        )
    if malformed:
        calls.append(("Memory", "{not json"))
    return ai(*calls)


def _measure(n: int, *, malformed: bool = False, deletes: bool = False) -> dict:
    existing = [
        (
            str(uuid.uuid4()),
            Memory(content=f"User fact {i}: enjoys activity number {i} on weekends"),
        )
        for i in range(n)
    ]
    model = ScriptedChatModel(
        [lambda call: _reply(call, malformed=malformed)], default=ai(("Done", {}))
    )
    manager = create_memory_manager(model, enable_deletes=deletes)
    result = manager.invoke({"messages": CONVO, "existing": existing})
    tool_tokens = sum(len(str(t)) for t in model.calls[0].tools) // 4
    return {
        "existing": n,
        "variant": "repair" if malformed else "deletes on" if deletes else "default",
        "llm_calls": len(model.calls),
        "prompt_tokens": sum(c.prompt_tokens for c in model.calls),
        "tool_schema_tokens": tool_tokens,
        "results": len(result),
    }


def run() -> list[dict]:
    rows = [_measure(n) for n in (0, 10, 100, 1000)]
    rows += [_measure(n, deletes=True) for n in (10, 1000)]
    rows += [_measure(n, malformed=True) for n in (10, 1000)]
    return rows
