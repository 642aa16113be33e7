"""A disk cache in front of an embedder, for benchmarks that re-embed the same texts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

RESULTS = Path(__file__).resolve().parent / "results"


class CachedEmbeddings(Embeddings):
    """Vectors of ``inner`` keyed by a hash of the text, kept in ``path`` (an ``.npz``)."""

    def __init__(self, inner: Embeddings, path: Path) -> None:
        self.inner, self.path = inner, Path(path)
        self.cache: dict[str, np.ndarray] = {}
        self.dirty = False
        if self.path.exists():
            data = np.load(self.path)
            self.cache = dict(zip(data["keys"].tolist(), data["vecs"]))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts) if k not in self.cache}.items())
        if todo:
            vecs = self.inner.embed_documents([t for _, t in todo])
            self.cache.update((k, np.asarray(v, np.float32)) for (k, _), v in zip(todo, vecs))
            self.dirty = True
        return [self.cache[k].tolist() for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = sorted(self.cache)
            np.savez(self.path, keys=np.array(keys), vecs=np.stack([self.cache[k] for k in keys]))
            self.dirty = False
