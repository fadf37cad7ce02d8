#!/usr/bin/env python3
"""Check the MultiPL-E parity fixture against the real toolchains, the way MultiPL-E runs them.

Usage:
    python3 tests/data/multipl-e/check_parity.py [DATA_DIR] [--fixture PATH] [--lang LANG ...]
                                                 [--javatuples JAR] [--rustc RUSTC]

    DATA_DIR      folder with the official prompt files humaneval-<lang>-reworded.jsonl.gz
                  (default: /work/shared/data/multipl-e)
    --fixture     the rows to check (default: parity.jsonl beside this script)
    --lang        check only these languages (cpp, java, js, sh, ts, php, rs, go, lua, rb, pl, cs, d,
                  elixir, hs, ml, r, rkt, scala);
                  repeatable
    --javatuples  the javatuples 1.2 jar (default: /usr/share/java/javatuples-1.2.jar)
    --rustc       the rustc to run (default: /usr/bin/rustc, Debian's, the one the sandbox sees;
                  a rustup proxy in ~/.cargo/bin may come first on PATH but is not what we run)

Stdlib only. Runs outside any sandbox, one program at a time, build products in a temporary
directory that is removed at the end. Needs g++, javac/java, node, bash, tsc, php, go, lua (with
luaunit), ruby (with test-unit) and perl (with Test::Deep) on PATH; a missing library shows up
as mismatching rows, never as skipped ones.

Each fixture row is {"benchmark": "humaneval-<lang>", "name", "kind", "completion", "expect"}
(exit_early rows also carry "multiple_status"). The program is built exactly as MultiPL-E's
evaluation/src/main.py builds it, prompt + completion + "\\n" + tests, and run with MultiPL-E's
commands and time limits (nuprl/MultiPL-E evaluation/src/eval_{cpp,java,sh,go,php,pl}.py,
src/eval_javascript.py, src/eval_ts.py, src/eval_rust.py, src/eval_ruby.py; eval_lua.py as
vendored in bigcode-evaluation-harness, the newest text):

    cpp   g++ prog.cpp -o prog -std=c++17 ; ./prog                      15 s each
    java  CLASSPATH=JAR javac -encoding UTF8 -d out Problem.java ;
          java -ea -cp out:JAR Problem                                  15 s each
    js    node prog.js                                                  5 s
    sh    bash prog.sh                                                  15 s
    ts    tsc --target esnext prog.ts ; node prog.js                    15 s each
    php   php prog.php                                                  15 s
    rs    rustc prog.rs -o prog ; ./prog                                15 s ; 5 s
    go    go test prog_test.go                                          30 s in all
    lua   lua prog.lua                                                  15 s
    rb    ruby prog.rb                                                  5 s
    pl    perl prog.pl                                                  15 s
    cs    mcs /d:DEBUG -r:System.Numerics.dll prog.cs /out:prog.exe ;
          MONO_TRACE_LISTENER=Console.Error mono prog.exe                no limit ; 5 s
    d     ldmd2 -unittest -main -of=prog prog.d ; ./prog                15 s in all
    elixir elixir prog.exs                                              5 s
    hs    runghc prog.hs                                                15 s
    ml    ocaml prog.ml                                                 15 s
    r     Rscript prog.r                                                5 s
    rkt   racket prog.rkt                                               15 s
    scala scalac -d out prog.scala ; scala -cp out Problem              45 s ; 15 s

Go needs its file to end in _test.go (MultiPL-E names it <tmp>_test.go) and a writable build
cache. It runs with the inherited environment plus, all inside the row's private work dir:
HOME=<work>/home, GOCACHE=<work>/gocache, GOPATH=<work>/gopath, and GOENV=off (no user go.env),
GOFLAGS= (nothing inherited such as -mod=vendor), GO111MODULE=on (a lone file outside any module
is the package "command-line-arguments"), GOWORK=off, GOPROXY=off (offline: nothing to
download), GOTOOLCHAIN=local (Go >= 1.21 must not fetch another toolchain). A cold cache costs
about 2 s with Go 1.19 (its standard library ships precompiled). MultiPL-E sets none of these:
they move caches, they do not change what is built or how it is judged.

Each program runs in a new session; on a timeout (and after every run, as MultiPL-E's
safe_subprocess does) its whole process group gets SIGKILL.

MultiPL-E's status rules, in their order (the first that applies wins):

    cpp, java  compile exit != 0 (a compile timeout too) -> SyntaxError; run timeout -> Timeout;
               exit 0 -> OK; else Exception
    js         timeout -> Timeout; 0 -> OK; ERR_ASSERTION / SyntaxError / ReferenceError in the
               output -> that status; else Exception
    sh         timeout -> Timeout; 0 -> OK; `syntax error` on stderr -> SyntaxError; else Exception
    ts         tsc exit != 0 or timeout -> SyntaxError (type errors included); then as js, but
               the markers are looked up in node's stderr only
    php        `PHP Parse error` in STDOUT -> SyntaxError; exit != 0 -> Exception; else OK. There
               is no Timeout branch: a timeout is exit -1 -> Exception. And with Debian's CLI
               php.ini (display_errors=Off, log_errors=On) the parse error goes to stderr, so a
               syntax error is an Exception too
    rs         compile timeout -> Timeout (not SyntaxError); compile exit != 0 -> SyntaxError;
               run timeout -> Timeout; 0 -> OK; else Exception
    go         timeout -> Timeout; `[setup failed]` or `[build failed]` in stdout -> SyntaxError;
               `FAIL` in stdout -> Exception; else OK (the exit status is not looked at)
    lua        timeout -> Timeout; 0 -> OK; else Exception (a syntax error is an Exception)
    rb         timeout -> Timeout; 0 -> OK; exit != 0 with empty stderr -> Exception (test-unit
               reports failures on stdout); with anything on stderr -> SyntaxError
    pl         timeout -> Timeout; exit != 0 -> Exception (a syntax error too); `ERROR` in stdout
               or stderr -> Exception even with exit 0; else OK
    cs         compile exit != 0 -> SyntaxError; run timeout -> Timeout;
               `System.Diagnostics.DefaultTraceListener.Fail` or `Unhandled Exception` in
               stderr -> Exception; else OK whatever the exit code (mono exits 0 after a failed
               Debug.Assert; pass_k.py then counts an OK with another exit code as failed)
    d          timeout (compile + run) -> Timeout; exit 0 -> OK; `Error:` in stderr (the
               compiler's diagnostics, or a runtime message) -> SyntaxError; else Exception
    elixir     timeout -> Timeout; 0 -> OK; `Assertion with == failed` in either stream ->
               AssertionError; `SyntaxError` in either stream -> SyntaxError (a TokenMissingError,
               CompileError is an Exception); else Exception. It uses subprocess.run, not
               safe_subprocess: the whole output is searched (in str() of the CompletedProcess)
    hs         timeout -> Timeout; 0 -> OK; anything else -> SyntaxError: eval_hs.py's
               `elif "Syntax error":` tests the literal itself (always true), so a failed
               assertion, an exception and a compile error are all SyntaxError and its
               Exception branch is never reached. No Haskell completion can exit 0 early: the
               Prelude has no exit and an import cannot follow the prompt's declarations, so the
               hs exit_early row stops the program the one way a pure function can (an error),
               and carries that status
    ml         timeout -> Timeout; 0 -> OK; `Assert_failure` on stderr -> AssertionError;
               `Syntax error` on stderr -> SyntaxError (a type error is an Exception); else Exception
    r          timeout -> Timeout; 0 -> OK; else `unexpected` anywhere in the CompletedProcess text
               (R's parse errors) -> SyntaxError; empty stderr -> AssertionError; else Exception
    rkt        anything on stderr or exit != 0 (rackunit reports failed checks on stderr and exits 0)
               -> SyntaxError with `read-syntax` on stderr, else Exception; exit 0 with empty stderr
               -> OK. There is no Timeout branch: a timeout is exit -1 -> Exception
    scala      scalac exit != 0 (a compile timeout too) -> SyntaxError; run timeout -> Timeout;
               exit 0 with an EMPTY stderr -> OK; else Exception (a failed assert is
               java.lang.AssertionError on stderr)

MultiPL-E status -> verdict: OK -> pass, Timeout -> timeout, SyntaxError -> error, anything else
(Exception, AssertionError, ReferenceError) -> fail; and, as pass_k.py counts a pass only for
status OK with exit code 0, an OK with another exit code (possible for go only) -> fail.

A row matches when the verdict equals "expect". "expect" follows EXPECT (kind -> verdict) except
where MultiPL-E's own rule for a language gives another verdict for that kind (EXPECT_BY_LANG):
php infinite_loop -> fail (no Timeout branch) and php, lua, pl syntax_error -> fail (no
SyntaxError from a parse error). The check is per language rather than a looser global table so
that e.g. a C++ infinite loop must still time out.

exit_early rows always expect fail: our harness must fail a program that stops before its tests
finish. With "multiple_status": "OK" the program really exits 0 before the tests finish, so
MultiPL-E passes it; the check is that MultiPL-E's status is OK with exit code 0. Where a test
framework would stop an exit made inside a test, the program exits elsewhere: lua at top level
before require('luaunit') (luaunit 3.4 replaces os.exit while its suite runs: an os.exit(0) in a
test is a test error, exit 1), go from a package-level initializer through testing.Main, before
the tests start (only testing and fmt are imported, so no os.Exit; and go test turns an
os.Exit(0) during a test into a FAIL). A row whose early exit cannot pass MultiPL-E at all would
carry the status MultiPL-E gives instead (e.g. "Exception"); its check is that status plus the
verdict fail.

Output: safe_subprocess (ts, php, lua, pl) reads at most 1 KiB per stream per 0.1 s poll and
keeps about 2 KiB per stream (a program that ends within one poll leaves only its first 1 KiB);
here the markers are looked up in the whole output. That matters only for programs with more
output than that (none in the fixture): ts could then report another non-pass status
(ERR_ASSERTION sits at the end of node's error message) and perl could miss a late `ERROR`.

Before running, the rows are validated: fields and kinds, expect consistent with kind and
language, the task exists in the prompt file, the completion holds none of the file's stop
tokens (MultiPL-E cuts a completion at the first one), and every language has a correct row per
task and at least one row of each mutant kind.

Prints one line per row and a final count; exits 1 on any mismatch or invalid row.
"""
import argparse
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = ("cpp", "java", "js", "sh", "ts", "php", "rs", "go", "lua", "rb", "pl", "cs", "d", "elixir", "hs", "ml",
         "r", "rkt", "scala")
