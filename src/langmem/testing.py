"""Test helpers: a scripted chat model and a deterministic embedder.

Both work offline and are deterministic, so examples and tests can run without
an LLM API::

    model = ScriptedChatModel(script=[ai(("Memory", {"content": "User likes tea"}))])
    manager = create_memory_manager(model)
    manager.invoke({"messages": [...]})
    model.calls[0].tool_names   # ['Memory']
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

__all__ = [
    "HashEmbeddings",
    "ModelCall",
    "ScriptExhausted",
    "ScriptedChatModel",
    "ai",
    "count_prompt_tokens",
]

Reply = AIMessage | str | Callable[["ModelCall"], "AIMessage | str"]

_ids = itertools.count()


def ai(*calls: tuple[str, dict] | dict, content: str = "") -> AIMessage:
    """An ``AIMessage`` making the given tool calls.

    Each call is ``(name, args)`` or a full tool-call dict. An ``args`` that is a
    ``str`` is treated as raw (possibly malformed) JSON and becomes an
    ``invalid_tool_call`` when it does not parse, the way chat models report it.
    """
    tool_calls: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for call in calls:
        if isinstance(call, dict):
            tool_calls.append({"type": "tool_call", "id": f"call_{next(_ids)}", **call})
            continue
        name, args = call
        call_id = f"call_{next(_ids)}"
        if isinstance(args, str):
            try:
                parsed = json.loads(args)
            except ValueError as exc:
                invalid.append(
                    {
                        "type": "invalid_tool_call",
                        "name": name,
                        "args": args,
                        "id": call_id,
                        "error": f"invalid JSON: {exc}",
                    }
                )
                continue
            args = parsed
        tool_calls.append({"type": "tool_call", "name": name, "args": args, "id": call_id})
    return AIMessage(content=content, tool_calls=tool_calls, invalid_tool_calls=invalid)


def count_prompt_tokens(messages: Sequence[BaseMessage], tools: Sequence[dict] = ()) -> int:
    """Approximate prompt tokens (about 4 characters per token), tools included."""
    chars = sum(len(str(m.content)) + len(m.type) + 4 for m in messages)
    chars += sum(len(json.dumps(m.tool_calls)) for m in messages if isinstance(m, AIMessage))
    chars += sum(len(json.dumps(t)) for t in tools)
    return math.ceil(chars / 4)


@dataclass
class ModelCall:
    """One call the scripted model received."""

    messages: list[BaseMessage]
    tools: list[dict] = field(default_factory=list)  # OpenAI tool format
    tool_choice: Any = None
    kwargs: dict = field(default_factory=dict)
    response: AIMessage | None = None

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools]

    @property
    def prompt_tokens(self) -> int:
        return count_prompt_tokens(self.messages, self.tools)

    @property
    def text(self) -> str:
        """All message contents joined, for asserting what the model was shown."""
        return "\n".join(str(m.content) for m in self.messages)


class ScriptExhausted(AssertionError):
    """The scripted model was called more times than it has replies."""


class ScriptedChatModel(GenericFakeChatModel):
    """A chat model that replies from a script and records every call.

    ``script`` items are ``AIMessage``s, strings, or callables receiving the
    :class:`ModelCall` (messages, tools, tool_choice) and returning a reply.
    When the script runs out, ``default`` is used if set, else
    :class:`ScriptExhausted` is raised. ``bind_tools`` returns a bound copy
    that shares the script and the record, so it works with
    ``create_react_agent`` and ``with_structured_output``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    messages: Any = Field(default_factory=lambda: iter(()))  # unused GenericFake field
    script: deque = Field(default_factory=deque)
    default: Any = None
    calls: list = Field(default_factory=list)
    bound_tools: list = Field(default_factory=list)
    tool_choice: Any = None
    disable_streaming: bool = True
    lock: Any = Field(default_factory=threading.Lock, exclude=True)

    def __init__(self, script: Sequence[Reply] = (), **kwargs: Any) -> None:
        # Through kwargs: mypy checks a keyword against GenericFakeChatModel's fields,
        # which do not include this class's ``script``.
        kwargs["script"] = deque(script)
        super().__init__(**kwargs)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    def add(self, *replies: Reply) -> ScriptedChatModel:
        """Append replies to the script."""
        self.script.extend(replies)
        return self

    @property
    def remaining(self) -> int:
        return len(self.script)

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any):
        converted = [convert_to_openai_tool(t) for t in tools]
        return self.model_copy(update={"bound_tools": converted, "tool_choice": tool_choice})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = ModelCall(
            messages=list(messages),
            tools=list(self.bound_tools),
            tool_choice=self.tool_choice,
            kwargs=kwargs,
        )
        with self.lock:
            self.calls.append(call)
            if self.script:
                reply = self.script.popleft()
            elif self.default is not None:
                reply = self.default
            else:
                raise ScriptExhausted(
                    f"ScriptedChatModel has no reply left for call #{len(self.calls)}"
                )
        if callable(reply) and not isinstance(reply, BaseMessage):
            reply = reply(call)
        message = AIMessage(content=reply) if isinstance(reply, str) else reply
        message = message.model_copy(update={"id": message.id or f"run-{next(_ids)}"})
        call.response = message
        return ChatResult(generations=[ChatGeneration(message=message)])


_WORD = re.compile(r"[a-z0-9]+")


class HashEmbeddings(Embeddings):
    """Deterministic bag-of-words embeddings: shared words mean higher similarity.

    Each lower-cased word (and, with weight 0.5, each word bigram) is hashed
    into ``dims`` signed buckets; vectors are L2-normalised. Fast and offline,
    for tests and examples, not for quality.
    """

    def __init__(self, dims: int = 128) -> None:
        self.dims = dims

    def _embed(self, text: str) -> list[float]:
        vec = [0.0] * self.dims
        words = _WORD.findall(text.lower())
        grams = [(w, 1.0) for w in words] + [(f"{a} {b}", 0.5) for a, b in zip(words, words[1:])]
        for gram, weight in grams:
            digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dims
            sign = 1.0 if digest[4] & 1 else -1.0
            vec[bucket] += sign * weight
        norm = math.sqrt(sum(v * v for v in vec))
        return [v / norm for v in vec] if norm else vec

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)
