"""Single-prompt optimizers with a scripted model: steps, tools, early stop, repairs, parity."""

from __future__ import annotations

import pytest

from langmem import create_prompt_optimizer
from langmem.prompts._calls import MAX_REPAIRS
from langmem.testing import ModelCall, ScriptedChatModel, ai

pytestmark = pytest.mark.core

TRAJECTORIES = [
    (
        [
            {"role": "user", "content": "Explain recursion"},
            {"role": "assistant", "content": "Recursion is when a function calls itself."},
            {"role": "user", "content": "Show me code, please"},
        ],
        {"score": 0.3, "comment": "no example given"},
    )
]
PROMPT = "You are a helpful tutor."
NEW = "You are a helpful tutor. Always include a short code example."

TC, TCR, R = ["think", "critique"], ["think", "critique", "recommend"], ["recommend"]
OUT = "OptimizedPromptOutput"
TCO, OO = ["think", "critique", OUT], [OUT]

THINK = ai(("think", {"thought": "The user wanted code."}))
RECOMMEND = ai(
    (
        "recommend",
        {
            "warrants_adjustment": True,
            "hypotheses": "No rule about examples.",
            "full_recommendations": "Require a code example.",
        },
    )
)
NO_CHANGE = ai(("recommend", {"warrants_adjustment": False}))


def output(prompt: str | None = NEW) -> object:
    return ai((OUT, {"analysis": "Examples were missing.", "improved_prompt": prompt}))


def policy(final_reply, *, eager: bool):
    """A model that thinks until it may (eager) or must (reluctant) give its final answer."""
    final_name = final_reply.tool_calls[0]["name"]

    def reply(call: ModelCall):
        if call.tool_names == [OUT] and final_name == "recommend":
            return output()
        offered = final_name in call.tool_names
        if offered and (eager or call.tool_names == [final_name]):
            return final_reply
        return THINK

    return reply


def run(kind: str, config: dict | None, reply, prompt=PROMPT, trajectories=TRAJECTORIES):
    model = ScriptedChatModel(default=reply)
    result = create_prompt_optimizer(model, kind=kind, config=config).invoke(
        {"trajectories": trajectories, "prompt": prompt}
    )
    return result, model.calls


# --- step tables -----------------------------------------------------------------


@pytest.mark.parametrize(
    "config, eager, tools",
    [
        (None, True, [TC, TCR, OO]),
        (None, False, [TC, TCR, TCR, TCR, R, OO]),
        ({"max_reflection_steps": 3, "min_reflection_steps": 0}, True, [TCR, OO]),
        ({"max_reflection_steps": 1, "min_reflection_steps": 0}, False, [R, OO]),
        ({"max_reflection_steps": 1}, True, [R, OO]),
        ({"max_reflection_steps": 3, "min_reflection_steps": 3}, True, [TC, TC, R, OO]),
        ({"max_reflection_steps": 2, "min_reflection_steps": 1}, True, [TC, R, OO]),
    ],
)
def test_gradient_calls_and_tools_per_step(config, eager, tools):
    result, calls = run("gradient", config, policy(RECOMMEND, eager=eager))
    assert result == NEW
    assert [c.tool_names for c in calls] == tools
    expected_choice = {tuple(TC): "any", tuple(TCR): "any", tuple(R): "recommend", tuple(OO): OUT}
    assert [c.tool_choice for c in calls] == [expected_choice[tuple(t)] for t in tools]


