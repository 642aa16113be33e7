"""Spec guides for the memory tools, run as written apart from the model.

hot_path_quickstart.md, guides/memory_tools.md, guides/use_tools_in_crewai.md,
guides/use_tools_in_custom_agent.md and guides/dynamically_configure_namespaces.md.
"anthropic:claude-3-5-sonnet-latest" is a ScriptedChatModel playing the model's
part and "openai:text-embedding-3-small" is HashEmbeddings(1536). CrewAI and
the Anthropic/OpenAI clients are not installed: minimal stand-ins with the
same surface drive the tools the way those libraries do.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel

from _helpers import ASYNC_IN_GRAPH
from langmem.errors import ConfigurationError
from langmem.testing import HashEmbeddings, ScriptedChatModel, ai

pytestmark = [
    pytest.mark.core,
    pytest.mark.filterwarnings("ignore:create_react_agent has been moved"),
]

INDEX = {"dims": 1536, "embed": HashEmbeddings(1536)}


def values(store, namespace) -> list:
    return [item.value for item in store.search(namespace, limit=100)]


# --- hot_path_quickstart.md ---------------------------------------------------------


def recall(call) -> str:
    """Answer from the memories the prompt function put in the system message."""
    system = call.messages[0].content
    if "dark" in system:
        return "Based on my memory search, you prefer dark display mode."
    return "I don't seem to have any stored memories about your display mode preferences."


def build_hot_path_agent(model):
    from langgraph.checkpoint.memory import MemorySaver
    from langgraph.prebuilt import create_react_agent
    from langgraph.store.memory import InMemoryStore
    from langgraph.utils.config import get_store

    from langmem import (
        # Lets agent create, update, and delete memories (1)
        create_manage_memory_tool,
    )

    def prompt(state):
        """Prepare the messages for the LLM."""
        # Get store from configured contextvar; (5)
        store = get_store()  # Same as that provided to `create_react_agent`
        memories = store.search(
            # Search within the same namespace as the one
            # we've configured for the agent
            ("memories",),
            query=state["messages"][-1].content,
        )
        system_msg = f"""You are a helpful assistant.

