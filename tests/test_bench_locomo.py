"""bench/locomo_retrieval.py agrees with the reference LOCOMO scorer (shared/tools)."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "tools" / "locomo_retrieval.py"
pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason="shared LOCOMO tools absent")


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def modules():
    sys.path.insert(0, str(ROOT / "bench"))
    ref = load("locomo_reference", REFERENCE)
    ours = load("locomo_retrieval_bench", ROOT / "bench" / "locomo_retrieval.py")
    adapter = sys.modules["locomo_adapter"]
    return ref, ours, adapter


@pytest.mark.parametrize("mode", ["vector", "hybrid", "neighbours"])
def test_bench_and_reference_scorer_agree_on_one_conversation(modules, monkeypatch, mode):
    ref, ours, adapter = modules
    monkeypatch.setenv("LOCOMO_EMBED", "hash")
    monkeypatch.setenv("LOCOMO_MODE", mode)
    samples = [s for s in ref.load_samples(ref.DEFAULT_DATA) if s["sample_id"] == "conv-30"]
    items, valid, keymap = ref.build_items(samples)
    res = ref.evaluate(samples, items, valid, keymap, adapter.setup, adapter.search, [1, 5, 10])
    expected = ref.summarize(res, [1, 5, 10])

    got = ours.run(ref.DEFAULT_DATA, [mode], embed="hash", convs=["conv-30"])[mode]
    assert ours.load(ref.DEFAULT_DATA, ["conv-30"])[0] == items  # the same memories
    assert got["overall"]["n"] == expected["overall"]["n"] > 50
    assert got["overall"]["recall@10"] > 0.1  # the slice actually retrieves something
    for k in (1, 5, 10):
        assert got["overall"][f"recall@{k}"] == pytest.approx(expected["overall"][f"recall@{k}"])
        for group, agg in expected["by_category"].items():
            assert got[group][f"recall@{k}"] == pytest.approx(agg[f"recall@{k}"]), group
