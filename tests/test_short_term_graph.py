"""SummarizationNode in real LangGraph graphs with a checkpointer and the scripted model.

A ReAct agent (``create_react_agent(..., pre_model_hook=node)``) runs 60 turns with single,
parallel and repeated tool calls: the model's input never exceeds ``max_tokens`` (by the
configured counter), every tool call in it has its result, the current question is always in
it, and the running summary is extended from cut to cut. Then LangMem's summarization guide
examples, with the scripted model and ``count_tokens_approximately`` in place of
``model.get_num_tokens_from_messages`` (it downloads a tokenizer).
"""

from __future__ import annotations

import asyncio
import re
import warnings
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import count_tokens_approximately
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent
from langgraph.prebuilt.chat_agent_executor import AgentState

from langmem.short_term import RunningSummary, SummarizationNode, summarize_messages
from langmem.testing import ModelCall, ScriptedChatModel, ai

pytestmark = [
    pytest.mark.core,
    pytest.mark.filterwarnings("ignore:create_react_agent has been moved:DeprecationWarning"),
]

MAX_TOKENS, BEFORE_SUMMARY, SUMMARY_TOKENS = 600, 400, 128


def lookup(q: str) -> str:
    """Look something up."""
    return f"Findings for {q}: " + "figures and notes " * 4


class ScriptedAgent:
    """The agent's model: each turn calls tools (1-3 in parallel, some turns twice), then answers."""

    def __init__(self) -> None:
        self.turn = 0
        self.rounds = 0
        self.model = ScriptedChatModel(default=self.reply)

    def start(self, turn: int) -> str:
        self.turn, self.rounds = turn, 0
        return f"Question {turn}: what do the records say about item {turn}?"

    def reply(self, call: ModelCall) -> AIMessage:
        self.rounds += 1
        if self.turn % 5 == 4:
            return AIMessage(f"Item {self.turn} needs no lookup.")
        wanted = 2 if self.turn % 3 == 0 else 1  # some turns need a second round of calls
        if self.rounds <= wanted:
            width = 1 + (self.turn + self.rounds) % 3  # 1 to 3 parallel calls
            calls = [
                {"name": "lookup", "args": {"q": f"item {self.turn} part {i}"}, "id": f"call_{i}"}
                for i in range(width)  # ids repeat across turns, as some providers do
            ]
            return ai(*calls)
        return AIMessage(f"Item {self.turn}: the records show steady figures.")


class Summarizer:
    """The summarizing model: numbered summaries of bounded length."""

    def __init__(self) -> None:
        self.model = ScriptedChatModel(default=self.reply)

    def reply(self, call: ModelCall) -> str:
        return f"Summary #{len(self.model.calls)}: the user asked about items; lookups ran."


def summary_messages(messages: list[BaseMessage]) -> list[BaseMessage]:
    return [m for m in messages if isinstance(m, SystemMessage) and "Summary #" in m.text]


