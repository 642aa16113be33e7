"""The background_quickstart and delayed_processing guides, run with scripted models.

Only the model strings and the OpenAI embedder are swapped (for ScriptedChatModel
and HashEmbeddings with the same dimensions); the outcome each text states is
asserted.
"""

from __future__ import annotations

import pytest
from langgraph.func import entrypoint
from langgraph.store.memory import InMemoryStore

from _helpers import NEEDS_ASYNC_CONTEXT
from langmem import ReflectionExecutor, create_memory_store_manager
from langmem.reflection import RemoteReflectionExecutor
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = pytest.mark.core

REPLY = (
    "That's nice! Dogs make wonderful companions. Fido is a classic dog name. "
    "What kind of dog is Fido?"
)


def memory_contents(store: InMemoryStore) -> list[str]:
    return sorted(item.value["content"]["content"] for item in store.search(("memories",)))


@NEEDS_ASYNC_CONTEXT
async def test_background_quickstart():
    store = InMemoryStore(  # (4)
        index={
            "dims": 1536,
            "embed": HashEmbeddings(dims=1536),
        }
    )
    llm = ScriptedChatModel([REPLY])
    memory_llm = ScriptedChatModel(
        [
            ai(
                ("Memory", {"content": "User likes dogs as pets"}),
                ("Memory", {"content": "User has a dog named Fido"}),
            )
        ]
    )

    # Create memory manager Runnable to extract memories from conversations
    memory_manager = create_memory_store_manager(
        memory_llm,
        # Store memories in the "memories" namespace (aka directory)
        namespace=("memories",),  # (1)
    )

    @entrypoint(store=store)  # Create a LangGraph workflow
    async def chat(message: str):
        response = llm.invoke(message)

        # memory_manager extracts memories from conversation history
        # We'll provide it in OpenAI's message format
        to_process = {"messages": [{"role": "user", "content": message}] + [response]}
        await memory_manager.ainvoke(to_process)  # (2)
        return response.content

    # Run conversation as normal
    response = await chat.ainvoke(
        "I like dogs. My dog's name is Fido.",
    )
    assert response == REPLY

    # The manager saw the whole exchange, and the store holds what it extracted
    # in the documented shape.
    [call] = memory_llm.calls
    assert "I like dogs. My dog's name is Fido." in call.text and "Fido is a classic" in call.text
    items = store.search(("memories",))
    assert [tuple(i.namespace) for i in items] == [("memories",)] * 2
    assert {i.value["kind"] for i in items} == {"Memory"}
    assert memory_contents(store) == ["User has a dog named Fido", "User likes dogs as pets"]


def _delayed_processing_app(memory_llm: ScriptedChatModel):
    """The guide's code, verbatim but for the models (and ``llm``, defined as in the
    quickstart since the guide leaves it out)."""
    llm = ScriptedChatModel(default="Got it.")

    # Create memory manager to extract memories from conversations (1)
    memory_manager = create_memory_store_manager(
        memory_llm,
        namespace=("memories",),
    )
    # Wrap memory_manager to handle deferred background processing (2)
    executor = ReflectionExecutor(memory_manager)
    store = InMemoryStore(
        index={
            "dims": 1536,
            "embed": HashEmbeddings(dims=1536),
        }
    )

    @entrypoint(store=store)
    def chat(message: str):
        response = llm.invoke(message)
        # Format conversation for memory processing
        # Must follow OpenAI's message format
        to_process = {"messages": [{"role": "user", "content": message}] + [response]}

        # Wait 30 minutes before processing
        # If new messages arrive before then:
        # 1. Cancel pending processing task
        # 2. Reschedule with new messages included
        delay = 0.5  # In practice would choose longer (30-60 min)
        # depending on app context.
        executor.submit(to_process, after_seconds=delay)
        return response.content

    return chat, executor, store


def remember_user_lines(call):
    """A memory model that saves the user's line of the conversation it is shown."""
    conversation = call.text.split("<conversation>")[-1].split("</conversation>")[0]
    users = [line[6:] for line in conversation.splitlines() if line.startswith("user: ")]
    return ai(*[("Memory", {"content": f"User said: {u}"}) for u in users])


def test_delayed_processing_debounces_a_thread():
    memory_llm = ScriptedChatModel(default=remember_user_lines)
    chat, executor, store = _delayed_processing_app(memory_llm)
    config = {"configurable": {"thread_id": "conversation-1"}}

    for message in ["I moved to Lisbon.", "Actually, to Porto.", "I work as a baker."]:
        assert chat.invoke(message, config) == "Got it."
    assert memory_llm.calls == []  # the agent answered without waiting for memory work

    executor.shutdown(wait=True)  # let the pending reflection finish (the program ends here)

    # Only the latest submission was processed: one memory call, earlier ones cancelled.
    [call] = memory_llm.calls
    assert "I work as a baker." in call.text
    assert "Lisbon" not in call.text and "Porto" not in call.text
    assert memory_contents(store) == ["User said: I work as a baker."]


def test_delayed_processing_waits_for_the_delay():
    memory_llm = ScriptedChatModel(default=remember_user_lines)
    chat, executor, store = _delayed_processing_app(memory_llm)
    chat.invoke("I like jazz.", {"configurable": {"thread_id": "t"}})
    assert memory_contents(store) == []  # nothing yet: the work is deferred
    executor.flush(timeout=10)
    assert memory_contents(store) == ["User said: I like jazz."]
    executor.shutdown()


def test_delayed_processing_keeps_threads_apart():
    memory_llm = ScriptedChatModel(default=remember_user_lines)
    chat, executor, store = _delayed_processing_app(memory_llm)
    chat.invoke("I like jazz.", {"configurable": {"thread_id": "a"}})
    chat.invoke("I like tea.", {"configurable": {"thread_id": "b"}})
    chat.invoke("No thread here.")  # no thread id: processed on its own
    executor.shutdown(wait=True)
    assert memory_contents(store) == [
        "User said: I like jazz.",
        "User said: I like tea.",
        "User said: No thread here.",
    ]


def test_delayed_processing_remote_executor_construction():
    executor = ReflectionExecutor(
        "my_memory_manager",
        ("memories",),
        url="http://localhost:2024",
    )
    assert isinstance(executor, RemoteReflectionExecutor)
    assert executor.assistant_id == "my_memory_manager"
    assert executor.namespace.template == ("memories",)
    executor.shutdown()
