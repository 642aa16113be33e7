"""LLM economy: model calls and prompt tokens per operation, with a scripted model.

Each ``bench/economy_*.py`` module contributes one section: a ``TITLE`` and a
``run() -> list[dict]`` returning table rows. Run all sections (or some):

    python bench/llm_economy.py [manager store_manager optimizers]

Prompt tokens are approximate (4 characters per token, tools included), counted
by ``langmem.testing.ModelCall.prompt_tokens``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _table(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    widths = [max(len(str(c)), *(len(str(r.get(c, ""))) for r in rows)) for c in cols]
    line = lambda vals: "| " + " | ".join(str(v).ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    out = [line(cols), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line([r.get(c, "") for c in cols]) for r in rows]
    return "\n".join(out)


def main(argv: list[str]) -> None:
    names = argv or sorted(p.stem.removeprefix("economy_") for p in HERE.glob("economy_*.py"))
    for name in names:
        section = importlib.import_module(f"economy_{name}")
        print(f"\n## {section.TITLE}\n")
        print(_table(section.run()))


if __name__ == "__main__":
    main(sys.argv[1:])