EXPECT = {
    "correct": "pass",
    "wrong_constant": "fail",
    "swapped_comparison": "fail",
    "infinite_loop": "timeout",
    "syntax_error": "error",
    "exit_early": "fail",
}
# Where MultiPL-E's own status rule gives another verdict for a kind (see the docstring).
EXPECT_BY_LANG = {
    "php": {"infinite_loop": "fail", "syntax_error": "fail"},
    "lua": {"syntax_error": "fail"},
    "pl": {"syntax_error": "fail"},
    "rkt": {"infinite_loop": "fail"},
    "hs": {"wrong_constant": "error", "swapped_comparison": "error", "exit_early": "error"},
}
VERDICT = {"OK": "pass", "Timeout": "timeout", "SyntaxError": "error"}  # anything else: fail
STATUSES = ("OK", "Timeout", "SyntaxError", "Exception", "AssertionError", "ReferenceError")
TOOLS = {"cpp": ["g++"], "java": ["javac", "java"], "js": ["node"], "sh": ["bash"],
         "ts": ["tsc", "node"], "php": ["php"], "rs": [], "go": ["go"], "lua": ["lua"], "rb": ["ruby"],
         "pl": ["perl"], "cs": ["mcs", "mono"], "d": ["ldmd2", "ldc2", "cc"], "elixir": ["elixir"], "hs": ["runghc"],
         "ml": ["ocaml"], "r": ["Rscript"], "rkt": ["racket"], "scala": ["scalac", "scala"]}  # rs: --rustc, in main


