"""How many CPU threads a CPU engine should use: what this process may run on, not what the machine has.

``os.cpu_count()`` counts the machine's logical CPUs. A process pinned to fewer (``taskset``, a
container's cpuset) or limited by a CPU quota (``docker --cpus``, a Kubernetes limit, cgroup v2
``cpu.max`` or v1 ``cfs_quota_us``) that starts one thread per logical CPU runs threads that wait
for each other at every barrier of every matrix product: llama.cpp then decodes several times
slower. Simultaneous-multithreading siblings share one core's vector units, so llama.cpp's own
default, one thread per physical core, is kept. Every source that cannot be read is skipped.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CpuBudget:
    threads: int  # what the engine uses
    allowed: int  # logical CPUs in the affinity mask
    physical: int  # physical cores among them
    quota: float | None  # CPUs' worth of time the cgroup allows (None: no limit)

    def describe(self) -> str:
        parts = [f"{self.allowed} CPUs allowed"]
        if self.physical != self.allowed:
            parts.append(f"{self.physical} physical cores")
        if self.quota is not None:
            parts.append(f"cgroup quota {self.quota:g} CPUs")
        return f"{self.threads} thread{'s' if self.threads != 1 else ''} ({', '.join(parts)})"


def _allowed() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def _physical(cpus: set[int], sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """Distinct cores among ``cpus`` (SMT siblings count once)."""
    cores = set()
    for cpu in cpus:
        try:
            cores.add((sysfs / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text().strip())
        except OSError:
            cores.add(f"cpu{cpu}")
    return max(1, len(cores))


def _read_quota(path: Path) -> float | None:
    """CPUs' worth of a cgroup v2 ``cpu.max`` ("max 100000" / "150000 100000") or a v1 directory."""
    try:
        if path.name == "cpu.max":
            quota, period = path.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        quota_us = int((path / "cpu.cfs_quota_us").read_text())
        period_us = int((path / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def cgroup_quota(proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = CGROUP_ROOT) -> float | None:
    """The smallest CPU quota on this process's cgroup path (its own group and every parent)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    found: list[float] = []
    for line in lines:
        _, controllers, rel = [*line.split(":", 2), "", ""][:3]
        if controllers == "":  # v2: cpu.max in each group along the path
            candidates = [root / rel.lstrip("/") / "cpu.max"]
            candidates += [p / "cpu.max" for p in (root / rel.lstrip("/")).parents if p.is_relative_to(root)]
        elif "cpu" in controllers.split(","):
            base = next((root / name for name in (controllers, "cpu", "cpu,cpuacct") if (root / name).is_dir()), None)
            if base is None:
                continue
            here = base / rel.lstrip("/")
            candidates = [here, *[p for p in here.parents if p.is_relative_to(base)]]
        else:
            continue
        found += [q for q in map(_read_quota, candidates) if q is not None]
    return min(found) if found else None


def cpu_budget() -> CpuBudget:
    allowed = _allowed()
    physical = _physical(allowed)
    quota = cgroup_quota()
    threads = physical if quota is None else min(physical, max(1, math.floor(quota)))
    return CpuBudget(max(1, threads), len(allowed), physical, quota)
