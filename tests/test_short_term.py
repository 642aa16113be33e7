"""langmem.short_term: the cut rule, budgets, running summary and node of contract §9, and
the LangMem 0.0.30 defects of §10.11 (marked "LangMem 0.0.30:" where it behaves otherwise).

Token arithmetic uses ``token_counter=len`` (one token per message), as LangMem's own tests do.
"""

from __future__ import annotations

import asyncio
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import count_tokens_approximately
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages
from pydantic import BaseModel

from langmem.short_term import (
    RunningSummary,
    SummarizationNode,
    SummarizationResult,
    asummarize_messages,
    summarize_messages,
)
from langmem.short_term.summarization import (
    DEFAULT_EXISTING_SUMMARY_PROMPT,
    DEFAULT_INITIAL_SUMMARY_PROMPT,
)
from langmem.testing import ScriptedChatModel

pytestmark = pytest.mark.core


@pytest.fixture(params=["sync", "async"])
def summarize(request):
    """``summarize_messages`` or ``asummarize_messages``: both must behave the same."""

    def run(messages, **kwargs) -> SummarizationResult:
        kwargs.setdefault("running_summary", None)
        if request.param == "sync":
            return summarize_messages(messages, **kwargs)
        return asyncio.run(asummarize_messages(messages, **kwargs))

    return run


def chat(n: int, prefix: str = "") -> list[BaseMessage]:
    """``n`` alternating Human/AI messages with ids ``{prefix}1..n``, Human first."""
    kinds = (HumanMessage, AIMessage)
    return [kinds[i % 2](f"{prefix}message {i + 1}", id=f"{prefix}{i + 1}") for i in range(n)]


def tool_turn(call_ids: list[str], prefix: str, results_order=None) -> list[BaseMessage]:
    """An AIMessage calling tools ``call_ids`` in parallel and its ToolMessages."""
    calls = [{"name": "lookup", "args": {"q": c}, "id": c, "type": "tool_call"} for c in call_ids]
    answers = [
        ToolMessage(f"result {c}", tool_call_id=c, id=f"{prefix}-t-{c}")
        for c in (results_order or call_ids)
    ]
    return [AIMessage("", tool_calls=calls, id=f"{prefix}-ai"), *answers]


def initial_request() -> str:
    return DEFAULT_INITIAL_SUMMARY_PROMPT.format_messages(messages=[])[-1].content


def is_summary_message(message: BaseMessage) -> bool:
    return isinstance(message, SystemMessage) and "summary" in message.text.lower()


# --- §9.1-9.7: budgets, cut rule, result shape (pinned cut points, len counting) ---


def test_max_summary_tokens_must_be_below_max_tokens(summarize):
    with pytest.raises(ValueError, match="`max_summary_tokens` must be less than `max_tokens`."):
        summarize(chat(3), model=ScriptedChatModel(), max_tokens=5, max_summary_tokens=5)
    with pytest.raises(ValueError, match="`max_summary_tokens` must be less than `max_tokens`."):
        SummarizationNode(model=ScriptedChatModel(), max_tokens=5, max_summary_tokens=6).invoke(
            {"messages": chat(3)}
        )


def test_empty_input_and_system_only_make_no_call(summarize):
    model = ScriptedChatModel()
    result = summarize([], model=model, max_tokens=10, max_summary_tokens=1)
    assert result.messages == [] and result.running_summary is None
    system = SystemMessage("You are helpful.", id="sys")
    result = summarize([system], model=model, max_tokens=10, max_summary_tokens=1)
    assert result.messages == [system] and result.running_summary is None
    assert model.calls == []


def test_under_the_threshold_nothing_changes(summarize):
    model = ScriptedChatModel()
    messages = chat(3)
    result = summarize(messages, model=model, token_counter=len, max_tokens=10, max_summary_tokens=1)
    assert result.messages == messages and result.running_summary is None
    assert model.calls == []