def expected(lang, kind):
    return EXPECT_BY_LANG.get(lang, {}).get(kind, EXPECT[kind])


def verdict_of(status, code):
    """pass_k.py counts a pass only for status OK *and* exit code 0 (go's OK does not look at it)."""
    if status == "OK" and code != 0:
        return "fail"
    return VERDICT.get(status, "fail")


def run(argv, timeout, cwd, env=None):
    """Run argv in its own session; returns (exit_code or None on timeout, stdout, stderr, seconds)."""
    start = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        code = None
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the whole group, like MultiPL-E's safe_subprocess
        except ProcessLookupError:
            pass
    if code is None:
        out, err = p.communicate()
    return (code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
            time.monotonic() - start)


def last_line(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:120] if lines else ""


def first_line(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0][:120] if lines else ""


def node_status(code, searched, err):
    """eval_javascript.py / eval_ts.py after node ran: markers in ``searched`` (js: both streams, ts: stderr)."""
    if code is None:
        return "Timeout", None, ""
    if code == 0:
        return "OK", 0, ""
    for marker, status in (("ERR_ASSERTION", "AssertionError"), ("SyntaxError", "SyntaxError"),
                           ("ReferenceError", "ReferenceError")):
        if marker in searched:
            return status, code, next((ln.strip() for ln in err.splitlines() if marker in ln), "")[:120]
    return "Exception", code, last_line(err)


