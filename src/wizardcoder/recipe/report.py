"""The report of a recipe run: ``DIR/report.html``, ``DIR/report.md`` and the PNGs under ``DIR/report/``.

What it shows: the card-style table (each arm's pass@1 with its 95 % interval beside the published
WizardCoder rows), each arm against the baseline (and the recipe's ``report.compare`` pairs) with a
paired test and the tasks that flipped, a bar chart of the arms, the training loss curves, the
evolution statistics (methods, eliminations, task and answer lengths per round), and every stage's
settings, sizes, times and token counts.

Invariants:
- Built only from the run directory (``recipe.resolved.yaml``, ``run.json``, the stages' records and
  outputs): ``wizardcoder recipe report DIR`` rebuilds it at any time, for a finished run or one in
  progress (stages not finished yet are shown as pending), and a moved run directory still reports.
- ``report.html`` is self-contained: inline styles, images as ``data:`` URIs, no script, no link
  that leaves the file. ``report.md`` links the PNGs beside it (``report/*.png``).
- The HTML and the Markdown are rendered from the same blocks, so they never disagree.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.jsonl import atomic_write_text, iter_jsonl, read_json_object
from wizardcoder.recipe.scores import Column, Comparison, Score, columns_for, compare, score, task_rates
from wizardcoder.recipe.stages import STAGE_FILE

REPORT_HTML, REPORT_MD, FIGURES = "report.html", "report.md", "report"


# -- what the run directory holds -------------------------------------------------------------------

@dataclass
class StageInfo:
    name: str
    directory: Path
    record: dict[str, Any] | None  # stage.json, once finished

    @property
    def state(self) -> str:
        if self.record is not None:
            return "done"
        return "stopped inside" if self.directory.is_dir() else "pending"

    @property
    def result(self) -> dict[str, Any]:
        return (self.record or {}).get("result", {})


@dataclass
class RunData:
    output: Path
    recipe: dict[str, Any]  # recipe.resolved.yaml
    run: dict[str, Any]  # run.json
    stages: dict[str, StageInfo]
    arms: list[dict[str, Any]]
    benchmarks: list[str]
    columns: list[Column]
    scores: dict[str, dict[str, Score]] = field(default_factory=dict)  # arm -> column key -> score
    baseline: str = ""
    pairs: list[tuple[str, str]] = field(default_factory=list)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WizardCoderError(f"{path}: not found: is {path.parent} a recipe run directory?") from None
    except yaml.YAMLError as exc:
        raise WizardCoderError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise WizardCoderError(f"{path}:1: expected a mapping")
    return data


def read_run(output: Path) -> RunData:
    output = Path(output)
    recipe = _read_yaml(output / "recipe.resolved.yaml")
    run = read_json_object(output / "run.json", "the run record")
    stages: dict[str, StageInfo] = {}
    for s in run.get("stages", []):
        d = output / "stages" / Path(str(s["directory"])).name  # where it is now, not where it was
        rec = read_json_object(d / STAGE_FILE, "a stage record") if (d / STAGE_FILE).is_file() else None
        stages[str(s["name"])] = StageInfo(str(s["name"]), d, rec)
    arms = list(recipe.get("arms") or [])
    benchmarks = list((recipe.get("eval") or {}).get("benchmarks") or [])
    data = RunData(output, recipe, run, stages, arms, benchmarks, columns_for(benchmarks))
    names = [a["name"] for a in arms]
    settings = recipe.get("report") or {}
    data.baseline = settings.get("baseline") or (names[0] if names else "")
    if data.baseline not in names:
        raise WizardCoderError(f"{output / 'recipe.resolved.yaml'}: report.baseline: no arm named {data.baseline!r}")
    data.pairs = [(a, data.baseline) for a in names if a != data.baseline]
    for pair in settings.get("compare") or []:
        a, b = pair
        if (a, b) not in data.pairs:
            data.pairs.append((a, b))
    for arm in names:
        data.scores[arm] = {}
        for col in data.columns:
            st = stages.get(eval_stage(arm, col.benchmark))
            results = st.directory / "eval" / "results.jsonl" if st is not None and st.record is not None else None
            if results is not None and results.is_file():
                data.scores[arm][col.key] = score(task_rates(results, col.suite))
    return data


def eval_stage(arm: str, benchmark: str) -> str:
    return f"eval-{arm}-{benchmark.replace('+', 'plus')}"


# -- blocks: one content, two renderings ---------------------------------------------------------------

@dataclass
class Block:
    kind: str  # h2, h3, p, table, image, pre, details
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)  # table: header first
    path: Path | None = None  # image
    children: list[Block] = field(default_factory=list)  # details


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _cell(s: Score | None) -> str:
    return "pending" if s is None else f"{100 * s.pass_at_1:.1f} [{100 * s.low:.1f}, {100 * s.high:.1f}]"


def _diff(c: Comparison) -> str:
    return f"{100 * c.diff:+.1f} [{100 * c.low:+.1f}, {100 * c.high:+.1f}]"


def _card_blocks(data: RunData) -> list[Block]:
    from wizardcoder.prompting.registry import FAMILY

    head = ["model", "arm / data", *[c.label for c in data.columns]]
    rows = [head]
    for arm in data.arms:
        cells = [_cell(data.scores[arm["name"]].get(c.key)) for c in data.columns]
        rows.append([str(arm.get("model")), f"**{arm['name']}** ({arm.get('data')})", *cells])
    for card in FAMILY:
        pub = card.published()
        values = [pub.get(c.published) if c.published else None for c in data.columns]
        if any(v is not None for v in values):
            rows.append([card.name, "published (model card)", *["-" if v is None else f"{v:.1f}" for v in values]])
    n_tasks = {c.label: next((s.n for s in (data.scores[a["name"]].get(c.key) for a in data.arms) if s), 0)
               for c in data.columns}
    return [Block("h2", "Scores"),
            Block("p", "pass@1 in %, greedy, with its 95 % interval in brackets (Wilson's, over tasks); tasks: "
                  + ", ".join(f"{k} {v or 'pending'}" for k, v in n_tasks.items()) + ". The published rows are the "
                  "WizardCoder model cards' numbers (other models, other scale): the scale a reader knows."),
            Block("table", rows=rows)]


def _comparison_blocks(data: RunData) -> list[Block]:
    rows = [["arm", "against", *[c.label for c in data.columns]]]
    flips: list[Block] = []
    for a, b in data.pairs:
        cells = []
        for col in data.columns:
            sa, sb = data.scores.get(a, {}).get(col.key), data.scores.get(b, {}).get(col.key)
            if sa is None or sb is None:
                cells.append("pending")
                continue
            c = compare(a, sa.rates, b, sb.rates)
            cells.append(f"{_diff(c)}, p={c.p_value:.2g} (+{len(c.gained)} / -{len(c.lost)})")
            if c.gained or c.lost:
                table = [["task", f"{b}", f"{a}"]]
                table += [[t, _verdict(sb.rates[t]), _verdict(sa.rates[t])] for t in c.gained + c.lost]
                flips.append(Block("details", f"{a} vs {b}, {col.label}: {len(c.gained)} gained, {len(c.lost)} lost",
                                   children=[Block("table", rows=table)]))
        rows.append([a, b, *cells])
    out = [Block("h2", "Arms compared"),
           Block("p", "Difference in pass@1 percentage points, paired over the same tasks, with its 95 % interval; "
                 "p: two-sided exact McNemar test on the tasks that flipped (+ passed only by the arm, - passed "
                 "only by the one it is compared with). A p above 0.05 means this run cannot tell the two apart.")]
    out.append(Block("table", rows=rows))
    if flips:
        out += [Block("h3", "Tasks that flipped"), *flips]
    return out


def _verdict(rate: float) -> str:
    return "pass" if rate == 1.0 else "fail" if rate == 0.0 else f"{100 * rate:.0f} %"


# -- figures ----------------------------------------------------------------------------------------

def _bars(data: RunData, path: Path) -> Path | None:
    import numpy as np
    from matplotlib.figure import Figure

    arms = [a["name"] for a in data.arms]
    if not data.columns or not any(data.scores[a] for a in arms):
        return None
    fig = Figure(figsize=(max(7.0, 2.2 * len(data.columns) + 2), 4.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(data.columns))
    width = 0.8 / max(len(arms), 1)
    for i, arm in enumerate(arms):
        s = [data.scores[arm].get(c.key) for c in data.columns]
        mid = np.array([100 * v.pass_at_1 if v else np.nan for v in s])
        err = np.array([[max(0.0, 100 * (v.pass_at_1 - v.low)) if v else 0 for v in s],
                        [max(0.0, 100 * (v.high - v.pass_at_1)) if v else 0 for v in s]])
        ax.bar(x + (i - (len(arms) - 1) / 2) * width, mid, width, yerr=err, capsize=3, label=arm)
    ax.set_xticks(x, [c.label for c in data.columns])
    ax.set_ylabel("pass@1 (%), 95 % interval")
    ax.set_title("pass@1 per arm and benchmark")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")
    return path


def _train_log(model_dir: Path) -> list[dict[str, str]]:
    """The rows of a training run's ``logs/train_log.csv`` (none before its first log)."""
    path = model_dir / "logs" / "train_log.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def train_curve(model_dir: Path) -> list[tuple[float, float]]:
    """(epoch, loss) of a training run's log."""
    return [(float(r["epoch"]), float(r["loss"])) for r in _train_log(model_dir) if r.get("loss") and r.get("epoch")]