## Memories
<memories>
{memories}
</memories>
"""
        return [{"role": "system", "content": system_msg}, *state["messages"]]

    store = InMemoryStore(index=INDEX)
    checkpointer = MemorySaver()  # Checkpoint graph state (2)

    agent = create_react_agent(
        model,
        prompt=prompt,
        tools=[create_manage_memory_tool(namespace=("memories",))],
        store=store,
        checkpointer=checkpointer,
    )
    return agent, store


@pytest.mark.parametrize("use_async", [False, ASYNC_IN_GRAPH])
async def test_hot_path_quickstart(use_async):
    model = ScriptedChatModel(
        [
            recall,
            ai(("manage_memory", {"content": "User prefers dark display mode"})),
            "Got it, I'll remember that you prefer dark mode.",
            recall,
        ]
    )
    agent, store = build_hot_path_agent(model)

    async def invoke(inputs, config):
        return await agent.ainvoke(inputs, config) if use_async else agent.invoke(inputs, config)

    config = {"configurable": {"thread_id": "thread-a"}}
    response = await invoke(
        {"messages": [{"role": "user", "content": "Know which display mode I prefer?"}]}, config
    )
    assert "don't seem to have any stored memories" in response["messages"][-1].content

    await invoke({"messages": [{"role": "user", "content": "dark. Remember that."}]}, config)
    assert values(store, ("memories",)) == [{"content": "User prefers dark display mode"}]

    new_config = {"configurable": {"thread_id": "thread-b"}}
    response = await invoke(
        {
            "messages": [
                {
                    "role": "user",
                    "content": "Hey there. Do you remember me? What are my preferences?",
                }
            ]
        },
        new_config,
    )
    assert "dark display mode" in response["messages"][-1].content
    # thread-b starts a fresh conversation: only the memory carries over
    last = model.calls[-1]
    assert [m.type for m in last.messages] == ["system", "human"]
    assert "Remember that" not in last.text


# --- guides/memory_tools.md ---------------------------------------------------------


def test_memory_tools_guide():
    from langgraph.prebuilt import create_react_agent
    from langgraph.store.memory import InMemoryStore

    from langmem import create_manage_memory_tool, create_search_memory_tool

    store = InMemoryStore(index=INDEX)
    model = ScriptedChatModel(
        [
            ai(("manage_memory", {"content": "favorite color is blue"})),
            "Saved.",
            ai(("manage_memory", {"content": "prefers dark mode"})),
            "Saved.",
            ai(("manage_memory", {"content": "prefers dark mode"})),
            "Saved.",
            ai(("search_memory", {"query": "preferences"})),
            lambda call: "You prefer: " + call.messages[-1].content,
        ]
    )
    agent = create_react_agent(
        model,
        tools=[
            create_manage_memory_tool(namespace=("memories", "{user_id}")),
            create_search_memory_tool(namespace=("memories", "{user_id}")),
        ],
        store=store,
    )

    agent.invoke(
        {"messages": [{"role": "user", "content": "Remember my favorite color is blue"}]},
        config={"configurable": {"user_id": "user-a"}},
    )
    agent.invoke(
        {"messages": [{"role": "user", "content": "Remember I prefer dark mode"}]},
        config={"configurable": {"user_id": "user-b"}},
    )
    assert values(store, ("memories", "user-a")) == [{"content": "favorite color is blue"}]
    assert values(store, ("memories", "user-b")) == [{"content": "prefers dark mode"}]
    # user-a's search tool never sees user-b's memories
    seen_by_a = create_search_memory_tool(namespace=("memories", "{user_id}"), store=store).invoke(
        {"query": "prefer dark mode"}, {"configurable": {"user_id": "user-a"}}
    )
    assert [f["namespace"] for f in json.loads(seen_by_a)] == [["memories", "user-a"]]

    config = {"configurable": {"user_id": "user-1"}}
    agent.invoke(
        {"messages": [{"role": "user", "content": "Remember I prefer dark mode"}]}, config=config
    )
    response = agent.invoke(
        {"messages": [{"role": "user", "content": "What are my preferences?"}]}, config=config
    )
    found = json.loads(response["messages"][-2].content)
    assert [f["namespace"] for f in found] == [["memories", "user-1"]]  # not user-a/user-b
    assert "dark mode" in response["messages"][-1].content


def test_memory_tools_guide_shared_storage():
    from langgraph.prebuilt import create_react_agent
    from langgraph.store.memory import InMemoryStore

    from langmem import create_manage_memory_tool, create_search_memory_tool

    store = InMemoryStore(index=INDEX)
    model_a = ScriptedChatModel([ai(("manage_memory", {"content": "source: arXiv 2401"})), "ok"])
    model_b = ScriptedChatModel(
        [
            ai(("manage_memory", {"content": "report due Friday"})),
            ai(("search_memory", {"query": "source report"})),
            "Hi! I can see the team's notes.",
        ]
    )
    agent_a_tools = [
        # Write to agent-specific namespace
        create_manage_memory_tool(namespace=("memories", "team_a", "agent_a")),
        # Read from shared team namespace
        create_search_memory_tool(namespace=("memories", "team_a")),
    ]
    agent_a = create_react_agent(
        model_a, tools=agent_a_tools, store=store, prompt="You are a research assistant"
    )
    agent_b_tools = [
        create_manage_memory_tool(namespace=("memories", "team_a", "agent_b")),
        create_search_memory_tool(namespace=("memories", "team_a")),
    ]
    agent_b = create_react_agent(
        model_b, tools=agent_b_tools, store=store, prompt="You are a report writer."
    )
    agent_a.invoke({"messages": [{"role": "user", "content": "Note the source"}]})
    result = agent_b.invoke({"messages": [{"role": "user", "content": "Hi"}]})

    assert values(store, ("memories", "team_a", "agent_a")) == [{"content": "source: arXiv 2401"}]
    assert values(store, ("memories", "team_a", "agent_b")) == [{"content": "report due Friday"}]
    searched = json.loads(result["messages"][-2].content)
    assert sorted(tuple(f["namespace"]) for f in searched) == [
        ("memories", "team_a", "agent_a"),
        ("memories", "team_a", "agent_b"),
    ]
    assert model_b.calls[0].messages[0].content == "You are a report writer."


# --- guides/dynamically_configure_namespaces.md ---------------------------------------


def as_platform(app, store):
    """The guide's agents have no store of their own: the LangGraph platform injects one."""
    app.store = store
    return app


