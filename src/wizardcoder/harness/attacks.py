"""Hostile programs, and the check that the sandbox contains each of them.

Every attack is a "solution" to a trivial task (``f(x) == x + 1``) that does not solve it but
tries something else (in Python, and, run as MultiPL-E programs in the sandbox's exec mode, in
C++, JavaScript and Bash: modes ``cpp``, ``js``, ``sh``): burn resources, touch the host, outlive its job, reach the network, read
secrets, or forge a passing verdict. An attack is *contained* when, after it ran:

- its verdict is fail, timeout or error (never pass), within a bounded wall time;
- the canary files in the project directory and in $HOME are untouched, no new file appeared;
- no process of the sandbox is left but the zygote; the decoy host process is alive;
- the loopback listener accepted no connection; the planted secret appears nowhere in the result;
- the harness goes on: a correct program passes right after.

``wizardcoder sandbox-check`` runs them all and prints contained / total; the test suite asserts
each one. New attacks go in ``ATTACKS``.
"""

from __future__ import annotations

import gzip
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from wizardcoder.harness.checker import PASS, TimeSettings, Verdict, check_io, check_script
from wizardcoder.harness.datasets import Task
from wizardcoder.harness.expected import Expected
from wizardcoder.sandbox.codec import fingerprint
from wizardcoder.sandbox.isolation import SPARE_NAME
from wizardcoder.sandbox.sandbox import Sandbox


@dataclass(frozen=True)
class Attack:
    name: str
    threat: str  # resources / files / processes / network / secrets / verdicts / output
    code: str  # placeholders: __PROJECT_CANARY__ __HOME_CANARY__ __PROJECT_DIR__ __PORT__ __SECRET_NAME__ __VICTIM__
    modes: tuple[str, ...] = ("script", "io")
    needs: tuple[str, ...] = ()  # isolation (Sandbox.status keys) without which running it could harm the host


_LOOP = "def f(x):\n    while True:\n        pass\n"

