"""DS-1000 in the report: its own table (libraries, then perturbations), subsets merged into their label's
row, the card table's DS-1000 column only beside a full run, summary checking, and the `report` and `eval`
commands printing it. The summaries are written here, shaped as `wizardcoder eval -b ds1000` writes them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table

from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.report import (
    card_scores,
    card_table,
    check_summary,
    ds1000_table,
    is_ds1000,
    read_summaries,
)

LIBRARIES = {"Matplotlib": 0.41, "Numpy": 0.5, "Pandas": 0.25, "Pytorch": 0.125, "Scipy": 0.75, "Sklearn": 0.6,
             "Tensorflow": 0.9}
PERTURBATIONS = {"Difficult-Rewrite": 0.1, "Origin": 0.55, "Semantic": 0.3, "Surface": 0.2}
HEADER = ["model", "All", "Matplotlib", "NumPy", "Pandas", "PyTorch", "SciPy", "Sklearn", "TensorFlow",
          "Origin", "Surface", "Semantic", "Difficult-Rewrite"]


def ds1000(label: str, overall: float | None = 0.432, benchmark: str = "ds1000",
           libraries: dict[str, float] | None = None, perturbations: dict[str, float] | None = None,
           differs: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {
        "benchmark": benchmark, "label": label, "n_tasks": 1000, "n_samples": 1000,
        "base": {"pass@1": overall}, "base_status": {"pass": 432, "fail": 568},
        "ds1000": {"library": {k: {"n": 10, "pass@1": v} for k, v in (LIBRARIES if libraries is None else libraries).items()},
                   "perturbation": {k: {"n": 10, "pass@1": v}
                                    for k, v in (PERTURBATIONS if perturbations is None else perturbations).items()}},
    }
    if differs is not None:
        s["environment"] = {"python": "/x/bin/python", "versions": {"numpy": "1.26.4"}, "differs_from_official": differs}
    return s


def subset(label: str, library: str, score: float) -> dict[str, Any]:
    """A `ds1000-<library>` run: its breakdown covers one library (and that library's perturbations)."""
    file_name = {"pytorch": "Pytorch", "sklearn": "Sklearn"}.get(library, library.capitalize())
    return ds1000(label, score, f"ds1000-{library}", {file_name: score}, {"Origin": 0.99, "Surface": 0.98})


def plain(benchmark: str, label: str, p1: float, plus: float | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"benchmark": benchmark, "label": label, "n_tasks": 164, "n_samples": 164,
                         "base": {"pass@1": p1}, "base_status": {"pass": 1}}
    if plus is not None:
        s["plus"], s["plus_status"] = {"pass@1": plus}, {"pass": 1}
    return s


def render(table: Table) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(table)
    return console.export_text()


def grid(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The DS-1000 table read back model by model: the groups it shows, and per model (a column) its
    cells in HEADER's group order, "-" for a group the table leaves out. Other tables: as printed."""
    header: list[str] = []
    body: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("┃"):
            header = [c.strip() for c in line.strip("┃").split("┃")]
        elif line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            body[cells[0]] = cells[1:]
    if header[:1] != ["group"]:
        return header, body
    per_model = {label: [body[g][i] if g in body else "-" for g in HEADER[1:]] for i, label in enumerate(header[1:])}
    return ["model", *[g for g in HEADER[1:] if g in body]], per_model


def test_full_run_fills_every_column_in_the_papers_order() -> None:
    table = ds1000_table([ds1000("wc")])
    assert table is not None
    header, rows = grid(render(table))
    assert header == HEADER
    assert rows == {"wc": ["43.2", "41.0", "50.0", "25.0", "12.5", "75.0", "60.0", "90.0", "55.0", "20.0", "30.0", "10.0"]}
    assert table.caption is None  # the summaries say nothing of the environment: no claim either way


def test_caption_names_the_versions_that_are_not_the_official_ones() -> None:
    differs = {"torch": {"official": "2.2.0", "here": "2.13.0+cpu"}, "python": {"official": "3.10", "here": "3.11.7"}}
    table = ds1000_table([ds1000("a", differs=differs), ds1000("b", differs={"torch": differs["torch"]})])
    assert table is not None
    text = render(table)
    assert "torch 2.13.0+cpu (official 2.2.0)" in text and "python 3.11.7 (official 3.10)" in text
    assert text.count("torch 2.13.0+cpu") == 1  # the same difference in two runs is named once
    official = ds1000_table([ds1000("a", differs={})])
    assert official is not None and official.caption is None


def test_absent_libraries_and_perturbations_are_dashes() -> None:
    table = ds1000_table([ds1000("wc", libraries={"Pandas": 0.5}, perturbations={"Origin": 0.5})])
    assert table is not None
    _, rows = grid(render(table))
    assert rows["wc"] == ["43.2", "-", "-", "50.0", "-", "-", "-", "-", "50.0", "-", "-", "-"]


def test_subsets_merge_into_their_labels_row_and_a_full_run_wins() -> None:
    summaries = [
        subset("only-subsets", "pandas", 0.3), subset("only-subsets", "pytorch", 0.7),
        subset("both", "pandas", 0.99),  # the full run below says 25.0 for Pandas: it wins
        ds1000("both", 0.432, libraries={k: v for k, v in LIBRARIES.items() if k != "Scipy"}),  # --limit: no SciPy
        subset("both", "scipy", 0.8),  # ...which the subset fills
    ]
    table = ds1000_table(summaries)
    assert table is not None
    header, rows = grid(render(table))
    assert header == HEADER and list(rows) == ["only-subsets", "both"]  # one row per label, in the order given
    # a subset gives its library only: not "All", not the perturbations (they cover one library)
    assert rows["only-subsets"] == ["-", "-", "-", "30.0", "70.0", "-", "-", "-", "-", "-", "-", "-"]
    assert rows["both"] == ["43.2", "41.0", "50.0", "25.0", "12.5", "80.0", "60.0", "90.0", "55.0", "20.0", "30.0", "10.0"]


def test_subset_without_a_breakdown_uses_its_overall_score() -> None:
    s = subset("wc", "sklearn", 0.6)
    del s["ds1000"]
    table = ds1000_table([s])
    assert table is not None
    assert grid(render(table))[1]["wc"][HEADER.index("Sklearn") - 1] == "60.0"


def test_no_ds1000_summary_no_table() -> None:
    assert ds1000_table([plain("humaneval", "wc", 0.5)]) is None
    assert ds1000_table([]) is None
    assert is_ds1000(ds1000("x")) and is_ds1000(subset("x", "numpy", 0.1)) and not is_ds1000(plain("mbpp", "x", 0.1))


def test_card_table_has_no_ds1000_column_without_a_full_run() -> None:
    for summaries in ([plain("humaneval+", "wc", 0.5, 0.4)], [plain("humaneval+", "wc", 0.5, 0.4), subset("wc", "pandas", 0.3)]):
        header, rows = grid(render(card_table(summaries)))
        assert header == ["model", "HumanEval", "HumanEval+", "MBPP", "MBPP+"]
        assert rows["wc"] == ["50.0", "40.0", "-", "-"]
    # a subset gives no card row of its own
    assert card_scores([subset("sub", "pandas", 0.3)]) == {}


def test_card_table_gains_ds1000_column_beside_a_full_run() -> None:
    summaries = [plain("humaneval+", "WizardCoder-15B-V1.0", 0.5, 0.4), ds1000("WizardCoder-15B-V1.0", 0.25),
                 ds1000("ds-only", 0.125), subset("sub-only", "pandas", 0.3)]
    assert card_scores(summaries) == {"WizardCoder-15B-V1.0": {"HumanEval": 0.5, "HumanEval+": 0.4, "DS-1000": 0.25},
                                      "ds-only": {"DS-1000": 0.125}}
    header, rows = grid(render(card_table(summaries)))
    assert header == ["model", "HumanEval", "HumanEval+", "MBPP", "MBPP+", "DS-1000"]
    assert rows["WizardCoder-15B-V1.0"] == ["50.0", "40.0", "-", "-", "25.0"]
    assert rows["ds-only"] == ["-", "-", "-", "-", "12.5"]
    assert "sub-only" not in rows
    assert rows["published: WizardCoder-15B-V1.0"] == ["59.8", "52.4", "-", "-", "-"]
    assert rows["WizardCoder-33B-V1.1 (card)"] == ["79.9", "73.2", "78.9", "66.9", "-"]  # the card has no DS-1000
    assert rows["GPT-4-Turbo (card)"] == ["85.4", "81.7", "83.0", "70.7", "-"]


def test_check_summary_accepts_ds1000_and_refuses_a_bad_breakdown_in_one_line(tmp_path: Path) -> None:
    p = tmp_path / "summary.json"
    good = ds1000("wc", differs={"torch": {"official": "2.2.0", "here": "2.13.0+cpu"}})
    assert check_summary(p, good) is good
    assert check_summary(p, subset("wc", "pandas", 0.3))
    bad: list[tuple[dict[str, Any], str]] = [
        ({"ds1000": []}, "'ds1000'"),
        ({"ds1000": {"library": {"Pandas": {"pass@1": 1.5}}}}, "'ds1000.library.Pandas.pass@1'"),
        ({"ds1000": {"perturbation": {"Origin": {"pass@1": "high"}}}}, "'ds1000.perturbation.Origin.pass@1'"),
        ({"ds1000": {"library": {"Pandas": 0.3}}}, "'ds1000.library.Pandas'"),
        ({"environment": {"differs_from_official": {"torch": "2.13"}}}, "'environment.differs_from_official.torch'"),
        ({"environment": {"differs_from_official": {"torch": {"official": "2.2.0"}}}},
         "'environment.differs_from_official.torch'"),
    ]
    for change, field in bad:
        with pytest.raises(WizardCoderError) as e:
            check_summary(p, {**good, **change})
        assert field in str(e.value) and "\n" not in str(e.value) and str(p) in str(e.value)


def _write(root: Path, name: str, summary: dict[str, Any]) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "summary.json").write_text(json.dumps(summary))


def _report(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wizardcoder.cli", "report", *map(str, paths)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_report_command_prints_the_ds1000_table_and_no_card_for_ds1000_alone(tmp_path: Path) -> None:
    _write(tmp_path, "full", ds1000("wc", differs={"torch": {"official": "2.2.0", "here": "2.13.0+cpu"}}))
    _write(tmp_path, "pandas", subset("wc", "pandas", 0.99))
    _write(tmp_path, "numpy", subset("other", "numpy", 0.375))
    assert len(read_summaries([tmp_path])) == 3
    proc = _report(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "DS-1000" in proc.stdout and "model card" not in proc.stdout
    header, rows = grid(proc.stdout)
    assert header == HEADER
    assert rows["wc"] == ["43.2", "41.0", "50.0", "25.0", "12.5", "75.0", "60.0", "90.0", "55.0", "20.0", "30.0", "10.0"]
    assert rows["other"] == ["-", "-", "37.5", "-", "-", "-", "-", "-", "-", "-", "-", "-"]
    assert "torch 2.13.0+cpu (official 2.2.0)" in proc.stdout


def test_report_command_with_humaneval_and_ds1000_prints_both(tmp_path: Path) -> None:
    _write(tmp_path, "he", plain("humaneval+", "wc", 0.5, 0.4))
    _write(tmp_path, "ds", ds1000("wc", 0.25))
    proc = _report(tmp_path)
    assert proc.returncode == 0, proc.stderr
    card, _, ds = proc.stdout.partition("pass@1 (%) — DS-1000")
    assert "model card" in card and ds
    card_header, card_rows = grid(card)
    assert card_header[-1] == "DS-1000" and card_rows["wc"] == ["50.0", "40.0", "-", "-", "25.0"]
    assert grid(ds)[1]["wc"][0] == "25.0"


def test_report_command_refuses_a_bad_ds1000_summary_in_one_line(tmp_path: Path) -> None:
    _write(tmp_path, "bad", {**ds1000("wc"), "ds1000": {"library": {"Pandas": {"pass@1": 2}}}})
    proc = _report(tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "ds1000.library.Pandas.pass@1" in proc.stderr


@pytest.mark.parametrize("model_used", [False, True])
def test_eval_prints_the_ds1000_table_not_the_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   model_used: bool) -> None:
    """`eval -b ds1000`'s output, api.evaluate replaced by a finished run's summary (the run itself needs
    DS-1000's environment)."""
    from typer.testing import CliRunner

    from wizardcoder import api
    from wizardcoder.cli import app
    from wizardcoder.cli._app import out_console

    def fake(benchmark: str, samples: str | None, **kw: Any) -> api.EvalSummary:
        assert benchmark == "ds1000"
        return api.EvalSummary.from_dict({**ds1000("wc"), "output_dir": str(tmp_path)})

    monkeypatch.setattr(api, "evaluate", fake)
    monkeypatch.setattr(out_console, "_width", 200)
    source = ["--model", "some-model"] if model_used else ["-s", "canonical"]
    result = CliRunner().invoke(app, ["eval", "-b", "ds1000", *source, "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert "pass@1 (%) — DS-1000" in result.output and "model card" not in result.output
    header, rows = grid(result.output.partition("pass@1 (%) — DS-1000")[2])
    assert header == HEADER and rows["wc"][0] == "43.2" and rows["wc"][-1] == "10.0"
