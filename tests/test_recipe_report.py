"""The recipe report: its statistics (Wilson intervals, exact McNemar, flipped tasks), the sharing of
answers between HumanEval and HumanEval+, and report.html in headless Chromium (renders, its images
load, no request leaves the file). The report is built from a run directory written here the way
``recipe run`` writes one (stage records and the evaluations' results.jsonl); the smoke recipe's real
run is reported in tests/test_recipe.py (slow)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wizardcoder.recipe.scores import columns_for, compare, mcnemar_exact, score, task_rates, wilson

CHROMIUM = "/usr/bin/chromium"
needs_browser = pytest.mark.skipif(
    importlib.util.find_spec("playwright") is None or not os.access(CHROMIUM, os.X_OK),
    reason=f"needs the playwright package and a system Chromium at {CHROMIUM} (apt-get install chromium)")


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(6, 10)
    assert (round(low, 4), round(high, 4)) == (0.3127, 0.8318)
    low, high = wilson(0, 3)
    assert low == 0.0 and round(high, 4) == 0.5615
    assert wilson(164, 164)[1] == 1.0 and wilson(164, 164)[0] > 0.97


def test_exact_mcnemar_is_the_two_sided_sign_test_on_discordant_tasks() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 0) == pytest.approx(2 / 32)
    assert mcnemar_exact(4, 2) == pytest.approx(2 * (1 + 6 + 15) / 64)
    assert mcnemar_exact(2, 4) == mcnemar_exact(4, 2)
    assert mcnemar_exact(3, 3) == 1.0


def _rows(task_ids: list[str], base: set[int], plus: set[int], samples: int = 1) -> list[dict]:
    return [{"task_id": t, "index": k, "base_status": "pass" if i in base else "fail",
             "plus_status": "pass" if i in plus else "fail"} for i, t in enumerate(task_ids) for k in range(samples)]


def test_per_task_rates_plus_needs_base_and_comparisons_name_the_flipped_tasks(tmp_path: Path) -> None:
    tasks = [f"HumanEval/{i}" for i in range(10)]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in _rows(tasks, set(range(6)), {0, 1, 2, 3, 9})))
    b.write_text("".join(json.dumps(r) + "\n" for r in _rows(tasks, {0, 1, 6, 7}, {0})))
    ra, rb = task_rates(a, "base"), task_rates(b, "base")
    assert sum(ra.values()) == 6 and sum(task_rates(a, "plus").values()) == 4  # task 9: plus without base = fail
    c = compare("a", ra, "b", rb)
    assert c.gained == ["HumanEval/2", "HumanEval/3", "HumanEval/4", "HumanEval/5"]
    assert c.lost == ["HumanEval/6", "HumanEval/7"]
    assert c.diff == pytest.approx(0.2) and c.p_value == pytest.approx(44 / 64) and c.low < 0.2 < c.high
    s = score(ra)
    assert (s.pass_at_1, round(s.low, 4), s.n) == (0.6, 0.3127, 10)


def test_several_samples_per_task_give_rates_and_a_normal_interval(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rows = [{"task_id": "t/0", "base_status": s} for s in ("pass", "fail", "pass", "pass")]
    rows += [{"task_id": "t/1", "base_status": "fail"} for _ in range(4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = score(task_rates(path, "base"))
    assert s.pass_at_1 == pytest.approx(0.375) and 0 <= s.low < 0.375 < s.high <= 1


def test_columns_follow_the_card() -> None:
    assert [c.label for c in columns_for(["humaneval", "humaneval+", "mbpp+"])] == ["HumanEval", "HumanEval+", "MBPP",
                                                                                   "MBPP+"]
    assert [c.label for c in columns_for(["humaneval+"])] == ["HumanEval (base tests)", "HumanEval+"]
    assert [(c.benchmark, c.suite) for c in columns_for(["mbpp+"])] == [("mbpp+", "base"), ("mbpp+", "plus")]


def test_humaneval_plus_shares_all_prompts_of_humaneval_but_one_and_mbpp_plus_none() -> None:
    from wizardcoder.harness.generate import differing_prompts

    same, other = differing_prompts("humaneval", "humaneval+")
    assert len(same) == 163 and other == ["HumanEval/115"]
    same, other = differing_prompts("humaneval", "humaneval+", limit=5)
    assert len(same) == 5 and other == []
    same, other = differing_prompts("mbpp", "mbpp+")
    assert not same and len(other) == 378


# -- a run directory, as recipe run writes one ----------------------------------------------------

ARMS = {"base": ({0}, set()), "seeds": ({0, 1, 2}, {0, 1}), "evolved": ({0, 1, 2, 3, 4, 5}, {0, 1, 2, 3})}


def _run_dir(tmp: Path) -> Path:
    out = tmp / "run"
    tasks = [f"HumanEval/{i}" for i in range(12)]
    stages = []
    for arm, (base, plus) in ARMS.items():
        for bench in ("humaneval", "humaneval+"):
            name = f"eval-{arm}-{bench.replace('+', 'plus')}"
            d = out / "stages" / f"{name}-0123456789ab"
            (d / "eval").mkdir(parents=True)
            (d / "eval" / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(tasks, base, plus)))
            (d / "eval" / "samples.jsonl").write_text("".join(
                json.dumps({"task_id": t, "completion_id": 0, "response": "x", "finish_reason": "stop",
                            "prompt_tokens": 100, "completion_tokens": 20}) + "\n" for t in tasks))
            (d / "stage.json").write_text(json.dumps({"name": name, "kind": "eval", "seconds": 12.5, "result": {
                "arm": arm, "benchmark": bench, "pass@1": len(base) / 12, "plus_pass@1": len(plus) / 12}}))
            stages.append({"name": name, "fingerprint": "0123456789ab" * 5, "directory": f"/moved/away/{d.name}"})
        if arm != "base":
            d = out / "stages" / f"train-{arm}-0123456789ab"
            (d / "model" / "logs").mkdir(parents=True)
            (d / "model" / "logs" / "train_log.csv").write_text(
                "step,epoch,loss,num_tokens\n1,0.5,1.2,1000\n2,1.0,0.9,2000\n")
            (d / "stage.json").write_text(json.dumps({"name": f"train-{arm}", "kind": "train", "seconds": 60, "result": {
                "rows": 10, "steps": 2, "global_batch_size": 8, "train_loss": 1.05, "runtime_s": 55.0}}))
            stages.insert(0, {"name": f"train-{arm}", "fingerprint": "0" * 64, "directory": str(d)})
    stages.append({"name": "eval-late-humaneval", "fingerprint": "1" * 64, "directory": "x/eval-late-humaneval-111111111111"})
    (out / "recipe.resolved.yaml").write_text(yaml.safe_dump({
        "arms": [{"name": a, "model": "default", "data": "none" if a == "base" else a} for a in ARMS],
        "eval": {"benchmarks": ["humaneval", "humaneval+"], "limit": None},
        "report": {"baseline": "base", "compare": [["evolved", "seeds"]]}}))
    (out / "run.json").write_text(json.dumps({"recipe": "/r/method.yaml", "versions": {"wizardcoder": "0"},
                                              "stages": stages, "started": "2026-12-03T00:00:00Z"}))
    return out


def test_report_tables_figures_and_scores_json(tmp_path: Path) -> None:
    from wizardcoder.recipe import recipe_report

    out = _run_dir(tmp_path)
    files = recipe_report(out)
    assert {p.name for p in files.figures} == {"scores.png", "loss.png"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in files.figures)
    md = files.markdown.read_text()
    assert "| default | **evolved** (evolved) | 50.0 [25.4, 74.6] | 33.3 [13.8, 60.9] |" in md
    assert "| WizardCoder-33B-V1.1 | published (model card) | 79.9 | 73.2 |" in md
    # evolved vs base on HumanEval: +5 tasks gained, none lost: exact p = 2/32
    assert "| evolved | base | +41.7 [" in md and "p=0.062 (+5 / -0)" in md
    assert "| evolved | seeds |" in md  # the recipe's extra pair
    assert "evolved vs seeds, HumanEval: 3 gained, 0 lost" in md
    assert "| eval-late-humaneval | pending | - |" in md
    data = json.loads((out / "report" / "scores.json").read_text())
    assert data["arms"]["seeds"]["humaneval+"]["pass@1"] == pytest.approx(2 / 12)
    cmp = next(c for c in data["comparisons"] if (c["arm"], c["against"], c["column"]) == ("evolved", "seeds",
                                                                                             "humaneval"))
    assert cmp["gained"] == ["HumanEval/3", "HumanEval/4", "HumanEval/5"] and cmp["lost"] == []
    assert math.isclose(cmp["p"], 0.25)
    page = files.html.read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') == 2


def test_report_command_is_one_line_on_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "wizardcoder.cli", "recipe", "report", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "recipe.resolved.yaml: not found" in proc.stderr


@needs_browser
def test_report_html_renders_offline_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from wizardcoder.recipe import recipe_report

    files = recipe_report(_run_dir(tmp_path))
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(files.html.as_uri())
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        text = page.locator("body").inner_text()
        page.screenshot(path=tmp_path / "report.png", full_page=True)
        browser.close()
    assert len(images) == 2 and all(done and w > 300 and h > 200 for done, w, h in images), images
    assert requests == [files.html.as_uri()]  # data: images are not requests; nothing else was asked for
    assert "Arms compared" in text and "HumanEval+" in text and "WizardCoder-Python-34B-V1.0" in text
    assert (tmp_path / "report.png").stat().st_size > 10_000
