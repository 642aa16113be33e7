"""The spec's prompt-optimization examples, with a scripted model playing the LLM.

optimize_memory_prompt.md (metaprompt, gradient, prompt_memory),
optimize_compound_system.md and the conceptual guide's procedural-memory
example run as written, only the model string swapped; the outcomes the text
states are asserted.
"""

from __future__ import annotations

import pytest

from langmem import create_multi_prompt_optimizer, create_prompt_optimizer
from langmem.testing import ModelCall, ScriptedChatModel, ai

pytestmark = pytest.mark.core

# --- optimize_memory_prompt.md ------------------------------------------------------

trajectories = [
    # Conversation with no annotations (just the conversation)
    (
        [
            {"role": "user", "content": "Tell me about Mars"},
            {"role": "assistant", "content": "Mars is the fourth planet..."},
            {"role": "user", "content": "I wanted more about its moons"},
        ],
        None,
    ),
    (
        [
            {"role": "user", "content": "What are Mars' moons?"},
            {
                "role": "assistant",
                "content": "Mars has two moons: Phobos and Deimos...",
            },
        ],
        {
            "score": 0.9,
            "comment": "Should include more details and recommended follow-up questions",
        },
    ),
    # Annotations can be of different types, such as edits/revisions!
    (
        [
            {"role": "user", "content": "Compare Mars and Earth"},
            {"role": "assistant", "content": "Mars and Earth have many differences..."},
        ],
        {"revised": "Earth and Mars have many similarities and differences..."},
    ),
]

PLANETARY = (
    "You are a planetary science expert who provides comprehensive and engaging responses. "
    "When answering questions:\n\n"
    "1. Provide detailed, thorough explanations that cover multiple aspects of the topic\n"
    "2. Always suggest 2-3 relevant follow-up questions to help users explore the topic further\n"
    "3. When making comparisons, start with similarities before discussing differences"
)


def assert_sessions_shown(call: ModelCall) -> None:
    for text in (
        "I wanted more about its moons",
        "Should include more details and recommended follow-up questions",
        '"score": 0.9',
        '"revised": "Earth and Mars have many similarities and differences..."',
        "You are a planetary science expert",
    ):
        assert text in call.text


def test_metaprompt_example_one_forced_call():
    model = ScriptedChatModel(
        [
            ai(
                (
                    "OptimizedPromptOutput",
                    {"analysis": "Users want depth.", "improved_prompt": PLANETARY},
                )
            )
        ]
    )
    optimizer = create_prompt_optimizer(
        model,
        kind="metaprompt",
        config={"max_reflection_steps": 1, "min_reflection_steps": 0},
    )
    updated = optimizer.invoke(
        {"trajectories": trajectories, "prompt": "You are a planetary science expert"}
    )
    assert updated == PLANETARY
    (call,) = model.calls  # one step, forced output
    assert call.tool_choice == "OptimizedPromptOutput"
    assert_sessions_shown(call)


def test_gradient_example_proposes_then_applies():
    model = ScriptedChatModel(
        [
            ai(
                (
                    "think",
                    {"thought": "Users asked for moons and follow-ups; the answers were thin."},
                )
            ),
            ai(
                (
                    "recommend",
                    {
                        "warrants_adjustment": True,
                        "hypotheses": "The prompt sets no expectations on depth or follow-ups.",
                        "full_recommendations": "Require thorough answers and 2-3 follow-up questions.",
                    },
                )
            ),
            ai(
                (
                    "OptimizedPromptOutput",
                    {"analysis": "Applied both.", "improved_prompt": PLANETARY},
                )
            ),
        ]
    )
    optimizer = create_prompt_optimizer(
        model,
        kind="gradient",  # 2-10 LLM calls
        config={
            "max_reflection_steps": 3,  # Max improvement cycles
            "min_reflection_steps": 1,  # Min improvement cycles
        },
    )
    updated = optimizer.invoke(
        {"trajectories": trajectories, "prompt": "You are a planetary science expert"}
    )
    assert updated == PLANETARY
    # one call proposes (after a required reflection step), one applies
    assert [c.tool_names for c in model.calls] == [
        ["think", "critique"],
        ["think", "critique", "recommend"],
        ["OptimizedPromptOutput"],
    ]
    assert 2 <= len(model.calls) <= 10
    assert_sessions_shown(model.calls[0])
    assert "2-3 follow-up questions" in model.calls[2].text  # the proposal reaches the rewrite


def test_prompt_memory_example_single_step():
    model = ScriptedChatModel(
        [
            ai(
                (
                    "GeneralResponse",
                    {
                        "logic": "Answers lacked depth.",
                        "update_prompt": True,
                        "new_prompt": PLANETARY,
                    },
                )
            )
        ]
    )
    optimizer = create_prompt_optimizer(
        model,
        kind="prompt_memory",  # 1 LLM call
    )
    updated = optimizer.invoke(
        {"trajectories": trajectories, "prompt": "You are a planetary science expert"}
    )
    assert updated == PLANETARY
    assert len(model.calls) == 1
    assert_sessions_shown(model.calls[0])


