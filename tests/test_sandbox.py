"""The first-version sandbox: processes, limits, output capture, isolation."""

from __future__ import annotations

import os
import socket
import time

import pytest

from wizardcoder.harness.attacks import sandbox_processes
from wizardcoder.harness.checker import TimeSettings, check_script
from wizardcoder.harness.datasets import Task
from wizardcoder.sandbox.sandbox import STOP, network_isolation_available

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


def test_infinite_loop_is_a_timeout_and_every_process_of_the_job_dies(sandbox):
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
        "def f(x):\n    while True:\n        pass\n"
    )
    t0 = time.monotonic()
    ex, recs = run_io(sandbox, code)
    assert time.monotonic() - t0 < 5
    assert recs[-1]["k"] == "exc" and recs[-1]["status"] == "timeout"
    deadline = time.monotonic() + 3
    while sandbox_processes(sandbox) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes(sandbox) == []  # the grandchild, in a session of its own, died too


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
    assert cwd != os.getcwd()
    assert not os.path.exists(os.path.join(cwd, "junk.txt"))  # a private tmpfs (or a directory removed after)


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


# -- script mode: the tests run in the supervisor, against proxies of the program's names --------


def script(sandbox, program, test, setup=""):
    return check_script(sandbox, Task("T/0", "f", "", "", tests=[test], setup=setup), program, FAST)


def test_script_mode_keeps_in_process_semantics(sandbox):
    program = (
        "class Node:\n    def __init__(self, v):\n        self.v, self.left = v, None\n"
        "def depth(n):\n    return 0 if n is None else 1 + depth(n.left)\n"
        "def gen(n):\n    return (i * i for i in range(n))\n"
        "def keys(d):\n    return d.keys()\n"
        "def push(xs, v):\n    xs.append(v)\n"
        "def picky(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n"
        "def span(n):\n    return range(n)\n"
        "LIMIT = 7\n"
    )
    setup = "root = Node(1)\nroot.left = Node(2)\n"  # MBPP 367: objects of the program's classes
    test = (
        "assert depth(root) == 2 and depth(None) == 0\n"
        "assert list(gen(4)) == [0, 1, 4, 9] and gen(2) != [0, 1]\n"
        "assert keys({'a': 1, 'b': 2}) == {'a', 'b'} and list(keys({'b': 1, 'a': 2})) == ['b', 'a']\n"
        "xs = [1]\npush(xs, 2)\nassert xs == [1, 2]\n"
        "try:\n    picky(-1)\n    raise AssertionError('no error')\nexcept ValueError as e:\n    assert 'negative' in str(e)\n"
        "assert span(3) == range(3) and LIMIT == 7\n"
    )
    verdict = script(sandbox, program, test, setup)
    assert verdict.base_status == "pass", verdict.error


def test_script_mode_tests_use_the_real_builtins(sandbox):
    # In one process the test would see the program's `abs` (same globals) and pass.
    program = "def abs(x):\n    return 0\ndef f(x):\n    return x * 10\n"
    assert script(sandbox, program, "assert abs(f(1) - 2) < 1e-9").base_status == "fail"
    assert script(sandbox, program, "assert f(1) == 10").base_status == "pass"


def test_script_mode_reports_the_failing_test_line(sandbox):
    verdict = script(sandbox, "def f(x):\n    return x\n", "assert f(1) == 1\nassert f(2) == 3\n")
    assert verdict.base_status == "fail" and "<test> line 2" in verdict.error


def test_strict_isolation_reports_every_mechanism():
    from wizardcoder.sandbox.sandbox import STRICT_NEEDS, Limits, Sandbox, SandboxUnavailable

    try:
        with Sandbox(Limits(isolation="strict")) as sb:
            status = sb.ensure_started()
    except SandboxUnavailable as exc:
        pytest.skip(str(exc))
    assert all(status[k] for k in STRICT_NEEDS)


def test_isolation_off_still_runs_and_judges():
    from wizardcoder.sandbox.sandbox import Limits, Sandbox

    with Sandbox(Limits(isolation="off")) as sb:
        status = sb.ensure_started()
        assert not status["network"] and not status["pid_namespace"]
        assert script(sb, "def f(x):\n    return x + 1\n", "assert f(1) == 2").base_status == "pass"
        assert script(sb, "def f(x):\n    return x\n", "assert f(1) == 2").base_status == "fail"


def test_io_phases_run_in_fresh_processes_and_a_task_without_inputs_still_loads_the_program(sandbox):
    from wizardcoder.harness.checker import check_io
    from wizardcoder.harness.expected import Expected

    none = Expected(base_time=[], plus_time=[], digests=[], exact_ok=[], floats=[])
    task = Task("T/0", "f", "", "")
    assert check_io(sandbox, task, "def f(:\n", none, "humaneval", FAST, True).base_status == "error"
    assert check_io(sandbox, task, "def f(x):\n    return x\n", none, "humaneval", FAST, True).plus_status == "pass"
    # Module state does not carry over from base to plus: each phase has its own process.
    from wizardcoder.sandbox.codec import fingerprint

    task = Task("T/1", "f", "", "", base_inputs=[[1]], plus_inputs=[[1]])
    one = Expected(base_time=[0.0], plus_time=[0.0], digests=[fingerprint(1)[0]] * 2, exact_ok=[True] * 2,
                   floats=[False] * 2)
    counter = "calls = 0\ndef f(x):\n    global calls\n    calls += 1\n    return calls\n"
    verdict = check_io(sandbox, task, counter, one, "humaneval", FAST, True)
    assert (verdict.base_status, verdict.plus_status, verdict.n_passed) == ("pass", "pass", 2), verdict
