"""Spec guides for the store manager, run as written apart from the model.

The "With storage" parts of manage_user_profile.md, extract_semantic_memories.md
and extract_episodic_memories.md (background_quickstart.md is run in
test_spec_background.py). Model strings are ScriptedChatModels playing the
model's part (they compute the ids shown to the model with ``stable_id``);
"openai:text-embedding-3-small" is HashEmbeddings(1536).
"""

from __future__ import annotations

from typing import Optional

import pytest
from pydantic import BaseModel, Field

from _helpers import ASYNC_IN_GRAPH, NEEDS_ASYNC_CONTEXT
from langmem.knowledge.store_manager import stable_id
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = pytest.mark.core

INDEX = {"dims": 1536, "embed": HashEmbeddings(1536)}


# --- manage_user_profile.md: with LangGraph's long-term memory store ---------------------


class UserProfile(BaseModel):
    """Represents the full representation of a user."""

    name: Optional[str] = None  # noqa: UP045
    language: Optional[str] = None  # noqa: UP045
    timezone: Optional[str] = None  # noqa: UP045


# The guide drives even the sync entrypoint with `await chat.ainvoke`, and its body calls
# get_config(): LangGraph hands that config to the worker thread only on Python 3.11+.
@NEEDS_ASYNC_CONTEXT
@pytest.mark.parametrize("use_async", [False, True])
async def test_user_profile_with_storage(use_async):
    from langgraph.config import get_config
    from langgraph.func import entrypoint
    from langgraph.store.memory import InMemoryStore

    from langmem import create_memory_store_manager

    profile_ns = ("users", "user-123", "profile")

    def update_language(call):
        [item] = store.search(profile_ns)
        return ai(
            (
                "PatchDoc",
                {
                    "json_doc_id": stable_id(profile_ns, item.key),
                    "planned_edits": "passed N1: speaks Japanese",
                    "patches": [{"op": "replace", "path": "/language", "value": "Japanese"}],
                },
            )
        )

    extractor = ScriptedChatModel(
        [
            ai(("UserProfile", {"name": "Alice", "timezone": "America/Los_Angeles"})),
            update_language,
        ]
    )

    # Set up store and models (1)
    store = InMemoryStore(index=INDEX)
    my_llm = ScriptedChatModel(["Hi Alice!", "Congratulations!"])

    # Create profile manager (2)
    manager = create_memory_store_manager(
        extractor,
        namespace=("users", "{user_id}", "profile"),  # Isolate profiles by user
        schemas=[UserProfile],
        enable_inserts=False,  # Update existing profile only
    )

    def body(messages: list):
        # Get user's profile for personalization
        configurable = get_config()["configurable"]
        results = store.search(("users", configurable["user_id"], "profile"))
        profile = None
        if results:
            profile = f"""<User Profile>:

{results[0].value}
</User Profile>
"""

        # Use profile in system message
        response = my_llm.invoke(
            [{"role": "system", "content": f"""You are a helpful assistant.{profile}"""}, *messages]
        )
        return response

    if use_async:

        @entrypoint(store=store)
        async def chat(messages: list):
            response = body(messages)
            # Update profile with any new information
            await manager.ainvoke({"messages": messages})
            return response
    else:

        @entrypoint(store=store)
        def chat(messages: list):
            response = body(messages)
            # Update profile with any new information
            manager.invoke({"messages": messages})
            return response

    # Example usage
    await chat.ainvoke(
        [{"role": "user", "content": "I'm Alice from California"}],
        config={"configurable": {"user_id": "user-123"}},
    )
    [first] = store.search(profile_ns)
    await chat.ainvoke(
        [{"role": "user", "content": "I just passed the N1 exam!"}],
        config={"configurable": {"user_id": "user-123"}},
    )
    [second] = store.search(profile_ns)

    assert second.key == first.key  # updated in place
    assert second.value == {
        "kind": "UserProfile",
        "content": {"name": "Alice", "language": "Japanese", "timezone": "America/Los_Angeles"},
    }
    assert extractor.calls[1].tool_names == ["PatchDoc"]
    assert extractor.calls[1].tool_choice == "PatchDoc"
    # the second reply was personalised with the stored profile
    assert "Alice" in my_llm.calls[1].messages[0].content
    assert "None" in my_llm.calls[0].messages[0].content  # no profile yet on the first turn


# --- extract_semantic_memories.md: with storage -----------------------------------------


class Triple(BaseModel):
    """Store all new facts, preferences, and relationships as triples."""

    subject: str
    predicate: str
    object: str
    context: str | None = None


def triple(s, p, o) -> tuple:
    return ("Triple", {"subject": s, "predicate": p, "object": o})