def _losses(data: RunData, path: Path) -> Path | None:
    from matplotlib.figure import Figure

    curves = {a["name"]: train_curve(data.stages[f"train-{a['name']}"].directory / "model")
              for a in data.arms if f"train-{a['name']}" in data.stages}
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for arm, pts in curves.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3, label=arm)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title("training loss per arm")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")
    return path


# -- evolution, stages, settings ------------------------------------------------------------------------

def _evolution_blocks(data: RunData, figures: Path) -> list[Block]:
    from wizardcoder.evol import stats as evol_stats

    st = data.stages.get("evolve")
    if st is None or not (st.directory / "run").is_dir():
        return []
    try:
        s = evol_stats.collect(st.directory / "run")
    except WizardCoderError as exc:
        return [Block("h2", "Evolution"), Block("p", f"statistics unavailable: {exc}")]
    rows = [["round", "attempted", "accepted", "eliminated", "task words (median)", "answer words (median)"]]
    for r in sorted(s.lengths):
        ls = s.lengths[r]
        cell = s.round_cell(r) if r in s.cells else None
        rows.append([("seeds" if r == 0 else str(r)), str(cell.attempted) if cell else "-",
                     str(cell.accepted) if cell else "-",
                     str(sum(s.eliminated_by_round.get(r, {}).values())) if r else "-",
                     _median(ls.instruction), _median(ls.output)])
    methods = [["method", *[f"round {r}" for r in s.rounds]]]
    for m in s.methods:
        methods.append([m, *[f"{s.cells[r][m].accepted} / {s.cells[r][m].attempted}" if m in s.cells[r] else "-"
                             for r in s.rounds]])
    reasons = [["eliminated because", "rows"], *[[k, str(v)] for k, v in s.eliminated_by_reason.items()]]
    removed = [["removed at export", "rows"], *[[k, str(v)] for k, v in (s.removed or {}).items()]]
    png = evol_stats.plot(s, figures / "evolution.png")
    out = [Block("h2", "Evolution"),
           Block("p", f"{s.seeds} seeds, {s.accepted} evolutions accepted, {s.eliminated} eliminated; "
                 f"dataset {s.dataset_rows if s.dataset_rows is not None else '-'} rows. Lengths in words "
                 "(the paper's picture: evolved tasks grow longer and harder)."),
           Block("table", rows=rows), Block("h3", "Methods drawn (accepted / attempted)"), Block("table", rows=methods)]
    if len(reasons) > 1:
        out.append(Block("table", rows=reasons))
    if len(removed) > 1:
        out.append(Block("table", rows=removed))
    out.append(Block("image", "task and answer lengths per round; the fate of each round's rows", path=png))
    return out


