"""Readable differences between two versions of a memory's text, word by word."""

from __future__ import annotations

import difflib
import re
from typing import Literal

__all__ = ["Piece", "word_diff"]

Piece = tuple[Literal["same", "removed", "added"], str]

_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[Piece]:
    """``new`` against ``old`` as pieces of text kept, removed and added (words and the
    spaces between them), in reading order; a removal comes before its replacement."""
    before, after = _TOKENS.findall(old), _TOKENS.findall(new)
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(before[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(before[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(after[j1:j2])))
    return pieces