def test_first_cut_summarizes_the_oldest_messages_in_one_call(summarize):
    model = ScriptedChatModel(["Bob said hello."])
    messages = chat(9)
    # budget: max_tokens 6; the kept part must fit 6 - 1 = 5. The running total reaches 6 at
    # message 6 and the 3 after it fit: cut after message 6.
    result = summarize(messages, model=model, token_counter=len, max_tokens=6, max_summary_tokens=1)
    [call] = model.calls
    assert call.messages[:-1] == messages[:6]
    assert call.messages[-1] == HumanMessage(initial_request())  # one positional argument
    assert len(result.messages) == 4
    assert is_summary_message(result.messages[0]) and "Bob said hello." in result.messages[0].text
    assert result.messages[1:] == messages[6:]
    assert result.running_summary == RunningSummary(
        summary="Bob said hello.",
        summarized_message_ids={m.id for m in messages[:6]},
        last_summarized_message_id="6",
    )
    # the same messages again, with the running summary: no call, same shape
    again = summarize(
        messages,
        running_summary=result.running_summary,
        model=model,
        token_counter=len,
        max_tokens=6,
        max_summary_tokens=1,
    )
    assert len(model.calls) == 1
    assert again.messages == result.messages
    assert again.running_summary is result.running_summary


def test_system_message_is_kept_apart_and_budgeted(summarize):
    system = SystemMessage("You are helpful.", id="sys")
    messages = chat(9)
    model = ScriptedChatModel(default="A summary.")
    kwargs = dict(model=model, token_counter=len, max_tokens=6, max_summary_tokens=1)
    result = summarize([system, *messages], **kwargs)
    assert model.calls[0].messages[:-1] == messages[:6]  # the system message is not summarized
    assert result.messages[0] == system and is_summary_message(result.messages[1])
    assert result.messages[2:] == messages[6:]
    # with a low threshold the kept budget decides: 6 - 1 = 5 without, 4 with the system message
    low = dict(kwargs, max_tokens_before_summary=2)
    assert summarize(messages, **low).running_summary.last_summarized_message_id == "4"
    assert summarize([system, *messages], **low).running_summary.last_summarized_message_id == "5"


def test_many_messages(summarize):
    model = ScriptedChatModel(["Summary of many messages."])
    messages = chat(41)
    result = summarize(messages, model=model, token_counter=len, max_tokens=22, max_summary_tokens=0)
    assert len(model.calls) == 1
    assert len(result.messages) == 20
    assert result.messages[1:] == messages[22:]


def test_a_later_cut_extends_the_running_summary(summarize):
    model = ScriptedChatModel(["First summary.", "Updated summary."])
    kwargs = dict(model=model, token_counter=len, max_tokens=6, max_summary_tokens=1)
    first = chat(7)
    result = summarize(first, **kwargs)
    assert result.messages[1:] == first[6:]
    assert result.running_summary.summarized_message_ids == {m.id for m in first[:6]}

    grown = first + chat(8, prefix="n")  # n1 (human) .. n8
    result2 = summarize(grown, running_summary=result.running_summary, **kwargs)
    assert len(model.calls) == 2
    second = model.calls[1].messages
    # the new part starts after the last summarized id; the cut falls after 6 of its messages
    # (7, n1..n5); they exceed the summarizer's budget (6 - 1 for the running summary), so the
    # most recent part starting on a human message is sent: n1..n5
    assert second[:-1] == grown[7:12]
    assert second[-1].content == DEFAULT_EXISTING_SUMMARY_PROMPT.format_messages(
        messages=[], existing_summary="First summary."
    )[-1].content
    assert "First summary." in second[-1].content
    assert result2.messages[1:] == grown[-3:]
    assert "Updated summary." in result2.messages[0].text
    rs = result2.running_summary
    assert rs.summary == "Updated summary."
    assert rs.summarized_message_ids == {m.id for m in grown[:12]}
    assert rs.last_summarized_message_id == grown[11].id