def _median(values: list[int]) -> str:
    return f"{statistics.median(values):g}" if values else "-"


def _tokens(path: Path) -> tuple[int, int, int, int]:
    """(rows, prompt tokens, completion tokens, rows that hit the token limit) of a generation file."""
    rows = prompt = completion = length = 0
    if path.is_file():
        for _, r in iter_jsonl(path):
            rows += 1
            prompt += int(r.get("prompt_tokens") or 0)
            completion += int(r.get("completion_tokens") or 0)
            length += r.get("finish_reason") == "length"
    return rows, prompt, completion, length


def _stage_detail(st: StageInfo) -> str:
    r = st.result
    kind = (st.record or {}).get("kind", "")
    if kind in ("answer-seeds", "answer-matched"):
        n, p, c, ln = _tokens(st.directory / "answers.raw.jsonl")
        reused = f", {r.get('reused')} reused" if r.get("reused") else ""
        return (f"{r.get('rows', '-')} rows{reused}; teacher: {n} answers, {p:,} prompt + {c:,} completion tokens, "
                f"{ln} at the limit")
    if kind == "evolve":
        removed = ", ".join(f"{k} {v}" for k, v in (r.get("removed") or {}).items()) or "none"
        return (f"{r.get('rows', '-')} rows ({r.get('seeds', '-')} seeds + {r.get('evolved', '-')} evolved), "
                f"{r.get('eliminated', '-')} eliminated; removed at export: {removed}")
    if kind == "train":
        return (f"{r.get('rows', '-')} rows, {r.get('steps', '-')} steps of {r.get('global_batch_size', '-')}, "
                f"loss {_num(r.get('train_loss'))}, {_num(r.get('runtime_s'))} s training")
    if kind == "eval":
        samples = st.directory / "eval" / "samples.jsonl"
        if r.get("shared_from"):
            return (f"answers of {r['shared_from']} for {r.get('shared_tasks')} tasks, {r.get('generated_tasks')} "
                    f"generated; pass@1 {_pct(r.get('pass@1'))} / plus {_pct(r.get('plus_pass@1'))}")
        n, p, c, ln = _tokens(samples)
        return (f"{n} answers, {p:,} prompt + {c:,} completion tokens, {ln} at the limit; "
                f"pass@1 {_pct(r.get('pass@1'))}" + (f" / plus {_pct(r.get('plus_pass@1'))}" if r.get("plus_pass@1")
                                                     is not None else ""))
    return ""


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.3g}" if isinstance(x, float) else str(x)