def test_dynamic_namespaces_guide():
    from langgraph.prebuilt import create_react_agent

    from langmem import create_manage_memory_tool, create_search_memory_tool

    store = InMemoryStore(index=INDEX)
    model = ScriptedChatModel(
        [
            ai(("manage_memory", {"content": "likes dolphins"})),
            "Dolphins are great.",
            ai(("manage_memory", {"content": "questions the new health plan"})),
            "Noted.",
            ai(("search_memory", {"query": "dogs at work policy"})),
            "Here is what I know.",
            ai(("manage_memory", {"content": "likes dolphins"})),
            "Dolphins!",
        ]
    )

    # Create tool with {user_id} template
    tool = create_manage_memory_tool(namespace=("memories", "{user_id}"))
    app = as_platform(create_react_agent(model, tools=[tool]), store)
    app.invoke(
        {"messages": [{"role": "user", "content": "I like dolphins"}]},
        config={"configurable": {"user_id": "user-123"}},
    )  # Stores in ("memories", "user-123")
    assert values(store, ("memories", "user-123")) == [{"content": "likes dolphins"}]

    # Organization-level
    tool = create_manage_memory_tool(namespace=("memories", "{org_id}"))
    app = as_platform(create_react_agent(model, tools=[tool]), store)
    app.invoke(
        {
            "messages": [
                {"role": "user", "content": "I'm questioning the new company health plan.."}
            ]
        },
        config={"configurable": {"org_id": "acme"}},
    )
    assert {"content": "questions the new health plan"} in values(store, ("memories", "acme"))

    # User within organization
    tool = create_manage_memory_tool(namespace=("memories", "{org_id}", "{user_id}"))
    # If you wanted to, you could let the agent
    # search over all users within an organization
    tool = create_search_memory_tool(namespace=("memories", "{org_id}"))
    app = as_platform(create_react_agent(model, tools=[tool]), store)
    result = app.invoke(
        {"messages": [{"role": "user", "content": "What's our policy on dogs at work?"}]},
        config={"configurable": {"org_id": "acme", "user_id": "alice"}},
    )
    searched = json.loads(result["messages"][-2].content)
    assert {tuple(f["namespace"]) for f in searched} == {("memories", "acme")}

    # You could also organize memories by type or category if you prefer
    tool = create_manage_memory_tool(
        namespace=("agent_smith", "memories", "{user_id}", "preferences")
    )
    app = as_platform(create_react_agent(model, tools=[tool]), store)
    app.invoke(
        {"messages": [{"role": "user", "content": "I like dolphins"}]},
        config={"configurable": {"user_id": "alice"}},
    )
    assert values(store, ("agent_smith", "memories", "alice", "preferences")) == [
        {"content": "likes dolphins"}
    ]


def test_dynamic_namespaces_guide_errors_are_clear():
    from langgraph.prebuilt import create_react_agent

    from langmem import create_manage_memory_tool

    tool = create_manage_memory_tool(namespace=("memories", "{user_id}"))
    model = ScriptedChatModel([ai(("manage_memory", {"content": "x"})), "ok"])
    with pytest.raises(ConfigurationError, match="store"):  # no store anywhere
        create_react_agent(model, tools=[tool]).invoke(
            {"messages": [("user", "hi")]}, {"configurable": {"user_id": "u"}}
        )
    model = ScriptedChatModel([ai(("manage_memory", {"content": "x"})), "ok"])
    app = as_platform(create_react_agent(model, tools=[tool]), InMemoryStore())
    with pytest.raises(ConfigurationError, match="Missing key .*user_id"):
        app.invoke({"messages": [("user", "hi")]}, {"configurable": {"org_id": "acme"}})


