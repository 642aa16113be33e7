"""The memory manager's protocol, with no I/O (h11's shape).

A :class:`Session` turns a conversation and existing memories into model
requests (:class:`ModelRequest`: messages, tools, ``tool_choice``) and turns
each ``AIMessage`` reply into validated inserts, RFC 6902 patches and removals.
Invalid tool calls are never applied: they become :class:`RejectedCall`
records and, while the repair budget lasts, ToolMessages asking the model to
fix them. The caller only moves requests to a model and replies back::

    session = Session(messages, existing, schemas=[Memory], ...)
    request = session.start()
    while request is not None:
        request = session.receive(model.bind_tools(...).invoke(request.messages))
    session.results()
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import GenericAlias
from typing import Any, Literal, NamedTuple, Union

import jsonpatch
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    MessageLikeRepresentation,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from langmem._clip import clip_reply, clip_text
from langmem.knowledge._time import message_time, reference_text

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "MAX_REPAIRS",
    "Done",
    "ExtractedMemory",
    "Memory",
    "ModelRequest",
    "PatchDoc",
    "RejectedCall",
    "RemoveDoc",
    "Session",
    "normalize_existing",
    "normalize_schemas",
    "parse_single",
    "render_conversation",
]

MAX_REPAIRS = 2  # repair calls per step after a reply with rejected tool calls
MAX_LISTED_IDS = 50  # RemoveDoc/PatchDoc descriptions list ids up to this many

DEFAULT_INSTRUCTIONS = (
    "You curate the long-term memory of an assistant. From the conversation, keep a "
    "collection of memories that is accurate, complete and free of duplicates: record "
    "durable facts, preferences, events and insights worth recalling later; correct or "
    "extend a memory when new information changes it, rather than adding a near-copy; "
    "remove memories that proved wrong or obsolete when removal is available. Skip "
    "small talk and anything that will not matter in a later conversation."
)


class Memory(BaseModel):
    """Record one self-contained memory: a fact, preference, event or insight worth keeping."""

    content: str = Field(
        description="The memory as a standalone statement, understandable without the conversation."
    )


class RemoveDoc(BaseModel):
    """Delete a memory that is wrong, obsolete or duplicated; also the marker of a removal."""

    json_doc_id: str = Field(description="Id of the memory to delete.")


class PatchOp(BaseModel):
    """One RFC 6902 operation."""

    op: Literal["add", "remove", "replace"]
    path: str = Field(description="JSON Pointer into the memory, e.g. '/content' or '/items/-'.")
    value: Any = Field(default=None, description="New JSON value (not needed for 'remove').")


class PatchDoc(BaseModel):
    """Edit an existing memory in place with JSON Patch (RFC 6902) operations."""

    json_doc_id: str = Field(description="Id of the memory to edit.")
    planned_edits: str = Field(default="", description="One line: what changes and why.")
    patches: list[PatchOp] = Field(description="Operations applied to the memory's JSON.")

    @field_validator("patches", mode="before")
    @classmethod
    def _parse_json_string(cls, value: Any) -> Any:
        # Models sometimes send the list as a JSON string.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value


class Done(BaseModel):
    """Finish: call this when the memories need no further changes."""


RESERVED = {"PatchDoc", "RemoveDoc", "Done"}


class ExtractedMemory(NamedTuple):
    """One result: a memory id and its value (``RemoveDoc`` marks a removal)."""

    id: str
    content: BaseModel | dict


@dataclass(frozen=True)
class RejectedCall:
    """A tool call that was not applied, and why.

    ``attempt`` is 0 for the step's first reply and n for the n-th repair reply;
    ``repair_requested`` tells whether the model was then asked to fix it (the
    budget is ``MAX_REPAIRS`` repair calls per step).
    """

    name: str
    call_id: str | None
    args: Any
    error: str
    step: int
    attempt: int
    repair_requested: bool


@dataclass(frozen=True)
class ModelRequest:
    """One model call: the prompt, the tools to bind and the ``tool_choice``."""

    messages: list[BaseMessage]
    tools: list[Any]
    tool_choice: str | None


# --- schemas -----------------------------------------------------------------

_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "null": type(None),
}


def normalize_schemas(schemas: Sequence[type[BaseModel] | dict]) -> list[type[BaseModel]]:
    """Pydantic classes as they are; JSON-schema dicts become pydantic models named by ``title``."""
    models: list[type[BaseModel]] = []
    for schema in schemas:
        if isinstance(schema, dict):
            if not isinstance(schema.get("title"), str) or not schema["title"].strip():
                raise ValueError(f"A JSON-schema dict needs a 'title' (its tool name): {schema!r}")
            models.append(_model_from_json_schema(schema, schema, schema["title"]))
        elif isinstance(schema, type) and issubclass(schema, BaseModel):
            models.append(schema)
        else:
            raise TypeError(f"schemas items must be pydantic models or dicts, got {schema!r}")
    names = [m.__name__ for m in models]
    if not names:
        raise ValueError("schemas must not be empty")
    if len(set(names)) != len(names):
        raise ValueError(f"schema names must be unique, got {names}")
    if clash := RESERVED.intersection(names):
        raise ValueError(f"schema names {sorted(clash)} are reserved for the manager's own tools")
    return models


def _resolve(node: dict, root: dict) -> dict:
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    return _resolve(target, root)


def _type_of(node: Any, root: dict, name: str) -> Any:
    if not isinstance(node, dict):
        return Any
    node = _resolve(node, root)
    if "enum" in node:
        return Literal[tuple(node["enum"])]
    if "const" in node:
        return Literal[node["const"]]
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = tuple(_type_of(n, root, f"{name}{i}") for i, n in enumerate(node[key]))
            return Union[options]  # noqa: UP007
    kind = node.get("type")
    if isinstance(kind, list):
        return Union[tuple(_type_of({**node, "type": k}, root, name) for k in kind)]  # noqa: UP007
    if kind == "array":
        # list[item], built at runtime (a GenericAlias, exactly what list[...] returns)
        return GenericAlias(list, _type_of(node.get("items", {}), root, f"{name}Item"))
    if kind == "object":
        if "properties" in node:
            return _model_from_json_schema(node, root, node.get("title") or name)
        return dict[str, Any]
    return _JSON_TYPES.get(kind, Any)


def _model_from_json_schema(node: dict, root: dict, name: str) -> type[BaseModel]:
    required = set(node.get("required", ()))
    fields: dict[str, Any] = {}
    for prop, sub in node.get("properties", {}).items():
        sub = sub if isinstance(sub, dict) else {}
        annotation = _type_of(sub, root, f"{name}_{prop}")
        kwargs = {"description": sub["description"]} if "description" in sub else {}
        if prop not in required:
            annotation = annotation | None
            kwargs["default"] = sub.get("default")
        fields[prop] = (annotation, Field(**kwargs))
    extra: Literal["allow", "ignore"] = (
        "allow" if node.get("additionalProperties") is True else "ignore"
    )
    model = create_model(name, __config__=ConfigDict(extra=extra), **fields)
    model.__doc__ = node.get("description") or f"Record a new {name} memory."
    return model


# --- existing memories ---------------------------------------------------------

Existing = tuple[str, Union[str, None], Union[BaseModel, dict]]  # noqa: UP007


def normalize_existing(existing: Any, schemas: Sequence[type[BaseModel]]) -> list[Existing]:
    """Every accepted form of ``existing`` as ``(id, kind, value)`` triples.

    Accepts (mixed): ``str`` (new uuid4 id, value ``schemas[0](content=s)``,
    or ``Memory`` if that schema has no ``content``); ``(id, value)`` pairs,
    ``ExtractedMemory`` included (kind: the class name of a BaseModel value,
    ``None`` for a dict); ``(id, kind, value)``. ``RemoveDoc`` entries are skipped.
    """
    out: list[Existing] = []
    for item in existing or ():
        if isinstance(item, str):
            value = _text_memory(item, schemas)
            out.append((str(uuid.uuid4()), type(value).__name__, value))
            continue
        if not isinstance(item, tuple | list) or len(item) not in (2, 3):
            raise TypeError(
                "existing items must be str, (id, value) or (id, kind, value); got " + repr(item)
            )
        id_, *given_kind, value = item
        if isinstance(value, RemoveDoc):
            continue
        if isinstance(value, str):
            value = _text_memory(value, schemas)
        if not isinstance(value, BaseModel | dict):
            raise TypeError(f"existing memory {id_!r} must be a BaseModel or dict, got {value!r}")
        kind: str | None
        if given_kind:
            kind = given_kind[0]
        else:
            kind = type(value).__name__ if isinstance(value, BaseModel) else None
        out.append((str(id_), kind, value))
    return out


def _text_memory(text: str, schemas: Sequence[type[BaseModel]]) -> BaseModel:
    try:
        return schemas[0](content=text)
    except ValidationError:
        return Memory(content=text)


# --- the session -------------------------------------------------------------


@dataclass
class _Doc:
    kind: str | None
    value: BaseModel | dict


@dataclass
class Session:
    """State of one manager run; feed it replies until it has no request left."""

    messages: Sequence[MessageLikeRepresentation]
    existing: Sequence[Existing]
    schemas: Sequence[type[BaseModel]]
    instructions: str = DEFAULT_INSTRUCTIONS
    enable_inserts: bool = True
    enable_updates: bool = True
    enable_deletes: bool = False
    max_steps: int = 1
    rejected: list[RejectedCall] = field(default_factory=list)
    reference_time: datetime | None = None  # when the conversation took place, if known

    def __post_init__(self) -> None:
        self.max_steps = max(1, int(self.max_steps or 1))
        self._by_name = {s.__name__: s for s in self.schemas}
        self._docs: dict[str, _Doc] = {i: _Doc(k, v) for i, k, v in self.existing}
        self._given = {i: v for i, _, v in self.existing}
        self._touched: dict[str, BaseModel | dict] = {}
        self._reasons: dict[str, list[str]] = {}  # PatchDoc planned_edits, by memory id
        self._applied: set[str] = set()  # fingerprints of the calls applied in this step
        self._transcript: list[BaseMessage] = []
        self._conversation = render_conversation(self.messages)
        self._step = 0
        self._repairs = 0
        self._tools: dict[str, type[BaseModel]] = {}
        self._head: list[BaseMessage] = []
        self._specs: list[Any] = []
        self._tool_choice: str | None = None
        if self._docs and not (self.enable_inserts or self.enable_updates or self.enable_deletes):
            raise ValueError(
                "enable_inserts, enable_updates and enable_deletes are all False: "
                "the manager can do nothing with existing memories"
            )

    # requests

    def start(self) -> ModelRequest:
        return self._next_step()

    def _next_step(self) -> ModelRequest:
        self._step += 1
        self._repairs = 0
        self._applied = set()
        tools: list[type[BaseModel]] = []
        if not self._docs:
            tools, choice = list(self.schemas), None
        else:
            if self.enable_updates:
                tools.append(PatchDoc)
            if self.enable_inserts:
                tools.extend(self.schemas)
            if self.enable_deletes:
                tools.append(RemoveDoc)
            choice = "any" if self.enable_inserts or self.enable_deletes else "PatchDoc"
        if self._step > 1:
            tools.append(Done)
        self._tools = {t.__name__: t for t in tools}
        # Fixed for the step, so repair calls only append (provider prompt caches hit).
        self._head = [SystemMessage(self._system()), HumanMessage(self._prompt())]
        self._specs = [self._tool_spec(t) for t in tools]
        self._tool_choice = choice
        return self._request()

    def _request(self) -> ModelRequest:
        return ModelRequest(self._head + self._transcript, self._specs, self._tool_choice)

    def _tool_spec(self, tool: type[BaseModel]) -> Any:
        if tool not in (PatchDoc, RemoveDoc):
            return tool
        ids = list(self._docs)
        where = (
            "one of: " + ", ".join(ids)
            if len(ids) <= MAX_LISTED_IDS
            else "an id from the memories in the prompt"
        )
        params = tool.model_json_schema()
        params["properties"]["json_doc_id"]["description"] += f" Must be {where}."
        params.pop("title", None)
        return {
            "type": "function",
            "function": {"name": tool.__name__, "description": tool.__doc__, "parameters": params},
        }

    def _system(self) -> str:
        return f"{self.instructions}\n\n{_TOOL_GUIDE}"

    def _prompt(self) -> str:
        if self._docs:
            lines = "\n".join(
                f"- id={i} kind={d.kind or '-'} {_dump(d.value)}" for i, d in self._docs.items()
            )
        else:
            lines = "(none yet)"
        conversation = self._conversation or "(no new conversation: review the memories alone)"
        ask = "Make every change needed in this one reply, as parallel tool calls."
        if Done in self._tools.values():
            ask += " Call Done when nothing is left to change."
        when = "" if self.reference_time is None else reference_text(self.reference_time) + "\n\n"
        return (
            f"{when}<conversation>\n{conversation}\n</conversation>\n\n"
            f"<memories>\n{lines}\n</memories>\n\n{ask}"
        )

    # replies

    def receive(self, reply: AIMessage) -> ModelRequest | None:
        """Apply a reply; return the next request, or ``None`` when the run is over."""
        outcomes: list[ToolMessage] = []  # one per tool call, matched by tool_call_id
        failures: list[RejectedCall] = []
        finished = False
        for call in reply.tool_calls:
            name, call_id = call.get("name"), call.get("id") or ""
            try:
                outcomes.append(
                    ToolMessage(self._apply(name, call.get("args")), tool_call_id=call_id)
                )
            except _Finish:
                finished = True
                outcomes.append(ToolMessage("Finished.", tool_call_id=call_id))
            except _Rejected as exc:
                error = clip_text(str(exc))  # a runaway value must not flood the next request
                failures.append(self._rejection(name, call_id, call.get("args"), error))
                outcomes.append(_error_message(call_id, error))
        for bad in reply.invalid_tool_calls:
            error = f"arguments are not valid JSON ({bad.get('error') or 'unparsable'})"
            failures.append(self._rejection(bad.get("name"), bad.get("id"), bad.get("args"), error))
            outcomes.append(_error_message(bad.get("id"), error))

        has_calls = bool(outcomes)
        if has_calls:
            self._transcript += [clip_reply(reply), *outcomes]
        repair = bool(failures) and not finished and self._repairs < MAX_REPAIRS
        self.rejected.extend(replace(f, repair_requested=repair) for f in failures)
        if repair:
            self._repairs += 1
            self._transcript.append(HumanMessage(_REPAIR_NOTE))
            return self._request()
        if finished or not has_calls or self._step >= self.max_steps:
            return None
        return self._next_step()

    def _rejection(self, name: Any, call_id: Any, args: Any, error: str) -> RejectedCall:
        return RejectedCall(
            name=str(name),
            call_id=call_id,
            args=args,
            error=error,
            step=self._step,
            attempt=self._repairs,
            repair_requested=False,
        )

    def _apply(self, name: Any, args: Any) -> str:
        if name == "Done":
            raise _Finish
        tool = self._tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise _Rejected(
                f"unknown or unavailable tool {name!r}; available: {sorted(self._tools)}"
            )
        if not isinstance(args, dict):
            raise _Rejected(f"arguments must be a JSON object, got {type(args).__name__}")
        try:
            parsed = tool.model_validate(args)
        except ValidationError as exc:
            raise _Rejected(_errors(exc)) from None
        # A repair reply often re-sends the calls that were already applied.
        fingerprint = _fingerprint(parsed)
        if fingerprint in self._applied:
            return "Already applied by an earlier call of this step; not repeated."
        outcome = self._dispatch(parsed)
        self._applied.add(fingerprint)
        return outcome

    def _dispatch(self, parsed: BaseModel) -> str:
        if isinstance(parsed, PatchDoc):
            return self._patch(parsed)
        if isinstance(parsed, RemoveDoc):
            return self._remove(parsed.json_doc_id)
        kind = type(parsed).__name__
        if not self.enable_inserts and any(d.kind == kind for d in self._docs.values()):
            raise _Rejected(f"a {kind} document already exists: edit it with PatchDoc instead")
        new_id = str(uuid.uuid4())
        self._docs[new_id] = _Doc(kind, parsed)
        self._touched[new_id] = parsed
        return f"Inserted {kind} memory with id {new_id}."

    def _known(self, doc_id: str) -> _Doc:
        if doc_id not in self._docs:
            raise _Rejected(f"no memory has id {doc_id!r}; use one of the ids listed in the prompt")
        return self._docs[doc_id]

    def _remove(self, doc_id: str) -> str:
        self._known(doc_id)
        del self._docs[doc_id]
        self._touched.pop(doc_id, None)
        if doc_id in self._given:
            self._touched[doc_id] = RemoveDoc(json_doc_id=doc_id)
        return f"Removed memory {doc_id}."

    def _patch(self, patch: PatchDoc) -> str:
        doc = self._known(patch.json_doc_id)
        if not patch.patches:
            return f"No change to memory {patch.json_doc_id}: the call had no patches."
        for op in patch.patches:
            if op.op != "remove" and "value" not in op.model_fields_set:
                raise _Rejected(f"operation {op.op!r} at {op.path!r} needs a 'value'")
        source = _as_json(doc.value)
        try:
            patched = jsonpatch.apply_patch(
                source, [op.model_dump(exclude_unset=True) for op in patch.patches]
            )
        except Exception as exc:  # jsonpatch/jsonpointer errors, bad paths, odd values
            raise _Rejected(f"patch cannot be applied: {exc}") from None
        if not isinstance(patched, dict):
            raise _Rejected("a patched memory must stay a JSON object")
        value = self._validate(doc, patched)
        if self._unchanged(doc, value):
            return (
                f"No change to memory {patch.json_doc_id}: the patches leave it as it was "
                "(fields outside its schema are dropped)."
            )
        self._docs[patch.json_doc_id] = _Doc(type(value).__name__, value)
        self._touched[patch.json_doc_id] = value
        if patch.planned_edits.strip():
            self._reasons.setdefault(patch.json_doc_id, []).append(patch.planned_edits.strip())
        return f"Updated memory {patch.json_doc_id}."

    def _unchanged(self, doc: _Doc, value: BaseModel) -> bool:
        try:
            before = self._validate(doc, _as_json(doc.value))
        except _Rejected:  # the stored value fitted no schema: any valid patch changes it
            return False
        return type(before) is type(value) and _as_json(before) == _as_json(value)

    def _validate(self, doc: _Doc, patched: dict) -> BaseModel:
        if isinstance(doc.value, BaseModel):
            candidates = [type(doc.value)]
        elif doc.kind in self._by_name:
            candidates = [self._by_name[doc.kind]]
        else:
            candidates = list(self.schemas)
        errors = []
        for schema in candidates:
            try:
                return schema.model_validate(patched)
            except ValidationError as exc:
                errors.append(f"{schema.__name__}: {_errors(exc)}")
        raise _Rejected("the patched memory is invalid: " + "; ".join(errors))

    # results

    def results(self) -> list[ExtractedMemory]:
        """This run's results in tool-call order, then untouched existing memories."""
        out = [ExtractedMemory(i, v) for i, v in self._touched.items()]
        out += [ExtractedMemory(i, v) for i, v in self._given.items() if i not in self._touched]
        return out

    def reasons(self) -> dict[str, str]:
        """The reasons the model gave for its edits (``PatchDoc.planned_edits``), by memory id."""
        return {i: "; ".join(texts) for i, texts in self._reasons.items()}


