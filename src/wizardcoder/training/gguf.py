"""Export a Hugging Face model directory to GGUF with llama.cpp's own ``convert_hf_to_gguf.py``.

We do not write a converter: llama.cpp's knows every architecture, tokenizer and quirk that its
loader expects, and it moves with it. The converter is looked for, first hit wins:

1. the ``converter`` argument: the script itself, or a llama.cpp checkout that contains it;
2. ``LLAMA_CPP_DIR``: a llama.cpp checkout;
3. ``convert_hf_to_gguf.py`` / ``convert-hf-to-gguf.py`` on ``PATH`` (some distributions ship it);
4. the source distribution of the installed ``llama-cpp-python``: it vendors the llama.cpp its
   library was built from, so the converter writes exactly what that library loads. It is
   fetched once with ``pip download`` and only the converter's files (the script, ``conversion/``,
   ``gguf-py/``, the chat templates and built-in vocabularies under ``models/``) are kept in
   ``<cache>/llama.cpp-<version>/`` (``WIZARDCODER_CACHE_DIR``, else ``~/.cache/wizardcoder``).

A converter given explicitly (1, 2) that is not there is an error, not a reason to look further.
The converter runs in a subprocess of this interpreter with its own ``gguf-py`` first on
``PYTHONPATH``, so the ``gguf`` version it was written for is used rather than the PyPI one; a
tokenizer it does not know (it recognises them by hash) can be given a llama.cpp pre-tokenizer
name, see :func:`export_gguf`. It needs ``torch``, ``transformers``, ``numpy`` and, for every
Llama model (it imports it before it looks for a ``tokenizer.model``), ``sentencepiece``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.paths import cache_dir

SCRIPT = "convert_hf_to_gguf.py"
PATH_NAMES = ("convert_hf_to_gguf.py", "convert-hf-to-gguf.py")
OUTTYPES = ("f32", "f16", "bf16", "q8_0", "auto")
SDIST_PACKAGE = "llama-cpp-python"
# What the converter reads from its llama.cpp tree, relative to it (a trailing / is a whole folder).
VENDORED = ("convert_hf_to_gguf.py", "LICENSE", "conversion/", "gguf-py/", "models/templates/",
            "models/ggml-vocab-gpt-neox.gguf", "models/ggml-vocab-llama-spm.gguf")
# Refuse absolute paths, links out of the tree, devices (Python >= 3.11.4; older ones extract as before).
SAFE: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
# Import names whose pip package is named differently.
PIP_NAMES = {"yaml": "pyyaml", "google": "protobuf", "mistral_common": "mistral-common"}

# Runs the converter as a module so that an unknown BPE pre-tokenizer can be named (argv: script, pre, args...).
_RUNNER = """
import importlib.util, sys
from pathlib import Path
script, pre = Path(sys.argv[1]), sys.argv[2]
sys.argv = [str(script), *sys.argv[3:]]
sys.path.insert(0, str(script.parent))
spec = importlib.util.spec_from_file_location("convert_hf_to_gguf", script)
mod = importlib.util.module_from_spec(spec)
sys.modules["convert_hf_to_gguf"] = mod
spec.loader.exec_module(mod)
if pre:
    base = getattr(mod, "TextModel", None) or getattr(mod, "Model", None)
    if base is None or not hasattr(base, "get_vocab_base_pre"):
        from conversion.base import TextModel as base
    known = base.get_vocab_base_pre
    def get_vocab_base_pre(self, tokenizer):
        try:
            return known(self, tokenizer)
        except NotImplementedError:
            print(f"wizardcoder: BPE pre-tokenizer not in the converter's list, using {pre!r}", file=sys.stderr)
            return pre
    base.get_vocab_base_pre = get_vocab_base_pre