def test_passing_back_the_summarized_messages_gives_the_same_cut(summarize):
    model = ScriptedChatModel(["First summary.", "Updated summary."])
    kwargs = dict(model=model, token_counter=len, max_tokens=6, max_summary_tokens=1)
    result = summarize(chat(7), **kwargs)
    new = chat(8, prefix="n")
    result2 = summarize(result.messages + new, running_summary=result.running_summary, **kwargs)
    # the old summary message is budgeted like a system message (4 tokens left to keep) and
    # replaced, never shown twice
    assert [m.id for m in result2.messages[1:]] == ["n6", "n7", "n8"]
    assert sum(is_summary_message(m) for m in result2.messages) == 1
    assert "Updated summary." in result2.messages[0].text
    assert result2.running_summary.summarized_message_ids == {str(i) for i in range(1, 7)} | {
        "7",
        "n1",
        "n2",
        "n3",
        "n4",
        "n5",
    }


def test_slice_over_the_summarizer_budget_keeps_its_tail(summarize):
    model = ScriptedChatModel(["S"])
    messages = chat(8)
    # threshold 6 above max_tokens 4: the 6 summarized messages exceed the model's 4
    result = summarize(
        messages,
        model=model,
        token_counter=len,
        max_tokens=4,
        max_tokens_before_summary=6,
        max_summary_tokens=1,
    )
    assert model.calls[0].messages[:-1] == messages[2:6]
    assert result.running_summary.summarized_message_ids == {m.id for m in messages[:6]}
    assert result.messages[1:] == messages[6:]


def test_untrimmable_slice_is_sent_whole_with_a_warning(summarize):
    model = ScriptedChatModel(["S"])
    messages = [AIMessage(f"a{i}", id=f"a{i}") for i in range(6)] + chat(2)
    with pytest.warns(RuntimeWarning):
        summarize(
            messages,
            model=model,
            token_counter=len,
            max_tokens=4,
            max_tokens_before_summary=6,
            max_summary_tokens=1,
        )
    assert model.calls[0].messages[:-1] == messages[:6]


def test_messages_need_ids(summarize):
    with pytest.raises(ValueError, match="Messages are required to have ID field"):
        summarize(
            [HumanMessage("hi", id="1"), AIMessage("hello")],
            model=ScriptedChatModel(),
            max_tokens=10,
            max_summary_tokens=1,
        )


def test_an_already_summarized_message_is_an_error(summarize):
    model = ScriptedChatModel(["S"])
    first = summarize(chat(3), model=model, token_counter=len, max_tokens=2, max_summary_tokens=1)
    assert first.running_summary.summarized_message_ids == {"1", "2"}
    with pytest.raises(ValueError, match="Message with ID 1 has already been summarized."):
        summarize(
            chat(3) + [AIMessage("r", id="4"), HumanMessage("again", id="1")],
            running_summary=first.running_summary,
            model=model,
            token_counter=len,
            max_tokens=5,
            max_summary_tokens=1,
        )


def test_the_model_gets_one_positional_argument():
    class OneArgModel:  # like LangMem's test fake: invoke(input) only
        def __init__(self):
            self.inputs = []

        def invoke(self, input):
            self.inputs.append(input)
            return AIMessage("S")

        async def ainvoke(self, input):
            return self.invoke(input)

    model = OneArgModel()
    kwargs = dict(running_summary=None, model=model, token_counter=len, max_tokens=2)
    summarize_messages(chat(3), max_summary_tokens=1, **kwargs)
    asyncio.run(asummarize_messages(chat(3), max_summary_tokens=1, **kwargs))
    assert len(model.inputs) == 2 and model.inputs[0] == model.inputs[1]


def test_an_empty_summary_is_an_error_and_changes_nothing(summarize):
    with pytest.raises(ValueError, match="empty summary"):
        summarize(
            chat(9), model=ScriptedChatModel(["  "]), token_counter=len, max_tokens=6,
            max_summary_tokens=1,
        )