def check_model_input(messages: list[BaseMessage], question: str) -> None:
    assert count_tokens_approximately(messages) <= MAX_TOKENS
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    for i, message in enumerate(messages):
        if isinstance(message, AIMessage) and message.tool_calls:
            following = []
            for after in messages[i + 1 :]:
                if not isinstance(after, ToolMessage):
                    break
                following.append(after.tool_call_id)
            assert sorted(following) == sorted(c["id"] for c in message.tool_calls)
        if isinstance(message, ToolMessage):  # never orphaned: its call precedes it
            assert i > 0 and isinstance(messages[i - 1], (AIMessage, ToolMessage))
    assert answered <= {c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    humans = [m for m in messages if isinstance(m, HumanMessage)]
    assert humans and humans[-1].content == question
    assert len(summary_messages(messages)) <= 1
    ids = [m.id for m in messages if m.id]
    assert len(ids) == len(set(ids))


class WithContext(AgentState):
    context: dict[str, Any]


VARIANTS = {
    # LangMem's documented set-up: default output key, a state with `context`
    "documented": dict(schema=WithContext, node={}),
    "llm_input_messages": dict(schema=WithContext, node={"output_messages_key": "llm_input_messages"}),
    # the history itself is replaced; no `context` in the state: the summary message carries it
    "same_key": dict(schema=None, node={"output_messages_key": "messages"}),
}


def build_agent(variant: str, agent: ScriptedAgent, summarizer: Summarizer):
    spec = VARIANTS[variant]
    node = SummarizationNode(
        model=summarizer.model,
        max_tokens=MAX_TOKENS,
        max_tokens_before_summary=BEFORE_SUMMARY,
        max_summary_tokens=SUMMARY_TOKENS,
        **spec["node"],
    )
    kwargs = {"state_schema": spec["schema"]} if spec["schema"] else {}
    return create_react_agent(
        agent.model, [lookup], pre_model_hook=node, checkpointer=InMemorySaver(), **kwargs
    )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_react_agent_over_60_turns_stays_in_budget(variant):
    agent, summarizer = ScriptedAgent(), Summarizer()
    graph = build_agent(variant, agent, summarizer)
    config = {"configurable": {"thread_id": variant}}
    seen = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for turn in range(60):
            question = agent.start(turn)
            graph.invoke({"messages": [HumanMessage(question)]}, config)
            for call in agent.model.calls[seen:]:
                check_model_input(call.messages, question)
            seen = len(agent.model.calls)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]

    state = graph.get_state(config).values
    tool_calls = sum(len(c.response.tool_calls) for c in agent.model.calls)
    assert tool_calls > 80  # the loop really ran tools, in parallel too
    cuts = summarizer.model.calls
    assert 5 <= len(cuts) < 60  # summarized repeatedly, far from every turn
    for k, call in enumerate(cuts[1:], start=1):  # each cut extends the previous summary
        assert f"Summary #{k}:" in call.messages[-1].content
    last = summary_messages(agent.model.calls[-1].messages)
    assert last and f"Summary #{len(cuts)}:" in last[0].text
    if variant != "same_key":
        assert len(state["messages"]) > 300  # the full history stays in the state
        rs = state["context"]["running_summary"]
        assert isinstance(rs, RunningSummary) and rs.summary.startswith(f"Summary #{len(cuts)}:")


def test_react_agent_async_matches_sync():
    runs = {}
    for mode in ("sync", "async"):
        agent, summarizer = ScriptedAgent(), Summarizer()
        graph = build_agent("documented", agent, summarizer)
        config = {"configurable": {"thread_id": mode}}
        for turn in range(25):
            payload = {"messages": [HumanMessage(agent.start(turn))]}
            if mode == "sync":
                graph.invoke(payload, config)
            else:
                asyncio.run(graph.ainvoke(payload, config))
        runs[mode] = (
            [[m.content for m in c.messages] for c in agent.model.calls],
            len(summarizer.model.calls),
        )
    assert runs["sync"] == runs["async"] and runs["sync"][1] > 0


# --- LangMem's summarization guide, run with the scripted model ---
# (its state classes at module level: LangGraph resolves node annotations there)


class SummaryState(MessagesState):
    summary: RunningSummary | None


class State(MessagesState):
    context: dict[str, Any]


class LLMInputState(TypedDict):
    summarized_messages: list[AnyMessage]
    context: dict[str, Any]


def chatbot_model() -> ScriptedChatModel:
    """Long replies (so the 256-token budget is reached); bound with max_tokens: summaries."""

    def reply(call: ModelCall) -> str:
        if call.kwargs.get("max_tokens") == 128:
            return "Bob introduced himself and asked for poems."
        return "Here is a poem. " + "Soft paws and quiet eyes, " * 12

    return ScriptedChatModel(default=reply)