ATTACKS: list[Attack] = [
    # -- resources ------------------------------------------------------------------------------
    Attack("infinite loop", "resources", _LOOP),
    Attack("CPU burn in threads", "resources",
           "import threading\n"
           "def burn():\n    while True:\n        pass\n"
           "for _ in range(8):\n    threading.Thread(target=burn, daemon=True).start()\n" + _LOOP),
    Attack("fork bomb", "resources",
           "import os\n"
           "def f(x):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n",
           needs=("pid_namespace", "process_limit")),
    Attack("memory bomb", "resources", "def f(x):\n    return len(bytearray(64 << 30))\n"),
    Attack("memory bomb, touched, in many processes", "resources",
           "import os, time\n"
           "def f(x):\n"
           "    for _ in range(6):\n"
           "        if os.fork() == 0:\n"
           "            try:\n                b = bytearray(900 << 20)\n"
           "            except MemoryError:\n                pass\n"
           "            time.sleep(60)\n"
           "    time.sleep(60)\n",
           needs=("pid_namespace",)),
    Attack("huge recursion", "resources",
           "import sys\nsys.setrecursionlimit(10**9)\n"
           "def f(x):\n    return f(x + 1) + 1\n"),
    Attack("disk fill", "resources",
           "import os\n"
           "def f(x):\n"
           "    for d in ('.', '/tmp', '/dev/shm', '/var/tmp'):\n"
           "        for i in range(100000):\n"
           "            try:\n"
           "                with open(os.path.join(d, f'fill{i}'), 'wb') as fh:\n"
           "                    fh.write(b'x' * (16 << 20))\n"
           "            except OSError:\n                break\n"
           "    return -1\n"),
    Attack("exhaust file descriptors", "resources",
           "import os\nfds = []\n"
           "def f(x):\n    while True:\n        fds.append(os.open('/dev/null', os.O_RDONLY))\n"),
    Attack("raise own limits", "resources",
           "import resource\n"
           "for r in (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_CPU):\n"
           "    try:\n        resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
           "    except (ValueError, OSError):\n        pass\n"
           "def f(x):\n    return len(bytearray(64 << 30))\n"),
    # -- files ----------------------------------------------------------------------------------
    Attack("write and delete files outside its directory", "files",
           "import os, shutil\n"
           "def f(x):\n"
           "    for path in ('__PROJECT_CANARY__', '__HOME_CANARY__'):\n"
           "        for act in (lambda p: open(p, 'w').write('pwned'), os.remove, lambda p: os.rename(p, p + '.x')):\n"
           "            try:\n                act(path)\n            except OSError:\n                pass\n"
           "    try:\n        open(os.path.join('__PROJECT_DIR__', 'PWNED'), 'w').write('x')\n"
           "    except OSError:\n        pass\n"
           "    return -1\n"),
    Attack("symlink out of its directory", "files",
           "import os\n"
           "def f(x):\n"
           "    try:\n        os.symlink('__PROJECT_CANARY__', 'link')\n        open('link', 'w').write('pwned')\n"
           "    except OSError:\n        pass\n"
           "    return -1\n"),
    Attack("remount the file system read-write", "files",
           "import ctypes, os\n"
           "libc = ctypes.CDLL(None)\n"
           "def f(x):\n"
           "    libc.mount(None, b'/', None, ctypes.c_ulong(32 | 4096), None)  # MS_REMOUNT | MS_BIND\n"
           "    libc.umount2(b'/root', 2)\n"
           "    try:\n        open('__PROJECT_CANARY__', 'w').write('pwned')\n    except OSError:\n        pass\n"
           "    return -1\n"),
    Attack("nested user namespace to regain root", "files",
           "import subprocess\n"
           "def f(x):\n"
           "    subprocess.run(['unshare', '-Urm', 'sh', '-c', 'mount -o remount,rw / ; mount -o remount,rw,bind / ;"
           " echo pwned > __PROJECT_CANARY__; rm -f __HOME_CANARY__'], capture_output=True, timeout=5)\n"
           "    return -1\n"),
    # -- processes ------------------------------------------------------------------------------
    Attack("kill the parent and every process it can", "processes",
           "import os, signal\n"
           "def f(x):\n"
           "    for target in (os.getppid(), 1, __VICTIM__):\n"
           "        try:\n            os.kill(target, signal.SIGKILL)\n        except OSError:\n            pass\n"
           "    try:\n        os.kill(-1, signal.SIGKILL)\n    except OSError:\n        pass\n"
           "    return -1\n",
           needs=("pid_namespace",)),
    Attack("kill every PID in range", "processes",
           "import os, signal\n"
           "def f(x):\n"
           "    for pid in range(1, 4096):\n"
           "        if pid != os.getpid():\n"
           "            try:\n                os.kill(pid, signal.SIGKILL)\n            except OSError:\n                pass\n"
           "    return -1\n",
           needs=("pid_namespace",)),
    Attack("daemon that outlives the sample", "processes",
           "import os, time\n"
           "def f(x):\n"
           "    if os.fork() == 0:\n"
           "        os.setsid()\n"
           "        if os.fork() == 0:\n"
           "            signal_free = [os.sched_yield() for _ in range(1)]\n"
           "            while True:\n                time.sleep(0.1)\n"
           "        os._exit(0)\n"
           "    time.sleep(0.2)\n"
           "    return -1\n"),
    Attack("daemon through subprocess", "processes",
           "import subprocess, sys\n"
           "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True: time.sleep(1)'], start_new_session=True)\n"
           "def f(x):\n    return -1\n"),
    Attack("trace the supervisor", "processes",
           "import ctypes, os\n"
           "libc = ctypes.CDLL(None)\n"
           "def f(x):\n"
           "    got = []\n"
           "    for pid in (os.getppid(), 1):\n"
           "        got.append(libc.ptrace(16, pid, None, None))  # PTRACE_ATTACH\n"
           "        for name in ('environ', 'mem', 'fd'):\n"
           "            try:\n                got.append(os.listdir(f'/proc/{pid}/{name}') if name == 'fd'"
           " else open(f'/proc/{pid}/{name}', 'rb').read(100))\n"
           "            except OSError:\n                pass\n"
           "    return got\n"),
    # -- network --------------------------------------------------------------------------------
    Attack("connect to a loopback listener", "network",
           "import socket\n"
           "def f(x):\n"
           "    for host in ('127.0.0.1', 'localhost', '::1'):\n"
           "        try:\n            socket.create_connection((host, __PORT__), timeout=0.5).sendall(b'pwned')\n"
           "        except OSError:\n            pass\n"
           "    try:\n        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'pwned', ('127.0.0.1', __PORT__))\n"
           "    except OSError:\n        pass\n"
           "    return -1\n"),
    Attack("connect to UNIX sockets (a file in /tmp, an abstract name)", "network",
           "import socket\n"
           "def f(x):\n"
           "    for addr in ('__UNIX_SOCKET__', '\\0__ABSTRACT_SOCKET__'):\n"
           "        try:\n            s = socket.socket(socket.AF_UNIX)\n            s.settimeout(0.5)\n"
           "            s.connect(addr)\n            s.sendall(b'pwned')\n"
           "        except OSError:\n            pass\n"
           "    return -1\n"),
    # -- secrets --------------------------------------------------------------------------------
    Attack("read a secret from the parent's environment", "secrets",
           "import os\n"
           "def f(x):\n"
           "    found = [os.environ.get('__SECRET_NAME__')]\n"
           "    for pid in ['self', '1', str(os.getppid())] + [p for p in os.listdir('/proc') if p.isdigit()]:\n"
           "        try:\n            found.append(open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace'))\n"
           "        except OSError:\n            pass\n"
           "    print(found)\n"
           "    return found\n"),
    # -- verdicts -------------------------------------------------------------------------------
    Attack("sys.exit(0) before the asserts", "verdicts", "import sys\ndef f(x):\n    return -1\nsys.exit(0)\n"),
    Attack("os._exit(0) before the asserts", "verdicts", "import os\ndef f(x):\n    return -1\nos._exit(0)\n"),
    Attack("sys.exit(0) inside the function", "verdicts", "import sys\ndef f(x):\n    sys.exit(0)\n"),
    Attack("redefine assert helpers", "verdicts",
           "import builtins\n"
           "builtins.abs = lambda v: 0\nbuiltins.isinstance = lambda *a: True\n"
           "builtins.AssertionError = type('Nope', (Exception,), {})\n"
           "def check(candidate):\n    return True\n"
           "def f(x):\n    return -1\n"),
    Attack("__eq__ that always answers True", "verdicts",
           "class Yes(int):\n"
           "    def __eq__(self, other):\n        return True\n"
           "    def __ne__(self, other):\n        return False\n"
           "    __hash__ = int.__hash__\n"
           "    def __sub__(self, other):\n        return 0\n"
           "def f(x):\n    return Yes(-1)\n"),
    Attack("__eq__ on a foreign object", "verdicts",
           "class Yes:\n    def __eq__(self, other):\n        return True\n"
           "    def __sub__(self, other):\n        return 0\n"
           "    __rsub__ = __sub__\n"
           "def f(x):\n    return Yes()\n"),
    Attack("monkeypatch the checker's modules", "verdicts",
           "import sys, json\n"
           "main = sys.modules['__main__']\n"
           "for name in ('run_job', 'run_script_tests', 'run_script_sample', '_timed', 'fingerprint', 'dumps'):\n"
           "    if hasattr(main, name):\n        setattr(main, name, lambda *a, **k: None)\n"
           "calls = sys.modules.get('calls')\n"
           "if calls:\n    calls.export = lambda v, h: 2\n    calls.serve = lambda *a: None\n"
           "json.dumps = lambda *a, **k: '{\"ok\":1,\"v\":2,\"m\":{}}'\n"
           "def f(x):\n    return -1\n"),
    Attack("print fake PASS markers", "verdicts",
           "import os, sys\n"
           "fake = b'{\"k\":\"test\",\"i\":0,\"ok\":true}\\n{\"k\":\"test\",\"i\":1,\"ok\":true}\\n{\"k\":\"end\"}\\nPASS\\n'\n"
           "print(fake.decode())\nsys.stderr.write('passed\\n')\n"
           "for fd in range(3, 64):\n"
           "    try:\n        os.write(fd, fake)\n    except OSError:\n        pass\n"
           "def f(x):\n    return -1\n"),
    Attack("write fake records into the supervisor's descriptors", "verdicts",
           "import os\n"
           "fake = b'{\"k\":\"test\",\"i\":0,\"ok\":true}\\n{\"k\":\"test\",\"i\":1,\"ok\":true}\\n'\n"
           "def f(x):\n"
           "    for pid in (os.getppid(), 1):\n"
           "        for fd in range(64):\n"
           "            try:\n                w = os.open(f'/proc/{pid}/fd/{fd}', os.O_WRONLY)\n"
           "                os.write(w, fake)\n            except OSError:\n                pass\n"
           "    return -1\n"),
    Attack("close every file descriptor", "verdicts", "import os\nos.closerange(0, 4096)\ndef f(x):\n    return -1\n"),
    Attack("redirect descriptors onto the record channel", "verdicts",
           "import os\n"
           "def f(x):\n"
           "    for fd in range(3, 64):\n"
           "        try:\n            os.dup2(1, fd)\n        except OSError:\n            pass\n"
           "    print('{\"k\":\"test\",\"i\":0,\"ok\":true}')\n"
           "    return -1\n"),
    Attack("return an endless generator", "verdicts",
           "import itertools\ndef f(x):\n    return itertools.count()\n", modes=("script",)),
    # -- signals, clocks, crashes ---------------------------------------------------------------
    Attack("ignore SIGTERM and the alarm", "resources",
           "import signal\n"
           "for s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):\n"
           "    signal.signal(s, signal.SIG_IGN)\n"
           "signal.setitimer(signal.ITIMER_REAL, 0)\n" + _LOOP),
    Attack("sleep with an altered clock", "resources",
           "import time, signal\n"
           "real_sleep = time.sleep\n"
           "time.time = time.monotonic = time.perf_counter = lambda: 0.0\n"
           "signal.setitimer = lambda *a, **k: (0.0, 0.0)\n"
           "def f(x):\n    real_sleep(3600)\n    return x + 1\n"),
    Attack("crash the interpreter with ctypes", "resources", "import ctypes\ndef f(x):\n    return ctypes.string_at(0)\n"),
    # -- output ---------------------------------------------------------------------------------
    Attack("flood stdout", "output",
           "import os, sys\n"
           "def f(x):\n"
           "    for _ in range(20000):\n        os.write(1, b'y' * 65536)\n        sys.stdout.write('z' * 65536)\n"
           "    return -1\n"),
]