mod.main()
"""


def _in_checkout(path: Path, origin: str) -> Path:
    """The script at ``path``, or inside the llama.cpp checkout ``path``; ``origin`` names where it came from."""
    path = path.expanduser()
    if path.is_dir():
        path = path / SCRIPT
    if not path.is_file():
        raise WizardCoderError(f"{origin} {path}: no llama.cpp converter there; give the path of {SCRIPT} "
                               "or of a llama.cpp checkout that contains it")
    return path.resolve()  # a symlink on PATH: its siblings (conversion/, gguf-py/) are next to the target


def _installed_version() -> str:
    """The installed llama-cpp-python version: its sdist vendors the llama.cpp the library was built from."""
    return importlib.metadata.version("llama_cpp_python").split("+")[0]  # a local build's +cpu is not on PyPI


def _last_line(text: str) -> str:
    """The last non-blank line of ``text`` (pip's and the converter's errors come last)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _fetch_vendored(version: str, dest: Path) -> Path:
    """Download the llama-cpp-python ``version`` sdist and keep only the converter's files in ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llama-cpp-sdist-", dir=dest.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               f"{SDIST_PACKAGE}=={version}", "-d", tmp, "--quiet"]
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        sdists = sorted(Path(tmp).glob("*.tar.gz"))
        if proc.returncode != 0 or not sdists:
            raise OSError(f"pip download {SDIST_PACKAGE}=={version} failed: {_last_line(proc.stderr + proc.stdout)}")
        staging = Path(tmp) / "llama.cpp"
        with tarfile.open(sdists[0], "r|gz") as tar:  # a stream: one pass over ~75 MB, no seeking back
            for member in tar:
                parts = member.name.split("/")
                if len(parts) < 4 or parts[1:3] != ["vendor", "llama.cpp"]:
                    continue
                rel = "/".join(parts[3:])
                if any(rel == want or (want.endswith("/") and rel.startswith(want)) for want in VENDORED):
                    member.name = rel
                    tar.extract(member, staging, **SAFE)
        if not (staging / SCRIPT).is_file():
            raise OSError(f"the {SDIST_PACKAGE} {version} sdist has no vendor/llama.cpp/{SCRIPT}")
        if dest.exists() and not (dest / SCRIPT).is_file():
            shutil.rmtree(dest)  # left half-made by hand or by an older version of this code
        try:
            staging.rename(dest)  # atomic: a half-extracted tree is never taken for the cache
        except OSError:
            if not (dest / SCRIPT).is_file():  # not another process that got there first
                raise
    return dest / SCRIPT


def find_converter(converter: str | Path | None = None) -> Path:
    """The path of llama.cpp's ``convert_hf_to_gguf.py``, found in the order the module docstring gives.

    Fetches (once, then cached) the one vendored by the installed llama-cpp-python when nothing else is
    set, so that the GGUF matches the llama.cpp that will load it.
    """
    if converter is not None:
        return _in_checkout(Path(converter), "converter")
    env = os.environ.get("LLAMA_CPP_DIR")
    if env:
        return _in_checkout(Path(env), "LLAMA_CPP_DIR")
    for name in PATH_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found).resolve()
    try:
        version = _installed_version()
    except importlib.metadata.PackageNotFoundError:
        why = f"{SDIST_PACKAGE} is not installed, so there is no vendored copy to fetch"
    else:
        dest = cache_dir() / f"llama.cpp-{version}"
        if (dest / SCRIPT).is_file():
            return dest / SCRIPT
        try:
            return _fetch_vendored(version, dest)
        except (OSError, tarfile.TarError) as e:
            why = str(e).replace("\n", " ")
    raise WizardCoderError(f"llama.cpp's {SCRIPT} not found: no converter given, LLAMA_CPP_DIR unset, none on PATH, "
                           f"and {why}; set LLAMA_CPP_DIR to a llama.cpp checkout or pass the converter path")


def _converter_error(converter: Path, output: str) -> WizardCoderError:
    """One line from a failed conversion (the end of its ``output``), with the fix for the failures we know."""
    line = _last_line(output)
    if line.startswith("ModuleNotFoundError: No module named "):
        module = line.split("'")[1].split(".")[0] if "'" in line else "?"
        return WizardCoderError(f"llama.cpp's converter ({converter}) needs the Python package "
                                f"'{PIP_NAMES.get(module, module)}': pip install {PIP_NAMES.get(module, module)}")
    if "pre-tokenizer was not recognized" in line:
        return WizardCoderError(f"{line} ({converter}): the tokenizer's hash is not one llama.cpp knows; pass "
                                "tokenizer_pre=<llama.cpp pre-tokenizer name>, e.g. 'gpt-2' for a byte-level BPE "
                                "with GPT-2's split pattern")
    return WizardCoderError(f"llama.cpp's converter ({converter}) failed: {line}")


def _pre_tokenizer_name(model_dir: Path) -> str | None:
    """The llama.cpp pre-tokenizer that is exactly ``model_dir``'s, for the two shapes that map one to one.

    A byte-level BPE without prefix space and with GPT-2's split pattern is llama.cpp's ``gpt-2``; the
    same after a split into single digits is ``starcoder``. Anything else: None (we do not guess).
    """
    try:
        spec = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(spec, dict) or spec.get("normalizer") is not None:
        return None
    pre = spec.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if isinstance(pre, dict) and pre.get("type") == "Sequence" else [pre]
    if not steps or not all(isinstance(step, dict) for step in steps):
        return None
    *first, last = steps
    if last.get("type") != "ByteLevel" or last.get("add_prefix_space") or not last.get("use_regex", True):
        return None
    if not first:
        return "gpt-2"
    if first == [{"type": "Digits", "individual_digits": True}]:
        return "starcoder"
    return None


def export_gguf(model_dir: str | Path, out: str | Path, outtype: str = "f16", converter: str | Path | None = None,
                *, tokenizer_pre: str | None = None) -> Path:
    """Write ``model_dir`` (a ``save_pretrained`` directory) as the GGUF file ``out`` and return its path.

    ``outtype`` is the converter's: f16 (default: half the size), f32 (exact), bf16, q8_0 or auto.
    ``tokenizer_pre`` names the llama.cpp pre-tokenizer to use when the converter does not recognise the
    tokenizer: it identifies tokenizers by the hash of their ids on a fixed text, so a tokenizer trained
    by you is never known. Unset, it is inferred where the mapping is exact (GPT-2's and StarCoder's
    byte-level pre-tokenizers); tokenizers the converter knows always keep their own.
    """
    model_dir, out = Path(model_dir), Path(out)
    if outtype not in OUTTYPES:
        raise WizardCoderError(f"outtype {outtype!r}: choose one of {', '.join(OUTTYPES)}")
    if not (model_dir / "config.json").is_file():
        raise WizardCoderError(f"{model_dir}: not a Hugging Face model directory (no config.json)")
    script = find_converter(converter)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    gguf_py = script.parent / "gguf-py"
    if gguf_py.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(gguf_py), env.get("PYTHONPATH")) if p)
    pre = tokenizer_pre or _pre_tokenizer_name(model_dir) or ""
    cmd = [sys.executable, "-c", _RUNNER, str(script), pre,
           str(model_dir), "--outfile", str(out), "--outtype", outtype]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=env)
    if proc.returncode != 0:
        raise _converter_error(script, proc.stderr if proc.stderr.strip() else proc.stdout)
    if not out.is_file():
        raise WizardCoderError(f"llama.cpp's converter ({script}) wrote no {out}: {_last_line(proc.stderr)}")
    return out
