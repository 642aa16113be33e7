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


class CachedTokenEmbeddings(CachedEmbeddings):
    """:class:`CachedEmbeddings` that also caches ``embed_with_tokens`` (late interaction).

    Token vectors are kept as their storage blobs next to the sentence vectors, in
    ``path`` with ``-tokens`` added to its stem.
    """

    def __init__(self, inner: Embeddings, path: Path, dims: int) -> None:
        super().__init__(inner, path)
        self.dims = dims
        self.token_path = self.path.with_name(self.path.stem + "-tokens.npz")
        self.tokens: dict[str, bytes] = {}
        if self.token_path.exists():
            data = np.load(self.token_path)
            blob, ends = data["blob"].tobytes(), data["ends"].tolist()
            starts = [0, *ends[:-1]]
            self.tokens = {k: blob[s:e] for k, s, e in zip(data["keys"].tolist(), starts, ends)}

    def embed_with_tokens(self, texts: list[str]):
        from langmem.store.late import TokenVectors

        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts) if k not in self.tokens}.items())
        if todo:
            vecs, toks = self.inner.embed_with_tokens([t for _, t in todo])
            for (k, _), v, tv in zip(todo, vecs, toks):
                self.cache[k] = np.asarray(v, np.float32)
                self.tokens[k] = tv.to_bytes()
            self.dirty = True
        vectors = [self.cache[k].tolist() for k in keys]
        return vectors, [TokenVectors.from_bytes(self.tokens[k], self.dims) for k in keys]

    def save(self) -> None:
        if self.dirty and self.tokens:
            self.token_path.parent.mkdir(parents=True, exist_ok=True)
            keys = sorted(self.tokens)
            blobs = [self.tokens[k] for k in keys]
            np.savez(
                self.token_path,
                keys=np.array(keys),
                blob=np.frombuffer(b"".join(blobs), dtype=np.uint8),
                ends=np.cumsum([len(b) for b in blobs]),
            )
        super().save()
