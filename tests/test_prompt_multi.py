"""Multi-prompt optimizer: classification, selective concurrent updates, order and copies."""

from __future__ import annotations

import copy
import threading

import pytest

from langmem import create_multi_prompt_optimizer
from langmem.prompts._calls import MAX_REPAIRS
from langmem.testing import ModelCall, ScriptedChatModel, ai

pytestmark = pytest.mark.core

TRAJECTORIES = [
    (
        [
            {"role": "user", "content": "Plan a trip to Rome"},
            {"role": "assistant", "content": "Day 1: Colosseum..."},
            {"role": "user", "content": "You forgot the budget!"},
        ],
        {"score": 0.2},
    )
]
PROMPTS = [
    {
        "name": "planner",
        "prompt": "Plan itineraries.",
        "when_to_update": "When plans miss user constraints",
        "update_instructions": "Keep it one paragraph",
        "owner": "team-a",
    },
    {"name": "writer", "prompt": "Write the final answer.", "when_to_update": "On tone problems"},
    {"name": "checker", "prompt": "Check the plan."},
]
ONE_SHOT = {"max_reflection_steps": 1, "min_reflection_steps": 0}


def classify(*names: str):
    return ai(("Classify", {"reasoning": "The plan ignored the budget.", "which": list(names)}))


def rewrite_by_prompt(call: ModelCall):
    """Answers an optimization request by rewriting whichever prompt it shows."""
    for p in PROMPTS:
        if f"<current_prompt>\n{p['prompt']}\n</current_prompt>" in call.text:
            return ai(
                ("OptimizedPromptOutput", {"analysis": "x", "improved_prompt": p["prompt"] + " v2"})
            )
    raise AssertionError("no prompt shown")


def make(script, kind="metaprompt", config=ONE_SHOT):
    model = ScriptedChatModel(script, default=rewrite_by_prompt)
    return model, create_multi_prompt_optimizer(model, kind=kind, config=config)


def test_only_the_chosen_prompts_change_and_all_come_back_in_order():
    inputs = copy.deepcopy(PROMPTS)
    model, optimizer = make([classify("checker", "planner")])
    result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": inputs})
    assert [p["name"] for p in result] == ["planner", "writer", "checker"]
    assert [p["prompt"] for p in result] == [
        "Plan itineraries. v2",
        "Write the final answer.",
        "Check the plan. v2",
    ]
    assert (
        result[0]["owner"] == "team-a"
        and result[0]["when_to_update"] == PROMPTS[0]["when_to_update"]
    )
    assert inputs == PROMPTS  # inputs untouched
    assert all(r is not i for r, i in zip(result, inputs))
    assert len(model.calls) == 3


def test_classify_is_forced_and_shows_every_prompts_guidance():
    model, optimizer = make([classify()])
    optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": PROMPTS})
    (call,) = model.calls
    assert call.tool_names == ["Classify"] and call.tool_choice == "Classify"
    which = call.tools[0]["function"]["parameters"]["properties"]["which"]
    assert which["items"]["enum"] == ["planner", "writer", "checker"]
    for text in (
        "When to update: When plans miss user constraints",
        "How to update: Keep it one paragraph",
        "When to update: On tone problems",
        "Plan itineraries.",
        "Check the plan.",
        "You forgot the budget!",
    ):
        assert text in call.text


def test_choosing_none_changes_nothing():
    model, optimizer = make([classify()])
    result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": PROMPTS})
    assert result == PROMPTS and len(model.calls) == 1


def test_unknown_names_are_rejected_and_repaired():
    model, optimizer = make([classify("planner", "editor"), classify("planner")])
    result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": PROMPTS})
    assert [p["prompt"] for p in result][0] == "Plan itineraries. v2"
    assert result[1:] == PROMPTS[1:]
    assert "editor" in model.calls[1].text and model.calls[1].messages[-1].type == "tool"
    assert len(model.calls) == 3


def test_a_classifier_that_keeps_failing_leaves_every_prompt_unchanged():
    model, optimizer = make([classify("editor")] * (MAX_REPAIRS + 1))
    result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": PROMPTS})
    assert result == PROMPTS and len(model.calls) == 1 + MAX_REPAIRS


