"""MultiPL-E: HumanEval and MBPP translated into other languages, each run as its own program.

The program is MultiPL-E's (``evaluation/src/main.py``): ``prompt + completion + "\\n" + tests``,
the completion cut at the first of the file's stop tokens. It runs in the sandbox's ``exec`` mode
(the files written into the job's private directory, each step exec'ed by the trusted runner under
the job's isolation): a compile step where the language has one, then the run, with MultiPL-E's
commands, flags and timeouts (its per-language ``eval_<lang>.py``; docs/design/multipl-e-notes.md).

Verdicts, mapped from MultiPL-E's statuses (``Language.rule``, one per ``eval_<lang>.py``): a failed
(or timed-out, but for Rust, Swift and D) compile step, or the language's syntax-error text in the
run's output, is ``error`` (its SyntaxError); a run that times out is ``timeout`` (PHP, Racket:
``fail``); a run that exits non-zero (an assertion, an exception, a signal) is ``fail`` (Haskell:
``error``, as eval_hs.py's always-true SyntaxError branch makes it); exit 0 is ``pass`` (C#, Racket,
Scala: with nothing on stderr that the rule reads as a failure). Languages with no Debian package
(Swift, Julia) follow their eval files untested: `missing_toolchain` names what to install. One
deliberate difference: MultiPL-E passes any program that exits 0, also one that exits before its
tests have run (``exit(0)`` in the function); here the tests print a random token as their last
act and a run whose output lacks it fails ("exited before its tests ended"; Ruby and Go: their
test runner's own summary says whether the tests ran).
A program could forge the token only by reading its own source or binary: not a pass a model
earns by accident. Invariants: the verdict depends on the exit status, the output and the token
only, never on anything the program can write elsewhere; build products stay in the job's
private directory and vanish with it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.checker import ERROR, FAIL, PASS, TIMEOUT, Verdict
from wizardcoder.harness.datasets import Task
from wizardcoder.prompting.fences import FENCE
from wizardcoder.sandbox.sandbox import Sandbox

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"  # the PATH of every step in the sandbox
STACK_BYTES = 8 << 20  # MultiPL-E's container: Docker's default stack (threaded runtimes size threads by it)
# The compilers' own JVM: C1 only and one GC thread start faster (javac 1.1 -> 0.8 s, scalac 5.4 -> 3.0 s here)
# and the class files are byte-identical; the program's JVM keeps its defaults (its timing is the verdict's).
JVM_COMPILER = ("-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC")
JAVATUPLES = ("/usr/share/java/javatuples-1.2.jar", "/usr/share/java/javatuples.jar", "/usr/multiple/javatuples-1.2.jar")


@dataclass(frozen=True)
class Language:
    """How MultiPL-E runs one language: files, steps, timeouts and the status rule."""

    code: str  # MultiPL-E's language code, as in the file names (humaneval-<code>-reworded.jsonl)
    title: str
    filename: str  # the program's file in the job's directory
    run: tuple[str, ...]
    run_timeout: float
    tools: tuple[str, ...]  # executables that must be in /usr/local/bin, /usr/bin or /bin
    rule: Callable[[dict], str]  # the run step's record -> status (MultiPL-E's eval_<lang>.py)
    compile: tuple[str, ...] = ()
    compile_timeout: float = 15.0
    compile_timeout_status: str = ERROR  # MultiPL-E: SyntaxError, but Timeout for Rust
    sentinel: Callable[[str, str], str | None] | None = None  # tests + the token printed last
    ran_tests: Callable[[dict], bool] | None = None  # without a token: did the test runner finish?
    env: dict[str, str] = field(default_factory=dict)
    needs_javatuples: bool = False
    # The compile step gets more room than a sample (a compiler is trusted code working on untrusted
    # input): address space and processes (javac, rustc and go run dozens of threads). The run step
    # gets the sandbox's sample limits, or ``run_memory_bytes`` where a runtime reserves more address
    # space than it uses (the sandbox's memory cgroup still bounds what it touches).
    compile_memory_bytes: int = 8 << 30
    compile_processes: int = 256
    run_memory_bytes: int | None = None
    debian: str = ""  # the Debian packages that provide the tools (for the one-line error)
    elsewhere: str = ""  # where the tools come from when Debian has no package


def _stdout(rec: dict) -> str:
    return str(rec.get("out") or "") + str(rec.get("tail") or "")


def _stderr(rec: dict) -> str:
    return str(rec.get("err") or "") + str(rec.get("err_tail") or "")


def _by_exit(rec: dict) -> str:
    """cpp, java, rs, lua: a timeout, exit 0, or anything else (an exception, a failed assertion)."""
    if rec.get("timeout"):
        return TIMEOUT
    return PASS if rec.get("exit") == 0 else FAIL


def _node(stderr_only: bool) -> Callable[[dict], str]:
    """eval_javascript.py (markers in both streams) and eval_ts.py (stderr only, after tsc): node's
    SyntaxError is MultiPL-E's SyntaxError unless ERR_ASSERTION (a failed assert) comes with it."""
    def rule(rec: dict) -> str:
        if rec.get("timeout"):
            return TIMEOUT
        if rec.get("exit") == 0:
            return PASS
        text = _stderr(rec) if stderr_only else _stdout(rec) + _stderr(rec)
        return ERROR if "SyntaxError" in text and "ERR_ASSERTION" not in text else FAIL
    return rule


