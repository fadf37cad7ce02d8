"""Cleaning evolved data: near-duplicate removal (MinHash LSH) and benchmark decontamination (n-grams)."""

from __future__ import annotations

import json

import pytest

from conftest import BENCH_DATA, CODE_ALPACA
from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.decontam import BENCHMARKS, MULTIPLE, Decontaminator, decontaminate, parse_benchmark_paths
from wizardcoder.evol.dedup import Removed, dedup
from wizardcoder.harness.datasets import load_dataset

THIRTY = ("Write a function that reads a CSV file of sales records and returns the total revenue "
          "per region as a dictionary sorted by region name skipping rows with missing prices")


def row(id: str, instruction: str, input: str = "", output: str = "") -> dict[str, str]:
    return {"id": id, "instruction": instruction, "input": input, "output": output}


# -- dedup ------------------------------------------------------------------------------------------


def test_exact_duplicates_up_to_case_and_whitespace_point_at_the_first():
    rows = [row("a", THIRTY, "data.csv"), row("b", "Reverse a linked list in place."),
            row("c", "  " + THIRTY.upper().replace(" ", " \n\t "), "DATA.CSV  "), row("d", THIRTY.lower(), "data.csv")]
    kept, removed = dedup(rows)
    assert kept == [0, 1]
    assert removed == [Removed("c", "duplicate", "a", 1.0), Removed("d", "duplicate", "a", 1.0)]


def test_one_word_changed_in_a_thirty_word_instruction_is_a_near_duplicate():
    # The last word: one of 28 word 3-grams differs (Jaccard 27/29 = 0.93), far from the 0.8 threshold.
    changed = THIRTY.rsplit(" ", 1)[0] + " quantities"
    assert len(THIRTY.split()) == 30
    kept, removed = dedup([row("a", THIRTY), row("b", changed)])
    assert kept == [0]
    assert len(removed) == 1 and removed[0].id == "b" and removed[0].reason == "near_duplicate" and removed[0].of == "a"
    assert 0.8 <= removed[0].similarity < 1.0


def test_a_word_changed_in_the_middle_is_caught_at_a_lower_threshold():
    # Three 3-grams differ: true Jaccard 25/31 = 0.81, right at the default threshold; 0.7 is unambiguous.
    words = THIRTY.split()
    words[15] = "margin"
    kept, removed = dedup([row("a", THIRTY), row("b", " ".join(words))], threshold=0.7)
    assert kept == [0] and [(r.id, r.of) for r in removed] == [("b", "a")]


def test_clearly_different_rows_are_all_kept():
    rows = [row("a", THIRTY), row("b", "Implement binary search over a sorted list of integers and return the index."),
            row("c", "Explain the difference between a process and a thread."), row("d", "sort a list"),
            row("e", "sort list"), row("f", "")]
    assert dedup(rows) == ([0, 1, 2, 3, 4, 5], [])


def test_the_first_occurrence_is_kept_whatever_it_is():
    changed = THIRTY.rsplit(" ", 1)[0] + " quantities"
    kept, removed = dedup([row("r1", changed), row("seed", THIRTY), row("r2", changed.upper())])
    assert kept == [0]
    assert [(r.id, r.reason, r.of) for r in removed] == [("seed", "near_duplicate", "r1"), ("r2", "duplicate", "r1")]


def test_a_repeat_of_a_removed_row_is_reported_against_the_kept_one():
    changed = THIRTY.rsplit(" ", 1)[0] + " quantities"
    kept, removed = dedup([row("a", THIRTY), row("b", changed), row("c", changed)])
    assert kept == [0]
    assert removed[1] == Removed("c", "near_duplicate", "a", removed[0].similarity)


def test_the_key_is_instruction_and_input_never_the_output():
    rows = [row("a", THIRTY, "x = 1", "def f(): pass"), row("b", THIRTY, "x = 1", "a completely different answer"),
            row("c", THIRTY, "an input that changes the whole task entirely here", "def f(): pass"),
            row("d", "Print hello world.", "", "def f(): pass")]
    kept, removed = dedup(rows)
    assert kept == [0, 2, 3] and [(r.id, r.reason, r.of) for r in removed] == [("b", "duplicate", "a")]


def test_empty_input_and_bad_parameters():
    assert dedup([]) == ([], [])
    with pytest.raises(ValueError, match="threshold"):
        dedup([row("a", "x")], threshold=0)


# -- decontamination: in memory -----------------------------------------------------------------------


def toy() -> Decontaminator:
    return Decontaminator([
        ("toy", "Toy/1", "prompt", "Return the sum of the squares of all odd numbers in the list."),
        ("toy", "Toy/1", "solution", "def odd_squares(xs):\n    return sum(x * x for x in xs if x % 2)\n"),
        ("toy", "Toy/2", "solution", "print([1, 2, 3, 4, 5, 6])"),
    ], n=5)