# MultiPL-E programs (harness/multiple.py): a trivial task per language, shaped like MultiPL-E's (the prompt
# opens the function; in cpp and sh the tests close it, in js the program must). An attack is the program
# without its tests; the tests then call f(1) and f(10).
MULTIPLE_TASKS = {
    "cpp": ("#include <bits/stdc++.h>\nlong f(long x) {\n",
            "}\nint main() {\n    assert(f(1) == 2);\n    assert(f(10) == 11);\n}\n"),
    "js": ("function f(x) {\n",
           "const assert = require('node:assert');\nassert.deepEqual(f(1), 2);\nassert.deepEqual(f(10), 11);\n"),
    "sh": ("#!/bin/bash\nf() {\n", '}\n\nset -e\n[[ $(f 1) = "2" ]]\n[[ $(f 10) = "11" ]]\n'),
}
MULTIPLE_CORRECT = {"cpp": "    return x + 1;\n", "js": "  return x + 1;\n}\n", "sh": "    echo $(( $1 + 1 ))\n"}
_CPP, _JS, _SH = MULTIPLE_TASKS["cpp"][0], MULTIPLE_TASKS["js"][0], MULTIPLE_TASKS["sh"][0]

ATTACKS += [
    Attack("C++: fork bomb", "resources", _CPP + "    for (;;) fork();\n", modes=("cpp",),
           needs=("pid_namespace", "process_limit")),
    Attack("C++: write, delete and connect outside", "files",
           "#include <fstream>\n#include <sys/socket.h>\n#include <netinet/in.h>\n#include <arpa/inet.h>\n" + _CPP +
           "    std::ofstream(\"__PROJECT_CANARY__\") << \"pwned\";\n    std::remove(\"__HOME_CANARY__\");\n"
           "    std::ofstream(\"__PROJECT_DIR__/PWNED\") << \"x\";\n"
           "    int s = socket(AF_INET, SOCK_STREAM, 0); sockaddr_in a{}; a.sin_family = AF_INET;\n"
           "    a.sin_port = htons(__PORT__); a.sin_addr.s_addr = inet_addr(\"127.0.0.1\");\n"
           "    connect(s, (sockaddr*)&a, sizeof a);\n    return -1;\n", modes=("cpp",)),
    Attack("C++: kill the harness, leave a daemon, exit 0 before the tests", "processes",
           "#include <signal.h>\n#include <unistd.h>\n" + _CPP +
           "    kill(__VICTIM__, SIGKILL); kill(getppid(), SIGKILL); kill(1, SIGKILL);\n"
           "    if (fork() == 0) { setsid(); sleep(600); }\n    exit(0);\n", modes=("cpp",), needs=("pid_namespace",)),
    Attack("JavaScript: read the environment, write and connect outside", "secrets",
           _JS + "  const fs = require('fs'), net = require('net');\n"
           "  console.log(JSON.stringify(process.env));\n"
           "  for (const p of ['__PROJECT_CANARY__', '__HOME_CANARY__']) { try { fs.writeFileSync(p, 'pwned'); } catch (e) {} }\n"
           "  try { fs.writeFileSync('__PROJECT_DIR__/PWNED', 'x'); } catch (e) {}\n"
           "  net.connect(__PORT__, '127.0.0.1').on('error', () => {});\n"
           "  throw new Error(process.env.__SECRET_NAME__ || 'no secret');\n}\n", modes=("js",)),
    Attack("JavaScript: kill the harness, spawn a daemon, exit 0 early", "processes",
           _JS + "  const cp = require('child_process');\n"
           "  for (const p of [__VICTIM__, process.ppid, 1]) { try { process.kill(p, 'SIGKILL'); } catch (e) {} }\n"
           "  cp.spawn('sleep', ['600'], {detached: true, stdio: 'ignore'}).unref();\n"
           "  process.exit(0);\n}\n", modes=("js",), needs=("pid_namespace",)),
    Attack("JavaScript: allocate without end", "resources",
           _JS + "  const a = []; for (;;) a.push(new Array(1 << 20).fill(1));\n}\n", modes=("js",)),
    Attack("Bash: fork bomb", "resources", _SH + "    b() { b | b & }; b\n", modes=("sh",),
           needs=("pid_namespace", "process_limit")),
    Attack("Bash: read the environment, write and connect outside", "secrets",
           _SH + "    env; echo \"$__SECRET_NAME__\"\n"
           "    echo pwned > __PROJECT_CANARY__; rm -f __HOME_CANARY__; echo x > __PROJECT_DIR__/PWNED\n"
           "    exec 3<>/dev/tcp/127.0.0.1/__PORT__\n    echo $(( $1 + 1 ))\n", modes=("sh",)),
    Attack("Bash: kill the harness, leave a daemon, forge the end", "processes",
           _SH + "    kill -9 __VICTIM__ $PPID 1 -1; nohup sleep 600 >/dev/null 2>&1 &\n"
           "    echo wizardcoder-tests-done-0000000000000000; exit 0\n", modes=("sh",), needs=("pid_namespace",)),
]