def _sh(rec: dict) -> str:
    """eval_sh.py: "syntax error" on stderr (bash says it for bad arithmetic at run time too)."""
    if rec.get("timeout"):
        return TIMEOUT
    if rec.get("exit") == 0:
        return PASS
    return ERROR if "syntax error" in _stderr(rec) else FAIL


def _php(rec: dict) -> str:
    """eval_php.py: "PHP Parse error" in stdout; no timeout branch (a killed run is an Exception)."""
    if "PHP Parse error" in _stdout(rec):
        return ERROR
    return PASS if rec.get("exit") == 0 and not rec.get("timeout") else FAIL


def _go(rec: dict) -> str:
    """eval_go.py: ``go test``'s stdout decides, not its exit status."""
    if rec.get("timeout"):
        return TIMEOUT
    out = _stdout(rec)
    if "[setup failed]" in out or "[build failed]" in out:
        return ERROR
    return FAIL if "FAIL" in out else PASS


def _rb(rec: dict) -> str:
    """eval_ruby.py: a non-zero exit with stderr is its SyntaxError, without stderr an Exception."""
    if rec.get("timeout"):
        return TIMEOUT
    if rec.get("exit") == 0:
        return PASS
    return ERROR if _stderr(rec).strip() else FAIL


def _pl(rec: dict) -> str:
    """eval_pl.py: "ERROR" in either stream fails even an exit 0; no SyntaxError status."""
    if rec.get("timeout"):
        return TIMEOUT
    if rec.get("exit") != 0 or "ERROR" in _stdout(rec) + _stderr(rec):
        return FAIL
    return PASS


_RB_SUMMARY = re.compile(r"\b([1-9]\d*) tests, \d+ assertions, 0 failures, 0 errors")


def _rb_ran(rec: dict) -> bool:
    """test-unit's summary: a test that exits (``exit(0)``) ends the run with "0 tests ... 0% passed"."""
    out = _stdout(rec)
    return bool(_RB_SUMMARY.search(out)) and "100% passed" in out


def _go_ran(rec: dict) -> bool:
    """``go test`` says "[no tests to run]" when the package's tests never started (an exit before)."""
    return "[no tests to run]" not in _stdout(rec)


def _before_last_brace(line: str) -> Callable[[str, str], str | None]:
    """cpp, rs: the tests end with ``main``'s closing brace; the token line goes just before it."""
    def add(tests: str, token: str) -> str | None:
        body = tests.rstrip()
        return body[:-1] + line.format(token=token) + "}\n" if body.endswith("}") else None
    return add


def _before_main_end(line: str) -> Callable[[str, str], str | None]:
    """java, cs, scala: the tests end with ``main``'s closing ``    }`` then the class's (object's) ``}``;
    the token line goes before the first of the two."""
    def add(tests: str, token: str) -> str | None:
        body = tests.rstrip()
        end = body.rfind("\n    }")
        if not body.endswith("}") or end < 0:
            return None
        return body[:end] + "\n" + line.format(token=token) + body[end:] + "\n"
    return add


def _lua_sentinel(tests: str, token: str) -> str | None:
    """lua: ``os.exit(lu.LuaUnit.run())`` ends the tests; the token once the run is over."""
    call = "os.exit(lu.LuaUnit.run())"
    if not tests.rstrip().endswith(call):
        return None
    return tests.rstrip()[: -len(call)] + f'local wizardcoder_failed = lu.LuaUnit.run()\nprint("{token}")\n' \
        "os.exit(wizardcoder_failed)\n"


def _append(line: str) -> Callable[[str, str], str | None]:
    def add(tests: str, token: str) -> str | None:
        return tests.rstrip("\n") + "\n" + line.format(token=token) + "\n"
    return add


_CS_FAILED = ("System.Diagnostics.DefaultTraceListener.Fail", "Unhandled Exception")


