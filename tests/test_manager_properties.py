"""Property: no malformed tool call crashes the manager or corrupts its results."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from langmem.knowledge.manager import Memory, RemoveDoc, create_memory_manager
from langmem.testing import ScriptedChatModel, ai

pytestmark = pytest.mark.core


class Profile(BaseModel):
    name: str
    age: int | None = None
    likes: list[str] = []


EXISTING = [
    ("m1", Memory(content="User likes tea")),
    ("m2", "Memory", {"content": "User lives in Oslo"}),
    ("p1", "Profile", {"name": "Ann", "likes": ["jazz"]}),
    ("p2", Profile(name="Bob", age=40)),
]
IDS = [i for i, *_ in EXISTING]
SCHEMAS = {"Memory": Memory, "Profile": Profile}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
names = st.sampled_from(
    ["Memory", "Profile", "PatchDoc", "RemoveDoc", "Done", "Nope", ""]
) | st.text(max_size=6)
ids = st.sampled_from(IDS) | st.text(max_size=8)
paths = st.sampled_from(
    [
        "",
        "/",
        "/content",
        "/name",
        "/age",
        "/likes",
        "/likes/-",
        "/likes/0",
        "/likes/9",
        "/x/y",
        "content",
    ]
) | st.text(max_size=6)
ops = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus"]),
        "path": paths,
    },
    optional={"value": json_values, "from": paths},
)
patch_args = st.fixed_dictionaries(
    {"json_doc_id": ids},
    optional={
        "planned_edits": st.text(max_size=5),
        "patches": st.lists(ops, max_size=3) | json_values,
    },
)
structured_args = st.fixed_dictionaries(
    {},
    optional={
        "content": json_values,
        "name": json_values,
        "age": json_values,
        "likes": json_values,
        "json_doc_id": ids,
    },
)
args = (
    patch_args | structured_args | json_values.map(lambda v: v if isinstance(v, dict) else {"v": v})
)
raw_json = st.sampled_from(
    ['{"content": ', "not json", "[1, 2", '{"json_doc_id": "m1", "patches": [}']
)
texts = st.text(max_size=8)
good_ops = st.sampled_from(
    [
        {"op": "replace", "path": "/content", "value": "changed"},
        {"op": "replace", "path": "/name", "value": "Cy"},
        {"op": "replace", "path": "/age", "value": 7},
        {"op": "add", "path": "/likes/-", "value": "tea"},
        {"op": "remove", "path": "/age"},
    ]
)
plausible = st.one_of(  # well-formed calls, valid or not for their target
    st.tuples(st.just("Memory"), st.fixed_dictionaries({"content": texts})),
    st.tuples(st.just("Profile"), st.fixed_dictionaries({"name": texts})),
    st.tuples(
        st.just("PatchDoc"),
        st.fixed_dictionaries(
            {"json_doc_id": st.sampled_from(IDS), "patches": st.lists(good_ops, max_size=2)}
        ),
    ),
    st.tuples(st.just("RemoveDoc"), st.fixed_dictionaries({"json_doc_id": st.sampled_from(IDS)})),
)
calls = st.one_of(
    plausible,
    st.tuples(names, args),
    st.tuples(names, raw_json),
    st.tuples(names, args.map(json.dumps)),
)
messages = st.lists(calls, min_size=1, max_size=4).map(lambda cs: ai(*cs))


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    replies=st.lists(messages, min_size=1, max_size=3),
    max_steps=st.integers(1, 3),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def test_random_tool_calls_never_crash_or_corrupt(replies, max_steps, flags):
    if not any(flags):
        flags = (True, True, True)
    model = ScriptedChatModel(replies, default=ai())
    manager = create_memory_manager(
        model,
        schemas=[Memory, Profile],
        enable_inserts=flags[0],
        enable_updates=flags[1],
        enable_deletes=flags[2],
    )
    result = manager.invoke(
        {"messages": [("user", "hi")], "existing": EXISTING, "max_steps": max_steps}
    )

    supplied = {str(c.get("args")) for r in replies for c in r.tool_calls}
    given_values = {i: v for i, *_, v in EXISTING}
    seen = set()
    for memory_id, value in result:
        assert memory_id not in seen
        seen.add(memory_id)
        if memory_id not in given_values:  # an insert: a fresh uuid4, never a model-supplied id
            assert uuid.UUID(memory_id).version == 4
            assert not any(memory_id in s for s in supplied)
            assert isinstance(value, (Memory, Profile))
        if isinstance(value, RemoveDoc):
            assert value.json_doc_id == memory_id and memory_id in given_values
        elif isinstance(value, BaseModel):
            assert type(value).model_validate(value.model_dump()) == value
            assert type(value) in SCHEMAS.values()
        else:
            assert value is given_values[memory_id]  # untouched dicts come back as given
    assert set(given_values) <= seen  # no existing memory silently lost
    assert len(model.calls) <= max_steps * 3