def parse_single(reply: AIMessage, schema: type[BaseModel]) -> tuple[BaseModel | None, list]:
    """The first valid ``schema`` call of ``reply``, else ``None`` and ToolMessages with the errors."""
    errors: list[ToolMessage | HumanMessage] = []
    for call in reply.tool_calls:
        try:
            if call["name"] != schema.__name__:
                raise _Rejected(f"unknown tool {call['name']!r}; call {schema.__name__}")
            return schema.model_validate(call["args"]), []
        except ValidationError as exc:
            error = _errors(exc)
        except _Rejected as exc:
            error = str(exc)
        errors.append(_error_message(call.get("id"), error))
    for bad in reply.invalid_tool_calls:
        errors.append(_error_message(bad.get("id"), "arguments are not valid JSON"))
    if not errors:
        errors = [HumanMessage(f"Answer by calling the {schema.__name__} tool.")]
    return None, errors


def _error_message(call_id: str | None, error: str) -> ToolMessage:
    return ToolMessage(f"Error, not applied: {error}", tool_call_id=call_id or "", status="error")


class _Rejected(Exception):
    pass


class _Finish(Exception):
    pass


_TOOL_GUIDE = (
    "How to act: the memories are listed with their id, kind and JSON. To add a memory, "
    "call the tool named after its kind. To change one, call PatchDoc with its id and JSON "
    "Patch operations on the JSON shown (paths like '/field'). To delete one, call "
    "RemoveDoc with its id. Only the tools you are given are available; use only listed ids."
)

