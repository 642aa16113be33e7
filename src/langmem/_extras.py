"""How to install an optional extra of this package, as the user's own install was made.

``langmem-plus`` is installed from a checkout (``pip install -e ".[local]"``) or a
wheel built from one, not from an index, so a hint naming ``langmem-plus[extra]``
alone would send users to a package that does not exist. :func:`install_extra`
names the folder the package was installed from when pip recorded it.
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata
from urllib.parse import unquote, urlparse

__all__ = ["install_extra"]

DISTRIBUTION = "langmem-plus"


def install_extra(extra: str, *, before: str = "") -> str:
    """The pip command that adds ``extra`` (``"mcp"``, ``"postgres"``...) to this install.

    ``before``: requirements to install in the same command (``"torch==2.13.0"``).
    """
    pip = f"{shlex.quote(sys.executable)} -m pip install" + (f" {before}" if before else "")
    source = _source()
    if source is None:
        return f"{pip} '{DISTRIBUTION}[{extra}]'"
    path, editable = source
    return f"{pip}{' -e' if editable else ''} {shlex.quote(f'{path}[{extra}]')}"


def _source() -> tuple[str, bool] | None:
    """``(folder or wheel, editable)`` this package was installed from, if pip recorded a
    local one (a checkout, or a wheel built from it)."""
    try:
        info = json.loads(metadata.distribution(DISTRIBUTION).read_text("direct_url.json") or "0")
    except (metadata.PackageNotFoundError, ValueError):
        return None
    url = urlparse(info.get("url", "")) if isinstance(info, dict) else None
    if url is None or url.scheme != "file":
        return None
    return unquote(url.path), bool(info.get("dir_info", {}).get("editable"))
