"""Expected outputs of the io benchmarks, from the canonical solutions, cached on disk.

The canonical solutions run in the sandbox like any sample (the dataset file is data from the
internet too). Each output is kept as the codec's JSON text plus a fingerprint digest: a
sample whose output has the same fingerprint is an exact match, judged without parsing either side
(HumanEval+ alone has 300 MB of expected outputs); see ``runner.fingerprint``. Values are parsed only when a comparison
needs them.

Cache layout, keyed by the dataset md5 and this module's format version; a task's files are
written atomically, values first, meta last (its presence marks the task complete)::

    expected/<benchmark>-<md5>-v<format>/<n>.json.gz      outputs of the n-th task, one JSON text a line
    expected/<benchmark>-<md5>-v<format>/<n>.meta.json    canonical times, digests, flags
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.datasets import Dataset, Task
from wizardcoder.harness.oracles import MBPP_NOT_NONE
from wizardcoder.paths import cache_dir
from wizardcoder.sandbox.codec import fingerprint, loads
from wizardcoder.sandbox.sandbox import STOP, Sandbox

FORMAT = 5  # 5: numpy scalars and top-level subclasses keep their type
BIG_OUTPUT = 1 << 16  # bytes: a sample's output this large is first offered by its digest only


@dataclass
class Expected:
    """Expected outputs of one task (base inputs, then plus inputs) and canonical times."""

    base_time: list[float]
    plus_time: list[float]
    digests: list[str]  # runner.fingerprint of each output
    exact_ok: list[bool]  # False where equal text does not imply ==, e.g. NaN inside
    floats: list[bool]  # evalplus's is_floats(expected): switches a zero tolerance to 1e-6
    path: Path | None = None  # one output's JSON text per line, gzipped
    _cache: dict[int, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def value(self, i: int) -> Any:
        """The i-th expected output, parsing only that line: a sample that fails early (most
        wrong samples do) costs one line, not the task's whole output (up to 150 MB)."""
        with self._lock:
            if i not in self._cache:
                assert self.path is not None
                with gzip.open(self.path, "rb") as fh:
                    for n, line in enumerate(fh):
                        if n == i:
                            self._cache[i] = loads(line)
                            break
            return self._cache[i]


def cache_path(dataset: Dataset) -> Path:
    # Fingerprints are pickle-based: keyed by the Python version too.
    py = f"py{sys.version_info[0]}{sys.version_info[1]}"
    return cache_dir() / "expected" / f"{dataset.benchmark.replace('+', 'plus')}-{dataset.md5}-v{FORMAT}-{py}"


def _load_task(root: Path, n: int) -> Expected | None:
    try:
        row = json.loads((root / f"{n}.meta.json").read_text())
        values = root / f"{n}.json.gz"
        if not values.exists():
            return None
        return Expected(row["base_time"], row["plus_time"], row["digests"], row["exact_ok"], row["floats"],
                        path=values)
    except (OSError, ValueError, KeyError):
        return None


def run_canonical(sandbox: Sandbox, task: Task, family: str, root: Path, n: int,
                  wall_timeout: float = 1800.0) -> Expected:
    """Run the canonical solution on every input and cache its outputs (values, then meta)."""
    inputs = list(task.base_inputs) + list(task.plus_inputs)
    not_none = family == "mbpp" and task.entry_point in MBPP_NOT_NONE
    texts: list[bytes] = []
    times: list[float] = []
    floats: list[bool] = []
    digests: list[str] = []
    problems: list[str] = []

    def on_record(rec: dict) -> float | None:
        kind = rec.get("k")
        if kind == "load":
            if not rec.get("ok"):
                problems.append(f"does not load: {rec.get('error')}")
                return STOP
            return wall_timeout
        if kind == "ran":
            return wall_timeout
        if kind != "out":
            problems.append(f"fails on input {rec.get('i')}: {rec.get('error') or rec}")
            return STOP
        raw = rec["raw"]
        if not_none:  # the oracle only records whether there was an output
            raw = b"false" if raw == b"null" else b"true"
            fp = fingerprint(raw == b"true")
            digests.append(fp[0] if fp else "")
        else:
            digests.append(rec.get("d") or "")
        texts.append(raw)
        times.append(float(rec["t"]))
        floats.append(bool(rec.get("f")) and not not_none)
        return STOP if len(texts) == len(inputs) else wall_timeout

    if inputs:
        job = {"mode": "io", "code": task.canonical, "entry_point": task.entry_point, "inputs": inputs,
               "time_limits": [], "load_limit": 0, "mbpp_task": task.mbpp_number}
        # Reference solutions may need more memory than samples are allowed (Mbpp/255 does).
        ex = sandbox.execute(job, first_wait=wall_timeout, wall_timeout=wall_timeout, on_record=on_record,
                             memory_bytes=-1)
        if not problems and len(texts) < len(inputs):
            problems.append("timed out" if ex.timed_out else f"crashed: {ex.output[:200]!r}")
    if problems:
        raise WizardCoderError(f"canonical solution of {task.task_id} {problems[0]}")
    nb = len(task.base_inputs)
    meta = {
        "task_id": task.task_id,
        "base_time": times[:nb],
        "plus_time": times[nb:],
        "digests": digests,
        "exact_ok": [b"NaN" not in t for t in texts],
        "floats": floats,
    }
    root.mkdir(parents=True, exist_ok=True)
    _atomic_bytes(root / f"{n}.json.gz", gzip.compress(b"\n".join(texts) + b"\n", compresslevel=1))
    _atomic_bytes(root / f"{n}.meta.json", json.dumps(meta).encode())  # last: marks the task complete
    loaded = _load_task(root, n)
    assert loaded is not None
    return loaded


def _atomic_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def expected_outputs(
    dataset: Dataset,
    sandbox: Sandbox,
    workers: int,
    task_ids: Collection[str] | None = None,
    on_task: Callable[[str], None] | None = None,
) -> tuple[dict[str, Expected], int]:
    """Expected outputs of ``task_ids`` (default: all); also returns how many were computed.

    Each task is cached on its own as soon as it is done, so an interrupted computation resumes
    where it stopped, and a partial evaluation computes only the tasks it needs.
    """
    root = cache_path(dataset)
    index = {tid: n for n, tid in enumerate(dataset.tasks)}
    wanted = list(dataset.tasks) if task_ids is None else [t for t in dataset.tasks if t in set(task_ids)]
    table: dict[str, Expected] = {}
    missing: list[str] = []
    for tid in wanted:
        exp = _load_task(root, index[tid])
        if exp is None:
            missing.append(tid)
        else:
            table[tid] = exp
            if on_task:
                on_task(tid)
    family = dataset.benchmark.rstrip("+")
    # Big tasks first: a long canonical run started last would leave a core idle at the end.
    missing.sort(key=lambda t: -(len(dataset.tasks[t].base_inputs) + len(dataset.tasks[t].plus_inputs)))

    def one(tid: str) -> tuple[str, Expected]:
        exp = run_canonical(sandbox, dataset.tasks[tid], family, root, index[tid])
        if on_task:
            on_task(tid)
        return tid, exp

    if missing:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            table.update(pool.map(one, missing))
    return table, len(missing)
