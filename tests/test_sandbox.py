"""The first-version sandbox: processes, limits, output capture, isolation."""

from __future__ import annotations

import os
import socket
import time

import pytest

from wizardcoder.bench.checker import TimeSettings, check_script
from wizardcoder.bench.datasets import Task
from wizardcoder.bench.execution.sandbox import STOP, network_isolation_available

FAST = TimeSettings(min_time_limit=1.0, script_time_limit=1.0)


def run_io(sandbox, code, inputs=([1],), limit=1.0, wall=10.0):
    records = []

    def on_record(rec):
        records.append(rec)
        return 5.0

    ex = sandbox.execute({"mode": "io", "code": code, "entry_point": "f", "inputs": list(inputs),
                          "time_limits": [limit] * len(inputs), "load_limit": limit},
                         first_wait=limit + 1, wall_timeout=wall, on_record=on_record)
    return ex, records


def script_task(test: str) -> Task:
    return Task("T/0", "f", "", "", tests=[test])


def test_outputs_stream_back(sandbox):
    ex, recs = run_io(sandbox, "def f(x):\n    return [x, (x,)]\n", inputs=([1], [2]))
    outs = [r for r in recs if r["k"] == "out"]
    assert [r["raw"] for r in outs] == [b'[1,{"$t":[1]}]', b'[2,{"$t":[2]}]']
    assert ex.finished and not ex.timed_out


def test_infinite_loop_is_a_timeout_and_the_process_group_dies(sandbox, tmp_path):
    marker = tmp_path / "child.pid"
    code = (
        "import subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "def f(x):\n    while True:\n        pass\n"
    )
    t0 = time.monotonic()
    ex, recs = run_io(sandbox, code)
    assert time.monotonic() - t0 < 5
    assert recs[-1]["k"] == "exc" and recs[-1]["status"] == "timeout"
    pid = int(marker.read_text())
    time.sleep(0.2)
    assert not alive(pid)  # the grandchild was killed with the group


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie (killed, not yet reaped by init) counts as dead."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_signal_swallowing_loop_is_killed_by_the_harness(sandbox):
    code = ("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
            "def f(x):\n    while True:\n        pass\n")
    t0 = time.monotonic()
    ex, recs = run_io(sandbox, code, wall=3.0)
    assert ex.timed_out and time.monotonic() - t0 < 5
    assert not any(r["k"] == "out" for r in recs)


def test_exit_before_tests_is_not_a_pass(sandbox):
    for exit_call in ("import sys; sys.exit(0)", "import os; os._exit(0)"):
        verdict = check_script(sandbox, script_task("assert f() == 2"), f"def f():\n    return 1\n{exit_call}\n", FAST)
        assert verdict.base_status != "pass", exit_call
        verdict = check_script(sandbox, script_task(f"{exit_call}\nassert f() == 2"), "def f():\n    return 1\n", FAST)
        assert verdict.base_status != "pass", exit_call


def test_output_flood_is_capped(sandbox):
    code = "import os\ndef f(x):\n    for _ in range(2000):\n        os.write(1, b'x' * 65536)\n    return 1\n"
    ex, recs = run_io(sandbox, code, wall=20)
    assert len(ex.output) <= sandbox.limits.output_bytes
    assert recs[-1]["k"] == "out"


def test_environment_is_scrubbed_and_workdir_private(sandbox):
    os.environ["WIZARDCODER_TEST_SECRET"] = "hunter2"
    try:
        code = ("import os\ndef f(x):\n    open('junk.txt', 'w').write('x')\n"
                "    return [os.environ.get('WIZARDCODER_TEST_SECRET'), os.getcwd()]\n")
        _, recs = run_io(sandbox, code)
    finally:
        del os.environ["WIZARDCODER_TEST_SECRET"]
    import json

    secret, cwd = json.loads(recs[-1]["raw"])
    assert secret is None
    assert cwd != os.getcwd() and not os.path.exists(cwd)  # removed after the job


def test_memory_bomb_fails_cleanly(sandbox):
    _, recs = run_io(sandbox, "def f(x):\n    return len(bytearray(8 << 30))\n", wall=20)
    assert recs[-1]["k"] == "exc" and "MemoryError" in recs[-1]["error"]


@pytest.mark.skipif(not network_isolation_available(), reason="no user+network namespaces here")
def test_no_network(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    port = server.getsockname()[1]
    code = f"import socket\ndef f(x):\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    return 'connected'\n"
    _, recs = run_io(sandbox, code)
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()
    assert recs[-1]["k"] == "exc"


def test_stop_kills_early(sandbox):
    seen = []

    def on_record(rec):
        seen.append(rec)
        return STOP if rec["k"] == "out" else 5.0

    ex = sandbox.execute({"mode": "io", "code": "def f(x):\n    return x\n", "entry_point": "f",
                          "inputs": [[i] for i in range(1000)], "time_limits": [], "load_limit": 1},
                         first_wait=5, wall_timeout=10, on_record=on_record)
    assert ex.stopped and sum(r["k"] == "out" for r in seen) == 1
