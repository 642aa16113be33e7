"""Default prompts of the summarizer (our wording) and the mark on summary messages."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

__all__ = [
    "DEFAULT_EXISTING_SUMMARY_PROMPT",
    "DEFAULT_FINAL_SUMMARY_PROMPT",
    "DEFAULT_INITIAL_SUMMARY_PROMPT",
    "SUMMARY_KEY",
]

# Messages the final prompt adds (the summary message) carry the summary text under this
# ``additional_kwargs`` key, so a later call recognises them as derived, not conversation.
SUMMARY_KEY = "langmem_summary"

DEFAULT_INITIAL_SUMMARY_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("placeholder", "{messages}"),
        (
            "user",
            "Write a concise summary of the conversation so far. Keep the facts, names, "
            "decisions, tool results and open questions that later turns may rely on.",
        ),
    ]
)

DEFAULT_EXISTING_SUMMARY_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("placeholder", "{messages}"),
        (
            "user",
            "Earlier summary of this conversation:\n{existing_summary}\n\n"
            "Rewrite that summary so it also covers the messages above: keep whatever in it "
            "still matters and add what is new. Reply with the updated summary only.",
        ),
    ]
)

DEFAULT_FINAL_SUMMARY_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("placeholder", "{system_message}"),
        ("system", "Summary of the earlier conversation: {summary}"),
        ("placeholder", "{messages}"),
    ]
)
