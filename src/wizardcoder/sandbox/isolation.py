"""Linux isolation primitives for the sandbox, through libc (stdlib only: the runner imports this).

Everything here runs inside the sandbox's user namespace, where the zygote is "root" over its own
namespaces only. Each function raises OSError when the kernel refuses; callers decide whether a
mechanism is required or merely preferred.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added in Linux 5.12)

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
# noroot + no_setuid_fixup + keep_caps + no_cap_ambient_raise, each with its lock bit
SECUREBITS_LOCKED_DOWN = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80
LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = None


def libc() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)  # the interpreter's own libc: no library search
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(libc().unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    args = [None if s is None else s.encode() for s in (source, target, fstype)]
    _check(libc().mount(*args, ctypes.c_ulong(flags), None if data is None else data.encode()), f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def make_readonly_tree(path: str = "/") -> None:
    """Every mount at and below ``path`` read-only, in the current mount namespace only."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    ret = libc().syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), path.encode(),
                         ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    _check(ret, f"mount_setattr {path}")


def private_mount_namespace() -> None:
    """A mount namespace of our own, whose changes never propagate back to the host."""
    unshare(CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def prctl(option: int, arg2: int = 0) -> None:
    _check(libc().prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(0), ctypes.c_ulong(0),
                        ctypes.c_ulong(0)), f"prctl {option}")


SPARE_NAME = "wc-spare"  # /proc/PID/comm of an idle launcher (not a leftover of any job)


def set_name(name: str) -> None:
    """The process name shown in /proc/PID/comm (15 bytes at most)."""
    _check(libc().prctl(ctypes.c_int(15), ctypes.c_char_p(name.encode()[:15]), ctypes.c_ulong(0),
                        ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl PR_SET_NAME")


def set_parent_death_signal() -> None:
    """SIGKILL when the parent dies (the sample could clear it: the harness kills by pidfd too)."""
    prctl(PR_SET_PDEATHSIG, 9)


def set_undumpable() -> None:
    """No ptrace, no /proc/PID/{mem,environ,fd} for processes without CAP_SYS_PTRACE."""
    prctl(PR_SET_DUMPABLE, 0)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_bounding_set() -> None:
    """Empty the capability bounding set (inherited by every child): no execve can ever grant a
    capability. Done once in the zygote, which keeps its own effective capabilities."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            last = int(fh.read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError:
            break


def drop_all_capabilities() -> None:
    """Give up every capability for good: uid 0 inside the namespace then means nothing.

    Without this the sample would be root over its namespaces: it could remount the file
    system read-write or ptrace the supervisor."""
    prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED_DOWN)  # exec of anything never regains capabilities
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(libc().capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def raise_oom_score() -> None:
    """Make sandboxed processes the kernel OOM killer's first choice, not the harness (inherited)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass
