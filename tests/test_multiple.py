"""MultiPL-E: the files (official, md5-checked, bigcode names), the programs (prompt + completion cut
at the first stop token + tests), and verdicts faithful to MultiPL-E's evaluator, run for real in
the sandbox's exec mode with the real toolchains (g++, javac/java + javatuples, node, bash).

The parity file (tests/data/multipl-e/parity.jsonl) holds hand-written completions and mutants,
each with the status MultiPL-E's own commands give it (checked by tests/data/multipl-e/check_parity.py),
except the programs that exit 0 before their tests: MultiPL-E passes them, this harness fails them.
A language whose toolchain is missing is skipped with the reason, never failed silently.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wizardcoder import evaluate
from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.multiple import LANGUAGES, cut_at_stop, missing_toolchain, response_to_completion
from wizardcoder.harness.prompts import build_instruction
from wizardcoder.sandbox.sandbox import Limits, Sandbox

DATA = Path(__file__).parent / "data"
PARITY = [json.loads(line) for line in (DATA / "multipl-e" / "parity.jsonl").read_text().splitlines()]
WC = [sys.executable, "-m", "wizardcoder.cli"]


def _needs(lang: str) -> None:
    why = missing_toolchain(LANGUAGES[lang])
    if why is not None:
        pytest.skip(why)


def _samples(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps({"task_id": r["name"], "completion": r["completion"]}) + "\n" for r in rows))
    return path


def test_files_load_by_both_names_with_their_stop_tokens() -> None:
    java = load_dataset("humaneval-java")
    assert load_dataset("multiple-java").md5 == java.md5 and len(java.tasks) == 158
    task = java.tasks["HumanEval_23_strlen"]
    assert task.language == "java" and task.stop_tokens == ("\n    }\n",)
    assert task.prompt.rstrip().endswith("public static long strlen(String string) {")
    assert task.tests[0].startswith("    }\n")
    assert len(load_dataset("mbpp-sh").tasks) == 389 and load_dataset("multiple-mbpp-cpp").benchmark == "mbpp-cpp"


def test_a_wrong_or_edited_file_is_refused(tmp_path: Path) -> None:
    text = gzip.decompress((DATA / "benchmarks" / "multipl-e" / "humaneval-js-reworded.jsonl.gz").read_bytes())
    rows = [json.loads(line) for line in text.splitlines()]
    edited = tmp_path / "humaneval-js.jsonl"
    edited.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))
    with pytest.raises(WizardCoderError, match="not a known MultiPL-E HumanEval"):
        load_dataset("humaneval-js", edited)
    with pytest.raises(WizardCoderError, match="not a known"):
        load_dataset("humaneval-cpp", DATA / "benchmarks" / "multipl-e" / "humaneval-js-reworded.jsonl.gz")


def test_completions_are_cut_at_the_first_stop_token() -> None:
    assert cut_at_stop("  return 1;\n}\nint main() {}", ("\n}",)) == "  return 1;"
    assert cut_at_stop("a\n//b\nfunction c", ("\nfunction ", "\n//")) == "a"
    assert cut_at_stop("no stop here", ("\n}",)) == "no stop here"


def test_unsupported_uses_get_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(WizardCoderError, match="no reference solutions"):
        evaluate("humaneval-cpp", "canonical", output=str(tmp_path / "o2"))
    absent = dataclasses.replace(LANGUAGES["cpp"], tools=("no-such-compiler",), debian="some-package")
    why = missing_toolchain(absent)
    assert why is not None and "no-such-compiler" in why and "apt-get install some-package" in why
    swift = tmp_path / "swift.jsonl"
    swift.write_text(json.dumps({"task_id": "HumanEval_23_strlen", "completion": "    return string.count\n"}) + "\n")
    if missing_toolchain(LANGUAGES["swift"]) is not None:  # these machines: say so in one line
        with pytest.raises(WizardCoderError, match=r"humaneval-swift: Swift needs swiftc, not found .* swift.org"):
            evaluate("humaneval-swift", samples=swift, output=str(tmp_path / "o3"), partial=True)
        assert not (tmp_path / "o3").exists()
    julia = missing_toolchain(LANGUAGES["jl"])  # no Debian package either
    assert julia is None or ("Julia needs julia" in julia and "julialang.org" in julia and "\n" not in julia)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "HumanEval_23_strlen", "completion": 5}) + "\n")
    with pytest.raises(WizardCoderError, match=r"bad.jsonl:1: field 'completion': expected a string"):
        evaluate("humaneval-cpp", samples=bad, output=str(tmp_path / "o"), partial=True)


def test_instruct_answers_become_completions(tmp_path: Path) -> None:
    """The card's instruction in the task's language; an answer's fenced function becomes the text after
    the prompt's signature (found whatever its spacing), cut at the first stop token."""
    cpp = load_dataset("humaneval-cpp").tasks["HumanEval_23_strlen"]
    assert build_instruction(cpp, "humaneval-cpp") == "Create a C++ script for this problem:\n" + cpp.prompt
    answer = ("Here it is:\n```cpp\n#include <string>\nlong string_length(std::string string)  {\n"
              "    return string.size();\n}\nint main() { return 0; }\n```\nDone.")
    assert response_to_completion(cpp, answer) == "    return string.size();"
    js = load_dataset("humaneval-js").tasks["HumanEval_23_strlen"]
    answer = "```javascript\nfunction strlen (string) {\n  return string.length;\n}\n```"
    assert response_to_completion(js, answer) == "  return string.length;\n}\n"
    assert response_to_completion(js, "  return 1;\n}\n// trailing\nfunction g() {}") == "  return 1;\n}"
    if missing_toolchain(LANGUAGES["js"]) is None:
        samples = tmp_path / "answers.jsonl"
        samples.write_text(json.dumps({"task_id": "HumanEval_23_strlen", "response": answer}) + "\n")
        summary = evaluate("humaneval-js", samples=samples, output=str(tmp_path / "o"), partial=True)
        assert summary.pass_at_1 == 1.0
    # humaneval-cs: the prompt's signature is a comment, so the completion keeps the answer's signature line
    cs = load_dataset("humaneval-cs").tasks["HumanEval_23_strlen"]
    assert cs.prompt.rstrip().splitlines()[-1].lstrip().startswith("//     public static long Strlen(")
    answer = ("```csharp\nusing System;\nclass Problem {\n    public static long Strlen(string str) {\n"
              "        return str.Length;\n    }\n}\n```")
    assert response_to_completion(cs, answer) == "    public static long Strlen(string str) {\n        return str.Length;"


