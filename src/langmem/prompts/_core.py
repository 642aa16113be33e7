"""Pure helpers of the prompt optimizers: settings, input normalisation, output checks.

No model and no I/O here; rendering sessions within a budget is in :mod:`._render`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import AnyMessage, BaseMessage, convert_to_messages

from langmem.prompts._render import DEFAULT_MAX_TRAJECTORY_TOKENS, MIN_BUDGET_TOKENS, Sessions
from langmem.prompts.types import AnnotatedTrajectory, Prompt

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import RunnableConfig

__all__ = [
    "EVIDENCE",
    "Job",
    "Settings",
    "evidence_request",
    "fill",
    "finish_prompt",
    "has_sessions",
    "keep_note",
    "missing_placeholders",
    "normalize_prompt",
    "normalize_prompts",
    "normalize_trajectories",
    "placeholder_problem",
    "placeholders",
    "prompt_block",
    "prompt_notes",
]


# --- configuration -------------------------------------------------------------

_STEP_DEFAULTS = {"max_reflection_steps": 5, "min_reflection_steps": 1}
_KNOWN_KEYS = {"gradient_prompt", "metaprompt", "max_trajectory_tokens", *_STEP_DEFAULTS}


@dataclass(frozen=True)
class Settings:
    """Validated optimizer configuration (``None`` templates mean our defaults)."""

    max_steps: int = 5
    min_steps: int = 1
    max_trajectory_tokens: int = DEFAULT_MAX_TRAJECTORY_TOKENS
    gradient_prompt: str | None = None
    metaprompt: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Settings:
        config = dict(config or {})
        if unknown := set(config) - _KNOWN_KEYS:  # ignored, as LangMem does (e.g. temperature)
            warnings.warn(
                f"Ignoring unknown optimizer config keys {sorted(unknown)}; "
                f"known: {sorted(_KNOWN_KEYS)}",
                UserWarning,
                stacklevel=3,
            )
            config = {k: v for k, v in config.items() if k in _KNOWN_KEYS}
        values: dict[str, Any] = {
            **_STEP_DEFAULTS,
            "max_trajectory_tokens": DEFAULT_MAX_TRAJECTORY_TOKENS,
        }
        values.update(config)
        for key in ("max_reflection_steps", "min_reflection_steps", "max_trajectory_tokens"):
            value = values[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"config[{key!r}] must be a non-negative int, got {value!r}")
        if values["max_reflection_steps"] < 1:
            raise ValueError("max_reflection_steps must be >= 1")
        if values["max_trajectory_tokens"] < MIN_BUDGET_TOKENS:
            raise ValueError(f"max_trajectory_tokens must be >= {MIN_BUDGET_TOKENS}")
        if values["min_reflection_steps"] > values["max_reflection_steps"]:
            raise ValueError(
                f"min_reflection_steps ({values['min_reflection_steps']}) exceeds "
                f"max_reflection_steps ({values['max_reflection_steps']})"
            )
        for key in ("gradient_prompt", "metaprompt"):
            if key in values and not isinstance(values[key], str):
                raise ValueError(f"config[{key!r}] must be a str template")
        return cls(
            max_steps=values["max_reflection_steps"],
            min_steps=values["min_reflection_steps"],
            max_trajectory_tokens=values["max_trajectory_tokens"],
            gradient_prompt=values.get("gradient_prompt"),
            metaprompt=values.get("metaprompt"),
        )


@dataclass(frozen=True)
class Job:
    """One prompt to optimize, with everything an optimizer flow needs for it."""

    model: BaseChatModel
    sessions: str  # rendered within the token budget
    prompt: Prompt
    settings: Settings
    config: RunnableConfig | None = None
    context: str = ""  # extra guidance, e.g. the prompt's part in a multi-prompt system


# --- prompts ---------------------------------------------------------------------


def normalize_prompt(prompt: str | Mapping[str, Any], *, default_name: str = "prompt") -> Prompt:
    """A ``Prompt`` copy from a string or a ``Prompt`` dict (other keys kept)."""
    if isinstance(prompt, str):
        return Prompt(name=default_name, prompt=prompt)
    if not isinstance(prompt, Mapping):
        raise TypeError(f"prompt must be a str or a Prompt dict, got {type(prompt).__name__}")
    if not isinstance(prompt.get("prompt"), str):
        raise ValueError(f"a Prompt dict needs a str 'prompt', got {dict(prompt)!r}")
    result: dict[str, Any] = {"name": default_name, **prompt}
    if not isinstance(result["name"], str):
        raise ValueError(f"a Prompt's 'name' must be a str, got {result['name']!r}")
    return cast(Prompt, result)  # checked above: a str name and prompt (other keys kept)


def normalize_prompts(prompts: Any) -> list[Prompt]:
    """Copies of a list of ``Prompt`` dicts with distinct, non-empty names."""
    if isinstance(prompts, (str, Mapping)) or not isinstance(prompts, Sequence):
        raise TypeError("prompts must be a list of Prompt dicts")
    result = []
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, Mapping) or not isinstance(prompt.get("name"), str):
            raise ValueError(f"prompts[{i}] must be a Prompt dict with a str 'name'")
        result.append(normalize_prompt(prompt))
    names = [p["name"] for p in result]
    if "" in names or len(set(names)) != len(names):
        raise ValueError(f"prompt names must be non-empty and distinct, got {names}")
    return result


def prompt_notes(prompt: Prompt, context: str = "") -> str:
    """The developer's guidance on a prompt, as shown to the model."""
    notes = []
    if prompt.get("when_to_update"):
        notes.append(f"When to update: {prompt['when_to_update']}")
    if prompt.get("update_instructions"):
        notes.append(f"How to update: {prompt['update_instructions']}")
    if context:
        notes.append(context)
    return "\n".join(notes) or "(none given)"