def test_a_running_summary_given_as_a_mapping_is_accepted(summarize):
    # a checkpointer in strict mode returns the dataclass's fields instead of the object
    fields = {"summary": "Old.", "summarized_message_ids": {"1", "2"}, "last_summarized_message_id": "2"}
    result = summarize(
        chat(4), running_summary=fields, model=ScriptedChatModel(), token_counter=len,
        max_tokens=10, max_summary_tokens=1,
    )
    assert result.running_summary == RunningSummary("Old.", {"1", "2"}, "2")
    assert "Old." in result.messages[0].text and [m.id for m in result.messages[1:]] == ["3", "4"]


def test_approximate_counting_keeps_the_latest_message(summarize):
    # LangMem 0.0.30 returns only the summary here (an older LangMem test expected this shape)
    model = ScriptedChatModel(["Summary with empty messages."])
    texts = ["", "Response 1", "Message 2", "", "Message 3", "Response 3", "Message 4"]
    texts += ["Response 4", "Latest message"]
    messages = [m.model_copy(update={"content": t}) for m, t in zip(chat(9), texts)]
    result = summarize(
        messages, model=model, token_counter=count_tokens_approximately, max_tokens=60,
        max_summary_tokens=10,
    )
    assert len(model.calls) == 1
    assert result.messages[1:] == messages[-1:]


# --- SummarizationNode ---


def test_node_reads_and_writes_its_keys():
    model = ScriptedChatModel(["S1"])
    node = SummarizationNode(model=model, token_counter=len, max_tokens=6, max_summary_tokens=1)
    assert node.name == "summarization"
    messages = chat(9)
    update = node.invoke({"messages": messages, "context": {"other": 1}})
    assert set(update) == {"summarized_messages", "context"}
    assert update["summarized_messages"][1:] == messages[6:]
    assert update["context"]["other"] == 1
    rs = update["context"]["running_summary"]
    assert rs.summary == "S1" and rs.last_summarized_message_id == "6"
    # later calls keep returning the running summary even without a new cut
    again = node.invoke({"messages": messages, "context": update["context"]})
    assert again["context"]["running_summary"] is rs and len(model.calls) == 1
    # no summary yet: only the messages
    small = SummarizationNode(model=model, token_counter=len, max_tokens=60, max_summary_tokens=1)
    assert small.invoke({"messages": messages}) == {"summarized_messages": messages}


def test_node_with_the_same_key_replaces_the_history():
    model = ScriptedChatModel(["S1", "S2"])
    node = SummarizationNode(
        model=model,
        token_counter=len,
        max_tokens=6,
        max_summary_tokens=1,
        output_messages_key="messages",
        name="summarize",
    )
    assert node.name == "summarize"
    update = node.invoke({"messages": chat(7)})
    assert update["messages"][0].type == "remove"
    assert is_summary_message(update["messages"][1]) and len(update["messages"]) == 3
    state = add_messages(chat(7), update["messages"]) + chat(8, prefix="n")
    update2 = asyncio.run(node.ainvoke({"messages": state, "context": update["context"]}))
    assert update2["messages"][0].type == "remove"
    assert [m.id for m in update2["messages"][2:]] == ["n6", "n7", "n8"]
    assert "S1" in model.calls[1].messages[-1].content


def test_node_accepts_pydantic_state_and_reports_bad_input():
    class State(BaseModel):
        messages: list
        context: dict = {}

    node = SummarizationNode(
        model=ScriptedChatModel(["S"]), token_counter=len, max_tokens=6, max_summary_tokens=1
    )
    update = node.invoke(State(messages=chat(9)))
    assert update["context"]["running_summary"].summary == "S"
    with pytest.raises(ValueError, match="Missing required field `messages` in the input."):
        node.invoke({"history": chat(2)})
    with pytest.raises(ValueError, match="Missing required field `msgs` in the input."):
        SummarizationNode(
            model=ScriptedChatModel(), max_tokens=6, max_summary_tokens=1, input_messages_key="msgs"
        ).invoke(State(messages=[]))
    with pytest.raises(ValueError, match="Invalid input type"):
        node.invoke(["not", "a", "state"])