@pytest.mark.slow
def test_eval_a_model_on_multiple(tmp_path: Path) -> None:
    """The real default model answers two humaneval-js tasks (chat) and continues two prompts (raw,
    stopped at the file's stop tokens); every answer gets a verdict."""
    _needs("js")
    chat = evaluate("multiple-js", model="default", limit=2, max_tokens=48, output=str(tmp_path / "chat"))
    rows = [json.loads(line) for line in (chat.output_dir / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all("response" in r for r in rows) and chat.n_tasks == 2
    raw = evaluate("humaneval-js", model="default", limit=2, max_tokens=48, prompt_format="raw",
                   output=str(tmp_path / "raw"))
    rows = [json.loads(line) for line in (raw.output_dir / "samples.jsonl").read_text().splitlines()]
    assert all(not any(t in r["response"] for t in ("\nfunction ", "\n/*", "\n//", "\nconsole.log")) for r in rows)
    assert sum(raw.status.values()) == 2


def _parity(tmp_path: Path, rows: list[dict]) -> list[tuple[str, str, str, str]]:
    """(name, kind, expected, got) for ``rows`` of one language, scored by ``wizardcoder eval``."""
    bench = rows[0]["benchmark"]
    summary = evaluate(bench, samples=_samples(tmp_path / f"{bench}.jsonl", rows), output=str(tmp_path / bench),
                       partial=True)
    got = [json.loads(line) for line in (summary.output_dir / "results.jsonl").read_text().splitlines()]
    by_key = {(g["task_id"], g["index"]): g for g in got}
    seen: dict[str, int] = {}
    out = []
    for r in rows:
        i = seen.get(r["name"], 0)
        seen[r["name"]] = i + 1
        g = by_key[(r["name"], i)]
        out.append((r["name"], r["kind"], r["expect"], g["base_status"]))
        if r["kind"] == "exit_early" and r.get("multiple_status") == "OK":  # (Haskell cannot exit early)
            assert "before its tests ended" in g["error"]
        if r["expect"] == "error":
            assert g["failed_phase"] in ("compile", "base") and g["error"]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("lang", sorted({r["benchmark"].removeprefix("humaneval-") for r in PARITY}))
def test_parity_with_multiple_on_correct_programs_and_mutants(tmp_path: Path, lang: str) -> None:
    _needs(lang)
    rows = [r for r in PARITY if r["benchmark"] == f"humaneval-{lang}"]
    assert len({r["kind"] for r in rows}) == 6  # correct + five mutant kinds
    results = _parity(tmp_path, rows)
    assert [(n, k, e) for n, k, e, _ in results] == [(n, k, g) for n, k, _, g in results]


@pytest.mark.parametrize("lang", ["js"])
def test_parity_quick(tmp_path: Path, lang: str) -> None:
    """The fast tier's share of the parity file: no timeouts."""
    _needs(lang)
    rows = [r for r in PARITY if r["benchmark"] == f"humaneval-{lang}" and r["name"] == "HumanEval_23_strlen"]
    results = _parity(tmp_path, rows)
    assert {k for _, k, _, _ in results} >= {"correct", "wrong_constant", "syntax_error", "exit_early"}
    assert [(n, k, e) for n, k, e, _ in results] == [(n, k, g) for n, k, _, g in results]


def test_eval_command_scores_a_samples_file_by_the_bigcode_name(tmp_path: Path) -> None:
    _needs("js")
    rows = [r for r in PARITY if r["benchmark"] == "humaneval-js" and r["kind"] == "correct"]
    samples = _samples(tmp_path / "js.jsonl", rows)
    done = subprocess.run([*WC, "eval", "-b", "multiple-js", "-s", str(samples), "--partial", "-o",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["benchmark"] == "humaneval-js" and summary["base"]["pass@1"] == 1.0
    assert summary["n_tasks"] == 4 and "humaneval-js" in done.stdout + done.stderr
    report = subprocess.run([*WC, "report", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert "MultiPL-E HumanEval" in report.stdout and "js" in report.stdout and "100.0" in report.stdout
    assert "model card" not in report.stdout  # no Python benchmark given: no card table
    prompts = subprocess.run([*WC, "prompts", "-b", "multiple-java"], capture_output=True, text=True, timeout=120)
    first = json.loads(prompts.stdout.splitlines()[0])
    assert first["task_id"] == "HumanEval_0_has_close_elements"
    assert first["instruction"].startswith("Create a Java script for this problem:\nimport java.util.*;")


# -- the exec mode's containment, with hostile programs in C++, JavaScript and Bash -----------------------
def _exec(sandbox: Sandbox, files: dict[str, str], *steps: list[str], timeout: float = 10) -> list[dict]:
    records: list[dict] = []
    sandbox.execute({"mode": "exec", "files": files,
                     "steps": [{"name": f"s{i}", "argv": argv, "timeout": timeout} for i, argv in enumerate(steps)]},
                    first_wait=timeout * len(steps) + 10, wall_timeout=timeout * len(steps) + 10,
                    on_record=lambda r: (records.append(r), timeout + 5)[1], rlimits={"RLIMIT_STACK": 8 << 20})
    return records


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(Limits(memory_bytes=2 << 30)) as sb:
        yield sb


@pytest.mark.slow
def test_exec_mode_contains_hostile_programs(sandbox: Sandbox, tmp_path: Path) -> None:
    _needs("cpp")
    _needs("js")
    outside = Path(__file__).parent / f"written-from-the-sandbox-{os.getpid()}"  # read-only in there
    secret = "wizardcoder-secret-" + os.urandom(4).hex()
    os.environ["WIZARDCODER_TEST_SECRET"] = secret
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        # Bash: read the environment, write outside the work dir, reach the network, kill the harness
        recs = _exec(sandbox, {"p.sh": f"""
env; echo pwned > {outside}; echo "wrote: $?"
exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected
kill -9 {os.getpid()}; echo "kill: $?"
echo x > ./inside && echo "wrote inside"
"""}, ["bash", "p.sh"])
        out = recs[0]["out"]
        assert secret not in out and "WIZARDCODER_TEST_SECRET" not in out
        assert not outside.exists() and "connected" not in out and "wrote inside" in out
        with pytest.raises(TimeoutError):
            listener.accept()
        # JavaScript: the same from node
        recs = _exec(sandbox, {"p.js": f"""
const fs = require('fs'), net = require('net');
console.log(JSON.stringify(process.env));
try {{ fs.writeFileSync('{outside}', 'x'); console.log('wrote outside'); }} catch (e) {{ console.log('no write'); }}
try {{ process.kill({os.getpid()}, 'SIGKILL'); console.log('killed'); }} catch (e) {{ console.log('no kill'); }}
const s = net.connect({port}, '127.0.0.1', () => console.log('connected'));
s.on('error', () => console.log('no network'));
"""}, ["node", "p.js"])
        out = recs[0]["out"]
        assert recs[0]["exit"] == 0, out
        assert secret not in out and "no write" in out and "no kill" in out and "no network" in out
        assert not outside.exists()
        # C++: a fork bomb, then the sandbox still runs the next job and no process is left behind
        recs = _exec(sandbox, {"b.cpp": "#include <unistd.h>\nint main(){ for(;;) fork(); }\n"},
                     ["g++", "b.cpp", "-o", "b"], ["./b"], timeout=3)
        assert recs[0]["exit"] == 0 and recs[1]["timeout"] is True
        leftover = subprocess.run(["pgrep", "-f", "^./b$"], capture_output=True, text=True)
        assert leftover.stdout.strip() == ""
        recs = _exec(sandbox, {"ok.sh": "echo still-working"}, ["bash", "ok.sh"])
        assert recs[0]["exit"] == 0 and "still-working" in recs[0]["out"]
    finally:
        outside.unlink(missing_ok=True)
        del os.environ["WIZARDCODER_TEST_SECRET"]
        listener.close()


def test_exec_step_limits_and_order(sandbox: Sandbox) -> None:
    """A step that does not exit 0 ends the job; a daemon a step leaves is killed with it; output
    beyond the kept head and tail is dropped; a missing program is exit 127 with the reason."""
    recs = _exec(sandbox, {"a.sh": "(sleep 100 &) ; echo started; exit 3", "b.sh": "echo never"},
                 ["bash", "a.sh"], ["bash", "b.sh"])
    assert len(recs) == 1 and recs[0]["exit"] == 3 and "started" in recs[0]["out"]
    assert recs[0]["t"] < 5  # the daemon holding the output pipe did not keep the step waiting
    recs = _exec(sandbox, {"big.sh": "yes 0123456789 | head -c 1000000; echo; echo LAST-LINE"}, ["bash", "big.sh"])
    assert recs[0]["exit"] == 0 and len(recs[0]["out"]) <= 6000 and recs[0]["tail"].rstrip().endswith("LAST-LINE")
    recs = _exec(sandbox, {}, ["no-such-compiler", "x.c"])
    assert recs[0]["exit"] == 127 and "No such file" in recs[0]["err"]


def test_the_compile_step_gets_more_room_than_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compiler is trusted code working on untrusted input: 8 GiB of address space and 256 processes;
    the program it made runs under a sample's limits (4 GiB, 64), whatever the compile step had."""
    from wizardcoder.harness import multiple

    probe = dataclasses.replace(LANGUAGES["sh"], code="probe", compile=("bash", "-c", "ulimit -v; ulimit -u"),
                                run=("bash", "-c", "ulimit -v >&2; ulimit -u >&2; exit 1"), sentinel=None)
    monkeypatch.setitem(multiple.LANGUAGES, "probe", probe)
    task = dataclasses.replace(next(iter(load_dataset("humaneval-sh").tasks.values())),
                               language="probe")
    with Sandbox(Limits(memory_bytes=4 << 30, processes=64)) as sb:
        verdict = multiple.check_multiple(sb, task, "")
    assert verdict.base_status == "fail" and verdict.steps is not None and set(verdict.steps) == {"compile", "run"}
    assert verdict.error is not None and verdict.error.split(": ", 1)[1].split() == [str(4 << 20), "64"]
    fail_compile = dataclasses.replace(probe, compile=("bash", "-c", "ulimit -v; ulimit -u; exit 1"))
    monkeypatch.setitem(multiple.LANGUAGES, "probe", fail_compile)
    with Sandbox(Limits(memory_bytes=4 << 30, processes=64)) as sb:
        verdict = multiple.check_multiple(sb, task, "")
    assert verdict.base_status == "error" and verdict.failed_phase == "compile"
    assert verdict.error is not None and verdict.error.split(": ", 1)[1].split() == [str(8 << 20), "256"]


@pytest.mark.slow
def test_cpp_compiles_against_a_precompiled_header_with_the_same_verdicts(tmp_path: Path) -> None:
    """<bits/stdc++.h> precompiled once (cached, outside the sandbox, from the system's own header) and
    shared read-only with the jobs: a compile takes a fraction of the time, the verdicts do not move."""
    from wizardcoder.harness.multiple import build_program, check_multiple, prepare

    _needs("cpp")
    made = prepare(LANGUAGES["cpp"])
    if not made.compile:
        pytest.skip(made.note)
    gch = Path(made.share[0]) / "bits" / "stdc++.h.gch"
    assert gch.is_file() and gch.stat().st_size > 1 << 20 and "precompiled" in made.note
    assert prepare(LANGUAGES["cpp"]) == made  # cached: the same directory, nothing rebuilt
    tasks = load_dataset("humaneval-cpp").tasks
    rows = [r for r in PARITY if r["benchmark"] == "humaneval-cpp" and r["kind"] != "infinite_loop"][:6]
    with Sandbox(share=made.share) as sb:
        fast = [check_multiple(sb, tasks[r["name"]], build_program(tasks[r["name"]], "completion", r["completion"]),
                               made) for r in rows]
        plain = [check_multiple(sb, tasks[r["name"]], build_program(tasks[r["name"]], "completion", r["completion"]))
                 for r in rows]
    assert [v.base_status for v in fast] == [v.base_status for v in plain] == [r["expect"] for r in rows]
    compiled = [(f.steps or {})["compile"] for f in fast], [(p.steps or {})["compile"] for p in plain]
    assert sum(compiled[0]) < 0.6 * sum(compiled[1]), compiled