# --- trajectories ----------------------------------------------------------------


def _is_message(value: Any) -> bool:
    if isinstance(value, BaseMessage):
        return True
    if isinstance(value, Mapping):
        return "content" in value and ("role" in value or "type" in value)
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], (str, list))
    )


def _messages(value: Any, where: str) -> list[AnyMessage]:
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(f"{where}: messages must be a list, got {type(value).__name__}")
    try:
        # typed as AnnotatedTrajectory's AnyMessage: convert_to_messages builds the
        # concrete message classes (its stub says BaseMessage)
        return cast("list[AnyMessage]", convert_to_messages(list(value)))
    except Exception as exc:  # langchain raises several types for bad messages
        raise ValueError(f"{where}: invalid message: {exc}") from exc


def _trajectory(item: Any, where: str) -> AnnotatedTrajectory:
    if isinstance(item, AnnotatedTrajectory):
        return AnnotatedTrajectory(_messages(item.messages, where), item.feedback)
    if isinstance(item, Mapping) and "messages" in item:
        return AnnotatedTrajectory(_messages(item["messages"], where), item.get("feedback"))
    if isinstance(item, (tuple, list)):
        if len(item) == 2 and isinstance(item[0], (tuple, list)) and not _is_message(item[0]):
            return AnnotatedTrajectory(_messages(item[0], where), item[1])
        return AnnotatedTrajectory(_messages(item, where), None)
    raise TypeError(
        f"{where} must be a (messages, feedback) pair, an AnnotatedTrajectory or a "
        f"list of messages, got {type(item).__name__}"
    )