def test_the_optimizer_of_a_chosen_prompt_knows_its_place_in_the_system():
    model, optimizer = make([classify("writer")])
    optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": PROMPTS})
    text = model.calls[1].text
    assert (
        "('writer') is one part of a system with the prompts 'planner', 'writer', 'checker'" in text
    )
    assert "The plan ignored the budget." in text


def test_single_prompt_without_when_to_update_skips_classification():
    model, optimizer = make([])
    result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": [PROMPTS[2]]})
    assert result == [{**PROMPTS[2], "prompt": "Check the plan. v2"}]
    assert [c.tool_names for c in model.calls] == [["OptimizedPromptOutput"]]
    assert "part of a system" not in model.calls[0].text


def test_single_prompt_with_when_to_update_is_classified_first():
    model, optimizer = make([classify()])
    result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": [PROMPTS[1]]})
    assert result == [PROMPTS[1]] and model.calls[0].tool_names == ["Classify"]


@pytest.mark.parametrize("trajectories", [[], ""])
def test_no_sessions_or_prompts_means_no_call(trajectories):
    model, optimizer = make([])
    assert optimizer.invoke({"trajectories": trajectories, "prompts": PROMPTS}) == PROMPTS
    assert optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": []}) == []
    assert model.calls == []


def test_bad_prompt_lists_raise():
    _, optimizer = make([])
    with pytest.raises(ValueError, match="distinct"):
        optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": [PROMPTS[0], PROMPTS[0]]})
    with pytest.raises(TypeError, match="'prompts'"):
        optimizer.invoke({"trajectories": TRAJECTORIES, "prompt": "x"})


def test_kind_and_config_apply_to_each_chosen_prompt():
    def gradient_model(call: ModelCall):
        if call.tool_names == ["recommend"]:
            return ai(
                ("recommend", {"warrants_adjustment": True, "full_recommendations": "add budget"})
            )
        return rewrite_by_prompt(call) if call.tool_names == ["OptimizedPromptOutput"] else None

    model = ScriptedChatModel([classify("planner")], default=gradient_model)
    optimizer = create_multi_prompt_optimizer(model, kind="gradient", config=ONE_SHOT)
    result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": PROMPTS})
    assert result[0]["prompt"] == "Plan itineraries. v2"
    assert [c.tool_names for c in model.calls] == [
        ["Classify"],
        ["recommend"],
        ["OptimizedPromptOutput"],
    ]


def _concurrent_model(barrier: threading.Barrier) -> ScriptedChatModel:
    def reply(call: ModelCall):
        barrier.wait()  # both updates must be in flight at once, or this times out
        return rewrite_by_prompt(call)

    return ScriptedChatModel([classify("planner", "writer")], default=reply)


async def test_chosen_prompts_are_updated_concurrently_sync_and_async():
    results = []
    for mode in ("invoke", "ainvoke", "call"):
        model = _concurrent_model(threading.Barrier(2, timeout=10))
        optimizer = create_multi_prompt_optimizer(model, kind="metaprompt", config=ONE_SHOT)
        if mode == "invoke":
            result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": PROMPTS})
        elif mode == "ainvoke":
            result = await optimizer.ainvoke({"trajectories": TRAJECTORIES, "prompts": PROMPTS})
        else:
            result = await optimizer(TRAJECTORIES, PROMPTS)
        results.append(result)
        assert len(model.calls) == 3
    assert results[0] == results[1] == results[2]
    assert [p["prompt"] for p in results[0]] == [
        "Plan itineraries. v2",
        "Write the final answer. v2",
        "Check the plan.",
    ]


def test_a_failing_update_raises_without_a_half_updated_result():
    def reply(call: ModelCall):
        if "Write the final answer." in call.text.split("</current_prompt>")[0]:
            raise RuntimeError("provider down")
        return rewrite_by_prompt(call)

    inputs = copy.deepcopy(PROMPTS)
    model = ScriptedChatModel([classify("planner", "writer")], default=reply)
    optimizer = create_multi_prompt_optimizer(model, kind="metaprompt", config=ONE_SHOT)
    with pytest.raises(RuntimeError, match="provider down"):
        optimizer.invoke({"trajectories": TRAJECTORIES, "prompts": inputs})
    assert inputs == PROMPTS