def _cs(rec: dict) -> str:
    """eval_cs.py: mono exits 0 after a failed ``Debug.Assert`` (with MONO_TRACE_LISTENER=Console.Error
    the listener prints its stack to stderr and the program goes on), so stderr decides: the trace
    listener's ``Fail`` or an ``Unhandled Exception`` is an Exception, anything else OK whatever the exit
    status; pass_k.py counts an OK as passed only with exit code 0, so a non-zero exit fails too."""
    if rec.get("timeout"):
        return TIMEOUT
    err = _stderr(rec)
    if any(marker in err for marker in _CS_FAILED):
        return FAIL
    return PASS if rec.get("exit") == 0 else FAIL


def _d(rec: dict) -> str:
    """eval_dlang.py: a timeout, exit 0 OK, "Error:" in stderr a SyntaxError (dmd's diagnostics; rdmd compiles
    and runs in one command, so a runtime message with "Error:" counts too), else an Exception (a failed
    ``assert`` in a unittest: "[unittest] Assertion failure", exit 1). A failed compile step is an error."""
    if rec.get("timeout"):
        return TIMEOUT
    if rec.get("exit") == 0:
        return PASS
    return ERROR if "Error:" in _stderr(rec) else FAIL


def _d_sentinel(tests: str, token: str) -> str | None:
    """d: the tests are one ``unittest`` block then ``void main(){}`` (which -unittest builds never run while
    a module has unittests); the token line goes before the block's closing brace."""
    body = tests.rstrip()
    main = "void main(){}"
    head = body[: -len(main)].rstrip() if body.endswith(main) else ""
    if not head.endswith("}"):
        return None
    return head[:-1] + f'    import std.stdio : writeln;\n    writeln("{token}");\n}}\n{main}\n'


def _elixir(rec: dict) -> str:
    """eval_elixir.py: a timeout, exit 0, then both streams (it looks in ``str()`` of the CompletedProcess):
    "Assertion with == failed" is its AssertionError, "SyntaxError" its SyntaxError, anything else an
    Exception (a TokenMissingError or a CompileError too)."""
    if rec.get("timeout"):
        return TIMEOUT
    if rec.get("exit") == 0:
        return PASS
    text = _stdout(rec) + _stderr(rec)
    return ERROR if "SyntaxError" in text and "Assertion with == failed" not in text else FAIL


def _hs(rec: dict) -> str:
    """eval_hs.py: a timeout, exit 0, or else its SyntaxError: the branch for that tests the string
    literal ``"Syntax error"`` itself, always true, so a failed assertion (``error``), any exception and
    a GHC compile error alike are SyntaxError, and its Exception branch is never reached."""
    if rec.get("timeout"):
        return TIMEOUT
    return PASS if rec.get("exit") == 0 else ERROR


def _ml(rec: dict) -> str:
    """eval_ocaml.py: a timeout, exit 0, then stderr: "Assert_failure" is its AssertionError, "Syntax error"
    its SyntaxError (a parse error; a type error is an Exception), anything else an Exception."""
    if rec.get("timeout"):
        return TIMEOUT
    if rec.get("exit") == 0:
        return PASS
    err = _stderr(rec)
    return ERROR if "Syntax error" in err and "Assert_failure" not in err else FAIL


def _r(rec: dict) -> str:
    """eval_r.py: ``Rscript <file>`` under subprocess.run, 5 s (a timeout is its Timeout); exit 0 is OK; a
    non-zero exit is its SyntaxError when "unexpected" is anywhere in the CompletedProcess's text (R's parse
    errors: "Error: unexpected '}' in ..."), else AssertionError (empty stderr) or Exception."""
    if rec.get("timeout"):
        return TIMEOUT
    if rec.get("exit") == 0:
        return PASS
    return ERROR if "unexpected" in _stdout(rec) + _stderr(rec) else FAIL


# The tests end with the call ``test_humaneval()``: a failed stopifnot halts Rscript there (exit 1), so the
# token line after it runs only once every test passed. ``base::cat``: a completion's own ``cat`` cannot hide it.
_R_SENTINEL = _append('base::cat("{token}\\n")')


def _rkt(rec: dict) -> str:
    """eval_racket.py: ``racket <file>`` under safe_subprocess, 15 s. rackunit reports a failed check on stderr
    and still exits 0, so anything on stderr, or a non-zero exit, is not OK: "read-syntax" in stderr (the
    reader's errors: an unbalanced paren) is its SyntaxError, anything else an Exception. No Timeout branch: a
    run safe_subprocess kills is exit -1 with nothing on stderr, an Exception."""
    err = _stderr(rec)
    if "read-syntax" in err:
        return ERROR
    return FAIL if rec.get("timeout") or rec.get("exit") != 0 or err else PASS


# The module ends with ``(test-humaneval)``; rackunit goes on after a failed check (the rule fails it by its
# stderr), so the token line after the call is missing only when the program exited before its tests ended.
_RKT_SENTINEL = _append('(displayln "{token}")')