# --- guides/use_tools_in_crewai.md: a stand-in for CrewAI's tool loop -----------------


@dataclass
class Agent:
    """CrewAI's Agent surface used by the guide."""

    role: str
    goal: str
    backstory: str
    tools: list
    function_calling_llm: Any = None
    verbose: bool = False


@dataclass
class Task:
    description: str
    agent: Agent
    expected_output: str


@dataclass
class Crew:
    """Runs each task: the agent's LLM picks tools (by name/description/schema) and CrewAI
    calls ``tool.invoke`` with the arguments, as a dict or as the raw JSON string."""

    agents: list
    tasks: list
    outputs: list = field(default_factory=list)

    def kickoff(self):
        for task in self.tasks:
            llm = task.agent.function_calling_llm
            specs = [
                {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.tool_call_schema.model_json_schema(),
                }
                for t in task.agent.tools
            ]
            tools = {t.name: t for t in task.agent.tools}
            for name, arguments in llm(task.description, specs):
                self.outputs.append(tools[name].invoke(arguments))
        return self.outputs[-1]


def test_crewai_guide():
    from langgraph.store.memory import InMemoryStore

    from langmem import create_manage_memory_tool, create_search_memory_tool

    quotes = (
        '"The bond between Nezuko and I can never be severed." - Tanjiro Kamado\n'
        '"Never give up! Never stop fighting until your last breath!" - Giyu Tomioka'
    )
    seen_specs = []

    def function_calling_llm(description, specs):
        seen_specs.extend(specs)
        if "Save" in description:
            return [("manage_memory", json.dumps({"content": quotes}))]
        return [("search_memory", {"query": "teammates Demon Slayer"})]

    # Set up shared store
    store = InMemoryStore(index=INDEX)
    base_tools = [
        create_manage_memory_tool(namespace="memories", store=store),
        create_search_memory_tool(namespace="memories", store=store),
    ]
    learner = Agent(
        role="Knowledge Learner",
        goal="Learn and store new information in the knowledge base",
        backstory="Your name is Hannah and you are a little too into Demon Slayers.",
        tools=base_tools,
        function_calling_llm=function_calling_llm,
    )
    teacher = Agent(
        role="Knowledge Teacher",
        goal="Use stored knowledge to answer questions",
        tools=base_tools,
        backstory="You were born on the Nile in the midst of the great pestilence..",
        function_calling_llm=function_calling_llm,
    )
    learn_task = Task(
        description="Save some of your favorite Demon Slayer quotes in memory.",
        agent=learner,
        expected_output="Response:",
    )
    crew = Crew(agents=[learner, teacher], tasks=[learn_task])
    result = crew.kickoff()
    assert result.startswith("created memory ")

    teach_task = Task(
        description="Search your memories for information about your teammates.",
        agent=teacher,
        expected_output="Response:",
    )
    crew = Crew(agents=[learner, teacher], tasks=[teach_task])
    result = crew.kickoff()
    assert json.loads(result)[0]["value"] == {"content": quotes}
    assert values(store, ("memories",)) == [{"content": quotes}]
    assert {s["name"] for s in seen_specs} == {"manage_memory", "search_memory"}
    assert all(s["description"] and s["parameters"]["type"] == "object" for s in seen_specs)


# --- guides/use_tools_in_custom_agent.md: scripted Anthropic / OpenAI clients ------------


def fake_anthropic(script: list[list[dict]], requests: list) -> types.ModuleType:
    """An ``anthropic`` module whose client replies with scripted content blocks."""

    class Messages:
        def create(self, **kwargs):
            requests.append(kwargs)
            blocks = [types.SimpleNamespace(**b) for b in script.pop(0)]
            return types.SimpleNamespace(content=blocks)

    class Anthropic:
        def __init__(self):
            self.messages = Messages()

    return types.SimpleNamespace(Anthropic=Anthropic)