@pytest.mark.parametrize(
    "config, eager, tools",
    [
        ({"max_reflection_steps": 1, "min_reflection_steps": 0}, True, [OO]),
        ({"max_reflection_steps": 1}, True, [OO]),
        (None, True, [TCO]),  # LangMem's gating: the output is offered from the first call
        (None, False, [TCO, TCO, TCO, TCO, OO]),
        ({"max_reflection_steps": 3, "min_reflection_steps": 0}, True, [TCO]),
        ({"max_reflection_steps": 3, "min_reflection_steps": 3}, True, [TC, TC, OO]),
        ({"max_reflection_steps": 5, "min_reflection_steps": 3}, True, [TC, TC, TCO]),
    ],
)
def test_metaprompt_stops_at_the_first_allowed_output(config, eager, tools):
    result, calls = run("metaprompt", config, policy(output(), eager=eager))
    assert result == NEW
    assert [c.tool_names for c in calls] == tools
    expected_choice = {tuple(TC): "any", tuple(TCO): "any", tuple(OO): OUT}
    assert [c.tool_choice for c in calls] == [expected_choice[tuple(t)] for t in tools]


def test_reflection_replies_are_answered_before_the_next_step():
    _, calls = run("metaprompt", None, policy(output(), eager=False))
    second = calls[1].messages
    assert second[1].tool_calls[0]["name"] == "think"
    assert second[2].type == "tool" and second[2].tool_call_id == second[1].tool_calls[0]["id"]
    assert len(calls[4].messages) == 1 + 2 * 4


@pytest.mark.parametrize("config", [None, {"max_reflection_steps": 5, "min_reflection_steps": 3}])
def test_prompt_memory_makes_exactly_one_forced_call(config):
    reply = ai(
        ("GeneralResponse", {"logic": "needs examples", "update_prompt": True, "new_prompt": NEW})
    )
    result, calls = run("prompt_memory", config, reply)
    assert result == NEW
    assert [(c.tool_names, c.tool_choice) for c in calls] == [
        (["GeneralResponse"], "GeneralResponse")
    ]


# --- no change warranted -----------------------------------------------------------


def test_gradient_without_adjustment_returns_the_original_and_skips_the_rewrite():
    result, calls = run("gradient", None, policy(NO_CHANGE, eager=True))
    assert result == PROMPT
    assert [c.tool_names for c in calls] == [TC, TCR]


@pytest.mark.parametrize("improved", [None, "", "   "])
def test_metaprompt_declining_returns_the_original(improved):
    config = {"max_reflection_steps": 1, "min_reflection_steps": 0}
    result, calls = run("metaprompt", config, output(improved))
    assert result == PROMPT and len(calls) == 1


@pytest.mark.parametrize(
    "args",
    [
        {"logic": "fine", "update_prompt": False, "new_prompt": ""},
        {"logic": "fine", "update_prompt": False, "new_prompt": "ignored"},
        {"logic": "?", "update_prompt": True, "new_prompt": "  "},
    ],
)
def test_prompt_memory_no_update_returns_the_original_never_empty(args):
    result, calls = run("prompt_memory", None, ai(("GeneralResponse", args)))
    assert result == PROMPT and len(calls) == 1


@pytest.mark.parametrize("kind", ["gradient", "metaprompt", "prompt_memory"])
@pytest.mark.parametrize("trajectories", [[], "", "  ", None, [([], None)]])
def test_no_sessions_means_no_call_and_the_same_prompt(kind, trajectories):
    result, calls = run(
        kind, None, THINK, prompt={"name": "p", "prompt": PROMPT}, trajectories=trajectories
    )
    assert result == PROMPT and calls == []


def test_unknown_kind_and_bad_input():
    model = ScriptedChatModel()
    with pytest.raises(NotImplementedError, match="kind"):
        create_prompt_optimizer(model, kind="annealing")
    with pytest.warns(UserWarning, match="max_reflection_step"):
        create_prompt_optimizer(model, config={"max_reflection_step": 2})
    optimizer = create_prompt_optimizer(model)
    with pytest.raises(TypeError, match="'trajectories'"):
        optimizer.invoke({"prompt": PROMPT})
    with pytest.raises(TypeError, match="Prompt"):
        optimizer.invoke({"trajectories": TRAJECTORIES, "prompt": 5})
    assert model.calls == []


# --- what the model is shown -----------------------------------------------------------