def normalize_trajectories(value: Any) -> Sessions:
    """A raw string as is, else a list of ``AnnotatedTrajectory`` with parsed messages.

    Items may be ``(messages, feedback)`` pairs, ``AnnotatedTrajectory``s,
    ``{"messages", "feedback"}`` dicts or plain message lists; a list of
    messages alone is one session.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return []
    if isinstance(value, Mapping) or not isinstance(value, Sequence):
        raise TypeError(
            f"trajectories must be a str or a list of sessions, got {type(value).__name__}"
        )
    items = list(value)
    if items and all(_is_message(item) for item in items):
        return [AnnotatedTrajectory(_messages(items, "trajectories"), None)]
    return [_trajectory(item, f"trajectories[{i}]") for i, item in enumerate(items)]


def has_sessions(sessions: Sessions) -> bool:
    """Whether there is anything to learn from."""
    if isinstance(sessions, str):
        return bool(sessions.strip())
    return any(t.messages or t.feedback is not None for t in sessions)


# --- templates and outputs -------------------------------------------------------

_BRACES = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


def placeholders(text: str) -> list[str]:
    """The ``{name}`` format variables of ``text`` in order (``{{`` / ``}}`` are escapes)."""
    names = [m.group(1) for m in _BRACES.finditer(text) if m.group(1)]
    return list(dict.fromkeys(names))


def missing_placeholders(original: str, new: str) -> list[str]:
    """Placeholders of ``original`` that ``new`` lost."""
    kept = set(placeholders(new))
    return [name for name in placeholders(original) if name not in kept]


def placeholder_problem(original: str, candidate: str | None) -> str | None:
    """Why ``candidate`` cannot replace ``original`` (lost placeholders), or ``None``."""
    if candidate is None or not candidate.strip():
        return None
    if missing := missing_placeholders(original, candidate):
        names = ", ".join("{" + name + "}" for name in missing)
        return f"the new prompt dropped {names}; keep every placeholder exactly as written."
    return None


def _escape_new_braces(text: str, allowed: set[str]) -> str:
    def sub(match: re.Match) -> str:
        token = match.group(0)
        if len(token) == 2 or match.group(1) in allowed:
            return token
        return token * 2 if len(token) == 1 else "{{" + match.group(1) + "}}"

    return _BRACES.sub(sub, text)


def finish_prompt(original: str, candidate: str | None) -> str:
    """The prompt to return: ``original`` unless ``candidate`` is a non-blank rewrite.

    When ``original`` is a format template (has placeholders), braces the model
    added around anything else are escaped so ``.format`` keeps working.
    """
    if candidate is None or not candidate.strip():
        return original
    candidate = candidate.strip()
    allowed = set(placeholders(original))
    return _escape_new_braces(candidate, allowed) if allowed else candidate


def fill(template: str, values: Mapping[str, str], required: Sequence[str] = ()) -> str:
    """``template`` with ``{name}`` replaced for the given names only (values never parsed).

    A ``required`` value the template does not use (a custom template) is
    appended in a tagged section, so the model always sees it.
    """
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, values)) + r")\}")
    used = set(pattern.findall(template))
    text = pattern.sub(lambda m: values[m.group(1)], template)
    extra = [f"<{name}>\n{values[name]}\n</{name}>" for name in required if name not in used]
    return "\n\n".join([text, *extra])


def keep_note(lead: str, names: Sequence[str]) -> str:
    """``" {lead}: {a}, {b}."`` naming the placeholders to keep, or ``""`` without any."""
    return f" {lead}: {', '.join('{' + name + '}' for name in names)}." if names else ""


# --- request templates -----------------------------------------------------------


def prompt_block(variable: str = "prompt") -> str:
    """Template text showing the prompt (as ``{variable}``) and the developer's guidance."""
    return (
        f"<current_prompt>\n{{{variable}}}\n</current_prompt>\n\n"
        "The developer's guidance on this prompt:\n"
        "<update_instructions>\n{update_instructions}\n</update_instructions>"
    )


EVIDENCE = (
    prompt_block()
    + """

Sessions run with this prompt follow, each with the feedback it received. Feedback may be \
a score, a comment, a "revised" output the user preferred, or absent: then judge from the \
conversation itself (corrections, repeated requests, complaints, thanks).

<sessions>
{sessions}
</sessions>"""
)
"""The prompt, its guidance and the sessions, as the reflecting optimizers show them."""


def evidence_request(template: str, job: Job, **extra: str) -> str:
    """``template`` filled with the job's prompt, the guidance on it, the sessions and ``extra``."""
    values = {
        "prompt": job.prompt["prompt"],
        "update_instructions": prompt_notes(job.prompt, job.context),
        "sessions": job.sessions,
        **extra,
    }
    return fill(template, values, required=("prompt", "sessions"))
