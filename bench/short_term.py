"""Short-term memory (``langmem.short_term``): what summarization saves, and what it costs.

    .venv/bin/python bench/short_term.py turns       # 100 agent turns with / without the node
    .venv/bin/python bench/short_term.py overhead    # the node's own time, 200 messages
    .venv/bin/python bench/short_term.py compare /tmp/lmvenv/bin/python   # vs another langmem

``turns`` runs a ``create_react_agent`` with tools (scripted models, 1-3 parallel calls per
step) for 100 turns, with ``SummarizationNode`` as ``pre_model_hook`` and without: agent
model calls, their input tokens (``count_tokens_approximately``), summarization calls and
their input tokens. ``overhead`` times ``SummarizationNode.invoke`` on 200 messages with
``token_counter=len`` (the model call itself excluded), median of many runs. ``overhead`` and
``compare`` use only ``langmem.short_term``, so they also run under an interpreter with
LangMem 0.0.30 installed (``compare`` runs the same simulated threads in both and reports where
the results first differ and why).
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
import warnings
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately

from langmem.short_term import RunningSummary, SummarizationNode, summarize_messages


class InstantModel:
    """A summarizer answering at once (so timings are the node's own)."""

    def __init__(self) -> None:
        self.calls = 0

    def invoke(self, messages: Any) -> AIMessage:
        self.calls += 1
        return AIMessage(f"summary {self.calls}")

    async def ainvoke(self, messages: Any) -> AIMessage:
        return self.invoke(messages)


def conversation(n: int) -> list:
    """``n`` messages: questions, parallel tool calls with results, answers."""
    out, rnd, turn = [], random.Random(7), 0
    while len(out) < n:
        turn += 1
        out.append(HumanMessage(f"question {turn} " + "word " * rnd.randint(5, 30), id=f"h{turn}"))
        width = rnd.randint(0, 3)
        if width:
            calls = [
                {"name": "lookup", "args": {"q": f"{turn}.{i}"}, "id": f"c{turn}_{i}"}
                for i in range(width)
            ]
            out.append(AIMessage("", tool_calls=calls, id=f"ai{turn}"))
            out += [
                ToolMessage("result " * rnd.randint(10, 60), tool_call_id=c["id"], id=f"t{c['id']}")
                for c in calls
            ]
        out.append(AIMessage("answer " * rnd.randint(10, 40), id=f"a{turn}"))
    return out[:n]


def _median_us(fn, runs: int) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def overhead(runs: int = 2000) -> dict[str, float]:
    messages = conversation(200)
    ids = {m.id for m in messages[:150]}
    steady = RunningSummary("summary so far", ids, messages[149].id)
    cases = {
        # below the threshold: nothing to summarize, no summary yet
        "no summary": (dict(max_tokens=1000, max_summary_tokens=10), {}),
        # a running summary covers the first 150; the other 50 are under the threshold
        "running summary, no cut": (
            dict(max_tokens=100, max_summary_tokens=10),
            {"running_summary": steady},
        ),
        # a cut after 90 messages: plan, summarizer prompt, (instant) model call, new summary
        "cut": (dict(max_tokens=120, max_tokens_before_summary=60, max_summary_tokens=10), {}),
    }
    out = {}
    for name, (budget, context) in cases.items():
        node = SummarizationNode(model=InstantModel(), token_counter=len, **budget)
        state = {"messages": messages, "context": context}
        out[name] = round(_median_us(lambda n=node, s=state: n.invoke(s), runs), 1)
    node = SummarizationNode(
        model=InstantModel(), token_counter=count_tokens_approximately, max_tokens=100_000
    )
    out["no summary, approximate counting"] = round(
        _median_us(lambda: node.invoke({"messages": messages}), runs // 10), 1
    )
    return out


def turns(n_turns: int = 100) -> list[dict[str, Any]]:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.prebuilt import create_react_agent
    from langgraph.prebuilt.chat_agent_executor import AgentState

    from langmem.testing import ScriptedChatModel, ai

    def lookup(q: str) -> str:
        """Look something up."""
        return f"Findings for {q}: " + "figures and notes " * 12

    class WithContext(AgentState):
        context: dict  # keeps the running summary between turns

    rows = []
    configs = [None, (512, 256, 128), (2048, 1024, 256), (512, 256, 128, "no context")]
    for config in configs:
        state = {"turn": 0, "rounds": 0}

        def reply(call, state=state):
            state["rounds"] += 1
            turn = state["turn"]
            if state["rounds"] <= (2 if turn % 3 == 0 else 1) and turn % 5 != 4:
                width = 1 + (turn + state["rounds"]) % 3
                return ai(*[("lookup", {"q": f"item {turn} part {i}"}) for i in range(width)])
            return AIMessage(f"Item {turn}: " + "the records show steady figures. " * 6)

        agent_model = ScriptedChatModel(default=reply)
        summarizer = ScriptedChatModel(default="The user asked about items; lookups ran. " * 3)
        kwargs: dict[str, Any] = {"checkpointer": InMemorySaver()}
        if config is not None:
            max_tokens, before, summary = config[:3]
            if len(config) == 3:
                kwargs["state_schema"] = WithContext
            kwargs["pre_model_hook"] = SummarizationNode(
                model=summarizer,
                max_tokens=max_tokens,
                max_tokens_before_summary=before,
                max_summary_tokens=summary,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            graph = create_react_agent(agent_model, [lookup], **kwargs)
        warnings.simplefilter("ignore", RuntimeWarning)  # the "no context" row warns
        thread = {"configurable": {"thread_id": "bench"}, "recursion_limit": 50}
        start = time.perf_counter()
        for turn in range(n_turns):
            state.update(turn=turn, rounds=0)
            graph.invoke({"messages": [HumanMessage(f"What about item {turn}?")]}, thread)
        elapsed = time.perf_counter() - start
        inputs = [count_tokens_approximately(c.messages) for c in agent_model.calls]
        rows.append(
            {
                "budget": "none" if config is None else "/".join(map(str, config)),
                "agent_calls": len(agent_model.calls),
                "agent_input_tokens": sum(inputs),
                "max_agent_input": max(inputs),
                "summaries": len(summarizer.calls),
                "summarizer_input_tokens": sum(
                    count_tokens_approximately(c.messages) for c in summarizer.calls
                ),
                "ms_per_turn": round(elapsed / n_turns * 1000, 1),
            }
        )
    return rows


# --- compare: the same simulated threads under two installations ---


def simulate(seed: int, tools: bool, approximate: bool) -> list:
    """A thread summarized before each model call (as a pre_model_hook); one entry per call."""
    rnd = random.Random(seed)
    if approximate:
        counter, max_tokens, summary = count_tokens_approximately, rnd.randint(150, 500), 0
        summary = rnd.randint(20, 80)
        threshold = rnd.choice([None, rnd.randint(60, max_tokens)])
    else:
        counter, max_tokens, summary = len, rnd.randint(4, 14), rnd.randint(0, 2)
        threshold = rnd.choice([None, rnd.randint(2, max_tokens)])
    model, history, running, log = InstantModel(), [], None, []

    def step() -> bool:
        nonlocal running
        try:
            result = summarize_messages(
                history, running_summary=running, model=model, max_tokens=max_tokens,
                max_tokens_before_summary=threshold, max_summary_tokens=summary,
                token_counter=counter,
            )
        except ValueError as exc:
            log.append({"error": str(exc)})
            return False
        running = result.running_summary or running
        ids = sorted(running.summarized_message_ids) if running else []
        log.append({"calls": model.calls, "summarized": ids, "shown": [m.id for m in result.messages]})
        return True

    for turn in range(rnd.randint(5, 25)):
        history.append(HumanMessage("q " * rnd.randint(1, 30), id=f"h{turn}"))
        if not step():
            break
        if tools and rnd.random() < 0.5:
            calls = [
                {"name": "t", "args": {}, "id": f"c{turn}_{i}", "type": "tool_call"}
                for i in range(rnd.randint(1, 3))
            ]
            history.append(AIMessage("", tool_calls=calls, id=f"ai{turn}"))
            history += [
                ToolMessage("r " * rnd.randint(1, 40), tool_call_id=c["id"], id=f"t{c['id']}")
                for c in calls
            ]
            if not step():
                break
        history.append(AIMessage("a " * rnd.randint(1, 30), id=f"a{turn}"))
    return log


def threads(n: int) -> dict[str, list]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            f"{'tools' if tools else 'chat'}/{'approx' if approx else 'len'}/{seed}": simulate(
                seed, tools, approx
            )
            for tools in (False, True)
            for approx in (False, True)
            for seed in range(n)
        }


def _defects(entry: dict) -> list[str]:
    """What is wrong with one result (ids: h question, ai tool call, tc… its results)."""
    if "error" in entry:
        return ["error: " + entry["error"].split(" has ")[-1]]
    shown = [i for i in entry["shown"] if i]
    found = []
    body_ids = set(shown)
    if not shown:
        found.append("only the summary is left")
    for i in shown:
        if i.startswith("tc") and f"ai{i[2:].split('_')[0]}" not in body_ids:
            found.append("tool result without its call")
    known = set(entry["summarized"]) | body_ids
    latest = max((int(i[1:]) for i in known if i.startswith("h")), default=None)
    if latest is not None and f"h{latest}" not in body_ids:
        found.append("the question is summarized away")
    return sorted(set(found))


def compare(other_python: str, n: int = 300) -> dict[str, Any]:
    ours = threads(n)
    code = f"import json, sys; sys.path.insert(0, {sys.path[0]!r}); import short_term as b; "
    code += f"print(json.dumps(b.threads({n})))"
    run = subprocess.run([other_python, "-c", code], capture_output=True, text=True, check=True)
    theirs = json.loads(run.stdout)
    same, reasons, ours_then = 0, {}, {}
    for key, log in ours.items():
        other = theirs[key]
        if log == other:
            same += 1
            continue
        step = next(i for i in range(len(log)) if i >= len(other) or log[i] != other[i])
        why = ", ".join(_defects(other[step])) if step < len(other) else "ended early"
        reasons[why or "UNEXPLAINED"] = reasons.get(why or "UNEXPLAINED", 0) + 1
        here = ", ".join(_defects(log[step])) or "none"
        ours_then[here] = ours_then.get(here, 0) + 1
    return {
        "threads": len(ours),
        "identical": same,
        "at the first difference, the other's defects": reasons,
        "at the first difference, our defects": ours_then,
    }


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "turns"
    if what == "overhead":
        print(json.dumps(overhead(), indent=1))
    elif what == "compare":
        print(json.dumps(compare(argv[1]), indent=1))
    else:
        for row in turns():
            print(json.dumps(row))


if __name__ == "__main__":
    main(sys.argv[1:])