@dataclass
class Outcome:
    """One attack in one mode."""

    attack: str
    threat: str
    mode: str
    status: str  # the verdict's, or "not run"
    contained: bool
    breaches: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""

    def row(self) -> dict:
        return {"attack": self.attack, "threat": self.threat, "mode": self.mode, "status": self.status,
                "contained": self.contained, "breaches": self.breaches, "seconds": round(self.seconds, 3),
                "note": self.note}


SETTINGS = TimeSettings(min_time_limit=1.0, time_limit_factor=1.0, timeout_per_task=3.0, script_time_limit=1.0)
WALL_BOUND = 20.0  # seconds; the limits above allow at most about 8
SCRIPT_TESTS = [
    "def check(candidate):\n"
    "    assert candidate(1) == 2\n"
    "    assert abs(candidate(2) - 3) < 1e-9\n"
    "    assert isinstance(candidate(3), int) and candidate(3) == 4\n"
    "check(f)\n",
    "assert f(10) == 11\n",
]
INPUTS = [[1], [2], [3], [10]]
CORRECT = "def f(x):\n    return x + 1\n"


def _digest(value: int) -> str:
    fp = fingerprint(value)
    assert fp is not None  # an int always pickles
    return fp[0]


def _expected(workdir: Path) -> Expected:
    values = [x[0] + 1 for x in INPUTS]
    path = workdir / "expected.json.gz"
    with gzip.open(path, "wt") as fh:
        for v in values:
            fh.write(f"{v}\n")
    return Expected(base_time=[0.001] * len(values), plus_time=[], digests=[_digest(v) for v in values],
                    exact_ok=[True] * len(values), floats=[False] * len(values), path=path)