def evaluate(lang, program, work, jar, rustc="/usr/bin/rustc"):
    """MultiPL-E's status for one program: (status, exit_code, detail)."""
    if lang == "cpp":
        (work / "prog.cpp").write_text(program)
        code, out, err, _ = run(["g++", "prog.cpp", "-o", "prog", "-std=c++17"], 15, work)
        if code != 0:
            return "SyntaxError", code, first_line(err) or "compile timeout"
        code, out, err, _ = run([str(work / "prog")], 15, work)
        if code is None:
            return "Timeout", None, ""
        return ("OK" if code == 0 else "Exception"), code, last_line(err)
    if lang == "java":
        (work / "Problem.java").write_text(program)
        env = dict(os.environ, CLASSPATH=jar)
        code, out, err, _ = run(["javac", "-encoding", "UTF8", "-d", "out", "Problem.java"], 15, work, env)
        if code != 0:
            return "SyntaxError", code, first_line(err) or "compile timeout"
        code, out, err, _ = run(["java", "-ea", "-cp", f"out:{jar}", "Problem"], 15, work, env)
        if code is None:
            return "Timeout", None, ""
        return ("OK" if code == 0 else "Exception"), code, first_line(err)
    if lang == "js":
        (work / "prog.js").write_text(program)
        code, out, err, _ = run(["node", "prog.js"], 5, work)
        return node_status(code, out + err, err)
    if lang == "sh":
        (work / "prog.sh").write_text(program)
        code, out, err, _ = run(["bash", "prog.sh"], 15, work)
        if code is None:
            return "Timeout", None, ""
        if code == 0:
            return "OK", 0, ""
        if "syntax error" in err:
            return "SyntaxError", code, first_line(err)
        return "Exception", code, last_line(err)
    if lang == "ts":  # eval_ts.py: safe_subprocess for both steps, markers looked up in stderr only
        (work / "prog.ts").write_text(program)
        code, out, err, _ = run(["tsc", "--target", "esnext", "prog.ts"], 15, work)
        if code != 0:  # a tsc timeout (exit -1 there) too
            return "SyntaxError", code, first_line(out) or first_line(err) or "tsc timeout"
        code, out, err, _ = run(["node", "prog.js"], 15, work)
        return node_status(code, err, err)
    if lang == "php":  # eval_php.py: no Timeout branch, a timeout is exit -1 -> Exception
        (work / "prog.php").write_text(program)
        code, out, err, _ = run(["php", "prog.php"], 15, work)
        if "PHP Parse error" in out:
            return "SyntaxError", code, first_line(out)
        if code != 0:
            return "Exception", code, first_line(err) or first_line(out) or "timeout (no Timeout branch)"
        return "OK", 0, ""
    if lang == "rs":  # eval_rust.py: a compile timeout is a Timeout, not a SyntaxError
        (work / "prog.rs").write_text(program)
        code, out, err, _ = run([rustc, "prog.rs", "-o", "prog"], 15, work)
        if code is None:
            return "Timeout", None, "compile timeout"
        if code != 0:
            return "SyntaxError", code, first_line(err)
        code, out, err, _ = run([str(work / "prog")], 5, work)
        if code is None:
            return "Timeout", None, ""
        return ("OK" if code == 0 else "Exception"), code, first_line(err)
    if lang == "go":  # eval_go.py: stdout decides, never the exit status
        (work / "prog_test.go").write_text(program)
        home = work / "home"
        home.mkdir()
        env = dict(os.environ, HOME=str(home), GOCACHE=str(work / "gocache"), GOPATH=str(work / "gopath"),
                   GOENV="off", GOFLAGS="", GO111MODULE="on", GOWORK="off", GOPROXY="off",
                   GOTOOLCHAIN="local")
        code, out, err, _ = run(["go", "test", "prog_test.go"], 30, work, env)
        if code is None:
            return "Timeout", None, ""
        if "[setup failed]" in out or "[build failed]" in out:
            return "SyntaxError", code, next((ln.strip() for ln in err.splitlines()
                                              if not ln.startswith("#")), "")[:120]
        if "FAIL" in out:
            return "Exception", code, next((ln.strip() for ln in out.splitlines() if "FAIL" in ln), "")[:120]
        return "OK", code, first_line(out)
    if lang == "lua":  # bigcode's eval_lua.py (safe_subprocess)
        (work / "prog.lua").write_text(program)
        code, out, err, _ = run(["lua", "prog.lua"], 15, work)
        if code is None:
            return "Timeout", None, ""
        return ("OK" if code == 0 else "Exception"), code, first_line(err) or last_line(out)
    if lang == "rb":  # eval_ruby.py: a non-zero exit is a SyntaxError as soon as stderr is not empty
        (work / "prog.rb").write_text(program)
        code, out, err, _ = run(["ruby", "prog.rb"], 5, work)
        if code is None:
            return "Timeout", None, ""
        if code == 0:
            return "OK", 0, ""
        if not err:
            return "Exception", code, next((ln.strip() for ln in out.splitlines() if ln.startswith("Failure")
                                            or ln.startswith("Error")), last_line(out))[:120]
        return "SyntaxError", code, first_line(err)
    if lang == "pl":  # eval_pl.py: no SyntaxError status at all
        (work / "prog.pl").write_text(program)
        code, out, err, _ = run(["perl", "prog.pl"], 15, work)
        if code is None:
            return "Timeout", None, ""
        if code != 0:
            return "Exception", code, first_line(err)
        if "ERROR" in out or "ERROR" in err:
            return "Exception", code, "ERROR in the output"
        return "OK", 0, ""
    if lang == "cs":  # eval_cs.py: stderr decides, mono exits 0 after a failed Debug.Assert
        (work / "prog.cs").write_text(program)
        code, out, err, _ = run(["mcs", "/d:DEBUG", "-r:System.Numerics.dll", "prog.cs", "/out:prog.exe"], None, work)
        if code != 0:
            return "SyntaxError", code, next((ln.strip() for ln in (out + err).splitlines() if "error" in ln), "")[:120]
        env = {"PATH": os.environ.get("PATH", ""), "MONO_TRACE_LISTENER": "Console.Error"}
        code, out, err, _ = run(["mono", str(work / "prog.exe")], 5, work, env)
        if code is None:
            return "Timeout", None, ""
        if "System.Diagnostics.DefaultTraceListener.Fail" in err or "Unhandled Exception" in err:
            return "Exception", code, first_line(err)
        return "OK", code, ""
    if lang == "d":  # eval_dlang.py: rdmd's one command, emulated as ldmd2 then the binary, 15 s in all
        (work / "prog.d").write_text(program)
        code, out, err, secs = run(["ldmd2", "-unittest", "-main", "-of=prog", "prog.d"], 15, work)
        if code == 0:
            code, out2, err2, _ = run([str(work / "prog")], max(15 - secs, 0.1), work)
            out, err = out + out2, err + err2
        if code is None:
            return "Timeout", None, ""
        if code == 0:
            return "OK", 0, ""
        if "Error:" in err:
            return "SyntaxError", code, next((ln.strip() for ln in err.splitlines() if "Error:" in ln), "")[:120]
        return "Exception", code, first_line(out) or first_line(err)
    if lang == "elixir":  # eval_elixir.py (subprocess.run, 5 s): markers in str() of the result, both streams
        (work / "prog.exs").write_text(program)
        code, out, err, _ = run(["elixir", "prog.exs"], 5, work)
        if code is None:
            return "Timeout", None, ""
        if code == 0:
            return "OK", 0, ""
        for marker, status in (("Assertion with == failed", "AssertionError"), ("SyntaxError", "SyntaxError")):
            if marker in out + err:
                return status, code, next((ln.strip() for ln in (out + err).splitlines() if marker in ln), "")[:120]
        return "Exception", code, first_line(err) or last_line(out)
    if lang == "hs":  # eval_hs.py (safe_subprocess): every failing exit is its SyntaxError
        (work / "prog.hs").write_text(program)
        code, out, err, _ = run(["runghc", "prog.hs"], 15, work)
        if code is None:
            return "Timeout", None, ""
        if code == 0:
            return "OK", 0, ""
        return "SyntaxError", code, first_line(err)
    if lang == "ml":  # eval_ocaml.py (safe_subprocess, 15 s): stderr decides after the exit status
        (work / "prog.ml").write_text(program)
        code, out, err, _ = run(["ocaml", "prog.ml"], 15, work)
        if code is None:
            return "Timeout", None, ""
        if code == 0:
            return "OK", 0, ""
        if "Assert_failure" in err:
            return "AssertionError", code, first_line(err)
        if "Syntax error" in err:
            return "SyntaxError", code, next((ln.strip() for ln in err.splitlines() if "Syntax error" in ln), "")
        return "Exception", code, last_line(err)
    if lang == "r":  # eval_r.py: subprocess.run (the child alone is killed on a timeout), 5 s
        (work / "prog.r").write_text(program)
        code, out, err, _ = run(["Rscript", "prog.r"], 5, work)
        if code is None:
            return "Timeout", None, ""
        if code == 0:
            return "OK", 0, ""
        if "unexpected" in out + err:  # eval_r.py looks in str(CompletedProcess): args, stdout and stderr
            return "SyntaxError", code, first_line(err)
        return ("Exception" if err else "AssertionError"), code, first_line(err) or last_line(out)
    if lang == "rkt":  # eval_racket.py (safe_subprocess, 15 s): stderr decides, there is no Timeout branch
        (work / "prog.rkt").write_text(program)
        code, out, err, _ = run(["racket", "prog.rkt"], 15, work)
        code = -1 if code is None else code  # safe_subprocess: a killed run is exit -1
        if err or code != 0:
            status = "SyntaxError" if "read-syntax" in err else "Exception"
            return status, code, first_line(err) or "timeout (no Timeout branch)"
        return "OK", 0, ""
    if lang == "scala":  # eval_scala.py: OK needs an empty stderr too
        (work / "prog.scala").write_text(program)
        (work / "out").mkdir()  # MultiPL-E: a fresh temporary directory; scalac -d wants it to exist
        code, out, err, _ = run(["scalac", "-d", "out", "prog.scala"], 45, work)
        if code != 0:  # a scalac timeout (exit -1 there) too
            return "SyntaxError", code, first_line(err) or "compile timeout"
        code, out, err, _ = run(["scala", "-cp", "out", "Problem"], 15, work)
        if code is None:
            return "Timeout", None, ""
        if code == 0 and err == "":
            return "OK", 0, ""
        return "Exception", code, first_line(err) or "exit 0 with stderr"
    raise ValueError(lang)


