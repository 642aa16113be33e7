"""A griffe extension for the docs build (mkdocs.yml): our docstrings use Sphinx roles
(``:class:`~langmem.store.SQLiteStore```), which the Google-style parser leaves as they are;
this renders each as inline code (the last name with ``~``, the full path without)."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"``{target.rsplit('.', 1)[-1] if tilde else target}``"


class SphinxRoles(griffe.Extension):
    """Rewrites Sphinx roles in every docstring as inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_plain, obj.docstring.value)