def test_prompt_dict_guidance_and_raw_sessions_are_shown():
    prompt = {
        "name": "tutor",
        "prompt": PROMPT,
        "update_instructions": "Keep it under 50 words",
        "when_to_update": "When answers lack examples",
    }
    reply = ai(("GeneralResponse", {"logic": "x", "update_prompt": True, "new_prompt": NEW}))
    result, calls = run(
        "prompt_memory", None, reply, prompt=prompt, trajectories="user: hi\nbot: bye"
    )
    assert result == NEW
    text = calls[0].text
    assert "How to update: Keep it under 50 words" in text
    assert "When to update: When answers lack examples" in text
    assert "user: hi\nbot: bye" in text and PROMPT in text


def test_custom_templates_are_used_and_missing_sections_appended():
    config = {
        "gradient_prompt": "Diagnose: {prompt}",
        "metaprompt": "Rewrite {current_prompt} per {recommendations} ({hypotheses})",
        "max_reflection_steps": 1,
        "min_reflection_steps": 0,
    }
    _, calls = run("gradient", config, policy(RECOMMEND, eager=True))
    assert calls[0].text.startswith(f"Diagnose: {PROMPT}\n\n<sessions>\n")
    assert calls[1].text == (
        f"Rewrite {PROMPT} per Require a code example. (No rule about examples.)"
    )


# --- untrusted model ---------------------------------------------------------------------


def test_invalid_json_is_repaired_with_the_error_shown():
    config = {"max_reflection_steps": 1, "min_reflection_steps": 0}
    model = ScriptedChatModel([ai((OUT, "{not json")), output()])
    result = create_prompt_optimizer(model, kind="metaprompt", config=config).invoke(
        {"trajectories": TRAJECTORIES, "prompt": PROMPT}
    )
    assert result == NEW and len(model.calls) == 2
    repair = model.calls[1].messages
    assert repair[-1].type == "tool" and "not valid JSON" in repair[-1].content
    assert model.calls[1].tool_choice == OUT


@pytest.mark.parametrize(
    "bad, error",
    [
        (ai(("recommend", {"hypotheses": "x"})), "warrants_adjustment"),  # missing field
        (ai(("recommend", {"warrants_adjustment": "maybe"})), "warrants_adjustment"),  # wrong type
        (ai(("rewrite_everything", {"x": 1})), "not available"),  # unknown tool
        (ai(content="I think it is fine."), "called no tool"),  # no tool call
    ],
)
def test_bad_calls_are_repaired_then_the_prompt_kept(bad, error):
    config = {"max_reflection_steps": 1, "min_reflection_steps": 0}
    result, calls = run("gradient", config, bad)
    assert result == PROMPT
    assert len(calls) == 1 + MAX_REPAIRS
    assert error in calls[1].text and error in calls[2].text


def test_final_answer_before_the_minimum_is_rejected():
    # recommend is not offered at step 0 with min=1, so calling it there is a bad call
    model = ScriptedChatModel([RECOMMEND, THINK, RECOMMEND, output()])
    result = create_prompt_optimizer(model).invoke({"trajectories": TRAJECTORIES, "prompt": PROMPT})
    assert result == NEW
    assert [c.tool_names for c in model.calls] == [TC, TC, TCR, OO]
    assert "'recommend' is not available now" in model.calls[1].text


def test_a_partly_bad_parallel_reply_is_repaired_as_a_whole():
    config = {"max_reflection_steps": 2, "min_reflection_steps": 0}
    mixed = ai(("think", {"thought": "ok"}), (OUT, {"improved_prompt": NEW}))  # no analysis
    model = ScriptedChatModel([mixed, output()])
    result = create_prompt_optimizer(model, kind="metaprompt", config=config).invoke(
        {"trajectories": TRAJECTORIES, "prompt": PROMPT}
    )
    assert result == NEW
    tool_msgs = [m for m in model.calls[1].messages if m.type == "tool"]
    assert len(tool_msgs) == 2 and any("analysis" in m.content for m in tool_msgs)


