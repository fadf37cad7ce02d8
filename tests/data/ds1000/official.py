"""DS-1000's official judging procedure, for parity tests and the speed benchmark (stdlib + pandas).

Written after xlang-ai/DS-1000's ``test_ds1000.py`` and ``execution.py`` (not copied): the program is
``code_context + "\\ncode = " + repr(answer) + "\\ntest_execution(code)\\n"`` (+ ``test_string(code)``),
run by ``check_correctness``: a fresh (forked) process per program, a temporary working directory,
stdout/stderr swallowed, a SIGALRM time limit (120 s), no reliability guard; it passes when ``exec``
raised nothing. Problems are spread over a process pool, as the official script does (16 workers there).

Run it with DS-1000's environment's interpreter:
    python official.py ds1000.jsonl.gz answers.jsonl out.jsonl [--workers 2]
answers.jsonl rows: {"task_id": "DS1000/<id>" or <id>, "answer": "<code>"}; out.jsonl rows:
{"task_id", "line", "passed", "result", "seconds"} in the answers' order.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import gzip
import io
import json
import multiprocessing
import os
import signal
import tempfile
import time

import pandas  # noqa: F401  # the official script imports it (and `datasets` does): its workers fork with it

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["CUDA_VISIBLE_DEVICES"] = "-1"


class TimeoutException(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    def handler(signum, frame):
        raise TimeoutException("Timed out!")

    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.signal(signal.SIGALRM, handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class WriteOnlyStringIO(io.StringIO):
    def read(self, *args, **kwargs):
        raise OSError

    def readline(self, *args, **kwargs):
        raise OSError

    def readlines(self, *args, **kwargs):
        raise OSError

    def readable(self, *args, **kwargs):
        return False


@contextlib.contextmanager
def swallow_io():
    stream = WriteOnlyStringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        old_stdin = os.sys.stdin
        os.sys.stdin = stream
        try:
            yield
        finally:
            os.sys.stdin = old_stdin


def unsafe_execute(program: str, result: list, timeout: float) -> None:
    with tempfile.TemporaryDirectory() as dirname:
        cwd = os.getcwd()
        os.chdir(dirname)
        try:
            with swallow_io(), time_limit(timeout):
                exec(program, {})
            result.append("passed")
        except TimeoutException:
            result.append("timed out")
        except BaseException as e:
            result.append(f"failed: {e}")
        finally:
            os.chdir(cwd)


def check_correctness(program: str, timeout: float) -> dict:
    manager = multiprocessing.Manager()
    result = manager.list()
    p = multiprocessing.Process(target=unsafe_execute, args=(program, result, timeout))
    p.start()
    p.join(timeout=timeout + 1)
    if p.is_alive():
        p.kill()
    if not result:
        result.append("timed out")
    return {"passed": result[0] == "passed", "result": str(result[0])[:300]}


def build(context: str, answer: str) -> str:
    return (context + "\n" + f"code = {answer!r}\n" + "test_execution(code)\n"
            + ("test_string(code)\n" if "test_string(" in context else "\n"))


def _one(context: str, answer: str, timeout: float) -> dict:
    t = time.monotonic()
    out = check_correctness(build(context, answer), timeout)
    out["seconds"] = round(time.monotonic() - t, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("problems")
    ap.add_argument("answers")
    ap.add_argument("out")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    opener = gzip.open if args.problems.endswith(".gz") else open
    with opener(args.problems, "rt") as fh:
        contexts = {json.loads(line)["metadata"]["problem_id"]: json.loads(line)["code_context"] for line in fh}
    with open(args.answers) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    with cf.ProcessPoolExecutor(max_workers=args.workers) as pool:
        futs = [pool.submit(_one, contexts[int(str(r["task_id"]).removeprefix("DS1000/"))], r["answer"], args.timeout)
                for r in rows]
        with open(args.out, "w") as out:
            for line, (row, fut) in enumerate(zip(rows, futs), 1):
                out.write(json.dumps({"task_id": row["task_id"], "line": line, **fut.result()}) + "\n")


if __name__ == "__main__":
    main()
