"""Model resolution, namespace templates, the scripted model and the effect drivers."""

from __future__ import annotations

import asyncio
import math

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.store.base import GetOp, PutOp
from langgraph.store.memory import InMemoryStore

import langmem
from langmem._effects import CallModel, Gather, StoreBatch, adrive, drive
from langmem._models import resolve_chat_model
from langmem.errors import ConfigurationError
from langmem.testing import HashEmbeddings, ScriptedChatModel, ScriptExhausted, ai
from langmem.utils import NamespaceTemplate

pytestmark = pytest.mark.core


def test_public_names_resolve_lazily():
    assert "create_memory_manager" in langmem.__all__
    assert langmem.utils.NamespaceTemplate is NamespaceTemplate
    with pytest.raises(AttributeError):
        langmem.does_not_exist  # noqa: B018


def test_configuration_error_is_a_value_error():
    # `except Exception` / `except ValueError` catch a missing key, package or API key
    assert issubclass(ConfigurationError, ValueError)


class TestResolveChatModel:
    def test_instance_passes_through(self):
        m = ScriptedChatModel()
        assert resolve_chat_model(m) is m

    def test_missing_provider_package_names_it(self, monkeypatch):
        monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
        import importlib.util

        real = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: None if name == "langchain_anthropic" else real(name, *a),
        )
        with pytest.raises(ConfigurationError, match=r"pip install -e '/.*\[anthropic\]'"):
            resolve_chat_model("anthropic:claude-3-5-sonnet-latest")
        monkeypatch.setenv("GROQ_API_KEY", "x")
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
        with pytest.raises(ConfigurationError, match='pip install langchain-groq "langchain-core'):
            resolve_chat_model("groq:llama-3.1-8b-instant")

    def test_missing_api_key_names_variable(self, monkeypatch):
        import importlib.util

        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        real = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: object() if name == "langchain_openai" else real(name, *a),
        )
        with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
            resolve_chat_model("openai:gpt-4o-mini")

    def test_garbage_is_a_type_error(self):
        with pytest.raises(TypeError):
            resolve_chat_model(42)  # type: ignore[arg-type]


class TestNamespaceTemplate:
    def test_fills_variables(self):
        ns = NamespaceTemplate(("memories", "{user_id}", "user-{id}"))
        assert ns({"configurable": {"user_id": "u1"}}) == ("memories", "u1", "user-{id}")
        assert ns.variables == ("user_id",)

    def test_string_is_one_element(self):
        assert NamespaceTemplate("memories")() == ("memories",)

    def test_missing_key_names_key_and_available(self):
        ns = NamespaceTemplate(("memories", "{user_id}"))
        with pytest.raises(ConfigurationError) as err:
            ns({"configurable": {"foo": "x"}})
        assert (
            str(err.value)
            == "Missing key in 'configurable' field: user_id. Available keys: ['foo']"
        )
        with pytest.raises(ConfigurationError, match="user_id"):
            ns()

    @pytest.mark.parametrize("bad", ["", "a.b", 7, None])
    def test_bad_values_rejected(self, bad):
        with pytest.raises(ConfigurationError, match="user_id"):
            NamespaceTemplate(("m", "{user_id}"))({"configurable": {"user_id": bad}})

    def test_ambient_config_inside_graph(self):
        from langgraph.func import entrypoint

        ns = NamespaceTemplate(("m", "{user_id}"))

        @entrypoint()
        def app(_: str) -> tuple:
            return ns()

        assert app.invoke("x", {"configurable": {"user_id": "amb"}}) == ("m", "amb")

    def test_empty_template_rejected(self):
        with pytest.raises(ValueError):
            NamespaceTemplate(())


