"""The memory console (``langmem ui``): see, search, correct and erase memories in the
browser. Needs the ``ui`` extra (Starlette, Jinja2, uvicorn)."""

from langmem.console.app import create_app

__all__ = ["create_app"]
