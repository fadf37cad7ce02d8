"""n samples of one prompt: prompt tokens decoded and time, prompt sharing on vs off (llama.cpp).

Runs ``wizardcoder generate``'s path (``generate_file``: reproducible chunks, which keep a prompt's
samples in one call when the engine shares prompts) on the first K HumanEval prompts in the card's
template, ``--n-samples N`` sampled, once with the engine's prompt sharing and once without, and
prints prompt tokens submitted / decoded (the target: decoded <= 1.1 x one sample's) and the time
ratio.

    python bench/prompt_sharing.py --tasks 4 --n-samples 10 --max-tokens 64
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from wizardcoder.engines import load_engine
from wizardcoder.engines.batch import Job, generate_file
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.prompts import build_instruction
from wizardcoder.prompting.formats import make_request


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--n-samples", type=int, default=10)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--model", default="default")
    ap.add_argument("--dataset-path", default=None)
    args = ap.parse_args()
    tasks = list(load_dataset("humaneval", args.dataset_path).tasks.values())[:args.tasks]
    spec = EngineSpec(model=args.model, max_tokens=args.max_tokens, temperature=0.8, top_p=0.95, seed=1)
    ref = spec.resolve()
    params = spec.sampling(ref)
    jobs = [Job(t.task_id, make_request(build_instruction(t, "humaneval"), "wizardcoder"), {"task_id": t.task_id})
            for t in tasks]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for share in (True, False):
            def opener(share: bool = share) -> Any:
                engine = load_engine(ref, "llamacpp", parallel=args.parallel, n_ctx=2048)
                engine.share_prompts = share
                return engine

            start = time.perf_counter()
            stats = generate_file(opener, jobs, params, Path(tmp) / f"out-{share}.jsonl", n_samples=args.n_samples,
                                  show_progress=False)
            results[share] = (stats, time.perf_counter() - start)
    on, off = results[True], results[False]
    one = on[0]["prompt_tokens"] / args.n_samples  # every prompt once
    print(f"{args.tasks} HumanEval prompts x {args.n_samples} samples (t=0.8), max {args.max_tokens} tokens, "
          f"parallel {args.parallel}, {ref.label}")
    print(f"{'':8} {'submitted':>10} {'decoded':>9} {'decoded / one sample':>21} {'generated':>10} {'seconds':>8}")
    for name, (stats, secs) in (("shared", on), ("unshared", off)):
        print(f"{name:8} {stats['prompt_tokens']:>10,} {stats['prompt_tokens_computed']:>9,} "
              f"{stats['prompt_tokens_computed'] / one:>20.2f}x {stats['completion_tokens']:>10,} {secs:>8.1f}")
    print(f"time shared / unshared: {on[1] / off[1]:.2f}x")


if __name__ == "__main__":
    main()
