"""One code path for sync and async: flows yield effects, drivers perform them.

A *flow* is a generator holding all the logic of an operation. Whenever it needs
I/O it yields an *effect* (call a model, run store ops, run several effects at
once) and is sent the effect's result; its return value is the operation's
result. ``drive`` performs effects synchronously and ``adrive`` asynchronously,
so every behaviour is written once (the shape of httpx's ``auth_flow``).

An effect that raises is thrown back into the flow, which may handle it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.utils import Input, Output
from langgraph.store.base import BaseStore, Op, Result

T = TypeVar("T")

__all__ = [
    "CallModel",
    "CallRunnable",
    "Effect",
    "Flow",
    "FlowRunnable",
    "Gather",
    "StoreBatch",
    "adrive",
    "drive",
]


class Effect:
    """Something a flow needs done. Subclasses implement ``run`` and ``arun``."""

    def run(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def arun(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class CallModel(Effect):
    """Call a chat model once, optionally with tools bound; result: ``AIMessage``."""

    model: BaseChatModel
    messages: Sequence[BaseMessage]
    tools: Sequence[Any] = ()
    tool_choice: str | None = None
    config: RunnableConfig | None = None

    def bound(self) -> Runnable:
        if not self.tools:
            return self.model
        kwargs = {} if self.tool_choice is None else {"tool_choice": self.tool_choice}
        return self.model.bind_tools(list(self.tools), **kwargs)

    def run(self) -> AIMessage:
        return self.bound().invoke(list(self.messages), self.config)

    async def arun(self) -> AIMessage:
        return await self.bound().ainvoke(list(self.messages), self.config)


@dataclass(frozen=True)
class StoreBatch(Effect):
    """Run store operations in one ``batch``; result: the list of results.

    ``origin`` names the writer where nothing else does and ``reasons`` gives each
    written item its reason, for the stores that keep a history
    (:mod:`langmem.store.history`)."""

    store: BaseStore
    ops: Sequence[Op]
    origin: str | None = None
    reasons: Mapping[tuple[tuple[str, ...], str], str] | None = None

    def run(self) -> list[Result]:
        if not self.ops:
            return []
        with self._recording():
            return self.store.batch(list(self.ops))

    async def arun(self) -> list[Result]:
        if not self.ops:
            return []
        with self._recording():
            return await self.store.abatch(list(self.ops))

    @contextlib.contextmanager
    def _recording(self) -> Iterator[None]:
        from langmem.store.history import recording_origin, recording_reason

        with contextlib.ExitStack() as stack:
            if self.origin is not None:
                stack.enter_context(recording_origin(self.origin, fallback=True))
            if self.reasons is not None:
                stack.enter_context(recording_reason(self.reasons))
            yield


@dataclass(frozen=True)
class CallRunnable(Effect):
    """Invoke any runnable; result: its output."""

    runnable: Runnable
    input: Any
    config: RunnableConfig | None = None

    def run(self) -> Any:
        return self.runnable.invoke(self.input, self.config)

    async def arun(self) -> Any:
        return await self.runnable.ainvoke(self.input, self.config)


@dataclass(frozen=True)
class Gather(Effect):
    """Run several effects concurrently; result: their results in order.

    Sync runs use a small thread pool (model calls are I/O bound); the first
    exception is raised after all effects have finished.
    """

    effects: Sequence[Effect] = field(default_factory=tuple)

    def run(self) -> list[Any]:
        if len(self.effects) <= 1:
            return [e.run() for e in self.effects]
        with ThreadPoolExecutor(max_workers=min(8, len(self.effects))) as pool:
            futures = [pool.submit(_run_in_context(e)) for e in self.effects]
            return [f.result() for f in futures]

    async def arun(self) -> list[Any]:
        return list(await asyncio.gather(*(e.arun() for e in self.effects)))


def _run_in_context(effect: Effect):
    """Carry the caller's contextvars (LangGraph config, store) into a worker thread."""
    import contextvars

    ctx = contextvars.copy_context()
    return lambda: ctx.run(effect.run)


Flow = Generator[Effect, Any, T]


def drive(flow: Flow[T], perform: Callable[[Any], Any] | None = None) -> T:
    """Run a flow to completion, performing its effects synchronously (``perform``,
    default ``effect.run()``: a driver whose effects need its resources, e.g. a cursor)."""
    perform = perform or _run
    try:
        effect = next(flow)
        while True:
            try:
                result = perform(effect)
            except Exception as exc:  # handed to the flow, which may recover
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop:
        return stop.value


async def adrive(flow: Flow[T], perform: Callable[[Any], Awaitable[Any]] | None = None) -> T:
    """Run a flow to completion, performing its effects asynchronously (``perform``,
    default ``effect.arun()``)."""
    perform = perform or _arun
    try:
        effect = next(flow)
        while True:
            try:
                result = await perform(effect)
            except Exception as exc:  # handed to the flow, which may recover
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop:
        return stop.value


def _run(effect: Effect) -> Any:
    return effect.run()


def _arun(effect: Effect) -> Awaitable[Any]:
    return effect.arun()


class FlowRunnable(Runnable[Input, Output]):
    """A runnable whose ``invoke`` and ``ainvoke`` drive one ``_flow``."""

    def _flow(self, input: Input, config: RunnableConfig | None) -> Flow[Output]:
        raise NotImplementedError  # pragma: no cover - abstract

    def invoke(self, input: Input, config: RunnableConfig | None = None, **kwargs: Any) -> Output:
        return drive(self._flow(input, config))

    async def ainvoke(
        self, input: Input, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Output:
        return await adrive(self._flow(input, config))