def test_in_memory_index_matches_words_not_layout():
    decon = toy()
    assert decon.tasks == 2 and decon.benchmarks == ["toy"]
    hit = decon.check(row("r", "Write code.", "", "def ODD_SQUARES( xs ) :  return SUM(x*x for x in xs)"))
    assert hit is not None
    assert (hit.id, hit.benchmark, hit.task_id, hit.field, hit.source) == ("r", "toy", "Toy/1", "output", "solution")
    assert hit.ngram == "def odd_squares xs return sum"
    hit = decon.check(row("s", "Please compute the sum of the squares of all odd numbers, fast."))
    assert hit is not None and (hit.field, hit.source, hit.ngram) == ("instruction", "prompt", "the sum of the squares")
    assert decon.check(row("t", "Compute the total of the cubes of all even numbers in a list.")) is None


def test_low_information_ngrams_are_not_indexed_unless_asked():
    """Runs of numbers, or code like `x * x for x in`, say nothing about which task they come from."""
    numbers = row("r", "Print the numbers 1 2 3 4 5 in order.")
    decon = toy()
    assert decon.check(numbers) is None
    everything = Decontaminator([("toy", "Toy/2", "solution", "print([1, 2, 3, 4, 5, 6])")], n=5, min_words=0)
    hit = everything.check(numbers)
    assert hit is not None and (hit.task_id, hit.ngram) == ("Toy/2", "1 2 3 4 5")
    # skipped: "print 1 2 3 4", "1 2 3 4 5", "2 3 4 5 6", "sum x x for x", "x x for x in"
    assert decon.skipped == 5 and everything.skipped == 0


def test_decontaminate_keeps_order_and_names_rows_without_id_by_index():
    rows = [{"instruction": "Sort a list."}, {"instruction": "the sum of the squares of all odd numbers"},
            row("c", "Reverse a string.")]
    kept, found = decontaminate(rows, toy())
    assert kept == [0, 2] and [(c.id, c.task_id) for c in found] == [("1", "Toy/1")]


def test_errors_are_one_line():
    with pytest.raises(WizardCoderError, match="n-gram size must be >= 1"):
        Decontaminator([], n=0)


