"""What a training run shows and leaves behind: a rich progress bar with loss, learning rate,
tokens/s and ETA; one console line per log step (readable in CI logs and files); and a CSV of
every logged value that a resumed run continues without duplicated steps.
"""

from __future__ import annotations

import contextlib
import csv
import math
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from transformers import TrainerCallback

from wizardcoder.progress import make_progress

CSV_FIELDS = ["step", "epoch", "loss", "eval_loss", "learning_rate", "grad_norm", "num_tokens", "tokens_per_s",
              "mean_token_accuracy", "elapsed_s"]


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


class TokenRate:
    """Trained tokens per second between two logs, from TRL's cumulative ``num_tokens``."""

    def __init__(self) -> None:
        self.last: tuple[float, float] | None = None

    def update(self, logs: dict[str, Any]) -> float | None:
        tokens, now = logs.get("num_tokens"), time.perf_counter()
        if tokens is None:
            return None
        rate = None
        if self.last is not None and now > self.last[1] and tokens > self.last[0]:
            rate = (tokens - self.last[0]) / (now - self.last[1])
        self.last = (float(tokens), now)
        return rate


class ProgressCallback(TrainerCallback):
    def __init__(self, console: Console, live: bool) -> None:
        self.console, self.live = console, live
        self.progress: Any = None
        self.task: Any = None
        self.rate = TokenRate()
        self.loss: float | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        if self.live:
            self.progress = make_progress(self.console)
            self.progress.start()
            self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, note="")
        self.console.print(f"training: {state.max_steps} optimizer steps"
                           + (f", resuming at step {state.global_step}" if state.global_step else ""), soft_wrap=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        rate = self.rate.update(logs)
        if "loss" in logs:
            self.loss = logs["loss"]
        parts = [f"step {state.global_step}/{state.max_steps}"]
        if "loss" in logs:
            parts.append(f"loss {_fmt(logs['loss'], '.4f')}")
        if "eval_loss" in logs:
            parts.append(f"eval_loss {_fmt(logs['eval_loss'], '.4f')}")
        if "learning_rate" in logs:
            parts.append(f"lr {_fmt(logs['learning_rate'], '.2e')}")
        if rate is not None:
            parts.append(f"{rate:,.0f} tok/s")
        if "train_runtime" in logs:
            return
        line = "  ".join(parts)
        if self.progress is not None:
            self.progress.update(self.task, note=line.split("  ", 1)[-1])
            self.progress.console.print(line, soft_wrap=True, highlight=False)
        else:
            self.console.print(line, soft_wrap=True, highlight=False)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)
            self.progress.stop()
            self.progress = None


class CSVLogger(TrainerCallback):
    """``train_log.csv``: one row per log event. On resume, rows past the checkpoint are dropped
    first (the killed run logged them, the resumed run logs them again)."""

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path, self.rate, self.start = path, TokenRate(), time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and path.is_file():
            with path.open(newline="") as fh:
                kept = [row for row in csv.DictReader(fh) if int(row["step"]) <= resume_step]
            self._write(kept, "w")
        elif not path.is_file() or resume_step is None:
            self._write([], "w")

    def _write(self, rows: list[dict[str, Any]], mode: str) -> None:
        with self.path.open(mode, newline="") as fh:
            writer = csv.DictWriter(fh, CSV_FIELDS)
            if mode == "w":
                writer.writeheader()
            writer.writerows(rows)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs or "train_runtime" in logs:
            return
        row = {name: logs.get(name) for name in CSV_FIELDS}
        row.update(step=state.global_step, epoch=round(state.epoch or 0.0, 4), tokens_per_s=self.rate.update(logs),
                   elapsed_s=round(time.perf_counter() - self.start, 2))
        self._write([row], "a")


class GracefulStop(TrainerCallback):
    """First Ctrl-C: finish the current optimizer step, save a checkpoint, stop (nothing is lost).
    A second Ctrl-C interrupts at once (the last complete checkpoint still resumes)."""

    def __init__(self) -> None:
        self.requested = False

    @contextlib.contextmanager
    def on_sigint(self, console: Console) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
            console.print("[yellow]Ctrl-C: saving a checkpoint after this step, then stopping "
                          "(Ctrl-C again to stop at once)[/]")

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.requested:
            control.should_save = True
            control.should_training_stop = True
