"""Prompt optimizers: model calls and prompt tokens per kind, by number of trajectories.

A scripted model answers as early as the default config allows (one reflection
step, then the final answer; the gradient optimizer then rewrites). "short"
trajectories are three messages (~70 tokens with feedback); "long" ones carry
a ~2,000-token tool output, so 100 of them exceed the default 32,000-token
budget and get cut. The multi-prompt rows optimize a 3-prompt system where the
classifier picks one prompt.
"""

from __future__ import annotations

import re

from langmem import create_multi_prompt_optimizer, create_prompt_optimizer
from langmem.testing import ModelCall, ScriptedChatModel, ai

TITLE = "Prompt optimizers: calls and prompt tokens per invoke, by trajectories"

PROMPT = "You are a travel assistant. Answer briefly."
PROMPTS = [
    {"name": "planner", "prompt": "Plan trips.", "when_to_update": "Plans miss constraints"},
    {"name": "booker", "prompt": "Book tickets.", "when_to_update": "Booking mistakes"},
    {"name": "writer", "prompt": "Write the answer.", "when_to_update": "Tone or format issues"},
]


def _trajectory(i: int, long: bool) -> tuple[list[dict], dict]:
    tool_output = f"search results {i}: " + "flight option ... " * 450 if long else "2 flights"
    return (
        [
            {"role": "user", "content": f"Find me a cheap flight to city {i} next weekend."},
            {"role": "assistant", "content": f"I found options: {tool_output}"},
            {"role": "user", "content": "Too long and you forgot the prices."},
        ],
        {"score": 0.2, "comment": "missing prices"},
    )


def _reply(call: ModelCall):
    names = call.tool_names
    if names == ["Classify"]:
        return ai(("Classify", {"reasoning": "prices missing", "which": ["planner"]}))
    if names == ["GeneralResponse"]:
        return ai(
            (
                "GeneralResponse",
                {
                    "logic": "x",
                    "update_prompt": True,
                    "new_prompt": PROMPT + " Always list prices.",
                },
            )
        )
    if "recommend" in names:
        args = {"warrants_adjustment": True, "full_recommendations": "List prices."}
        return ai(("recommend", args))
    if "OptimizedPromptOutput" in names:
        args = {"analysis": "prices", "improved_prompt": PROMPT + " Always list prices."}
        return ai(("OptimizedPromptOutput", args))
    return ai(("think", {"thought": "Users want prices and brevity."}))


def _measure(kind: str, n: int, *, long: bool = False, multi: bool = False) -> dict:
    model = ScriptedChatModel(default=_reply)
    trajectories = [_trajectory(i, long) for i in range(n)]
    if multi:
        optimizer = create_multi_prompt_optimizer(model, kind=kind)
        optimizer.invoke({"trajectories": trajectories, "prompts": PROMPTS})
    else:
        create_prompt_optimizer(model, kind=kind).invoke(
            {"trajectories": trajectories, "prompt": PROMPT}
        )
    first = model.calls[0].text
    return {
        "kind": kind + (" (multi, 3 prompts)" if multi else ""),
        "trajectories": f"{n} {'long' if long else 'short'}",
        "llm_calls": len(model.calls),
        "prompt_tokens": sum(c.prompt_tokens for c in model.calls),
        "largest_call_tokens": max(c.prompt_tokens for c in model.calls),
        "sessions_shown": len(set(re.findall(r'<session index="(\d+)"', first))),
        "cut_to_budget": "yes" if "[Note: to fit a budget" in first else "no",
    }


def run() -> list[dict]:
    rows = []
    for kind in ("gradient", "metaprompt", "prompt_memory"):
        rows += [_measure(kind, n) for n in (1, 10, 100)]
        rows.append(_measure(kind, 100, long=True))
    rows += [_measure("gradient", n, multi=True) for n in (1, 10, 100)]
    rows.append(_measure("gradient", 100, long=True, multi=True))
    return rows