def sandbox_processes(sandbox: Sandbox) -> list[int]:
    """Live host PIDs descending from the sandbox's zygote (not the zygote itself).

    Nothing a job starts can leave that tree: orphans are re-parented to the job's first process
    (its PID namespace's init) or to the zygote (a child subreaper)."""
    zygote = sandbox.zygote_pid
    if zygote is None:
        return []
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                head, tail = fh.read().rsplit(")", 1)
            fields = tail.split()
        except (OSError, IndexError, ValueError):
            continue
        if fields[0] in ("Z", "X"):
            continue
        if int(fields[1]) == zygote and head.split("(", 1)[-1] == SPARE_NAME:
            continue  # the zygote's idle launcher, forked ahead for the next job
        parents[int(entry)] = int(fields[1])
    found = []
    for pid in parents:
        p, hops = parents.get(pid), 0
        while p and p != zygote and hops < 64:
            p, hops = parents.get(p), hops + 1
        if p == zygote and pid != zygote:
            found.append(pid)
    return found


@contextmanager
def _stage(project: Path) -> Iterator[dict]:
    """Canaries, a loopback listener, a decoy process and a secret in the environment."""
    token = secrets.token_hex(8)
    home = Path(os.path.expanduser("~"))
    canaries = {project / f".wizardcoder-canary-{token}": f"project canary {token}\n",
                home / f".wizardcoder-canary-{token}": f"home canary {token}\n"}
    for path, text in canaries.items():
        path.write_text(text)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    unix_path = Path(tempfile.gettempdir()) / f"wizardcoder-attack-{token}.sock"
    unix_listeners = []
    for address in (str(unix_path), f"\0wizardcoder-attack-{token}"):
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(address)
        sock.listen(16)
        sock.setblocking(False)
        unix_listeners.append(sock)
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session=True)
    secret_name = f"WIZARDCODER_SECRET_{token.upper()}"
    secret = f"s3cr3t-{secrets.token_hex(12)}"
    os.environ[secret_name] = secret
    before = set(os.listdir(project))
    try:
        yield {"canaries": canaries, "listener": listener, "victim": victim, "secret_name": secret_name,
               "secret": secret, "project": project, "before": before, "unix": unix_listeners,
               "unix_path": str(unix_path), "abstract": f"wizardcoder-attack-{token}"}
    finally:
        del os.environ[secret_name]
        victim.kill()
        victim.wait()
        listener.close()
        for sock in unix_listeners:
            sock.close()
        unix_path.unlink(missing_ok=True)
        for path in canaries:
            path.unlink(missing_ok=True)
            Path(str(path) + ".x").unlink(missing_ok=True)