# --- LangMem 0.0.30 defects (§10.11): each test fails there ---


def test_parallel_tool_results_stay_with_their_call(summarize):
    # LangMem 0.0.30: the cut falls on the first result, the second is kept without its call
    messages = [
        HumanMessage("Generate two strings", id="h1"),
        *tool_turn(["a", "b"], prefix="p"),
        AIMessage("Done.", id="a5"),
        HumanMessage("How were they generated?", id="h6"),
    ]
    result = summarize(
        messages,
        model=ScriptedChatModel(["S"]),
        token_counter=len,
        max_tokens=4,
        max_tokens_before_summary=3,
        max_summary_tokens=1,
    )
    assert [m.id for m in result.messages[1:]] == ["a5", "h6"]
    assert result.running_summary.summarized_message_ids == {"h1", "p-ai", "p-t-a", "p-t-b"}


def test_results_answered_out_of_order_do_not_break_the_next_call(summarize):
    # LangMem 0.0.30: the last summarized id is the result of the last *call*, which comes
    # first here, so the next call sees the other result again: "already summarized"
    model = ScriptedChatModel(default="S")
    kwargs = dict(model=model, token_counter=len, max_tokens=5, max_summary_tokens=1)
    messages = [
        HumanMessage("q", id="h1"),
        *tool_turn(["a", "b"], prefix="p", results_order=["b", "a"]),
        AIMessage("Done.", id="a5"),
        HumanMessage("next", id="h6"),
    ]
    first = summarize(messages, max_tokens_before_summary=2, **kwargs)
    assert first.running_summary.last_summarized_message_id == "p-t-a"
    grown = messages + [AIMessage("ok", id="a7"), HumanMessage("more", id="h8")]
    second = summarize(grown, running_summary=first.running_summary, **kwargs)
    assert [m.id for m in second.messages[1:]][-2:] == ["a7", "h8"]


def test_reused_tool_call_ids_never_duplicate_or_drop_results(summarize):
    # Some providers number tool calls per turn ("call_0" each time). LangMem 0.0.30 maps the
    # id to the *later* result: the first turn's result is lost from the summary and the
    # later one is both summarized and kept, so the next call fails.
    model = ScriptedChatModel(default="S")
    kwargs = dict(model=model, token_counter=len, max_tokens=8, max_summary_tokens=1)
    messages = [
        HumanMessage("q1", id="h1"),
        *tool_turn(["call_0"], prefix="t1"),
        AIMessage("a1", id="a1"),
        HumanMessage("q2", id="h2"),
        *tool_turn(["call_0"], prefix="t2"),
        AIMessage("a2", id="a2"),
        HumanMessage("q3", id="h3"),
    ]
    for m in messages[5:7]:  # the second turn's messages get distinct message ids
        m.id = m.id.replace("t2", "u2")
    first = summarize(messages, max_tokens_before_summary=2, **kwargs)
    summarized = first.running_summary.summarized_message_ids
    assert summarized == {"h1", "t1-ai", "t1-t-call_0"}
    assert model.calls[0].messages[:-1] == messages[:3]
    shown = [m.id for m in first.messages if m.id]
    assert len(shown) == len(set(shown)) and not summarized & set(shown)
    second = summarize(
        messages + [AIMessage("a3", id="a3")], running_summary=first.running_summary, **kwargs
    )
    assert [m.id for m in second.messages[1:]][-1] == "a3"