def _scala(rec: dict) -> str:
    """eval_scala.py: a timeout, then OK only for exit 0 *and* an empty stderr; anything else is an Exception
    (a failed ``assert`` is java.lang.AssertionError on stderr, exit 1). A failed or timed-out scalac is its
    SyntaxError (the compile step's, ``Language.compile``)."""
    if rec.get("timeout"):
        return TIMEOUT
    return PASS if rec.get("exit") == 0 and not _stderr(rec) else FAIL


LANGUAGES: dict[str, Language] = {
    # eval_cpp.py: g++ <file> -o <binary> -std=c++17, then the binary; 15 s each
    "cpp": Language("cpp", "C++", "program.cpp", ("./program",), 15.0, ("g++",), _by_exit,
                    compile=("g++", "program.cpp", "-o", "program", "-std=c++17"),
                    sentinel=_before_last_brace('    __builtin_puts("{token}");\n'), debian="g++"),
    # eval_java.py: javac -encoding UTF8 -d <dir> <file> (CLASSPATH: javatuples), java -ea -cp <dir>:<jar> Problem
    # (the compiler's JVM with JVM_COMPILER)
    "java": Language("java", "Java", "Problem.java", ("java", "-ea", "-cp", "build:{jar}", "Problem"), 15.0,
                     ("javac", "java"), _by_exit,
                     compile=("javac", *JVM_COMPILER, "-encoding", "UTF8", "-d", "build", "Problem.java"),
                     sentinel=_before_main_end('        System.out.println("{token}");'), env={"CLASSPATH": "{jar}"},
                     needs_javatuples=True,
                     debian="default-jdk-headless libjavatuples-java"),
    # eval_javascript.py: node <file>, 5 s
    "js": Language("js", "JavaScript", "program.js", ("node", "program.js"), 5.0, ("node",), _node(False),
                   sentinel=_append('console.log("{token}");'), debian="nodejs"),
    # eval_ts.py: tsc --target esnext <file> (15 s; failing or timing out: SyntaxError), node <file>.js as js, 15 s
    "ts": Language("ts", "TypeScript", "program.ts", ("node", "program.js"), 15.0, ("tsc", "node"), _node(True),
                   compile=("tsc", "--target", "esnext", "program.ts"),
                   sentinel=_append('console.log("{token}");'), debian="node-typescript"),
    # eval_sh.py: bash <file>, 15 s
    "sh": Language("sh", "Bash", "program.sh", ("bash", "program.sh"), 15.0, ("bash",), _sh,
                   sentinel=_append('echo "{token}"'), debian="bash"),
    # eval_php.py: php <file>, 15 s
    "php": Language("php", "PHP", "program.php", ("php", "program.php"), 15.0, ("php",), _php,
                    sentinel=_append('echo "{token}\\n";'), debian="php-cli"),
    # eval_rust.py: rustc <file> -o <binary> (15 s; a timeout there is a Timeout), the binary, 5 s
    "rs": Language("rs", "Rust", "program.rs", ("./program",), 5.0, ("rustc",), _by_exit,
                   compile=("rustc", "program.rs", "-o", "program"), compile_timeout_status=TIMEOUT,
                   sentinel=_before_last_brace('    println!("{token}");\n'), debian="rustc"),
    # eval_go.py: go test <file>_test.go, 30 s in all. A test calling os.Exit(0) fails in go test itself.
    "go": Language("go", "Go", "program_test.go", ("go", "test", "program_test.go"), 30.0, ("go",), _go,
                   ran_tests=_go_ran,
                   env={"GOCACHE": "{work}/.gocache", "GOPATH": "{work}/.gopath", "GO111MODULE": "off",
                        "GOFLAGS": "-count=1", "CGO_ENABLED": "0"}, debian="golang-go"),
    # eval_lua.py: lua <file>, 15 s
    "lua": Language("lua", "Lua", "program.lua", ("lua", "program.lua"), 15.0, ("lua",), _by_exit,
                    sentinel=_lua_sentinel, debian="lua5.3 lua-unit"),
    # eval_ruby.py: ruby <file>, 5 s. test-unit runs the tests at exit: its summary line is the token.
    "rb": Language("rb", "Ruby", "program.rb", ("ruby", "program.rb"), 5.0, ("ruby",), _rb, ran_tests=_rb_ran,
                   debian="ruby ruby-test-unit"),
    # eval_swift.py: swiftc <file> -o <binary> (45 s; a timeout there is a Timeout), the binary, 5 s. Untested
    # here: no machine of ours has swiftc (Debian does not package Swift).
    "swift": Language("swift", "Swift", "program.swift", ("./program",), 5.0, ("swiftc",), _by_exit,
                      compile=("swiftc", "program.swift", "-o", "program"), compile_timeout=45.0,
                      compile_timeout_status=TIMEOUT, sentinel=_append('print("{token}")'),
                      elsewhere="Debian has no Swift package (its 'swift' is OpenStack's): a swift.org toolchain "
                                "installed under /usr"),
    # eval_pl.py: perl <file>, 15 s
    "pl": Language("pl", "Perl", "program.pl", ("perl", "program.pl"), 15.0, ("perl",), _pl,
                   sentinel=_append('print "{token}\\n";'), debian="perl libtest-deep-perl"),
    # eval_cs.py: csc /d:DEBUG -r:System.Numerics.dll <file> /out:<file>.exe (no time limit; failing: SyntaxError),
    # mono <file>.exe with MONO_TRACE_LISTENER=Console.Error, 5 s. Debian has no Roslyn csc: mcs (Mono's own C#
    # compiler, C# 7.0 and some 7.x) takes the same arguments.
    "cs": Language("cs", "C#", "Problem.cs", ("mono", "Problem.exe"), 5.0, ("mcs", "mono"), _cs,
                    compile=("mcs", "/d:DEBUG", "-r:System.Numerics.dll", "Problem.cs", "/out:Problem.exe"),
                    sentinel=_before_main_end('        Console.WriteLine("{token}");'),
                    env={"MONO_TRACE_LISTENER": "Console.Error"},
                    debian="mono-mcs mono-runtime"),
    # eval_dlang.py: rdmd -unittest -main <file>, 15 s in all. Debian has no rdmd (nor dmd): LDC's dmd-style driver
    # compiles with the same flags (15 s; a timeout there is a Timeout, as in rdmd), then the binary runs, 15 s.
    "d": Language("d", "D", "program.d", ("./program",), 15.0, ("ldmd2", "ldc2", "cc"), _d,
                    compile=("ldmd2", "-unittest", "-main", "-of=program", "program.d"),
                    compile_timeout_status=TIMEOUT, sentinel=_d_sentinel, debian="ldc gcc"),
    # eval_elixir.py: elixir <file>.exs, 5 s. ExUnit runs the tests at exit; an after_suite callback prints the token.
    # The VM's threads fixed at 12 (2 schedulers, 2 dirty CPU, 2 dirty IO): by default 2 per core + 16,
    # past the run step's 64 processes on 25 cores or more, where the VM aborts (SIGABRT) before the program runs.
    "elixir": Language("elixir", "Elixir", "program.exs", ("elixir", "program.exs"), 5.0, ("elixir",), _elixir,
                       sentinel=_append('ExUnit.after_suite(fn _ -> IO.puts("{token}") end)'),
                       env={"ELIXIR_ERL_OPTIONS": "+S 2:2 +SDcpu 2:2 +SDio 2"}, debian="elixir"),
    # eval_hs.py: runghc <file>, 15 s. runghc interprets the file (ghc -e ':main'): no separate compile step. GHC's
    # runtime sizes its heap reservation to RLIMIT_AS, so it runs under the sample's 4 GiB as it is.
    "hs": Language("hs", "Haskell", "program.hs", ("runghc", "program.hs"), 15.0, ("runghc",), _hs,
                    sentinel=_append('  putStrLn "{token}"'), debian="ghc"),
    # eval_ocaml.py: ocaml <file> (the bytecode toplevel runs the script), 15 s
    "ml": Language("ml", "OCaml", "program.ml", ("ocaml", "program.ml"), 15.0, ("ocaml",), _ml,
                    sentinel=_append('let () = Stdlib.print_endline "{token}"'), debian="ocaml-nox"),
    # eval_r.py: Rscript <file>, 5 s
    "r": Language("r", "R", "program.r", ("Rscript", "program.r"), 5.0, ("Rscript",), _r,
                    sentinel=_R_SENTINEL, debian="r-base-core"),
    # eval_racket.py: racket <file>, 15 s (safe_subprocess's default; no Timeout status: a timeout is an Exception)
    "rkt": Language("rkt", "Racket", "program.rkt", ("racket", "program.rkt"), 15.0, ("racket",), _rkt,
                    sentinel=_RKT_SENTINEL, debian="racket"),
    # eval_scala.py: scalac -d <dir> <file> (45 s; failing or timing out: SyntaxError), scala -cp <dir> Problem, 15 s.
    # The job's directory is <dir> (scalac -d wants an existing directory and a job's files cannot be in subdirectories).
    "scala": Language("scala", "Scala", "Problem.scala", ("scala", "-cp", ".", "Problem"), 15.0, ("scalac", "scala"),
                      _scala, compile=("scalac", *JVM_COMPILER, "-d", ".", "Problem.scala"), compile_timeout=45.0,
                      sentinel=_before_main_end('    println("{token}");'), debian="scala"),
}