def test_custom_agent_guide_anthropic(monkeypatch):
    requests: list = []
    script = [
        [
            {"type": "text", "text": "I'll remember both."},
            {"type": "tool_use", "id": "t1", "name": "manage_memory",
             "input": {"content": "User likes cherry pie"}},
            {"type": "tool_use", "id": "t2", "name": "manage_memory",
             "input": {"content": "User dislikes rocky road"}},
        ],
        [{"type": "text", "text": "I've created both memories."}],
    ]  # fmt: skip
    monkeypatch.setitem(sys.modules, "anthropic", fake_anthropic(script, requests))

    from typing import Dict, List  # noqa: UP035

    import anthropic
    from langgraph.store.memory import InMemoryStore

    from langmem import create_manage_memory_tool, create_search_memory_tool

    def execute_tool(tools_by_name: Dict[str, Any], tool_call: Dict[str, Any]) -> str:  # noqa: UP006
        """Execute a tool call and return the result"""
        tool_name = tool_call.name

        if tool_name not in tools_by_name:
            return f"Error: Tool {tool_name} not found"

        tool = tools_by_name[tool_name]
        try:
            result = tool.invoke(tool_call.input)
            return str(result)
        except Exception as e:
            return f"Error executing {tool_name}: {str(e)}"

    def run_agent(tools: List[Any], user_input: str, max_steps: int = 5) -> str:  # noqa: UP006
        """Run a simple agent loop that can use tools"""
        # Setup
        client = anthropic.Anthropic()
        tools_by_name = {tool.name: tool for tool in tools}

        # Convert tools to Anthropic's format
        anthropic_tools = [
            {
                "name": tool.name,
                "description": tool.description,
                "input_schema": tool.tool_call_schema.model_json_schema(),
            }
            for tool in tools
        ]

        messages = [{"role": "user", "content": user_input}]

        # REACT loop
        for step in range(max_steps):
            # Get next action from Claude
            tools = anthropic_tools if step < max_steps - 1 else []
            response = client.messages.create(
                model="claude-3-5-sonnet-latest",
                max_tokens=1024,
                temperature=0.7,
                tools=tools,
                messages=messages,
            )
            tool_calls = [content for content in response.content if content.type == "tool_use"]
            if not tool_calls:
                # No more tools to call, return the final response
                return "".join([block.text for block in response.content if block.type == "text"])
            messages.append({"role": "assistant", "content": response.content})
            for tool_call in tool_calls:
                tool_result = execute_tool(tools_by_name, tool_call)

                # Add the tool call and result to the conversation
                messages.append(
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": tool_call.id,
                                "content": tool_result,
                            }
                        ],
                    },
                )

        return "Reached maximum number of steps"

    store = InMemoryStore(index=INDEX)
    memory_tools = [
        create_manage_memory_tool(namespace="memories", store=store),
        create_search_memory_tool(namespace="memories", store=store),
    ]
    result = run_agent(
        tools=memory_tools,
        user_input="Remember that I like cherry pie. Then remember that I dislike rocky road.",
    )
    assert result == "I've created both memories."
    assert sorted(v["content"] for v in values(store, ("memories",))) == [
        "User dislikes rocky road",
        "User likes cherry pie",
    ]
    sent_tools = requests[0]["tools"]
    assert [t["name"] for t in sent_tools] == ["manage_memory", "search_memory"]
    assert sent_tools[1]["input_schema"]["required"] == ["query"]
    results = [m["content"][0]["content"] for m in requests[1]["messages"][2:]]
    assert all(r.startswith("created memory ") for r in results) and len(results) == 2


class _ToolCall(BaseModel):
    id: str
    type: str = "function"
    function: dict


def fake_openai(script: list[list[tuple[str, str]]], requests: list) -> types.ModuleType:
    """An ``openai`` module whose client replies with scripted tool calls (raw JSON args)."""

    class Completions:
        def create(self, **kwargs):
            requests.append(kwargs)
            calls = [
                _ToolCall(id=f"call_{i}", function={"name": name, "arguments": args})
                for i, (name, args) in enumerate(script.pop(0))
            ]
            content = None if calls else "I've remembered that you like cherry pie..."
            message = types.SimpleNamespace(content=content, tool_calls=calls or None)
            return types.SimpleNamespace(choices=[types.SimpleNamespace(message=message)])

    class OpenAI:
        def __init__(self):
            self.chat = types.SimpleNamespace(completions=Completions())

    return types.SimpleNamespace(OpenAI=OpenAI)