def _program(attack: Attack, stage: dict) -> str:
    project_canary, home_canary = (str(p) for p in stage["canaries"])
    return (attack.code.replace("__PROJECT_CANARY__", project_canary).replace("__HOME_CANARY__", home_canary)
            .replace("__PROJECT_DIR__", str(stage["project"])).replace("__PORT__", str(stage["listener"].getsockname()[1]))
            .replace("__SECRET_NAME__", stage["secret_name"]).replace("__VICTIM__", str(stage["victim"].pid))
            .replace("__UNIX_SOCKET__", stage["unix_path"]).replace("__ABSTRACT_SOCKET__", stage["abstract"]))


def _judge(sandbox: Sandbox, mode: str, program: str, expected: Expected) -> Verdict:
    if mode in MULTIPLE_TASKS:
        from wizardcoder.harness.multiple import check_multiple

        prompt, tests = MULTIPLE_TASKS[mode]
        return check_multiple(sandbox, Task(f"Attack_{mode}", "", prompt, "", tests=[tests], language=mode), program)
    if mode == "script":
        return check_script(sandbox, Task("Attack/0", "f", "", "", tests=SCRIPT_TESTS), program, SETTINGS)
    task = Task("Attack/0", "f", "", "", base_inputs=INPUTS)
    return check_io(sandbox, task, program, expected, "humaneval", SETTINGS, with_plus=False)