def _jl(rec: dict) -> str:
    """eval_julia.py: a timeout, exit 0, then a non-zero exit is its SyntaxError when anything is on stderr
    (a failed ``@test`` too: Julia's Test throws at the end of the set), else an Exception."""
    if rec.get("timeout"):
        return TIMEOUT
    if rec.get("exit") == 0:
        return PASS
    return ERROR if _stderr(rec).strip() else FAIL


# eval_julia.py: julia <file>, 5 s. Untested here: Debian has no Julia package.
LANGUAGES["jl"] = Language("jl", "Julia", "program.jl", ("julia", "program.jl"), 5.0, ("julia",), _jl,
                           sentinel=_append('println("{token}")'),
                           elsewhere="Debian has no Julia package: julialang.org's release, with `julia` linked "
                                     "into /usr/local/bin")


def javatuples_jar() -> str | None:
    env = os.environ.get("WIZARDCODER_JAVATUPLES_JAR")
    if env:
        return env if os.path.isfile(env) else None
    return next((p for p in JAVATUPLES if os.path.isfile(p)), None)


def missing_toolchain(lang: Language) -> str | None:
    """Why ``lang`` cannot run on this machine (one line), or None when it can."""
    absent = [t for t in lang.tools if shutil.which(t, path=SANDBOX_PATH) is None]
    if absent:
        where = f"Debian: apt-get install {lang.debian}" if lang.debian else lang.elsewhere
        return (f"{lang.title} needs {', '.join(absent)}, not found in /usr/local/bin, /usr/bin or /bin "
                f"(the sandbox sees only those; {where})")
    if lang.needs_javatuples and javatuples_jar() is None:
        return (f"{lang.title} needs the javatuples jar (Debian: apt-get install libjavatuples-java; or set "
                f"WIZARDCODER_JAVATUPLES_JAR to javatuples-1.2.jar outside $HOME)")
    return None