def _stage_blocks(data: RunData) -> list[Block]:
    rows = [["stage", "state", "seconds", "what it made"]]
    total = 0.0
    for st in data.stages.values():
        secs = float((st.record or {}).get("seconds", 0.0))
        total += secs
        rows.append([st.name, st.state, f"{secs:,.0f}" if st.record else "-", _stage_detail(st) if st.record else ""])
    return [Block("h2", "Stages"),
            Block("p", f"{sum(1 for s in data.stages.values() if s.record)} of {len(data.stages)} stages finished, "
                  f"{total / 60:,.1f} min of stage time in all (each stage's own wall time; a stage continued "
                  "after a stop counts its last part)."),
            Block("table", rows=rows)]


def _settings_blocks(data: RunData) -> list[Block]:
    import yaml

    versions = data.run.get("versions", {})
    seeds = data.run.get("seeds") or {}
    lines = [f"recipe: {data.run.get('recipe')} (sha256 {str(data.run.get('recipe_sha256', ''))[:12]})",
             f"seeds: {seeds.get('file')} (sha256 {str(seeds.get('sha256', ''))[:12]})" if seeds else "seeds: -",
             f"teacher: {data.run.get('teacher', {}).get('model')} at {data.run.get('teacher', {}).get('location')} "
             f"(sha256 {str(data.run.get('teacher', {}).get('sha256'))[:12]})",
             *[f"model {k}: {v} (sha256 {str((data.run.get('model_sha256') or {}).get(k))[:12]})"
               for k, v in (data.run.get("models") or {}).items()],
             "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
             f"started {data.run.get('started', '-')}, finished {data.run.get('finished', '-')}"]
    return [Block("h2", "Settings and provenance"), Block("pre", "\n".join(lines)),
            Block("details", "the resolved recipe (every setting, defaults filled in)",
                  children=[Block("pre", yaml.safe_dump(data.recipe, sort_keys=False, allow_unicode=True))])]


# -- rendering --------------------------------------------------------------------------------------

def _md(blocks: list[Block], base: Path) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(b.kind[1])} {b.text}\n")
        elif b.kind == "p":
            out.append(b.text + "\n")
        elif b.kind == "table":
            head, *body = b.rows
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "---|" * len(head))
            out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
            out.append("")
        elif b.kind == "image" and b.path is not None:
            out.append(f"![{b.text}]({b.path.relative_to(base).as_posix()})\n")
        elif b.kind == "pre":
            out.append("```\n" + b.text.rstrip("\n") + "\n```\n")
        elif b.kind == "details":
            out.append(f"<details><summary>{html.escape(b.text)}</summary>\n")
            out.append(_md(b.children, base))
            out.append("</details>\n")
    return "\n".join(out)


