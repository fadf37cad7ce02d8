"""Reproducible batches: what they cost in tokens/s, and whether a resumed run's answers equal an uninterrupted run's.

    .venv/bin/python bench/gen_reproducible.py [--prompts 40] [--max-tokens 96] [--parallel 8] [--interrupt-after 13]
                                               [--rounds 1] [--chunk-per-batch K]

Workload: the first N HumanEval prompts in the default model's chat format (the embedded
SmolLM2-135M GGUF, llama.cpp engine), greedy, at most M new tokens, written by ``generate_file``
(what ``wizardcoder generate`` and ``eval --model`` run), into files in a temporary directory.

1. Speed: the continuous schedule (``--no-reproducible``: every prompt in one continuous batch)
   and the reproducible one (fixed chunks of ``CHUNK_PER_BATCH`` x parallel prompts, one engine
   call each; ``--chunk-per-batch`` tries another factor), alternately (A B, then B A with
   ``--rounds 2``) to spread drifts in the machine's load. Generated tokens per second of wall time
   and of CPU time (the process's, all threads), prompt processing included, model loading excluded.
2. Resume: each schedule again, interrupted after K rows (a Ctrl-C raised in the engine; the rows
   written stay, as after a kill), then resumed with ``resume=True`` on a freshly loaded model;
   prints how many answers equal the schedule's own uninterrupted run (each row once).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from wizardcoder.engines import Completion, Engine, Request, SamplingParams, batch, load_engine, resolve_model
from wizardcoder.engines.batch import Job, generate_file
from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.prompts import build_instruction
from wizardcoder.jsonl import read_jsonl_tolerant
from wizardcoder.prompting.formats import make_request


class Measured(Engine):
    """The real engine, with the CPU time spent in ``generate`` and an optional Ctrl-C after ``stop_after`` answers."""

    def __init__(self, inner: Engine, stop_after: int | None = None) -> None:
        self.inner, self.stop_after, self.answers, self.cpu = inner, stop_after, 0, 0.0
        self.batch_width, self.model_id = inner.batch_width, inner.model_id

    @classmethod
    def load(cls, ref: Any, **options: Any) -> Measured:
        raise NotImplementedError

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        start = time.process_time()
        gen = self.inner.generate(requests, params)
        try:
            for item in gen:
                if self.stop_after is not None and self.answers >= self.stop_after:
                    raise KeyboardInterrupt
                self.answers += 1
                yield item
        finally:
            gen.close()  # the engine's own generator ends before the model is freed
            self.cpu += time.process_time() - start

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        return self.inner.stream(request, params)

    def close(self) -> None:
        self.inner.close()


def run(path: Path, jobs: list[Job], params: SamplingParams, parallel: int, reproducible: bool, *,
        resume: bool = False, stop_after: int | None = None) -> tuple[dict[str, Any], float]:
    """One ``generate_file`` call on a freshly loaded model; its stats and the CPU seconds of generation."""
    engine = Measured(load_engine(resolve_model("default"), "llamacpp", parallel=parallel), stop_after)
    try:
        stats = generate_file(lambda: engine, jobs, params, path, resume=resume, reproducible=reproducible,
                              show_progress=False, console=Console(stderr=True, quiet=True))
    except WizardCoderError as exc:
        if "interrupted" not in str(exc):
            raise
        stats = {}
    return stats, engine.cpu


def answers(path: Path) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for r in read_jsonl_tolerant(path):
        rows.setdefault(r["task_id"], []).append(r["response"])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=40)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--interrupt-after", type=int, default=13, help="rows written before the emulated Ctrl-C")
    ap.add_argument("--rounds", type=int, default=1, help="speed rounds (each: both schedules)")
    ap.add_argument("--chunk-per-batch", type=int, default=batch.CHUNK_PER_BATCH,
                    help="chunk = this x --parallel (default: the package's)")
    args = ap.parse_args()
    batch.CHUNK_PER_BATCH = args.chunk_per_batch
    ds = load_dataset("humaneval", None, None)
    tasks = list(ds.tasks.values())[: args.prompts]
    jobs = [Job(t.task_id, make_request(build_instruction(t, "humaneval"), "chat"), {"task_id": t.task_id})
            for t in tasks]
    params = SamplingParams(max_tokens=args.max_tokens)
    chunk = args.chunk_per_batch * args.parallel
    names = {False: "continuous (one batch)",
             True: f"reproducible (chunks of {chunk} = {args.chunk_per_batch} x {args.parallel})"}
    print(f"default model, llama.cpp --parallel {args.parallel}, {len(jobs)} HumanEval prompts, greedy, max "
          f"{args.max_tokens} new tokens; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    speed: dict[bool, list[tuple[int, float, float]]] = {False: [], True: []}
    refs: dict[bool, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for reproducible in ((False, True) if r % 2 == 0 else (True, False)):
                path = Path(tmp) / f"speed-{int(reproducible)}-{r}.jsonl"
                stats, cpu = run(path, jobs, params, args.parallel, reproducible)
                speed[reproducible].append((stats["completion_tokens"], stats["seconds"], cpu))
                refs.setdefault(reproducible, path)
                print(f"  round {r + 1}, {names[reproducible]}: {stats['completion_tokens']} tokens, "
                      f"{stats['seconds']:.1f} s, {stats['completion_tokens'] / stats['seconds']:.1f} tokens/s, "
                      f"{stats['completion_tokens'] / cpu:.1f} tokens/CPU-s", flush=True)
        rates = {}
        print(f"{'schedule':<42} {'tokens':>7} {'seconds':>8} {'tokens/s':>9} {'CPU s':>7} {'tokens/CPU-s':>13}")
        for reproducible in (False, True):
            tokens = sum(t for t, _, _ in speed[reproducible])
            secs = sum(s for _, s, _ in speed[reproducible])
            cpu = sum(c for _, _, c in speed[reproducible])
            rates[reproducible] = (tokens / secs, tokens / cpu)
            print(f"{names[reproducible]:<42} {tokens:>7} {secs:>8.1f} {tokens / secs:>9.1f} {cpu:>7.1f} "
                  f"{tokens / cpu:>13.1f}")
        print(f"ratio reproducible / continuous: {rates[True][0] / rates[False][0]:.3f} (tokens/s), "
              f"{rates[True][1] / rates[False][1]:.3f} (tokens/CPU-s)")
        for reproducible in (False, True):
            path = Path(tmp) / f"resume-{int(reproducible)}.jsonl"
            run(path, jobs, params, args.parallel, reproducible, stop_after=args.interrupt_after)
            kept = len(list(read_jsonl_tolerant(path)))
            stats, _ = run(path, jobs, params, args.parallel, reproducible, resume=True)
            got, want = answers(path), answers(refs[reproducible])
            same = sum(got.get(k) == v for k, v in want.items())
            twice = sum(len(v) - 1 for v in got.values())
            print(f"resume, {names[reproducible]}: interrupted after {kept} rows, resumed: {same}/{len(want)} answers "
                  f"equal to its uninterrupted run's, {twice} rows written twice; regenerated {stats['redone']} kept "
                  f"rows ({stats['redone_differ']} differ from the kept ones)", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