CPP_HEADERS = "#include<assert.h>\n#include<bits/stdc++.h>\n"  # how every MultiPL-E C++ prompt begins
CPP_STD = "-std=c++17"


@dataclass(frozen=True)
class Prepared:
    """What trusted code made ready for a language's jobs before the first one (once per machine, cached)."""

    share: tuple[str, ...] = ()  # directories the sandbox lets the jobs read
    compile: tuple[str, ...] = ()  # the compile step's argv, for programs that begin with ``applies``
    applies: str = ""
    note: str = ""  # for the summary: what was prepared, or why nothing was


def prepare(lang: Language, log: Callable[[str], None] | None = None) -> Prepared:
    """Per-language work done once, outside the sandbox, on trusted input only."""
    if lang.code == "cpp":
        return _cpp_pch(log)
    return Prepared()


def _cpp_pch(log: Callable[[str], None] | None) -> Prepared:
    """<bits/stdc++.h> precompiled once: every C++ program includes it, and parsing it is ~80 % of a
    compile (1.8 s of 2.1 s here). The program is compiled with ``-include bits/stdc++.h`` from the
    cached directory (GCC uses a header's .gch only as the first include: the prompts include
    <assert.h> first, which is re-includable, so the order changes nothing), same standard and flags.
    GCC checks the .gch against the compiler and options and falls back to the header it sits
    beside when they differ, so a stale cache can slow a compile but never change it."""
    import hashlib
    import subprocess

    from wizardcoder.paths import cache_dir

    gxx = shutil.which("g++", path=SANDBOX_PATH)
    if gxx is None:
        return Prepared(note="no g++")
    try:
        probe = subprocess.run([gxx, CPP_STD, "-x", "c++", "-fsyntax-only", "-H", "-"], input="#include<bits/stdc++.h>\n",
                               capture_output=True, text=True, timeout=120)
        header = next(line[2:].strip() for line in probe.stderr.splitlines() if line.startswith(". "))
        version = subprocess.run([gxx, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError, StopIteration):
        return Prepared(note="g++ did not say where <bits/stdc++.h> is")
    st = os.stat(header)
    key = hashlib.sha256(f"{os.path.realpath(gxx)}\0{version}\0{header}\0{st.st_size}\0{st.st_mtime_ns}\0{CPP_STD}"
                         .encode()).hexdigest()[:16]
    where = cache_dir() / "multiple" / f"cpp-pch-{key}"
    if not (where / "bits" / "stdc++.h.gch").is_file():
        if log:
            log(f"C++: precompiling <bits/stdc++.h> once into {where}")
        tmp = where.with_name(f"{where.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "bits").mkdir(parents=True)
        shutil.copy2(header, tmp / "bits" / "stdc++.h")
        try:
            subprocess.run([gxx, CPP_STD, "-x", "c++-header", str(tmp / "bits" / "stdc++.h"), "-o",
                            str(tmp / "bits" / "stdc++.h.gch")], capture_output=True, timeout=600, check=True)
            os.rename(tmp, where)
        except (OSError, subprocess.SubprocessError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (where / "bits" / "stdc++.h.gch").is_file():  # not made by a concurrent run either
                return Prepared(note=f"precompiling <bits/stdc++.h> failed: {exc}")
    return Prepared(share=(str(where),), applies=CPP_HEADERS, note=f"<bits/stdc++.h> precompiled in {where}",
                    compile=("g++", "-I", str(where), "-include", "bits/stdc++.h", "program.cpp", "-o", "program",
                             CPP_STD))


def cut_at_stop(completion: str, stop_tokens: list[str] | tuple[str, ...]) -> str:
    """The completion up to its first stop token, as MultiPL-E's generation leaves it."""
    end = min((i for i in (completion.find(s) for s in stop_tokens if s) if i >= 0), default=len(completion))
    return completion[:end]


# Every language of MultiPL-E's files: its name in prompts, and the fence tags its code may carry.
NAMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "cpp": ("C++", ("cpp", "c++", "cc", "cxx")), "cs": ("C#", ("csharp", "cs", "c#")), "d": ("D", ("d",)),
    "elixir": ("Elixir", ("elixir", "ex")), "go": ("Go", ("go", "golang")), "hs": ("Haskell", ("haskell", "hs")),
    "java": ("Java", ("java",)), "jl": ("Julia", ("julia", "jl")), "js": ("JavaScript", ("javascript", "js", "node")),
    "lua": ("Lua", ("lua",)), "ml": ("OCaml", ("ocaml", "ml")), "php": ("PHP", ("php",)), "pl": ("Perl", ("perl", "pl")),
    "r": ("R", ("r",)), "rb": ("Ruby", ("ruby", "rb")), "rkt": ("Racket", ("racket", "rkt", "scheme")),
    "rs": ("Rust", ("rust", "rs")), "scala": ("Scala", ("scala",)), "sh": ("Bash", ("bash", "sh", "shell", "zsh")),
    "swift": ("Swift", ("swift",)), "ts": ("TypeScript", ("typescript", "ts")),
}


def instruction(task: Task) -> str:
    """The card's evaluation instruction for a MultiPL-E task: WizardCoder's own HumanEval/MBPP prefix
    ("Create a Python script for this problem:", nlpxucan/WizardLM WizardCoder/src/humaneval_gen.py)
    with the task's language; the authors published no MultiPL-E prompt, so this is that prefix carried
    over, as other harnesses that evaluate WizardCoder-style models on MultiPL-E do."""
    return f"Create a {NAMES.get(task.language, (task.language,))[0]} script for this problem:\n{task.prompt}"


def response_to_completion(task: Task, response: str) -> str:
    """What an answer adds to the prompt (cut at the first stop token, as MultiPL-E cuts completions).

    An instruct answer's first fenced block of the task's language (or untagged) holds the whole
    function: the completion is what follows the prompt's last line (the signature, compared without
    whitespace) in it, so that prompt + completion + tests is one program again. Without the signature the block itself is
    taken; an answer without a fence is taken as a completion (a base model's, ``raw`` prompting).
    """
    tags = {"", *NAMES.get(task.language, ("", ()))[1]}
    block = next((m.group(2) for m in FENCE.finditer(response) if m.group(1).lower() in tags), None)
    if block is None:
        return cut_at_stop(response, task.stop_tokens)
    last = next((line.strip() for line in reversed(task.prompt.splitlines()) if line.strip()), "")
    # humaneval-cs: every prompt's signature is commented out ("//     public static long Strlen(...) {"),
    # so the completion starts with the signature line, which the answer's block holds
    commented = last.startswith("//")
    signature = "".join((last[2:] if commented else last).split())
    lines = block.splitlines(keepends=True)  # the signature found whatever its spacing: "f(x){" = "f(x) {"
    at = next((i for i, line in enumerate(lines) if signature and "".join(line.split()) == signature), None)
    body = "".join(lines[at + (0 if commented else 1):]) if at is not None else block
    return cut_at_stop(body, task.stop_tokens)


def build_program(task: Task, kind: str, text: str) -> str:
    """The program a samples row stands for (without the tests): ``completion`` rows are cut at the
    first stop token and appended to the prompt; ``response`` rows become a completion first
    (``response_to_completion``); ``solution`` rows are prompt + completion already."""
    if kind == "completion":
        return task.prompt + cut_at_stop(text, task.stop_tokens)
    if kind == "response":
        return task.prompt + response_to_completion(task, text)
    if kind == "solution":
        return text
    raise WizardCoderError(f"unknown samples field {kind!r}")


def check_multiple(sandbox: Sandbox, task: Task, program: str, prepared: Prepared | None = None) -> Verdict:
    """Compile (where the language has a step) and run ``program`` + the task's tests; ``prepared``:
    what :func:`prepare` made for the language (the sandbox must share its directories)."""
    lang = LANGUAGES[task.language]
    compile_argv = lang.compile
    if prepared is not None and prepared.compile and program.startswith(prepared.applies):
        compile_argv = prepared.compile
    jar = (javatuples_jar() or "") if lang.needs_javatuples else ""
    token = "wizardcoder-tests-done-" + secrets.token_hex(8)
    tests = task.tests[0]
    marked = lang.sentinel(tests, token) if lang.sentinel else None
    source = program + "\n" + (marked if marked is not None else tests)

    def fill(text: str) -> str:  # "{work}" stays: the runner puts the job's directory there
        return text.replace("{jar}", jar)

    sample = sandbox.limits
    run_memory = lang.run_memory_bytes or sample.memory_bytes
    # the job's limits are the most any step gets (a step can only lower its own); the run step
    # lowers them to a sample's again
    job_memory = max(run_memory, lang.compile_memory_bytes if compile_argv else 0)
    job_processes = max(sample.processes, lang.compile_processes if compile_argv else 0)
    run_limits = {"RLIMIT_STACK": STACK_BYTES, "RLIMIT_AS": run_memory, "RLIMIT_DATA": run_memory,
                  "RLIMIT_NPROC": sample.processes}
    env = {k: fill(v) for k, v in lang.env.items()}
    steps: list[dict[str, Any]] = []
    if compile_argv:
        steps.append({"name": "compile", "argv": [fill(a) for a in compile_argv], "timeout": lang.compile_timeout,
                      "env": env, "rlimits": {"RLIMIT_STACK": STACK_BYTES}})
    steps.append({"name": "run", "argv": [fill(a) for a in lang.run], "timeout": lang.run_timeout, "env": env,
                  "rlimits": run_limits})
    records: list[dict] = []

    def on_record(rec: dict) -> float | None:
        records.append(rec)
        return None if rec.get("k") == "end" else lang.run_timeout + 5.0

    wall = sum(s["timeout"] for s in steps) + 10.0
    ex = sandbox.execute({"mode": "exec", "files": {lang.filename: source}, "steps": steps},
                         first_wait=wall, wall_timeout=wall, on_record=on_record, memory_bytes=job_memory,
                         rlimits={"RLIMIT_STACK": STACK_BYTES, "RLIMIT_NPROC": job_processes})
    verdict = Verdict(base_status=ERROR, n_tests=1, seconds=ex.seconds)
    by_name = {r.get("name"): r for r in records if r.get("k") == "step"}
    verdict.steps = {str(name): float(r.get("t") or 0.0) for name, r in by_name.items()}
    build, run = by_name.get("compile"), by_name.get("run")
    if build is not None and (build.get("timeout") or build.get("exit") != 0):
        verdict.failed_phase = "compile"
        verdict.base_status = lang.compile_timeout_status if build.get("timeout") else ERROR
        verdict.error = _short(f"compile {'timed out' if build.get('timeout') else 'failed'}: " + _output(build))
        return verdict
    if run is None:
        verdict.error = _short(f"the sandbox ended the job before the program ran: {ex.output[:300]!r}")
        return verdict
    verdict.failed_phase = "base"
    status = lang.rule(run)
    finished = token in _stdout(run) if marked is not None else lang.ran_tests is None or lang.ran_tests(run)
    if status == PASS and not finished:
        verdict.base_status = FAIL
        verdict.error = "exited (status 0) before its tests ended (MultiPL-E's own evaluator counts it as passed)"
    elif status == PASS:
        verdict.base_status, verdict.failed_phase, verdict.n_passed = PASS, None, 1
    else:
        verdict.base_status = status
        if run.get("timeout"):
            why = f"time limit exceeded ({lang.run_timeout:g} s)"
        else:
            why = f"signal {run['signal']}" if run.get("signal") else f"exit status {run.get('exit')}"
        verdict.error = _short(f"{why}: {_output(run)}")
    return verdict


def _output(step: dict) -> str:
    """What a failed step said: its stderr first (compilers, assertions), then its stdout."""
    parts = []
    for head, tail in ((step.get("err"), step.get("err_tail")), (step.get("out"), step.get("tail"))):
        if head or tail:
            parts.append(str(head or "") + ("\n[...]\n" + str(tail) if tail else ""))
    return "\n".join(p.strip() for p in parts) or str(step.get("error") or "")


def _short(text: str, n: int = 500) -> str:
    text = text.strip()
    return text if len(text) <= n else text[: n - 3] + "..."