def load_prompts(data_dir, lang):
    path = Path(data_dir) / f"humaneval-{lang}-reworded.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return {r["name"]: r for r in map(json.loads, f)}


def validate(rows, prompts):
    """Static checks; returns a list of problems."""
    problems = []
    seen = set()
    for i, r in enumerate(rows, 1):
        where = f"row {i}"
        missing = {"benchmark", "name", "kind", "completion", "expect"} - set(r)
        if missing:
            problems.append(f"{where}: missing {sorted(missing)}")
            continue
        lang = r["benchmark"].removeprefix("humaneval-")
        if not r["benchmark"].startswith("humaneval-") or lang not in LANGS:
            problems.append(f"{where}: unknown benchmark {r['benchmark']!r}")
            continue
        if r["kind"] not in EXPECT:
            problems.append(f"{where}: unknown kind {r['kind']!r}")
        elif r["expect"] != expected(lang, r["kind"]):
            problems.append(f"{where}: kind {r['kind']} expects {expected(lang, r['kind'])} in {lang}, "
                            f"not {r['expect']}")
        if (r["kind"] == "exit_early") != ("multiple_status" in r):
            problems.append(f"{where}: multiple_status belongs on exit_early rows only")
        elif "multiple_status" in r and r["multiple_status"] not in STATUSES:
            problems.append(f"{where}: unknown multiple_status {r['multiple_status']!r}")
        if lang not in prompts:
            continue
        task = prompts[lang].get(r["name"])
        if task is None:
            problems.append(f"{where}: {r['name']} is not in humaneval-{lang}")
            continue
        for tok in task["stop_tokens"]:
            if tok in r["completion"]:
                problems.append(f"{where}: completion contains the stop token {tok!r}")
        key = (r["benchmark"], r["name"], r["completion"])
        if key in seen:
            problems.append(f"{where}: duplicate completion")
        seen.add(key)
    for lang in sorted({r["benchmark"].removeprefix("humaneval-") for r in rows if "benchmark" in r}):
        mine = [r for r in rows if r.get("benchmark") == f"humaneval-{lang}"]
        kinds = {r.get("kind") for r in mine}
        for kind in EXPECT:
            if kind not in kinds:
                problems.append(f"humaneval-{lang}: no {kind} row")
        for name in sorted({r.get("name") for r in mine}):
            if not any(r.get("name") == name and r.get("kind") == "correct" for r in mine):
                problems.append(f"humaneval-{lang}: {name} has no correct row")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", default="/work/shared/data/multipl-e")
    ap.add_argument("--fixture", default=str(HERE / "parity.jsonl"))
    ap.add_argument("--lang", action="append", choices=LANGS)
    ap.add_argument("--javatuples", default="/usr/share/java/javatuples-1.2.jar")
    ap.add_argument("--rustc", default="/usr/bin/rustc")
    args = ap.parse_args(argv)

    with open(args.fixture, encoding="utf-8") as f:
        rows = [json.loads(ln) for ln in f if ln.strip()]
    langs = sorted({r.get("benchmark", "").removeprefix("humaneval-") for r in rows} & set(LANGS))
    prompts = {lang: load_prompts(args.data_dir, lang) for lang in langs}
    problems = validate(rows, prompts)
    for p in problems:
        print(f"INVALID  {p}")

    wanted = set(args.lang or LANGS)
    todo = [r for r in rows if r.get("benchmark", "").removeprefix("humaneval-") in wanted
            and r.get("name") in prompts.get(r["benchmark"].removeprefix("humaneval-"), {})]
    missing_tools = {lang: [t for t in TOOLS[lang] if not shutil.which(t)] for lang in wanted}
    if "java" in wanted and not Path(args.javatuples).exists():
        missing_tools["java"].append(args.javatuples)
    if "rs" in wanted and not shutil.which(args.rustc):
        missing_tools["rs"].append(args.rustc)

    ok = bad = 0
    with tempfile.TemporaryDirectory(prefix="multipl-e-parity-") as tmp:
        for i, r in enumerate(todo, 1):
            lang = r["benchmark"].removeprefix("humaneval-")
            head = f"{r['benchmark']:<14} {r['name']:<37} {r['kind']:<18} expect={r['expect']:<7}"
            if missing_tools.get(lang):
                bad += 1
                print(f"MISMATCH {head} got=-       (missing {', '.join(missing_tools[lang])})", flush=True)
                continue
            task = prompts[lang][r["name"]]
            program = task["prompt"] + r["completion"] + "\n" + task["tests"]
            work = Path(tmp) / f"{i:03d}"
            work.mkdir()
            start = time.monotonic()
            status, code, detail = evaluate(lang, program, work, args.javatuples, args.rustc)
            secs = time.monotonic() - start
            verdict = verdict_of(status, code)
            if r["kind"] == "exit_early" and r.get("multiple_status") == "OK":
                good = status == "OK" and code == 0
                note = "exits 0 early: MultiPL-E passes it, our harness must fail it"
            elif r["kind"] == "exit_early":
                good = status == r.get("multiple_status") and verdict == r["expect"]
                note = f"the early exit does not pass MultiPL-E either: {detail}"
            else:
                good = verdict == r["expect"]
                note = detail
            ok += good
            bad += not good
            print(f"{'ok      ' if good else 'MISMATCH'} {head} got={verdict:<7} "
                  f"multiple={status:<14} exit={code!s:<4} {secs:5.1f}s  {note}", flush=True)

    print(f"{len(todo)} rows run: {ok} as expected, {bad} mismatches; {len(problems)} invalid")
    return 1 if bad or problems else 0


if __name__ == "__main__":
    sys.exit(main())
