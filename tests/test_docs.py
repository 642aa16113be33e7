"""The documentation site (docs/, mkdocs.yml) is true to the library.

- Every ```python block of a page runs, in order, in one fresh temporary directory with
  shared globals, offline (scripted models, the local embedder); a ```output block right
  after a block is its exact stdout. A block whose first line is ``# needs: <what>`` (a
  real provider) is type-checked with mypy instead, never skipped silently.
- Every public name (the ``__all__`` of the public modules) has a docstring and an entry
  in the API reference (``::: path`` in docs/reference/).
- ``mkdocs build --strict`` passes with no warning (skipped when mkdocs is not installed).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
NEEDS = re.compile(r"#\s*needs:\s*\S")

# The modules whose __all__ is the public API (the others are surfaces documented as
# guides, langmem.cli and langmem.mcp, or private).
PUBLIC_MODULES = [
    "langmem",
    "langmem.knowledge",
    "langmem.knowledge.extraction",
    "langmem.prompts",
    "langmem.reflection",
    "langmem.short_term",
    "langmem.store",
    "langmem.store.transfer",
    "langmem.memory",
    "langmem.utils",
    "langmem.errors",
    "langmem.testing",
]


@dataclass
class Block:
    page: Path
    line: int
    code: str
    output: str | None  # the ```output block right after it, if any

    @property
    def needs(self) -> str | None:
        first = self.code.lstrip().splitlines()[0] if self.code.strip() else ""
        return first if NEEDS.match(first) else None

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def python_blocks(page: Path) -> list[Block]:
    text = page.read_text()
    fences = list(FENCE.finditer(text))
    blocks = []
    for i, fence in enumerate(fences):
        lang = fence.group(1)
        assert lang not in ("py", "python3", "pycon"), f"{page}: write ```python, not ```{lang}"
        if lang != "python":
            continue
        output = None
        if i + 1 < len(fences) and fences[i + 1].group(1) == "output":
            between = text[fence.end() : fences[i + 1].start()]
            if not between.strip():
                output = fences[i + 1].group(2)
        line = text.count("\n", 0, fence.start()) + 1
        blocks.append(Block(page, line, fence.group(2), output))
    return blocks


def test_output_blocks_follow_a_python_block():
    """An ```output block means nothing unless it states a Python block's stdout."""
    for page in PAGES:
        text = page.read_text()
        fences = list(FENCE.finditer(text))
        for before, fence in zip(fences, fences[1:]):
            if fence.group(1) == "output":
                assert before.group(1) == "python", f"{page}: output after ```{before.group(1)}"
                assert not text[before.end() : fence.start()].strip(), f"{page}: text between"


RUN_PAGES = [p for p in PAGES if any(not b.needs for b in python_blocks(p))]


def _page_param(page: Path):
    marks = [pytest.mark.docs]
    if "LANGMEM_POSTGRES_URL" in page.read_text():
        marks.append(pytest.mark.postgres)
    return pytest.param(page, id=str(page.relative_to(DOCS)), marks=marks)


@pytest.mark.filterwarnings("error::DeprecationWarning")  # the docs teach no deprecated API
@pytest.mark.parametrize("page", [_page_param(p) for p in RUN_PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch, request):
    """The page's Python blocks run in order with shared globals; stated outputs match."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    if "LANGMEM_POSTGRES_URL" in page.read_text():
        monkeypatch.setenv("LANGMEM_POSTGRES_URL", request.getfixturevalue("pg_url"))
    namespace: dict = {"__name__": "__main__"}
    try:
        for block in python_blocks(page):
            if block.needs:
                continue
            out = io.StringIO()
            code = compile(block.code, block.where(), "exec")
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
            printed = out.getvalue()
            if block.output is not None:
                assert printed == block.output, f"{block.where()}: stdout differs"
            else:
                assert not printed, f"{block.where()}: prints, but no ```output block says what"
    finally:
        _close_stores(namespace)


def _close_stores(namespace: dict) -> None:
    """Close the stores a page left open (closing twice is harmless)."""
    from langgraph.store.base import BaseStore

    for value in namespace.values():
        if isinstance(value, BaseStore) and callable(getattr(value, "close", None)):
            value.close()


def test_blocks_needing_a_provider_type_check(tmp_path):
    """Blocks marked ``# needs: ...`` compile and pass mypy (with the project's settings)."""
    marked = [b for p in PAGES for b in python_blocks(p) if b.needs]
    if not marked:
        pytest.skip("no block needs a provider")
    files = []
    for n, block in enumerate(marked):
        compile(block.code, block.where(), "exec")
        path = tmp_path / f"block_{n}.py"
        path.write_text(f"# {block.where()}\n{block.code}")
        files.append(str(path))
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            *files,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _reference_entries() -> set[str]:
    text = "\n".join(p.read_text() for p in (DOCS / "reference").glob("*.md"))
    return set(re.findall(r"^::: ([\w.]+)", text, flags=re.M))


def _paths(module: str, name: str) -> set[str]:
    """Where a public name can be documented: its public path and where it is defined
    (following the lazy re-exports)."""
    paths = {f"{module}.{name}"}
    current = importlib.import_module(module)
    while name in getattr(current, "_EXPORTS", {}):
        current = importlib.import_module(current._EXPORTS[name])
        paths.add(f"{current.__name__}.{name}")
    obj = getattr(importlib.import_module(module), name)
    if getattr(obj, "__module__", None) and getattr(obj, "__qualname__", None):
        paths.add(f"{obj.__module__}.{obj.__qualname__}")
    return paths


def _public_names() -> list[tuple[str, str]]:
    return [(m, n) for m in PUBLIC_MODULES for n in importlib.import_module(m).__all__]


def _own_doc(obj) -> str:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    doc = (doc or "").strip()
    if inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("):
        return ""  # the signature a dataclass makes up is no docstring
    return doc


def test_every_public_name_has_a_docstring_and_a_reference_entry():
    entries = _reference_entries()
    missing_entry, missing_doc = [], []
    for module, name in _public_names():
        obj = getattr(importlib.import_module(module), name)
        if not _paths(module, name) & entries:
            missing_entry.append(f"{module}.{name}")
        if inspect.ismodule(obj):
            continue
        if not _own_doc(obj):
            missing_doc.append(f"{module}.{name}")
        if inspect.isclass(obj):  # its public methods, ours (inherited from our bases too)
            ours = [c for c in obj.__mro__ if c.__module__.startswith("langmem")]
            methods = {a for c in ours for a, m in vars(c).items() if inspect.isfunction(m)}
            for attr in sorted(methods):
                if not attr.startswith("_") and not inspect.getdoc(getattr(obj, attr)):
                    missing_doc.append(f"{module}.{name}.{attr}")
    assert not missing_entry, (
        f"no API-reference entry (::: path in docs/reference): {missing_entry}"
    )
    assert not missing_doc, f"no docstring: {missing_doc}"


def test_reference_entries_name_public_objects():
    """Every reference entry documents a public name (no stale or private extras)."""
    public = set().union(*(_paths(m, n) for m, n in _public_names()))
    stale = _reference_entries() - public
    assert not stale, f"documented but not public: {sorted(stale)}"


@pytest.mark.docs
def test_mkdocs_build_is_strict_and_clean(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("material")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    assert (tmp_path / "site" / "reference" / "store" / "index.html").exists()


def test_readme_links_into_the_docs_resolve():
    """The README sends newcomers into docs/: every page it links exists."""
    links = re.findall(r"\]\((docs/[^)#]+)", (ROOT / "README.md").read_text())
    assert len(links) >= 10
    assert [link for link in links if not (ROOT / link).is_file()] == []