def test_the_latest_human_message_is_not_summarized_away(summarize):
    # LangMem 0.0.30 summarizes A1..H3 and keeps only A3: the question is gone
    messages = [
        AIMessage("Response 1", id="1"),
        HumanMessage("Message 2", id="2"),
        AIMessage("Response 2", id="3"),
        HumanMessage("Message 3", id="4"),
        AIMessage("Response 3", id="5"),
    ]
    result = summarize(
        messages, model=ScriptedChatModel(["S"]), token_counter=len, max_tokens=4,
        max_summary_tokens=1,
    )
    assert result.messages[1:] == messages[-2:]
    assert result.running_summary.summarized_message_ids == {"1", "2", "3"}


def test_the_tail_is_never_empty(summarize):
    # LangMem 0.0.30 summarizes everything and returns only the summary message
    messages = chat(3)
    result = summarize(
        messages, model=ScriptedChatModel(["S"]), token_counter=len, max_tokens=3,
        max_summary_tokens=1,
    )
    assert result.messages[1:] == messages[-1:]
    only = summarize(
        [HumanMessage("a long question", id="q")], model=ScriptedChatModel(), token_counter=len,
        max_tokens=2, max_tokens_before_summary=1, max_summary_tokens=1,
    )
    assert [m.id for m in only.messages] == ["q"] and only.running_summary is None


def test_a_cut_past_the_latest_question_shows_it_again():
    # The question's own turn is over budget (B = 9 - 2 = 7 < 8): the cut must pass the
    # question, which is then shown again after the summary (it fits with the last call).
    model = ScriptedChatModel(default="S")
    kwargs = dict(model=model, token_counter=len, max_tokens=9, max_summary_tokens=2)
    messages = [
        *chat(2),
        HumanMessage("What is the weather in three cities?", id="q"),
        *tool_turn(["w1"], prefix="x"),
        *tool_turn(["w2", "w3"], prefix="y"),
        *tool_turn(["w4", "w5"], prefix="z"),
    ]
    result = summarize_messages(messages, running_summary=None, **kwargs)
    ids = [m.id for m in result.messages[1:]]
    assert ids[0] == "q" and ids[1:] == ["z-ai", "z-t-w4", "z-t-w5"]
    assert "q" not in result.running_summary.summarized_message_ids
    assert len(result.messages) <= 9
    # the next step of the same tool loop: still shown, no message twice
    grown = messages + [AIMessage("Sunny everywhere.", id="fin")]
    nxt = summarize_messages(grown, running_summary=result.running_summary, **kwargs)
    assert [m.id for m in nxt.messages[1:]] == ["q", "z-ai", "z-t-w4", "z-t-w5", "fin"]


def test_earlier_summary_messages_are_dropped_not_repeated():
    # LangMem 0.0.30, same key with a system message: the old summary message is walked as
    # conversation, so the model sees two summaries
    model = ScriptedChatModel(["S1", "S2"])
    node = SummarizationNode(
        model=model, token_counter=len, max_tokens=7, max_summary_tokens=1,
        output_messages_key="messages",
    )
    system = SystemMessage("You are helpful.", id="sys")
    update = node.invoke({"messages": [system, *chat(9)]})
    state = add_messages([system, *chat(9)], update["messages"])
    assert state[0] == system and is_summary_message(state[1])
    state = state + [AIMessage("r", id="10"), HumanMessage("q", id="11")]
    update2 = node.invoke({"messages": state, "context": update["context"]})
    shown = update2["messages"][1:]
    assert sum(is_summary_message(m) for m in shown) == 1
    assert shown[0] == system


def test_a_lost_running_summary_is_recovered_from_its_message(summarize):
    # LangMem 0.0.30 takes an earlier summary message without its running summary for a
    # system message and starts a second, unrelated summary
    model = ScriptedChatModel(["First summary.", "Second summary."])
    kwargs = dict(model=model, token_counter=len, max_tokens=6, max_summary_tokens=1)
    first = summarize(chat(7), **kwargs)
    second = summarize(first.messages + chat(8, prefix="n"), **kwargs)  # running summary lost
    assert "First summary." in model.calls[1].messages[-1].content
    assert sum(is_summary_message(m) for m in second.messages) == 1
    assert "Second summary." in second.messages[0].text