def test_an_unloadable_benchmark_is_an_error(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(WizardCoderError, match=r"^decontamination against humaneval: .*nope.jsonl: cannot read") as err:
        Decontaminator.from_benchmarks(["humaneval"], paths={"humaneval": str(missing)})
    assert "\n" not in str(err.value)


# -- decontamination: the real benchmarks -----------------------------------------------------------------


@pytest.fixture(scope="module")
def decon() -> Decontaminator:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WIZARDCODER_DATA_DIR", str(BENCH_DATA))
        return Decontaminator.from_benchmarks()


def he0_docstring() -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WIZARDCODER_DATA_DIR", str(BENCH_DATA))
        prompt = load_dataset("humaneval").tasks["HumanEval/0"].prompt
    return prompt.split('"""')[1]


def test_a_humaneval_docstring_is_found(decon):
    assert decon.tasks == 164 + 164 + 500 + 378 and decon.benchmarks == ["humaneval", "humaneval+", "mbpp", "mbpp+"]
    assert decon.ngrams > 30_000
    hit = decon.check(row("evo1", "Improve this task:\n" + he0_docstring(), "", "def f(): pass"))
    assert hit is not None
    assert (hit.id, hit.benchmark, hit.task_id, hit.field, hit.source) == ("evo1", "humaneval", "HumanEval/0", "instruction",
                                                                          "prompt")
    assert hit.ngram == "check if in given list of numbers are any two"


def test_an_mbpp_plus_solution_is_found(decon):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WIZARDCODER_DATA_DIR", str(BENCH_DATA))
        task = load_dataset("mbpp+").tasks["Mbpp/6"]
        only_plus = Decontaminator.from_benchmarks(["mbpp+"])
    solution = task.canonical[len(task.code_prefix):]
    assert "differ_At_One_Bit_Pos" in solution
    evolved = row("evo2", "Check whether two numbers differ at one bit position only.", "", "Here:\n" + solution)
    hit = decon.check(evolved)
    assert hit is not None and hit.task_id == "Mbpp/6" and hit.field == "output"
    hit = only_plus.check(evolved)
    assert hit is not None and (hit.benchmark, hit.task_id, hit.source) == ("mbpp+", "Mbpp/6", "solution")


def test_nine_matching_words_are_not_enough_at_n_10(decon):
    words = he0_docstring().split()
    assert decon.n == 10
    nine, ten = " ".join(words[:9]), " ".join(words[:10])
    assert decon.check(row("x", f"zebra {nine} zebra")) is None
    assert decon.check(row("y", f"zebra {ten} zebra")) is not None


def test_unrelated_code_alpaca_rows_are_clean(decon):
    rows = json.loads((CODE_ALPACA).read_text())[:100]
    kept, found = decontaminate(rows, decon)
    assert found == [] and kept == list(range(100))


def test_multiple_prompts_are_found_but_not_their_frame() -> None:
    """MultiPL-E's prompts (licence: not training data) are in evolve's default set; the imports and class
    header every Java prompt shares are not task content and must not drop every Java row."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WIZARDCODER_DATA_DIR", str(BENCH_DATA))
        decon = Decontaminator.from_benchmarks(BENCHMARKS + MULTIPLE)
        java = load_dataset("humaneval-java").tasks
        rust = load_dataset("mbpp-rs").tasks
    assert len(MULTIPLE) == 42 and decon.benchmarks[4:] == list(MULTIPLE)
    frame = java["HumanEval_0_has_close_elements"].prompt.split("class Problem {")[0]
    assert frame.count("import") == 7
    own = frame + "class Problem {\n    public static long twice(long x) {\n        return 2 * x;\n    }\n}\n"
    assert decon.check(row("j", "Write a Java method that doubles a number.", "", own)) is None
    hit = decon.check(row("k", "Translate this:", "", java["HumanEval_105_by_length"].prompt))
    assert hit is not None and (hit.benchmark, hit.task_id, hit.source) == ("humaneval-java", "HumanEval_105_by_length",
                                                                            "prompt")
    signature = rust["mbpp_3_is_not_prime"].prompt.strip().splitlines()
    hit = decon.check(row("r", "Complete:", "", "\n".join(signature)))
    assert hit is not None and hit.benchmark in ("mbpp-rs", "mbpp", "mbpp+")
    rows = json.loads(CODE_ALPACA.read_text())[:100]
    assert decontaminate(rows, decon)[1] == []
    assert parse_benchmark_paths(["multiple-java=x.jsonl", "mbpp-rs=y.jsonl"]) == {"humaneval-java": "x.jsonl",
                                                                                  "mbpp-rs": "y.jsonl"}
    with pytest.raises(WizardCoderError, match="humaneval-java, mbpp-cpp"):
        parse_benchmark_paths(["cobol=z.jsonl"])


def test_lineage_rows_are_not_near_duplicates_of_each_other() -> None:
    base = "Write a function that takes a list of integers and returns the sum of the even numbers in the list"
    rows = [{"id": "s1", "instruction": base, "input": "", "output": ""},
            {"id": "s1.r1", "instruction": base + " in one pass", "input": "", "output": ""},
            {"id": "s2", "instruction": base + " in one pass", "input": "", "output": ""},
            {"id": "s3", "instruction": base + " please", "input": "", "output": ""}]
    kept, removed = dedup(rows, lineage=[r["id"].split(".")[0] for r in rows])
    # s1.r1 evolved from s1 (same chain): kept; s2 is an exact copy of it from another chain; s3 is near s1.
    assert kept == [0, 1]
    assert [(r.id, r.reason, r.of) for r in removed] == [("s2", "duplicate", "s1.r1"), ("s3", "near_duplicate", "s1")]


def test_evolve_drops_a_seed_that_quotes_a_multiple_prompt_by_default(tmp_path, monkeypatch) -> None:
    """The evolve run's own set: a seed that is a MultiPL-E Java task is removed (named in removed.jsonl);
    with --no-decontam-multiple the same seed stays."""
    from wizardcoder import evolve

    monkeypatch.setenv("WIZARDCODER_DATA_DIR", str(BENCH_DATA))
    prompt = load_dataset("humaneval-java").tasks["HumanEval_105_by_length"].prompt
    java = "\n".join(line for line in prompt.splitlines() if ">>>" in line or "public static" in line)  # Java's own
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"instruction": "Complete this Java method:\n" + java, "output": "return null;"}) + "\n"
                     + json.dumps({"instruction": "Add two numbers in Python.", "output": "def add(a, b): return a + b"})
                     + "\n")
    evolve(seeds, tmp_path / "on", teacher="fake", seed=0, rounds=1)
    removed = [json.loads(line) for line in (tmp_path / "on" / "removed.jsonl").read_text().splitlines()]
    hits = [r for r in removed if r["reason"] == "contaminated"]
    assert {(r["id"].split(".")[0], r["benchmark"], r["task_id"]) for r in hits} == {
        ("s000000", "humaneval-java", "HumanEval_105_by_length")}  # the seed, and its evolution that kept the task
    evolve(seeds, tmp_path / "off", teacher="fake", seed=0, rounds=1, decontam_multiple=False)
    removed = [json.loads(line) for line in (tmp_path / "off" / "removed.jsonl").read_text().splitlines()]
    assert not any(r["reason"] == "contaminated" for r in removed)