TURNS = ["hi, my name is bob", "write a short poem about cats", "now do the same but for dogs"]
TURNS += ["what's my name?"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_guide_chatbot_with_summarize_messages(mode):
    from langmem.short_term import asummarize_messages

    model = chatbot_model()
    summarization_model = model.bind(max_tokens=128)

    def call_model(state: SummaryState) -> SummaryState:
        summarization_result = summarize_messages(
            state["messages"],
            running_summary=state.get("summary"),
            token_counter=count_tokens_approximately,
            model=summarization_model,
            max_tokens=256,
            max_tokens_before_summary=256,
            max_summary_tokens=128,
        )
        response = model.invoke(summarization_result.messages)
        state_update = {"messages": [response]}
        if summarization_result.running_summary:
            state_update["summary"] = summarization_result.running_summary
        return state_update

    async def acall_model(state: SummaryState) -> SummaryState:
        summarization_result = await asummarize_messages(
            state["messages"],
            running_summary=state.get("summary"),
            model=summarization_model,
            max_tokens=256,
            max_tokens_before_summary=256,
            max_summary_tokens=128,
        )
        response = await model.ainvoke(summarization_result.messages)
        state_update = {"messages": [response]}
        if summarization_result.running_summary:
            state_update["summary"] = summarization_result.running_summary
        return state_update

    builder = StateGraph(SummaryState)
    builder.add_node("call_model", call_model if mode == "sync" else acall_model)
    builder.add_edge(START, "call_model")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "1"}}
    for text in TURNS:
        if mode == "sync":
            graph.invoke({"messages": text}, config)
        else:
            asyncio.run(graph.ainvoke({"messages": text}, config))

    answers = [c for c in model.calls if c.kwargs.get("max_tokens") != 128]
    summaries = [c for c in model.calls if c.kwargs.get("max_tokens") == 128]
    assert len(answers) == 4 and summaries
    first_input = answers[0].messages
    assert [m.content for m in first_input] == ["hi, my name is bob"]  # fits: unchanged
    last_input = answers[-1].messages
    assert isinstance(last_input[0], SystemMessage) and "Bob introduced" in last_input[0].text
    assert last_input[-1].content == "what's my name?"
    state = graph.get_state(config).values
    assert len(state["messages"]) == 8  # the full history is kept
    assert state["summary"].summary == "Bob introduced himself and asked for poems."


def test_guide_summarization_node_graph():
    model = chatbot_model()
    summarization_model = model.bind(max_tokens=128)

    summarization_node = SummarizationNode(
        token_counter=count_tokens_approximately,
        model=summarization_model,
        max_tokens=256,
        max_tokens_before_summary=256,
        max_summary_tokens=128,
    )

    def call_model(state: LLMInputState):
        response = model.invoke(state["summarized_messages"])
        return {"messages": [response]}

    builder = StateGraph(State)
    builder.add_node(call_model)
    builder.add_node("summarize", summarization_node)
    builder.add_edge(START, "summarize")
    builder.add_edge("summarize", "call_model")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "1"}}
    for text in TURNS:
        graph.invoke({"messages": text}, config)

    answers = [c for c in model.calls if c.kwargs.get("max_tokens") != 128]
    assert len(answers) == 4
    last_input = answers[-1].messages
    assert "Bob introduced" in last_input[0].text and last_input[-1].content == "what's my name?"
    assert count_tokens_approximately(last_input) <= 256 + 128
    state = graph.get_state(config).values
    assert len(state["messages"]) == 8
    assert state["context"]["running_summary"].summary.startswith("Bob introduced")


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_guide_react_style_graph_with_tool_node():
    def search(query: str):
        """Search the web."""
        if "weather" in query.lower():
            return "The weather is sunny in New York, with a high of 104 degrees."
        elif "broadway" in query.lower():
            return "Hamilton is always on!"
        else:
            raise ValueError("Not enough information")

    tools = [search]

    def reply(call: ModelCall):
        if call.kwargs.get("max_tokens") == 128:
            return "Bob asked about the weather and Broadway."
        last = call.messages[-1]
        if isinstance(last, HumanMessage) and ("weather" in last.text or "broadway" in last.text):
            return ai(("search", {"query": last.text}))
        return "Noted. " + "Plenty to say about that, " * 20

    model = ScriptedChatModel(default=reply)
    summarization_model = model.bind(max_tokens=128)
    summarization_node = SummarizationNode(
        token_counter=count_tokens_approximately,
        model=summarization_model,
        max_tokens=256,
        max_tokens_before_summary=1024,
        max_summary_tokens=128,
    )

    def call_model(state: LLMInputState):
        response = model.bind_tools(tools).invoke(state["summarized_messages"])
        return {"messages": [response]}

    def should_continue(state: MessagesState):
        messages = state["messages"]
        last_message = messages[-1]
        if not last_message.tool_calls:
            return END
        else:
            return "tools"

    builder = StateGraph(State)
    builder.add_node("summarize_node", summarization_node)
    builder.add_node("call_model", call_model)
    builder.add_node("tools", ToolNode(tools))
    builder.set_entry_point("summarize_node")
    builder.add_edge("summarize_node", "call_model")
    builder.add_conditional_edges("call_model", should_continue, path_map=["tools", END])
    builder.add_edge("tools", "summarize_node")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "1"}}
    for text in ["hi, i am bob", "what's the weather in nyc this weekend", "what's new on broadway?"]:
        graph.invoke({"messages": text}, config)
    for text in ["tell me more", "and more", "more again", "what's the weather tomorrow?"]:
        graph.invoke({"messages": text}, config)

    answers = [c for c in model.calls if c.kwargs.get("max_tokens") != 128]
    assert any("Hamilton is always on!" in c.text for c in answers)  # tools went back to summarize
    assert any(c.kwargs.get("max_tokens") == 128 for c in model.calls)  # a cut happened
    for call in answers:
        check_pairs(call.messages)
    last = answers[-1].messages
    assert "Bob asked about the weather" in last[0].text
    assert any(isinstance(m, HumanMessage) and "tomorrow" in m.text for m in last)