def _inline(text: str) -> str:
    """Escaped text with **bold** kept."""
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def _html_blocks(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "table":
            head, *body = b.rows
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body]
            out.append("</tbody></table>")
        elif b.kind == "image" and b.path is not None:
            data = base64.b64encode(b.path.read_bytes()).decode("ascii")
            out.append(f'<figure><img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{html.escape(b.text)}</figcaption></figure>")
        elif b.kind == "pre":
            out.append(f"<pre>{html.escape(b.text)}</pre>")
        elif b.kind == "details":
            out.append(f"<details><summary>{html.escape(b.text)}</summary>{_html_blocks(b.children)}</details>")
    return "\n".join(out)


STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #d0d0d0; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; border: 1px solid #eee; } figure { margin: 1em 0; }
figcaption { color: #555; font-size: .9em; } pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
details { margin: .4em 0; } summary { cursor: pointer; }
"""


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    figures: list[Path]


def write_report(output: str | Path) -> ReportFiles:
    """Write ``report.html``, ``report.md`` and ``report/*.png`` into the run directory ``output``."""
    output = Path(output)
    data = read_run(output)
    figures = output / FIGURES
    title = (data.recipe.get("report") or {}).get("title") or f"Recipe report: {Path(str(data.run.get('recipe'))).name}"
    limit = (data.recipe.get("eval") or {}).get("limit")
    blocks: list[Block] = [Block("h1", title),
                           Block("p", f"Run directory {output.resolve().name}; {len(data.arms)} arms; benchmarks "
                                 f"{', '.join(data.benchmarks)}; "
                                 + ("all tasks." if limit is None else f"the first {limit} tasks of each."))]
    blocks += _card_blocks(data)
    bars = _bars(data, figures / "scores.png")
    if bars is not None:
        blocks.append(Block("image", "pass@1 per arm and benchmark (95 % intervals)", path=bars))
    if len(data.arms) > 1:
        blocks += _comparison_blocks(data)
    losses = _losses(data, figures / "loss.png")
    blocks += _training_blocks(data)
    if losses is not None:
        blocks.append(Block("image", "training loss per arm, by epoch", path=losses))
    blocks += _evolution_blocks(data, figures)
    blocks += _stage_blocks(data)
    blocks += _settings_blocks(data)
    md = _md(blocks, output)
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{_html_blocks(blocks)}</body></html>\n")
    figures.mkdir(parents=True, exist_ok=True)
    atomic_write_text(figures / "scores.json", json.dumps(scores_json(data), indent=1) + "\n")
    atomic_write_text(output / REPORT_MD, md)
    atomic_write_text(output / REPORT_HTML, page)
    pngs = [b.path for b in _walk(blocks) if b.kind == "image" and b.path is not None]
    return ReportFiles(output / REPORT_HTML, output / REPORT_MD, pngs)


def _walk(blocks: list[Block]) -> list[Block]:
    out = []
    for b in blocks:
        out.append(b)
        out += _walk(b.children)
    return out


def _training_blocks(data: RunData) -> list[Block]:
    rows = [["arm", "data", "rows", "steps", "global batch", "final loss (mean)", "training s", "tokens", "model"]]
    for arm in data.arms:
        st = data.stages.get(f"train-{arm['name']}")
        if st is None:
            continue
        r = st.result
        tokens = _train_tokens(st.directory / "model")
        rows.append([arm["name"], str(arm.get("data")), _num(r.get("rows")), _num(r.get("steps")),
                     _num(r.get("global_batch_size")), _num(r.get("train_loss")), _num(r.get("runtime_s")),
                     f"{tokens:,}" if tokens else "-", Path(str(r.get("gguf") or r.get("model") or "-")).name]
                    if st.record else [arm["name"], str(arm.get("data")), *["pending"] * 7])
    if len(rows) == 1:
        return []
    return [Block("h2", "Training"), Block("table", rows=rows)]


def _train_tokens(model_dir: Path) -> int:
    """Tokens trained on (the trainer's running count at its last log)."""
    nums = [float(r["num_tokens"]) for r in _train_log(model_dir) if r.get("num_tokens")]
    return int(max(nums)) if nums else 0


def scores_json(data: RunData) -> dict[str, Any]:
    """The numbers of the report, for machines (``DIR/report/scores.json``): fractions, not percents."""
    out: dict[str, Any] = {"columns": {c.key: c.label for c in data.columns}, "baseline": data.baseline,
                           "arms": {}, "comparisons": []}
    for arm, by in data.scores.items():
        out["arms"][arm] = {k: {"pass@1": s.pass_at_1, "low": s.low, "high": s.high, "n": s.n}
                            for k, s in by.items()}
    for a, b in data.pairs:
        for col in data.columns:
            sa, sb = data.scores.get(a, {}).get(col.key), data.scores.get(b, {}).get(col.key)
            if sa is not None and sb is not None:
                c = compare(a, sa.rates, b, sb.rates)
                out["comparisons"].append({"arm": a, "against": b, "column": col.key, "n": c.n, "diff": c.diff,
                                           "low": c.low, "high": c.high, "p": c.p_value, "gained": c.gained,
                                           "lost": c.lost})
    return out
