"""The CPU budget of the llama.cpp engine: affinity, cgroup quotas (v1 and v2), physical cores."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wizardcoder.engines.cpus import _physical, cgroup_quota, cpu_budget


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_cgroup_v2_takes_the_smallest_quota_along_the_path(tmp_path: Path) -> None:
    _tree(tmp_path, {"proc": "0::/user.slice/job\n", "cg/cpu.max": "max 100000\n",
                     "cg/user.slice/cpu.max": "300000 100000\n", "cg/user.slice/job/cpu.max": "150000 100000\n"})
    assert cgroup_quota(tmp_path / "proc", tmp_path / "cg") == 1.5
    (tmp_path / "cg/user.slice/job/cpu.max").write_text("max 100000\n")
    assert cgroup_quota(tmp_path / "proc", tmp_path / "cg") == 3.0


def test_cgroup_v1_quota_and_no_limit(tmp_path: Path) -> None:
    _tree(tmp_path, {"proc": "4:memory:/x\n2:cpu,cpuacct:/docker/abc\n",
                     "cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
                     "cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"})
    assert cgroup_quota(tmp_path / "proc", tmp_path / "cg") == 0.5
    (tmp_path / "cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_quota(tmp_path / "proc", tmp_path / "cg") is None
    assert cgroup_quota(tmp_path / "missing", tmp_path / "cg") is None


def test_smt_siblings_count_as_one_core(tmp_path: Path) -> None:
    _tree(tmp_path, {f"cpu{i}/topology/thread_siblings_list": s for i, s in
                     enumerate(["0,2", "1,3", "0,2", "1,3"])})
    assert _physical({0, 1, 2, 3}, tmp_path) == 2
    assert _physical({0, 2}, tmp_path) == 1


@pytest.mark.skipif(not shutil.which("taskset"), reason="taskset (util-linux) is not installed")
def test_a_process_pinned_to_one_cpu_uses_one_thread() -> None:
    code = "from wizardcoder.engines.cpus import cpu_budget; print(cpu_budget().threads)"
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    assert 1 <= cpu_budget().threads <= len(__import__("os").sched_getaffinity(0))


def test_the_llamacpp_engine_says_how_it_placed_itself() -> None:
    from wizardcoder.engines import load_engine, resolve_model

    with load_engine(resolve_model("default"), "llamacpp", parallel=2, n_ctx=256) as engine:
        assert engine.setup.startswith(cpu_budget().describe()) and "2 sequences in parallel" in engine.setup
    with load_engine(resolve_model("default"), "llamacpp", parallel=1, n_ctx=256, threads=1) as engine:
        assert engine.setup.startswith("1 thread (--threads)")
