"""Pure helpers of the prompt optimizers: inputs, rendering within a budget, placeholders."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langmem.prompts._core import (
    Settings,
    fill,
    finish_prompt,
    has_sessions,
    missing_placeholders,
    normalize_prompt,
    normalize_prompts,
    normalize_trajectories,
    placeholders,
    prompt_notes,
)
from langmem.prompts._render import render_sessions
from langmem.prompts.types import AnnotatedTrajectory

pytestmark = pytest.mark.core

CONVO = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]


# --- trajectories -------------------------------------------------------------


def test_pairs_annotated_and_plain_lists_normalise_alike():
    lc = [HumanMessage("hi"), AIMessage("hello")]
    forms = [
        [(CONVO, {"score": 1})],
        [AnnotatedTrajectory(CONVO, {"score": 1})],
        [{"messages": lc, "feedback": {"score": 1}}],
        [[CONVO, {"score": 1}]],
    ]
    for form in forms:
        (traj,) = normalize_trajectories(form)
        assert [m.type for m in traj.messages] == ["human", "ai"]
        assert traj.feedback == {"score": 1}


def test_plain_message_lists_have_no_feedback():
    trajs = normalize_trajectories([CONVO, [("user", "a"), ("assistant", "b")]])
    assert [t.feedback for t in trajs] == [None, None]
    assert trajs[1].messages[1].content == "b"


def test_a_flat_message_list_is_one_session():
    (traj,) = normalize_trajectories(CONVO)
    assert len(traj.messages) == 2 and traj.feedback is None


def test_raw_string_is_kept_and_empty_inputs_have_no_sessions():
    assert normalize_trajectories("log text") == "log text"
    assert not has_sessions(normalize_trajectories(""))
    assert not has_sessions(normalize_trajectories("   "))
    assert not has_sessions(normalize_trajectories([]))
    assert not has_sessions(normalize_trajectories(None))
    assert not has_sessions(normalize_trajectories([([], None)]))
    assert has_sessions(normalize_trajectories([([], "bad answer")]))


@pytest.mark.parametrize("bad", [42, {"a": 1}, [42], [(1, 2, 3)], [([{"nonsense": 1}], None)]])
def test_bad_trajectories_raise_clear_errors(bad):
    with pytest.raises((TypeError, ValueError), match="trajectories|messages|message"):
        normalize_trajectories(bad)


def test_rendering_shows_roles_tool_calls_and_every_feedback_shape():
    trajs = normalize_trajectories(
        [
            (
                [
                    HumanMessage("weather?"),
                    AIMessage(
                        "", tool_calls=[{"name": "get", "args": {"city": "Oslo"}, "id": "1"}]
                    ),
                    ToolMessage("rainy", tool_call_id="1", name="get"),
                    {"role": "assistant", "content": [{"type": "text", "text": "It rains"}]},
                ],
                {"revised": "It is rainy in Oslo.", "score": 0.2},
            ),
            (CONVO, "too short"),
            (CONVO, None),
            (CONVO, [1, 2]),
        ]
    )
    text = render_sessions(trajs)
    assert 'calls get {"city": "Oslo"}' in text
    assert "tool result (get): rainy" in text
    assert "assistant: It rains" in text
    assert '"revised": "It is rainy in Oslo."' in text
    assert "<feedback>too short</feedback>" in text
    assert "<feedback>(none)</feedback>" in text
    assert "<feedback>[1, 2]</feedback>" in text
    assert text.count("<session ") == 4 and "[Note" not in text


# --- budget -------------------------------------------------------------------


def _sessions(n: int, size: int, feedback_every: int = 0):
    return normalize_trajectories(
        [
            (
                [
                    ("user", f"question {i} " + "q" * size),
                    ("assistant", f"answer {i} " + "a" * size),
                ],
                {"score": i} if feedback_every and i % feedback_every == 0 else None,
            )
            for i in range(n)
        ]
    )


def test_sessions_within_budget_are_untouched():
    sessions = _sessions(3, 50)
    assert render_sessions(sessions, 10_000) == render_sessions(sessions)
    assert "[Note" not in render_sessions(sessions, 10_000)


def test_long_messages_are_shortened_first_keeping_every_session():
    sessions = _sessions(3, 6000)  # 36k characters, budget 16k
    text = render_sessions(sessions, 4000)
    assert len(text) <= 4000 * 4
    assert text.count("<session ") == 3
    assert "characters cut" in text and "long messages were shortened" in text
    assert "left out" not in text
    for i in range(3):  # heads and tails survive
        assert f"question {i} " in text and f"answer {i} " in text


def test_many_sessions_drop_unannotated_and_earliest_first():
    sessions = _sessions(100, 400, feedback_every=10)
    text = render_sessions(sessions, 3000)
    assert len(text) <= 3000 * 4
    kept = [int(i) for i in re.findall(r'<session index="(\d+)"', text)]
    assert kept == sorted(kept)
    annotated = {i + 1 for i in range(0, 100, 10)}
    assert annotated <= set(kept)  # every session with feedback survives
    unannotated = sorted(set(kept) - annotated)
    assert unannotated == list(range(101 - len(unannotated), 101))  # the latest ones
    assert f"{100 - len(kept)} of 100 sessions left out" in text


def test_a_single_huge_session_is_cut_to_the_budget():
    sessions = normalize_trajectories([[("user", "x" * 10) for _ in range(5000)]])
    text = render_sessions(sessions, 1000)
    assert len(text) <= 1000 * 4
    assert "[Note" in text


def test_raw_string_is_cut_with_a_note():
    text = render_sessions("start " + "z" * 100_000 + " end", 1000)
    assert len(text) <= 1000 * 4
    assert text.startswith("start ") and "end\n[Note" in text


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.lists(st.integers(0, 5000), min_size=0, max_size=6), max_size=30),
    feedback=st.lists(st.booleans(), max_size=30),
    max_tokens=st.integers(100, 6000),
)
def test_rendered_sessions_never_exceed_the_budget(sizes, feedback, max_tokens):
    sessions = normalize_trajectories(
        [
            (
                [("user", "w" * n) for n in lengths],
                {"c": "f" * 50} if i < len(feedback) and feedback[i] else None,
            )
            for i, lengths in enumerate(sizes)
        ]
    )
    text = render_sessions(sessions, max_tokens)
    assert len(text) <= max_tokens * 4
    if sessions and "[Note" not in text:
        assert text == render_sessions(sessions, 10**9)  # nothing cut means nothing changed


# --- prompts, placeholders, templates ---------------------------------------------


def test_prompt_normalisation_and_notes():
    assert normalize_prompt("Be nice") == {"name": "prompt", "prompt": "Be nice"}
    p = normalize_prompt({"name": "w", "prompt": "x", "when_to_update": "on style", "extra": 1})
    assert p["extra"] == 1
    notes = prompt_notes({**p, "update_instructions": "stay short"}, "ctx")
    assert notes.splitlines() == ["When to update: on style", "How to update: stay short", "ctx"]
    assert prompt_notes(normalize_prompt("x")) == "(none given)"
    with pytest.raises(ValueError, match="'prompt'"):
        normalize_prompt({"name": "a"})
    with pytest.raises(TypeError):
        normalize_prompt(3)


@pytest.mark.parametrize(
    "prompts",
    [[{"name": "a", "prompt": "x"}, {"name": "a", "prompt": "y"}], [{"prompt": "x"}], "x"],
)
def test_multi_prompts_need_distinct_names(prompts):
    with pytest.raises((TypeError, ValueError)):
        normalize_prompts(prompts)


def test_placeholders_ignore_escapes_and_json():
    text = 'Hi {name}, {{literal}} and {"a": 1} for {topic} and {name}'
    assert placeholders(text) == ["name", "topic"]
    assert missing_placeholders(text, "Hi {name}") == ["topic"]


def test_finish_prompt_keeps_original_for_blank_and_escapes_new_braces_in_templates():
    assert finish_prompt("orig", None) == "orig"
    assert finish_prompt("orig", "  \n") == "orig"
    assert finish_prompt("orig", '  New {"a": 1}  ') == 'New {"a": 1}'  # not a template
    new = finish_prompt("Hi {name}", 'Hi {name}. Reply as {"ok": true} about {other}.')
    assert new.format(name="Ann") == 'Hi Ann. Reply as {"ok": true} about {other}.'


def test_fill_replaces_known_names_only_and_appends_missing_required_values():
    text = fill("A {x} {unknown} {{y}}", {"x": "{x} stays", "z": "zz"}, required=("z",))
    assert text == "A {x} stays {unknown} {{y}}\n\n<z>\nzz\n</z>"


# --- settings -------------------------------------------------------------------


def test_settings_defaults_and_validation():
    s = Settings.from_config(None)
    assert (s.max_steps, s.min_steps, s.max_trajectory_tokens) == (5, 1, 32_000)
    assert (
        Settings.from_config({"max_reflection_steps": 1, "min_reflection_steps": 0}).max_steps == 1
    )
    for bad in (
        {"max_reflection_steps": 0},
        {"min_reflection_steps": -1},
        {"min_reflection_steps": 6},
        {"max_reflection_steps": True},
        {"max_trajectory_tokens": 99},
        {"metaprompt": 3},
    ):
        with pytest.raises(ValueError):
            Settings.from_config(bad)


def test_unknown_settings_keys_are_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="max_reflection_step'.*temperature") as caught:
        s = Settings.from_config({"max_reflection_step": 3, "temperature": 0.2})
    assert len(caught) == 1
    assert s == Settings.from_config(None)