def test_custom_agent_guide_openai(monkeypatch):
    requests: list = []
    script = [
        [
            ("manage_memory", '{"action":"create","content":"likes cherry pie"}'),
            ("manage_memory", '{"action":"create","content":"dislikes rocky road"}'),
        ],
        [("search_memory", '{"query":"pie"}')],
        [],
    ]
    monkeypatch.setitem(sys.modules, "openai", fake_openai(script, requests))

    from typing import Dict, List  # noqa: UP035

    from langgraph.store.memory import InMemoryStore
    from openai import OpenAI

    from langmem import create_manage_memory_tool, create_search_memory_tool

    def execute_tool(tools_by_name: Dict[str, Any], tool_call: Dict[str, Any]) -> str:  # noqa: UP006
        """Execute a tool call and return the result"""
        tool_name = tool_call["function"]["name"]

        if tool_name not in tools_by_name:
            return f"Error: Tool {tool_name} not found"

        tool = tools_by_name[tool_name]
        try:
            result = tool.invoke(tool_call["function"]["arguments"])
            return str(result)
        except Exception as e:
            return f"Error executing {tool_name}: {str(e)}"

    def run_agent(tools: List[Any], user_input: str, max_steps: int = 5) -> str:  # noqa: UP006
        """Run a simple agent loop that can use tools"""
        # Setup
        client = OpenAI()
        tools_by_name = {tool.name: tool for tool in tools}

        # Convert tools to OpenAI's format
        openai_tools = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.tool_call_schema.model_json_schema(),
                },
            }
            for tool in tools
        ]

        messages = [{"role": "user", "content": user_input}]

        # REACT loop
        for step in range(max_steps):
            # Get next action
            response = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=messages,
                tools=openai_tools if step < max_steps - 1 else [],
                tool_choice="auto",
            )
            message = response.choices[0].message
            tool_calls = message.tool_calls

            if not tool_calls:
                # No more tools to call, return the final response
                return message.content

            messages.append(
                {"role": "assistant", "content": message.content, "tool_calls": tool_calls}
            )

            for tool_call in tool_calls:
                tool_result = execute_tool(tools_by_name, tool_call.model_dump())
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": tool_call.id,
                        "content": tool_result,
                    }
                )

        return "Reached maximum number of steps"

    store = InMemoryStore(index=INDEX)
    memory_tools = [
        create_manage_memory_tool(namespace="memories", store=store),
        create_search_memory_tool(namespace="memories", store=store),
    ]
    result = run_agent(
        tools=memory_tools,
        user_input="Remember that I like cherry pie. Then remember that I dislike rocky road.",
    )
    assert result.startswith("I've remembered")
    # The JSON argument strings are decoded: only the content is stored.
    assert sorted(v["content"] for v in values(store, ("memories",))) == [
        "dislikes rocky road",
        "likes cherry pie",
    ]
    search_result = requests[2]["messages"][-1]["content"]
    assert json.loads(search_result)[0]["value"] == {"content": "likes cherry pie"}
    assert requests[0]["tools"][0]["function"]["parameters"]["properties"]["action"]["default"] == (
        "create"
    )


def test_custom_agent_errors_raise_or_come_back_as_tool_messages():
    from langmem import create_manage_memory_tool

    tool = create_manage_memory_tool(namespace="memories", store=InMemoryStore())
    reply = tool.invoke('{"action":"delete","id":"0b9f5cf6-8c2e-4a3b-9d0a-3c1d5b7e9f00"}')
    assert reply == "Deleted memory 0b9f5cf6-8c2e-4a3b-9d0a-3c1d5b7e9f00"  # as in LangMem
    with pytest.raises(ValueError, match="Pass the id"):  # a direct call raises, as in LangMem
        tool.invoke('{"action":"update","content":"x"}')
    message = tool.invoke(
        {"type": "tool_call", "id": "x", "name": "manage_memory", "args": {"action": "update"}}
    )
    assert isinstance(message, ToolMessage) and message.status == "error"