def run_attack(sandbox: Sandbox, attack: Attack, mode: str, stage: dict, expected: Expected) -> Outcome:
    """Run one attack and check every containment property; ``breaches`` says what failed."""
    missing = [need for need in attack.needs if not sandbox.ensure_started().get(need)]
    if mode in MULTIPLE_TASKS:
        from wizardcoder.harness.multiple import LANGUAGES, missing_toolchain

        if (why := missing_toolchain(LANGUAGES[mode])) is not None:
            return Outcome(attack.name, attack.threat, mode, "not run", False, [], 0.0, why)
    if missing:
        return Outcome(attack.name, attack.threat, mode, "not run", False, [], 0.0,
                       f"needs {', '.join(missing)}: unsafe to run here")
    t0 = time.monotonic()
    verdict = _judge(sandbox, mode, _program(attack, stage), expected)
    seconds = time.monotonic() - t0
    breaches = []
    if verdict.base_status == PASS:
        breaches.append("verdict: pass")
    if seconds > WALL_BOUND:
        breaches.append(f"wall time {seconds:.1f} s > {WALL_BOUND:.0f} s")
    for path, text in stage["canaries"].items():
        try:
            if path.read_text() != text:
                breaches.append(f"canary changed: {path}")
        except OSError:
            breaches.append(f"canary gone: {path}")
    new = set(os.listdir(stage["project"])) - stage["before"]
    if new:
        breaches.append(f"new files in the project: {sorted(new)}")
    for name, sock in [("the loopback listener", stage["listener"]), ("the UNIX socket in /tmp", stage["unix"][0]),
                       ("the abstract UNIX socket", stage["unix"][1])]:
        try:
            conn, _ = sock.accept()
            conn.close()
            breaches.append(f"{name} accepted a connection")
        except BlockingIOError:
            pass
    if stage["victim"].poll() is not None:
        breaches.append("the decoy host process was killed")
    if stage["secret"] in repr(verdict.row()):
        breaches.append("the secret reached the result")
    deadline = time.monotonic() + 3.0
    while (left := sandbox_processes(sandbox)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        breaches.append(f"processes left: {left}")
    correct = MULTIPLE_TASKS[mode][0] + MULTIPLE_CORRECT[mode] if mode in MULTIPLE_TASKS else CORRECT
    after = _judge(sandbox, mode, correct, expected)
    if after.base_status != PASS:
        breaches.append(f"the harness did not go on: a correct program then got {after.base_status} ({after.error})")
    return Outcome(attack.name, attack.threat, mode, verdict.base_status, not breaches, breaches, seconds,
                   (verdict.error or "")[:120])


def run_attacks(sandbox: Sandbox, attacks: list[Attack] | None = None, project: Path | None = None,
                on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Every attack in every mode it has; canaries go in ``project`` (default: the current directory)."""
    project = Path(project or os.getcwd()).resolve()
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp, _stage(project) as stage:
        expected = _expected(Path(tmp))
        for attack in attacks if attacks is not None else ATTACKS:
            for mode in attack.modes:
                outcome = run_attack(sandbox, attack, mode, stage, expected)
                outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
    return outcomes