_REPAIR_NOTE = (
    "Some tool calls above were rejected and not applied (see the errors). Send corrected "
    "calls for those only; the others are already applied, do not repeat them."
)


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()
    )


def _fingerprint(call: BaseModel) -> str:
    """What a call does, for spotting repeats: its tool and arguments (not its wording)."""
    exclude = {"planned_edits"} if isinstance(call, PatchDoc) else None
    args = call.model_dump(mode="json", exclude=exclude)
    return type(call).__name__ + json.dumps(args, sort_keys=True, default=str)


def _as_json(value: BaseModel | dict) -> dict:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return copy.deepcopy(value)


def _dump(value: BaseModel | dict) -> str:
    return json.dumps(_as_json(value), ensure_ascii=False, default=str)


def render_conversation(messages: Sequence[MessageLikeRepresentation]) -> str:
    """The messages as ``role: text`` lines (tool calls shown), for a prompt; a message
    that carries its time (:func:`~langmem.knowledge._time.message_time`) starts with it."""
    lines = []
    for message in convert_to_messages(list(messages or ())):
        at = message_time(message)
        stamp = "" if at is None else f"[{at.isoformat()}] "
        role = {"human": "user", "ai": "assistant"}.get(message.type, message.type)
        text = str(message.text)
        if isinstance(message, AIMessage) and message.tool_calls:
            text += "".join(
                f"\n[called {c['name']}({json.dumps(c['args'], default=str)})]"
                for c in message.tool_calls
            )
        lines.append(f"{stamp}{role}: {text}")
    return "\n".join(lines)
