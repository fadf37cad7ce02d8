"""What an evolve run did: rows per round and method, why rows were eliminated, what the teacher cost.

Everything is read from the run directory: ``state.sqlite`` (opened read-only, so the statistics of
a run can be taken while it is still writing: WAL readers see the last committed state and never
block the writer), plus ``data.jsonl`` and ``removed.jsonl`` once the run has been exported.
:func:`collect` gathers plain numbers, :func:`render` prints them as tables, :func:`plot` draws
the length distributions per round (does evolution make tasks and answers longer, as in the paper?)
and the accepted / eliminated bars.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.prompts import ALL_METHODS
from wizardcoder.evol.state import STATE_FILE
from wizardcoder.jsonl import iter_jsonl

DATA_FILE = "data.jsonl"
REMOVED_FILE = "removed.jsonl"
KINDS = ("evolve", "judge", "answer")  # the order of the requests table
_ERROR_HEAD = re.compile(r"[\s:]+")


@dataclass
class Cell:
    """One (round, method): rows decided, and how."""

    attempted: int = 0
    accepted: int = 0
    eliminated: int = 0


@dataclass
class RequestStats:
    """Teacher requests of one kind. ``retries`` counts the attempts beyond each request's first."""

    count: int = 0
    attempts: int = 0
    retries: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    @property
    def mean_seconds(self) -> float:
        return self.seconds / self.count if self.count else 0.0

    def add(self, other: RequestStats) -> None:
        for name in ("count", "attempts", "retries", "failed", "prompt_tokens", "completion_tokens", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Lengths:
    """Word counts of the kept rows of one round (seeds are round 0): the plot's raw samples.

    ``instruction`` counts the task as the model sees it (instruction and input); ``output`` skips
    empty outputs (seeds given without answers are not zero-word answers).
    """

    instruction: list[int] = field(default_factory=list)
    output: list[int] = field(default_factory=list)


@dataclass
class EvolStats:
    """The numbers of one run directory; plain data, so the CLI can print it or dump it as JSON."""

    directory: str
    seeds: int = 0
    cells: dict[int, dict[str, Cell]] = field(default_factory=dict)  # round -> method -> counts
    eliminated_by_reason: dict[str, int] = field(default_factory=dict)
    eliminated_by_round: dict[int, dict[str, int]] = field(default_factory=dict)  # round -> reason -> n
    requests: dict[str, RequestStats] = field(default_factory=dict)  # kind -> stats
    errors: dict[str, int] = field(default_factory=dict)  # "429", "timeout", "malformed", ...
    dataset_rows: int | None = None  # rows of data.jsonl; None before export
    dataset_by_round: dict[int, int] = field(default_factory=dict)
    removed: dict[str, int] | None = None  # reason -> rows of removed.jsonl; None before export
    lengths: dict[int, Lengths] = field(default_factory=dict)  # round -> word counts

    # -- totals -------------------------------------------------------------------------------------
    @property
    def rounds(self) -> list[int]:
        """Evolved rounds with at least one decided row."""
        return sorted(self.cells)

    @property
    def methods(self) -> list[str]:
        """Methods seen, in the order of the prompts module (then any unknown ones, alphabetically)."""
        seen = {m for per in self.cells.values() for m in per}
        return [m for m in ALL_METHODS if m in seen] + sorted(seen - set(ALL_METHODS))

    @property
    def attempted(self) -> int:
        return sum(c.attempted for per in self.cells.values() for c in per.values())

    @property
    def accepted(self) -> int:
        return sum(c.accepted for per in self.cells.values() for c in per.values())

    @property
    def eliminated(self) -> int:
        return sum(c.eliminated for per in self.cells.values() for c in per.values())

    @property
    def request_totals(self) -> RequestStats:
        total = RequestStats()
        for rs in self.requests.values():
            total.add(rs)
        return total

    @property
    def prompt_tokens(self) -> int:
        return self.request_totals.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.request_totals.completion_tokens

    def round_cell(self, round: int) -> Cell:
        """A round's counts over all methods."""
        out = Cell()
        for c in self.cells.get(round, {}).values():
            out.attempted += c.attempted
            out.accepted += c.accepted
            out.eliminated += c.eliminated
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (string keys); the length samples are summarised as percentiles."""
        totals = self.request_totals
        return {
            "directory": self.directory,
            "totals": {"seeds": self.seeds, "attempted": self.attempted, "accepted": self.accepted,
                       "eliminated": self.eliminated, "requests": totals.count, "attempts": totals.attempts,
                       "retries": totals.retries, "failed_requests": totals.failed,
                       "prompt_tokens": totals.prompt_tokens, "completion_tokens": totals.completion_tokens},
            "rounds": {str(r): {m: vars(c).copy() for m, c in per.items()} for r, per in sorted(self.cells.items())},
            "eliminated_by_reason": dict(self.eliminated_by_reason),
            "eliminated_by_round": {str(r): dict(v) for r, v in sorted(self.eliminated_by_round.items())},
            "requests": {k: {**vars(rs), "mean_seconds": round(rs.mean_seconds, 3)} for k, rs in self.requests.items()},
            "errors": dict(self.errors),
            "dataset": None if self.dataset_rows is None else {
                "rows": self.dataset_rows, "by_round": {str(r): n for r, n in sorted(self.dataset_by_round.items())}},
            "removed": None if self.removed is None else dict(self.removed),
            "lengths": {str(r): {"instruction": summarise(ls.instruction), "output": summarise(ls.output)}
                        for r, ls in sorted(self.lengths.items())},
        }


def summarise(values: list[int]) -> dict[str, float | int]:
    """Count, mean and percentiles of word counts (what the plot shows, in numbers)."""
    if not values:
        return {"n": 0}
    xs = sorted(values)

    def q(p: float) -> float:
        # linear interpolation between closest ranks (numpy's default)
        pos = p * (len(xs) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(xs) - 1)
        return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 1)

    return {"n": len(xs), "mean": round(sum(xs) / len(xs), 1), "min": xs[0], "p10": q(0.1), "p50": q(0.5),
            "p90": q(0.9), "max": xs[-1]}


def error_type(error: str) -> str:
    """The first token of a recorded error: "429", "500", "timeout", "malformed: no task" -> "malformed"."""
    head = _ERROR_HEAD.split(str(error).strip(), maxsplit=1)[0]
    return head or "unknown"


def _words(*texts: str | None) -> int:
    return sum(len(t.split()) for t in texts if t)


def _connect(path: Path) -> sqlite3.Connection:
    """Read-only: stats never take a write lock, and a run in progress keeps writing meanwhile."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        db.execute("PRAGMA busy_timeout=10000")
        return db
    except sqlite3.Error as exc:
        raise WizardCoderError(f"{path}: cannot open the run state ({exc})") from None


def collect(directory: Path) -> EvolStats:
    """Gather the statistics of a run directory (``state.sqlite``, and the export's files if present)."""
    directory = Path(directory)
    path = directory / STATE_FILE
    if not path.is_file():
        raise WizardCoderError(f"{directory}: no {STATE_FILE} here (not a `wizardcoder evolve` run directory)")
    stats = EvolStats(directory=str(directory))
    db = _connect(path)
    try:
        db.execute("BEGIN")  # one snapshot for every query, even while the run commits new rows
        _read_rows(db, stats)
        _read_requests(db, stats)
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        raise WizardCoderError(f"{path}: not a usable run state ({exc})") from None
    finally:
        db.close()
    _read_export(directory, stats)
    return stats


def _read_rows(db: sqlite3.Connection, stats: EvolStats) -> None:
    cur = db.execute("SELECT round, method, status, reason, instruction, input, output FROM rows")
    for round, method, status, reason, instruction, input, output in cur:
        if status == "seed":
            stats.seeds += 1
        elif status in ("accepted", "eliminated"):
            cell = stats.cells.setdefault(round, {}).setdefault(method or "-", Cell())
            cell.attempted += 1
            if status == "accepted":
                cell.accepted += 1
            else:
                cell.eliminated += 1
                why = reason or "unknown"
                stats.eliminated_by_reason[why] = stats.eliminated_by_reason.get(why, 0) + 1
                per = stats.eliminated_by_round.setdefault(round, {})
                per[why] = per.get(why, 0) + 1
                continue
        else:
            continue
        lengths = stats.lengths.setdefault(round, Lengths())
        lengths.instruction.append(_words(instruction, input))
        if output and output.strip():
            lengths.output.append(_words(output))
    stats.eliminated_by_reason = dict(sorted(stats.eliminated_by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    stats.cells = dict(sorted(stats.cells.items()))
    stats.lengths = dict(sorted(stats.lengths.items()))


def _read_requests(db: sqlite3.Connection, stats: EvolStats) -> None:
    errors: Counter[str] = Counter()
    cur = db.execute("SELECT kind, status, attempts, errors, prompt_tokens, completion_tokens, seconds FROM requests")
    for kind, status, attempts, errs, prompt_tokens, completion_tokens, seconds in cur:
        rs = stats.requests.setdefault(kind, RequestStats())
        rs.count += 1
        rs.attempts += attempts or 0
        rs.retries += max((attempts or 0) - 1, 0)
        rs.failed += status == "failed"
        rs.prompt_tokens += prompt_tokens or 0
        rs.completion_tokens += completion_tokens or 0
        rs.seconds += seconds or 0.0
        try:
            listed = json.loads(errs or "[]")
        except ValueError:
            listed = [errs]
        errors.update(error_type(e) for e in (listed if isinstance(listed, list) else [listed]))
    order = {k: i for i, k in enumerate(KINDS)}
    stats.requests = dict(sorted(stats.requests.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    stats.errors = dict(sorted(errors.items(), key=lambda kv: (-kv[1], kv[0])))


def _read_export(directory: Path, stats: EvolStats) -> None:
    data, removed = directory / DATA_FILE, directory / REMOVED_FILE
    if data.is_file():
        by_round: Counter[int] = Counter()
        for _, row in iter_jsonl(data):
            rnd = row.get("round")
            by_round[rnd if isinstance(rnd, int) else -1] += 1
        stats.dataset_rows = sum(by_round.values())
        stats.dataset_by_round = dict(sorted(by_round.items()))
    if removed.is_file():
        reasons = Counter(str(row.get("reason") or "unknown") for _, row in iter_jsonl(removed))
        stats.removed = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


# -- tables -----------------------------------------------------------------------------------------
def _n(x: int) -> str:
    return f"{x:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def render(stats: EvolStats, console: Console) -> None:
    """Print the run as tables: rounds x methods, eliminations, teacher requests, the exported dataset."""
    console.print(_rounds_table(stats))
    if stats.eliminated_by_reason:
        console.print(_eliminations_table(stats))
    if stats.requests:
        console.print(_requests_table(stats))
    console.print(_dataset_table(stats) if stats.dataset_rows is not None or stats.removed is not None
                  else f"[dim]{DATA_FILE}: not exported yet[/dim]")


def _rounds_table(stats: EvolStats) -> Table:
    methods = stats.methods
    table = Table(title=f"{stats.directory}: {_n(stats.seeds)} seeds, accepted/attempted per round and method",
                  caption=f"{_n(stats.accepted)} accepted, {_n(stats.eliminated)} eliminated of "
                          f"{_n(stats.attempted)} attempted")
    table.add_column("round", justify="right")
    for m in methods:
        table.add_column(m, justify="right")
    for name in ("accepted", "attempted", "accept rate"):
        table.add_column(name, justify="right")
    for r in stats.rounds:
        per = stats.cells[r]
        tot = stats.round_cell(r)
        table.add_row(str(r), *[f"{per[m].accepted}/{per[m].attempted}" if m in per else "-" for m in methods],
                      _n(tot.accepted), _n(tot.attempted), _pct(tot.accepted, tot.attempted))
    if len(stats.rounds) > 1:
        by_method = {m: Cell() for m in methods}
        for per in stats.cells.values():
            for m, c in per.items():
                by_method[m].accepted += c.accepted
                by_method[m].attempted += c.attempted
        table.add_section()
        table.add_row("all", *[f"{by_method[m].accepted}/{by_method[m].attempted}" for m in methods],
                      _n(stats.accepted), _n(stats.attempted), _pct(stats.accepted, stats.attempted))
    return table


def _eliminations_table(stats: EvolStats) -> Table:
    table = Table(title="eliminated rows by reason")
    table.add_column("reason")
    rounds = sorted(stats.eliminated_by_round)
    for r in rounds:
        table.add_column(f"round {r}", justify="right")
    table.add_column("total", justify="right")
    table.add_column("% of attempts", justify="right")
    for reason, n in stats.eliminated_by_reason.items():
        table.add_row(reason, *[_n(stats.eliminated_by_round[r].get(reason, 0)) for r in rounds], _n(n),
                      _pct(n, stats.attempted))
    table.add_section()
    table.add_row("all", *[_n(sum(stats.eliminated_by_round[r].values())) for r in rounds], _n(stats.eliminated),
                  _pct(stats.eliminated, stats.attempted))
    return table


def _requests_table(stats: EvolStats) -> Table:
    errors = ", ".join(f"{k} {_n(v)}" for k, v in stats.errors.items()) or "none"
    table = Table(title="teacher requests", caption=f"errors of failed attempts: {errors}")
    for name in ("kind", "requests", "attempts", "retries", "failed", "prompt tokens", "completion tokens", "mean s"):
        table.add_column(name, justify="left" if name == "kind" else "right")

    def row(name: str, rs: RequestStats) -> None:
        table.add_row(name, _n(rs.count), _n(rs.attempts), _n(rs.retries), _n(rs.failed), _n(rs.prompt_tokens),
                      _n(rs.completion_tokens), f"{rs.mean_seconds:.2f}")

    for kind, rs in stats.requests.items():
        row(kind, rs)
    table.add_section()
    row("all", stats.request_totals)
    return table


def _dataset_table(stats: EvolStats) -> Table:
    removed = stats.removed or {}
    table = Table(title="exported dataset")
    table.add_column("")
    table.add_column("rows", justify="right")
    if stats.dataset_rows is not None:
        table.add_row(DATA_FILE, _n(stats.dataset_rows))
        for r, n in stats.dataset_by_round.items():
            table.add_row(f"  round {r}" if r >= 0 else "  round ?", _n(n))
    if stats.removed is not None:
        table.add_section()
        table.add_row(f"removed ({REMOVED_FILE})", _n(sum(removed.values())))
        for reason, n in removed.items():
            table.add_row(f"  {reason}", _n(n))
    return table


# -- plot -------------------------------------------------------------------------------------------
def plot(stats: EvolStats, path: Path) -> Path:
    """Write a PNG: task and answer length per round (overlaid step histograms) and the fate of each round's rows."""
    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state to manage
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(17, 5), layout="constrained")
    ax_instr, ax_out, ax_bar = fig.subplots(1, 3)
    fig.suptitle(f"Evol-Instruct run {stats.directory}: {stats.seeds:,} seeds, {stats.accepted:,} accepted, "
                 f"{stats.eliminated:,} eliminated")

    colors = _colors(len(stats.lengths))
    for ax, attr, what in ((ax_instr, "instruction", "task (instruction + input)"), (ax_out, "output", "answer")):
        samples = {r: getattr(ls, attr) for r, ls in stats.lengths.items() if getattr(ls, attr)}
        ax.set_title(f"{what} length per round")
        ax.set_xlabel("words (log scale)")
        ax.set_ylabel("share of the round's rows")
        if not samples:
            ax.text(0.5, 0.5, "no rows", ha="center", va="center", transform=ax.transAxes)
            continue
        low = max(min(min(v) for v in samples.values()), 1)
        top = max(max(v) for v in samples.values())
        bins = np.geomspace(low * 0.95, max(top, low + 1) * 1.05, 40)
        for i, (r, values) in enumerate(samples.items()):
            xs = np.maximum(np.asarray(values, dtype=float), 1)
            label = f"{'seeds' if r == 0 else f'round {r}'} (n={len(xs):,}, median {np.median(xs):.0f})"
            ax.hist(xs, bins=bins, weights=np.full(len(xs), 1 / len(xs)), histtype="step", linewidth=1.6,
                    color=colors[i], label=label)
            ax.axvline(float(np.median(xs)), color=colors[i], linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor-tick labels of a short log range overlap
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.legend(fontsize="small")

    ax_bar.set_title("rows per round: accepted / eliminated by reason")
    ax_bar.set_xlabel("round")
    ax_bar.set_ylabel("rows")
    rounds = stats.rounds
    if not rounds:
        ax_bar.text(0.5, 0.5, "no evolved rows yet", ha="center", va="center", transform=ax_bar.transAxes)
    else:
        x = np.arange(len(rounds))
        bottom = np.zeros(len(rounds))
        layers = [("accepted", [stats.round_cell(r).accepted for r in rounds], "#2ca02c")]
        reason_colors = _reason_colors(len(stats.eliminated_by_reason))
        for i, reason in enumerate(stats.eliminated_by_reason):
            layers.append((reason, [stats.eliminated_by_round.get(r, {}).get(reason, 0) for r in rounds],
                           reason_colors[i]))
        for label, heights, color in layers:
            ax_bar.bar(x, heights, bottom=bottom, label=label, color=color, width=0.6)
            bottom += np.asarray(heights, dtype=float)
        ax_bar.set_xticks(x, [str(r) for r in rounds])
        ax_bar.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.savefig(path, dpi=100, format="png")
    return path


def _colors(n: int) -> list[Any]:
    """One colour per round, seeds dark to last round light (stopping short of viridis' pale yellow)."""
    from matplotlib import colormaps

    cm = colormaps["viridis"]
    return [cm(0.9 * i / (n - 1)) for i in range(n)] if n > 1 else [cm(0.0)]


def _reason_colors(n: int) -> list[Any]:
    """tab10 without its green (that is "accepted"), then tab20b's colours for a long tail of reasons."""
    from matplotlib import colormaps

    tab10, tab20b = colormaps["tab10"], colormaps["tab20b"]  # qualitative maps: N colours, one per index
    palette = [tab10(i) for i in range(tab10.N) if i != 2] + [tab20b(i) for i in range(tab20b.N)]
    return [palette[i % len(palette)] for i in range(n)]


__all__ = ["EvolStats", "collect", "plot", "render"]