@pytest.mark.parametrize("use_async", [False, ASYNC_IN_GRAPH])
async def test_semantic_memories_with_storage(use_async):
    from langgraph.func import entrypoint
    from langgraph.store.memory import InMemoryStore

    from langmem import create_memory_store_manager

    ns = ("chat", "user123", "triples")

    def ids_where(**fields) -> list[str]:
        return [
            stable_id(item.namespace, item.key)
            for item in store.search(ns, limit=100)
            if all(item.value["content"][k] == v for k, v in fields.items())
        ]

    def second(call):
        [alice_manages] = ids_where(subject="Alice", predicate="manages")
        return ai(
            ("RemoveDoc", {"json_doc_id": alice_manages}),
            triple("Bob", "leads", "ML_team"),
            triple("Bob", "leads", "NLP_project"),
        )

    def third(call):
        removals = [("RemoveDoc", {"json_doc_id": i}) for i in ids_where(subject="Alice")]
        return ai(*removals, triple("Alice", "employment_status", "left_company"))

    extractor = ScriptedChatModel(
        [
            ai(
                triple("Alice", "manages", "ML_team"),
                triple("Alice", "mentors", "Bob"),
                triple("Bob", "is_member_of", "ML_team"),
            ),
            second,
            third,
        ]
    )

    # Set up store and models
    store = InMemoryStore(index=INDEX)  # (1)
    manager = create_memory_store_manager(
        extractor,
        namespace=("chat", "{user_id}", "triples"),
        schemas=[Triple],
        instructions="Extract all user information and events as triples.",
        enable_inserts=True,
        enable_deletes=True,
    )
    my_llm = ScriptedChatModel(default="Got it.")

    if use_async:

        @entrypoint(store=store)  # (1)
        async def app(messages: list):
            response = my_llm.invoke(
                [{"role": "system", "content": "You are a helpful assistant."}, *messages]
            )
            # Extract and store triples (Uses store from @entrypoint context)
            await manager.ainvoke({"messages": messages})
            return response

        invoke = app.ainvoke
    else:

        @entrypoint(store=store)  # (1)
        def app(messages: list):
            response = my_llm.invoke(
                [{"role": "system", "content": "You are a helpful assistant."}, *messages]
            )
            # Extract and store triples (Uses store from @entrypoint context)
            manager.invoke({"messages": messages})
            return response

        async def invoke(messages, config):
            return app.invoke(messages, config=config)

    config = {"configurable": {"user_id": "user123"}}
    text = "Alice manages the ML team and mentors Bob, who is also on the team."
    await invoke([{"role": "user", "content": text}], config=config)
    assert len(store.search(("chat", "user123"))) == 3
    await invoke(
        [{"role": "user", "content": "Bob now leads the ML team and the NLP project."}],
        config=config,
    )
    await invoke([{"role": "user", "content": "Alice left the company."}], config=config)

    stored = {
        (
            item.value["content"]["subject"],
            item.value["content"]["predicate"],
            item.value["content"]["object"],
        )
        for item in store.search(("chat", "user123"))
    }
    assert stored == {
        ("Bob", "is_member_of", "ML_team"),
        ("Bob", "leads", "ML_team"),
        ("Bob", "leads", "NLP_project"),
        ("Alice", "employment_status", "left_company"),
    }
    for item in store.search(("chat", "user123")):
        assert item.namespace == ns
        assert item.value["kind"] == "Triple"
        Triple.model_validate(item.value["content"])
    assert "Extract all user information and events as triples." in extractor.calls[0].text


# --- extract_episodic_memories.md: with storage -----------------------------------------


class Episode(BaseModel):  # (1)
    """Write the episode from the perspective of the agent within it."""

    observation: str = Field(..., description="The context and setup - what happened")
    thoughts: str = Field(..., description="Internal reasoning of the agent. I ...")
    action: str = Field(..., description="What was done, how, and in what format. I ..")
    result: str = Field(..., description="Outcome and retrospective. I ...")


def test_episodic_memories_with_storage():
    from langgraph.func import entrypoint
    from langgraph.store.memory import InMemoryStore

    from langmem import create_memory_store_manager

    episode = {
        "observation": "User asked about binary trees and knows family trees.",
        "thoughts": "I used their family tree knowledge as an analogy.",
        "action": "Explained binary trees as family trees with at most two children.",
        "result": "The analogy landed; reuse relatable analogies for trees.",
    }
    extractor = ScriptedChatModel([ai(("Episode", episode))], default=ai())

    # Set up vector store for similarity search
    store = InMemoryStore(index=INDEX)

    # Configure memory manager with storage
    manager = create_memory_store_manager(
        extractor,
        namespace=("memories", "episodes"),
        schemas=[Episode],
        instructions="Extract exceptional examples of noteworthy problem-solving scenarios, including what made them effective.",
        enable_inserts=True,
    )

    llm = ScriptedChatModel(default="A binary tree is like a family tree...")

    @entrypoint(store=store)
    def app(messages: list):
        # Step 1: Find similar past episodes
        similar = store.search(
            ("memories", "episodes"),
            query=messages[-1]["content"],
            limit=1,
        )

        # Step 2: Build system message with relevant experience
        system_message = "You are a helpful assistant."
        if similar:
            system_message += "\n\n### EPISODIC MEMORY:"
            for i, item in enumerate(similar, start=1):
                episode = item.value["content"]
                system_message += f"""

Episode {i}:
When: {episode["observation"]}
Thought: {episode["thoughts"]}
Did: {episode["action"]}
Result: {episode["result"]}
        """

        # Step 3: Generate response using past experience
        response = llm.invoke([{"role": "system", "content": system_message}, *messages])

        # Step 4: Store this interaction if successful
        manager.invoke({"messages": messages})
        return response

    app.invoke(
        [
            {
                "role": "user",
                "content": "What's a binary tree? I work with family trees if that helps",
            },
        ],
    )
    [found] = store.search(("memories", "episodes"), query="Trees")
    assert found.value == {"kind": "Episode", "content": episode}
    assert found.score is not None and found.score > 0

    # The learning loop: the next similar question is answered with the episode in context.
    app.invoke([{"role": "user", "content": "Can you explain binary search trees?"}])
    system = llm.calls[1].messages[0].content
    assert "### EPISODIC MEMORY:" in system and episode["action"] in system
    assert "### EPISODIC MEMORY:" not in llm.calls[0].messages[0].content
