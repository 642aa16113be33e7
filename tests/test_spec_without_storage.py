"""The spec's "without storage" examples, with a scripted model playing the LLM.

Scripted replies that update or remove read the memory ids from the prompt,
the way a real model has to.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from pydantic import BaseModel, Field

from langmem import create_memory_manager
from langmem.knowledge.extraction import ExtractedMemory, Memory, RemoveDoc
from langmem.testing import ModelCall, ScriptedChatModel, ai

pytestmark = pytest.mark.core

_LINE = re.compile(r"^- id=(\S+) kind=\S+ (\{.*\})$", re.M)


def shown(call: ModelCall) -> dict[str, dict]:
    """The memories the prompt shows the model: id -> JSON."""
    return {i: json.loads(doc) for i, doc in _LINE.findall(call.text)}


def find(call: ModelCall, **fields) -> str:
    (match,) = [i for i, doc in shown(call).items() if fields.items() <= doc.items()]
    return match


def is_uuid4(value: str) -> bool:
    return uuid.UUID(value).version == 4


# --- extract_semantic_memories.md ---------------------------------------------------


class Triple(BaseModel):
    """Store all new facts, preferences, and relationships as triples."""

    subject: str
    predicate: str
    object: str
    context: str | None = None


def test_semantic_triples_collection():
    def bob_promoted(call):
        alice_manages = find(call, subject="Alice", predicate="manages")
        return ai(
            ("RemoveDoc", {"json_doc_id": alice_manages}),
            ("Triple", {"subject": "Bob", "predicate": "leads", "object": "ML_team"}),
            ("Triple", {"subject": "Bob", "predicate": "leads", "object": "NLP_project"}),
        )

    def alice_left(call):
        alice = [i for i, doc in shown(call).items() if "Alice" in (doc["subject"], doc["object"])]
        return ai(*[("RemoveDoc", {"json_doc_id": i}) for i in alice])

    model = ScriptedChatModel(
        [
            ai(
                ("Triple", {"subject": "Alice", "predicate": "manages", "object": "ML_team"}),
                ("Triple", {"subject": "Alice", "predicate": "mentors", "object": "Bob"}),
                ("Triple", {"subject": "Bob", "predicate": "is_member_of", "object": "ML_team"}),
            ),
            bob_promoted,
            alice_left,
        ]
    )
    manager = create_memory_manager(
        model,
        schemas=[Triple],
        instructions="Extract user preferences and any other useful information",
        enable_inserts=True,
        enable_deletes=True,
    )

    conversation1 = [
        {
            "role": "user",
            "content": "Alice manages the ML team and mentors Bob, who is also on the team.",
        }
    ]
    memories = manager.invoke({"messages": conversation1})
    assert [(m.content.subject, m.content.predicate) for m in memories] == [
        ("Alice", "manages"),
        ("Alice", "mentors"),
        ("Bob", "is_member_of"),
    ]
    assert all(is_uuid4(m.id) for m in memories)
    assert model.calls[0].tool_names == ["Triple"]

    conversation2 = [{"role": "user", "content": "Bob now leads the ML team and the NLP project."}]
    update = manager.invoke({"messages": conversation2, "existing": memories})
    assert model.calls[1].tool_names == ["PatchDoc", "Triple", "RemoveDoc"]
    assert model.calls[1].tool_choice == "any"
    assert update[0] == ExtractedMemory(memories[0].id, RemoveDoc(json_doc_id=memories[0].id))
    assert [(m.content.subject, m.content.object) for m in update[1:3]] == [
        ("Bob", "ML_team"),
        ("Bob", "NLP_project"),
    ]
    assert update[3:] == memories[1:]  # untouched, in input order
    existing = [m for m in update if isinstance(m.content, Triple)]

    conversation3 = [{"role": "user", "content": "Alice left the company."}]
    final = manager.invoke({"messages": conversation3, "existing": existing})
    removed = {m.id for m in final if isinstance(m.content, RemoveDoc)}
    assert removed == {memories[1].id}  # the triple still mentioning Alice
    kept = [m.content for m in final if isinstance(m.content, Triple)]
    assert all("Alice" not in (t.subject, t.object) for t in kept)
    assert {(t.subject, t.predicate, t.object) for t in kept} == {
        ("Bob", "leads", "ML_team"),
        ("Bob", "leads", "NLP_project"),
        ("Bob", "is_member_of", "ML_team"),
    }


# --- manage_user_profile.md (Basic Usage) ---------------------------------------------


class UserProfile(BaseModel):
    """Represents the full representation of a user."""

    name: str | None = None
    language: str | None = None
    timezone: str | None = None


def test_user_profile_updated_in_place():
    def speaks_spanish(call):
        (profile_id,) = shown(call)
        return ai(
            (
                "PatchDoc",
                {
                    "json_doc_id": profile_id,
                    "planned_edits": "add the language",
                    "patches": [{"op": "replace", "path": "/language", "value": "Spanish"}],
                },
            )
        )

    model = ScriptedChatModel(
        [
            ai(("UserProfile", {"name": "Alice", "timezone": "America/Los_Angeles"})),
            speaks_spanish,
        ]
    )
    manager = create_memory_manager(
        model,
        schemas=[UserProfile],
        instructions="Extract user profile information",
        enable_inserts=False,
    )
    conversation1 = [{"role": "user", "content": "I'm Alice from California"}]
    memories = manager.invoke({"messages": conversation1})
    assert memories[0].content == UserProfile(name="Alice", timezone="America/Los_Angeles")

    conversation2 = [{"role": "user", "content": "I speak Spanish too!"}]
    update = manager.invoke({"messages": conversation2, "existing": memories})
    assert model.calls[1].tool_names == ["PatchDoc"]
    assert model.calls[1].tool_choice == "PatchDoc"
    assert update == [
        ExtractedMemory(
            memories[0].id,
            UserProfile(name="Alice", language="Spanish", timezone="America/Los_Angeles"),
        )
    ]


# --- extract_episodic_memories.md ---------------------------------------------------------


class Episode(BaseModel):
    """Write the episode from the perspective of the agent within it."""

    observation: str = Field(..., description="The context and setup - what happened")
    thoughts: str = Field(..., description="Internal reasoning of the agent. I ...")
    action: str = Field(..., description="What was done, how, and in what format. I ..")
    result: str = Field(..., description="Outcome and retrospective. I ...")


BINARY_TREES = [
    {
        "role": "user",
        "content": "What's a binary tree? I work with family trees if that helps",
    },
    {
        "role": "assistant",
        "content": "A binary tree is like a family tree, but each parent has at most 2 "
        "children. Here's a simple example:\n   Bob\n  /  \\\nAmy  Carl\n\nJust like in "
        "family trees, we call Bob the 'parent' and Amy and Carl the 'children'.",
    },
    {
        "role": "user",
        "content": "Oh that makes sense! So in a binary search tree, would it be like "
        "organizing a family by age?",
    },
]

EPISODE = {
    "observation": "I explained binary trees to a user who knows family trees.",
    "thoughts": "I tied the new idea to the family-tree picture they already had.",
    "action": "I drew Bob as parent with Amy and Carl as children.",
    "result": "They got it at once and extended it to search trees by age.",
}


@pytest.mark.parametrize(
    "instructions",
    [
        "Extract examples of successful explanations, capturing the full chain of reasoning.",
        "Extract examples of successful interactions. Include the context, thought process, "
        "and why the approach worked.",  # the concept guide's variant
    ],
)
def test_episodes_extracted(instructions):
    model = ScriptedChatModel([ai(("Episode", EPISODE))])
    manager = create_memory_manager(
        model, schemas=[Episode], instructions=instructions, enable_inserts=True
    )
    episodes = manager.invoke({"messages": BINARY_TREES})
    assert len(episodes) == 1 and is_uuid4(episodes[0].id)
    assert episodes[0].content == Episode(**EPISODE)
    call = model.calls[0]
    assert call.tool_names == ["Episode"] and call.messages[0].content.startswith(instructions)
    assert "organizing a family by age" in call.text
    assert "Outcome and retrospective" in json.dumps(call.tools)  # the schema guides the model


# --- conceptual_guide.md -------------------------------------------------------------------


def test_concept_guide_collection_of_memories():
    facts = [
        "[IMPORTANT] User works at Acme Corp in the ML team",
        "[BACKGROUND] User mostly works on NLP and large language models",
    ]
    model = ScriptedChatModel([ai(*[("Memory", {"content": f}) for f in facts])])
    manager = create_memory_manager(
        model,
        instructions="Extract all noteworthy facts, events, and relationships. "
        "Indicate their importance.",
        enable_inserts=True,
    )
    conversation = [
        {"role": "user", "content": "I work at Acme Corp in the ML team"},
        {"role": "assistant", "content": "I'll remember that. What kind of ML work do you do?"},
        {"role": "user", "content": "Mostly NLP and large language models"},
    ]
    memories = manager.invoke({"messages": conversation})
    assert [m.content for m in memories] == [Memory(content=f) for f in facts]
    assert model.calls[0].tool_names == ["Memory"]


def test_concept_guide_profile():
    class UserProfile(BaseModel):
        """Save the user's preferences."""

        name: str
        preferred_name: str
        response_style_preference: str
        special_skills: list[str]
        other_preferences: list[str]

    values = {
        "name": "Alex",
        "preferred_name": "Lex",
        "response_style_preference": "casual and witty with appropriate emojis",
        "special_skills": ["Python programming", "competitive speedcubing"],
        "other_preferences": ["dislikes corporate-style interactions"],
    }
    model = ScriptedChatModel([ai(("UserProfile", values))])
    manager = create_memory_manager(
        model,
        schemas=[UserProfile],
        instructions="Extract user preferences and settings",
        enable_inserts=False,
    )
    conversation = [
        {"role": "user", "content": "Hi! I'm Alex but please call me Lex. I'm a wizard at Python"},
        {"role": "assistant", "content": "Nice to meet you, Lex! How should I talk to you?"},
        {
            "role": "user",
            "content": "Keep it casual and witty. Also, I do competitive speedcubing!",
        },
    ]
    profile = manager.invoke({"messages": conversation})[0]
    assert profile.content == UserProfile(**values)
    assert model.calls[0].tool_names == ["UserProfile"] and model.calls[0].tool_choice is None