def test_no_warnings_on_the_plain_path():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summarize_messages(
            chat(9), running_summary=None, model=ScriptedChatModel(["S"]), token_counter=len,
            max_tokens=6, max_summary_tokens=1,
        )


# --- properties over random threads with tool loops ---


@st.composite
def threads(draw):
    """Turns of (question, rounds of parallel tool calls, answer), and a budget."""
    turns = []
    for _ in range(draw(st.integers(3, 14))):
        rounds = draw(st.lists(st.integers(1, 3), max_size=2))
        orders = [draw(st.permutations(range(width))) for width in rounds]
        turns.append(orders)
    max_summary = draw(st.integers(1, 2))
    # room for the question and the largest tool step (4) beside an earlier summary message,
    # which is budgeted like a system message when the summarized history is passed back
    max_tokens = draw(st.integers(max_summary + 6, 20))
    kept_budget = max_tokens - max_summary
    threshold = draw(st.one_of(st.none(), st.integers(1, kept_budget)))
    same_key = draw(st.booleans())
    return turns, dict(max_tokens=max_tokens, max_summary_tokens=max_summary,
                       max_tokens_before_summary=threshold), same_key


def check_output(messages, running_summary, question, max_tokens, bounded):
    ids = [m.id for m in messages if m.id]
    assert len(ids) == len(set(ids))
    if running_summary is not None:
        assert not set(ids) & running_summary.summarized_message_ids
    assert sum(is_summary_message(m) for m in messages) <= 1
    body = [m for m in messages if not isinstance(m, SystemMessage)]
    assert body and question in body  # never only system messages; the question is shown
    for i, message in enumerate(messages):
        if isinstance(message, AIMessage) and message.tool_calls:
            run = []
            for after in messages[i + 1 :]:
                if not isinstance(after, ToolMessage):
                    break
                run.append(after.tool_call_id)
            assert sorted(run) == sorted(c["id"] for c in message.tool_calls)
        if isinstance(message, ToolMessage):
            assert isinstance(messages[i - 1], (AIMessage, ToolMessage))
    if bounded:
        assert len(messages) <= max_tokens


@pytest.mark.filterwarnings("ignore:The messages to summarize could not be trimmed")
@settings(max_examples=150, deadline=None)
@given(threads())
def test_random_tool_loops_keep_every_invariant(thread):
    turns, budget, same_key = thread
    model = ScriptedChatModel(default=lambda call: f"summary {len(model.calls)}")
    bounded = budget["max_tokens_before_summary"] is not None
    history: list[BaseMessage] = []
    running = None

    def step(question):
        nonlocal history, running
        seen = len(model.calls)
        result = summarize_messages(
            history, running_summary=running, model=model, token_counter=len, **budget
        )
        if len(model.calls) > seen and running is not None:  # a later cut extends the summary
            assert running.summary in model.calls[-1].messages[-1].content
        running = result.running_summary or running
        check_output(result.messages, result.running_summary, question, budget["max_tokens"],
                     bounded)
        if same_key and result.running_summary is not None:
            history = add_messages(history, [RemoveMessage(id=REMOVE_ALL_MESSAGES),
                                             *result.messages])

    for t, rounds in enumerate(turns):
        question = HumanMessage(f"question {t}", id=f"q{t}")
        history = history + [question]
        step(question)
        for r, order in enumerate(rounds):
            history = history + tool_turn(
                [f"c{t}{r}{i}" for i in range(len(order))], prefix=f"r{t}{r}",
                results_order=[f"c{t}{r}{i}" for i in order],
            )
            step(question)
        history = history + [AIMessage(f"answer {t}", id=f"a{t}")]
