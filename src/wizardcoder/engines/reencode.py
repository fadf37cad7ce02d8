"""Faster weights for llama.cpp: a GGUF re-encoded once into a type with fast CPU kernels, cached.

Some shipped quantizations have slow kernels on common CPUs (the default model's Q4_1 on AVX2:
``bench/llama_bench.py`` measured F16 and Q8_0 at about 1.4x its generation and 2x its prompt
throughput, in llama.cpp's own ``llama-batched-bench`` and in our engine alike). llama.cpp's
quantizer (``llama_model_quantize`` with requantizing allowed) re-encodes the file in a second.

Invariants:
- The source file is never touched; the re-encoding lives in the cache (``reencoded/``), named by
  the source's path, size and modification time and the target type, so a changed source is
  re-encoded again and an unchanged one is reused.
- A cached file is complete or absent: it is written under a temporary name in the same directory
  and renamed into place; two processes re-encoding at once both produce the same file.
- Re-encoding changes the numbers a little (Q4_1 values rounded to F16, or requantized to Q8_0):
  greedy answers can differ on near-ties. What that did to full benchmark runs is measured in
  bench/RESULTS.md; it is a choice (``--reencode``), never silent.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import tempfile
from pathlib import Path

from wizardcoder.errors import WizardCoderError
from wizardcoder.paths import cache_dir

TYPES = ("f16", "q8_0")


def cached_path(source: Path, kind: str) -> Path:
    """Where the re-encoding of ``source`` into ``kind`` is kept."""
    st = source.stat()
    key = hashlib.sha256(f"{source.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir() / "reencoded" / f"{source.stem}.{key}.{kind.upper()}.gguf"


def reencode(source: Path, kind: str, threads: int = 1) -> tuple[Path, bool]:
    """The cached re-encoding of the GGUF ``source`` into ``kind`` (made now if missing), and
    whether it was made by this call."""
    if kind not in TYPES:
        raise WizardCoderError(f"--reencode must be one of {', '.join(TYPES)}, got {kind!r}")
    if not source.is_file():
        raise WizardCoderError(f"{source}: no such GGUF file")
    target = cached_path(source, kind)
    if target.is_file():
        return target, False
    import llama_cpp as lc

    ftype = {"f16": lc.LLAMA_FTYPE_MOSTLY_F16, "q8_0": lc.LLAMA_FTYPE_MOSTLY_Q8_0}[kind]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        params = lc.llama_model_quantize_default_params()
        params.ftype = ftype
        params.allow_requantize = True
        params.nthread = max(1, threads)
        with _quiet():
            rc = lc.llama_model_quantize(str(source).encode(), tmp.encode(), ctypes.byref(params))
            if rc != 0:
                raise WizardCoderError(f"{source}: llama.cpp could not re-encode it as {kind.upper()} (code {rc})")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target, True


class _quiet:
    """llama.cpp's quantizer prints a line per tensor on stderr (file descriptor 2): hold it back,
    and show it only if the re-encoding fails."""

    def __enter__(self) -> None:
        self._log = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._log.fileno(), 2)

    def __exit__(self, exc_type: object, *_: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)
        if exc_type is not None:
            self._log.seek(0)
            os.write(2, self._log.read()[-4000:])
        self._log.close()