def check_pairs(messages: list[BaseMessage]) -> None:
    for i, message in enumerate(messages):
        if isinstance(message, ToolMessage):
            calls = {c["id"] for m in messages[:i] if isinstance(m, AIMessage) for c in m.tool_calls}
            assert message.tool_call_id in calls
        if isinstance(message, AIMessage) and message.tool_calls:
            answered = {m.tool_call_id for m in messages[i + 1 :] if isinstance(m, ToolMessage)}
            assert {c["id"] for c in message.tool_calls} <= answered


def test_a_state_without_context_is_reported():
    # the running summary cannot persist: every call would rebuild it from recent messages
    agent, summarizer = ScriptedAgent(), Summarizer()
    node = SummarizationNode(
        model=summarizer.model,
        max_tokens=MAX_TOKENS,
        max_tokens_before_summary=BEFORE_SUMMARY,
        max_summary_tokens=SUMMARY_TOKENS,
    )
    graph = create_react_agent(
        agent.model, [lookup], pre_model_hook=node, checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "no-context"}}
    with pytest.warns(RuntimeWarning, match="without a `context` key"):
        for turn in range(15):
            question = agent.start(turn)
            graph.invoke({"messages": [HumanMessage(question)]}, config)
            check_model_input(agent.model.calls[-1].messages, question)


def test_strict_checkpoints_still_carry_the_running_summary():
    # in strict msgpack mode the checkpointer hands back RunningSummary's fields as a dict
    agent, summarizer = ScriptedAgent(), Summarizer()
    node = SummarizationNode(
        model=summarizer.model,
        max_tokens=MAX_TOKENS,
        max_tokens_before_summary=BEFORE_SUMMARY,
        max_summary_tokens=SUMMARY_TOKENS,
    )
    strict = InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=None))
    graph = create_react_agent(
        agent.model, [lookup], pre_model_hook=node, state_schema=WithContext, checkpointer=strict
    )
    config = {"configurable": {"thread_id": "strict"}}
    for turn in range(30):
        question = agent.start(turn)
        graph.invoke({"messages": [HumanMessage(question)]}, config)
        check_model_input(agent.model.calls[-1].messages, question)
    cuts = summarizer.model.calls
    assert len(cuts) >= 2
    for k, call in enumerate(cuts[1:], start=1):
        assert f"Summary #{k}:" in call.messages[-1].content


def test_docs_short_term_agent_example_runs(capsys):
    """The create_agent example of the short-term guide (moved there from the README)."""
    page = Path(__file__).resolve().parent.parent / "docs" / "guides" / "short-term.md"
    block = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)[0]
    exec(compile(block, str(page), "exec"), {})  # noqa: S102
    first, second, summary = capsys.readouterr().out.splitlines()
    counts = re.match(r"(\d+) messages in the thread, (\d+) summaries", first)
    thread, summaries = int(counts[1]), int(counts[2])
    assert thread == 30 * 4 and 1 <= summaries < 30
    assert int(re.search(r"at most (\d+) messages", second)[1]) < 20
    assert summary == "The user asks about the weather in Paris; it is sunny."