# --- optimize_compound_system.md ------------------------------------------------------

RESEARCHER = (
    "You analyze technical papers and extract key findings. For each analysis, include:\n"
    "1. High-level overview of the main contributions\n"
    "2. Technical implementation details and methodologies"
)


def test_compound_system_example_updates_only_the_researcher():
    def play(call: ModelCall):
        if call.tool_names == ["Classify"]:
            assert "You write clear reports based on research findings" in call.text
            return ai(
                (
                    "Classify",
                    {
                        "reasoning": "The report lacked implementation details the research "
                        "step should have extracted.",
                        "which": ["researcher"],
                    },
                )
            )
        assert "You analyze technical papers" in call.text.split("</current_prompt>")[0]
        if "recommend" in call.tool_names:
            return ai(
                (
                    "recommend",
                    {
                        "warrants_adjustment": True,
                        "full_recommendations": "Extract implementation details.",
                    },
                )
            )
        if call.tool_names == ["OptimizedPromptOutput"]:
            return ai(("OptimizedPromptOutput", {"analysis": "ok", "improved_prompt": RESEARCHER}))
        return ai(("think", {"thought": "Implementation details were missing."}))

    model = ScriptedChatModel(default=play)

    # Example team: researcher finds information, writer creates reports
    conversations = [
        (
            [
                {"role": "user", "content": "Research quantum computing advances"},
                {
                    "role": "assistant",
                    "content": "Found several papers on quantum supremacy...",
                },
                {
                    "role": "assistant",
                    "content": "Recent quantum computing developments show...",
                },
                {"role": "user", "content": "The report is missing implementation details"},
            ],
            # No explicit feedback provided but the optimizer can infer from the conversation
            None,
        ),
        (
            [
                {"role": "user", "content": "Analyze new ML models"},
                {"role": "assistant", "content": "Key findings on architecture: ..."},
                {"role": "assistant", "content": "Based on the research, these models..."},
                {"role": "user", "content": "Great report, very thorough"},
            ],
            # Numeric score for the team as a whole
            {"score": 0.95},
        ),
    ]

    # Define prompts for each role
    prompts = [
        {
            "name": "researcher",
            "prompt": "You analyze technical papers and extract key findings",
        },
        {"name": "writer", "prompt": "You write clear reports based on research findings"},
    ]

    # Create optimizer
    optimizer = create_multi_prompt_optimizer(
        model,
        kind="gradient",  # Best for team dynamics
        config={"max_reflection_steps": 3},
    )

    # Update all prompts based on team performance
    updated = optimizer.invoke({"trajectories": conversations, "prompts": prompts})

    assert updated == [
        {"name": "researcher", "prompt": RESEARCHER},
        {"name": "writer", "prompt": "You write clear reports based on research findings"},
    ]
    assert "The report is missing implementation details" in model.calls[0].text
    # Classify, then gradient on the researcher only: think, recommend, rewrite
    assert [c.tool_names[-1] for c in model.calls] == [
        "Classify",
        "critique",
        "recommend",
        "OptimizedPromptOutput",
    ]


# --- conceptual_guide.md: procedural memory ----------------------------------------------

TUTOR = (
    "You are a helpful assistant with expertise in explaining technical concepts clearly and "
    "practically. When explaining programming concepts:\n\n"
    "1. Start with a brief, practical explanation supported by a concrete code example\n"
    "3. Always include working code examples for programming-related questions"
)


def test_conceptual_guide_procedural_example():
    model = ScriptedChatModel(
        [
            ai(("critique", {"criticism": "The assistant gave theory when practice was wanted."})),
            ai(
                ("OptimizedPromptOutput", {"analysis": "Lead with code.", "improved_prompt": TUTOR})
            ),
        ]
    )
    optimizer = create_prompt_optimizer(
        model,
        kind="metaprompt",
        config={"max_reflection_steps": 3},
    )
    prompt = "You are a helpful assistant."
    trajectory = [
        {"role": "user", "content": "Explain inheritance in Python"},
        {"role": "assistant", "content": "Here's a detailed theoretical explanation..."},
        {"role": "user", "content": "Show me a practical example instead"},
    ]
    optimized = optimizer.invoke(
        {"trajectories": [(trajectory, {"user_score": 0})], "prompt": prompt}
    )
    assert optimized == TUTOR
    # the output is offered from the first call (LangMem's gating); stops at the first
    # output: 2 of the 3 allowed steps
    assert [c.tool_names for c in model.calls] == [
        ["think", "critique", "OptimizedPromptOutput"],
        ["think", "critique", "OptimizedPromptOutput"],
    ]
    assert '{"user_score": 0}' in model.calls[0].text
    assert "Show me a practical example instead" in model.calls[0].text