TEMPLATE = "Answer {question} for {user} concisely."


@pytest.mark.parametrize("kind", ["gradient", "metaprompt", "prompt_memory"])
def test_dropping_a_placeholder_is_rejected_then_repaired(kind):
    lost = "Answer the question concisely with an example."
    kept = "Answer {question} for {user} concisely, with an example."

    def final(text):
        if kind == "prompt_memory":
            return ai(
                ("GeneralResponse", {"logic": "x", "update_prompt": True, "new_prompt": text})
            )
        return output(text)

    script = [RECOMMEND] if kind == "gradient" else []
    model = ScriptedChatModel([*script, final(lost), final(kept)])
    config = {"max_reflection_steps": 1, "min_reflection_steps": 0}
    result = create_prompt_optimizer(model, kind=kind, config=config).invoke(
        {"trajectories": TRAJECTORIES, "prompt": TEMPLATE}
    )
    assert result == kept
    assert "dropped {question}, {user}" in model.calls[-1].text
    assert result.format(question="Q", user="U") == "Answer Q for U concisely, with an example."


def test_a_rewrite_that_keeps_dropping_placeholders_leaves_the_prompt_unchanged():
    config = {"max_reflection_steps": 1, "min_reflection_steps": 0}
    model = ScriptedChatModel(default=output("Answer concisely."))
    result = create_prompt_optimizer(model, kind="metaprompt", config=config).invoke(
        {"trajectories": TRAJECTORIES, "prompt": TEMPLATE}
    )
    assert result == TEMPLATE and len(model.calls) == 1 + MAX_REPAIRS


def test_output_tool_names_the_placeholders_to_keep():
    config = {"max_reflection_steps": 1, "min_reflection_steps": 0}
    _, calls = run("metaprompt", config, output(TEMPLATE + " More."), prompt=TEMPLATE)
    described = calls[0].tools[0]["function"]["parameters"]["properties"]["improved_prompt"]
    assert "{question}, {user}" in described["description"]


def test_model_errors_propagate():
    def boom(call):
        raise RuntimeError("provider down")

    with pytest.raises(RuntimeError, match="provider down"):
        run("gradient", None, boom)


# --- long inputs -----------------------------------------------------------------------------


def test_long_trajectory_sets_are_cut_to_the_token_budget():
    big = [
        ([("user", f"request {i} " + "x" * 2000), ("assistant", "y" * 2000)], None)
        for i in range(100)
    ]
    config = {"max_trajectory_tokens": 2000, "max_reflection_steps": 1, "min_reflection_steps": 0}
    result, calls = run("metaprompt", config, output(), trajectories=big)
    assert result == NEW
    assert calls[0].prompt_tokens < 2000 + 600  # budget + request text and tool schema
    assert "sessions left out" in calls[0].text and "request 99 " in calls[0].text


# --- sync / async parity ----------------------------------------------------------------------


def _script():
    return [THINK, RECOMMEND, output()]


async def test_invoke_ainvoke_and_call_run_the_same_flow():
    runs = []
    for mode in ("invoke", "ainvoke", "call"):
        model = ScriptedChatModel(_script())
        optimizer = create_prompt_optimizer(model, kind="gradient")
        if mode == "invoke":
            result = optimizer.invoke({"trajectories": TRAJECTORIES, "prompt": PROMPT})
        elif mode == "ainvoke":
            result = await optimizer.ainvoke({"trajectories": TRAJECTORIES, "prompt": PROMPT})
        else:
            result = await optimizer(TRAJECTORIES, PROMPT)
        runs.append(
            (
                result,
                [
                    (c.tool_names, c.tool_choice, [m.content for m in c.messages])
                    for c in model.calls
                ],
            )
        )
    assert runs[0][0] == NEW
    assert runs[0] == runs[1] == runs[2]