class TestScriptedChatModel:
    def test_records_calls_tools_and_choice(self):
        from pydantic import BaseModel

        class Memory(BaseModel):
            content: str

        model = ScriptedChatModel([ai(("Memory", {"content": "hi"})), "plain"])
        bound = model.bind_tools([Memory], tool_choice="any")
        out = bound.invoke([HumanMessage("hello")])
        assert out.tool_calls[0]["name"] == "Memory"
        assert out.tool_calls[0]["args"] == {"content": "hi"}
        assert model.invoke("again").content == "plain"
        assert [c.tool_names for c in model.calls] == [["Memory"], []]
        assert model.calls[0].tool_choice == "any"
        assert model.calls[0].messages[0].content == "hello"
        assert model.calls[0].prompt_tokens > 0
        with pytest.raises(ScriptExhausted):
            model.invoke("more")

    def test_callable_reply_sees_the_call(self):
        model = ScriptedChatModel([lambda call: f"you said {call.messages[-1].content}"])
        assert model.invoke("x").content == "you said x"

    def test_malformed_json_becomes_invalid_tool_call(self):
        msg = ai(("Memory", "{not json"))
        assert msg.tool_calls == [] and msg.invalid_tool_calls[0]["name"] == "Memory"

    async def test_async(self):
        model = ScriptedChatModel(["a"])
        assert (await model.ainvoke("x")).content == "a"

    def test_works_with_create_react_agent(self):
        from langchain_core.tools import tool
        from langgraph.prebuilt import create_react_agent

        @tool
        def add(a: int, b: int) -> int:
            """Add two numbers."""
            return a + b

        model = ScriptedChatModel([ai(("add", {"a": 2, "b": 3})), "It is 5."])
        agent = create_react_agent(model, tools=[add])
        result = agent.invoke({"messages": [{"role": "user", "content": "2+3?"}]})
        assert result["messages"][-1].content == "It is 5."
        assert result["messages"][2].content == "5"
        assert model.calls[0].tool_names == ["add"]


def test_hash_embeddings_rank_word_overlap():
    emb = HashEmbeddings(dims=256)
    q = emb.embed_query("dark mode preference")
    a, b = emb.embed_documents(["User prefers dark mode", "Bob leads the ML team"])
    dot = lambda x, y: sum(i * j for i, j in zip(x, y))  # noqa: E731
    assert dot(q, a) > dot(q, b)
    assert math.isclose(dot(a, a), 1.0, rel_tol=1e-9)
    assert emb.embed_query("same text") == emb.embed_query("same text")


def _flow(model, store):
    reply = yield CallModel(model, [HumanMessage("hi")])
    yield StoreBatch(store, [PutOp(("ns",), "k", {"v": reply.content})])
    both = yield Gather(
        [CallModel(model, [HumanMessage("a")]), StoreBatch(store, [GetOp(("ns",), "k")])]
    )
    try:
        yield CallModel(model, [HumanMessage("fails")])
    except Exception as exc:  # errors are thrown back into the flow
        failed = type(exc).__name__
    return both[0].content, both[1][0].value, failed


def test_sync_and_async_drivers_run_the_same_flow():
    results = []
    for runner in (drive, lambda f: asyncio.run(adrive(f))):
        model = ScriptedChatModel(["one", "two"])
        store = InMemoryStore()
        results.append(runner(_flow(model, store)))
    assert results[0] == results[1] == ("two", {"v": "one"}, "ScriptExhausted")


def test_ai_message_type():
    assert isinstance(ai(("x", {})), AIMessage)


@pytest.mark.parametrize(
    ("direct_url", "command"),
    [
        ('{"url": "file:///src/lm", "dir_info": {"editable": true}}', "pip install -e '/src/lm[mcp]'"),
        ('{"url": "file:///src/lm", "dir_info": {}}', "pip install '/src/lm[mcp]'"),
        (
            '{"url": "file:///d/langmem_plus-0.1.0-py3-none-any.whl", "archive_info": {}}',
            "pip install '/d/langmem_plus-0.1.0-py3-none-any.whl[mcp]'",
        ),
        (None, "pip install 'langmem-plus[mcp]'"),
    ],
)
def test_install_hints_name_where_this_package_came_from(monkeypatch, direct_url, command):
    from importlib import metadata

    from langmem import _extras

    class Dist:
        def read_text(self, name):
            assert name == "direct_url.json"
            return direct_url

    monkeypatch.setattr(metadata, "distribution", lambda name: Dist())
    assert _extras.install_extra("mcp").endswith(command)
