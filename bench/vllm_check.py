"""The GPU check (issue 16): our vLLM engine vs plain vLLM offline generation, one process, one model load.

On a CUDA machine with ``pip install vllm`` and this package:

    python bench/vllm_check.py --model Qwen/Qwen2.5-Coder-0.5B-Instruct          # or a local dir
    python bench/vllm_check.py --model WizardLMTeam/WizardCoder-Python-7B-V1.0 --tasks 164

Four runs over the same HumanEval prompts (the card's template, max 512 tokens), each timed:

1. plain greedy: ``LLM.generate`` with the prompts' token ids, no early end (what a vLLM user runs);
2. ours greedy: ``VLLMEngine.generate`` with stop-after-code and the repetition stop (the engine
   loop, requests aborted at the closing fence / the loop);
3. plain sampled and 4. ours sampled: ``--n-samples`` samples per prompt (t=0.8, top_p 0.95), with
   prefix caching on in both (the prompt's KV blocks shared by its samples).

It prints generated tokens and seconds (ours / plain), checks that our greedy answers equal the plain
answers cut where the engine cuts them (the invariant of ``engines.vllm``), and scores both greedy
runs and the sampled runs in the sandbox (pass@1, pass@10): the same verdicts are the claim.
Output: a table on stdout and ``--out``/vllm_check.json.

Not run in this repository's sessions so far: no GPU machine was lent, and the lent machines' image
has no vLLM (its wheel is larger than what a call may carry). The record says so in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any, cast

from wizardcoder import evaluate
from wizardcoder.engines import load_engine, resolve_model
from wizardcoder.engines.base import SamplingParams, cut_looping
from wizardcoder.engines.vllm import VLLMEngine
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.prompts import build_instruction
from wizardcoder.prompting.fences import code_block_end
from wizardcoder.prompting.formats import make_request


def _plain(engine: Any, prepared: list[list[int]], params: SamplingParams, n: int) -> tuple[list[list[str]], int, float]:
    """Plain vLLM: one ``LLM.generate`` call, n samples per prompt, no early end."""
    import vllm

    sp = vllm.SamplingParams(n=n, temperature=params.temperature, top_p=params.top_p if params.temperature else 1.0,
                             max_tokens=params.max_tokens, seed=params.seed)
    start = time.perf_counter()
    outs = engine.llm.generate([{"prompt_token_ids": ids} for ids in prepared], sp, use_tqdm=False)
    secs = time.perf_counter() - start
    texts = [[o.text for o in out.outputs] for out in outs]
    return texts, sum(len(o.token_ids) for out in outs for o in out.outputs), secs


def _ours(engine: Any, requests: list[Any], params: SamplingParams, n: int) -> tuple[list[list[str]], int, float]:
    reqs = [dataclasses.replace(r, seed=(params.seed or 0) + k) if n > 1 else r for r in requests for k in range(n)]
    start = time.perf_counter()
    got = dict(engine.generate(reqs, params))
    secs = time.perf_counter() - start
    texts = [[got[i * n + k].text for k in range(n)] for i in range(len(requests))]
    return texts, sum(c.completion_tokens for c in got.values()), secs


def _score(task_ids: list[str], texts: list[list[str]], out: Path, dataset_path: str | None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    samples = out / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": t, "response": x}) + "\n"
                               for t, xs in zip(task_ids, texts) for x in xs), encoding="utf-8")
    summary = evaluate("humaneval", samples=samples, output=str(out / "eval"), partial=True, dataset_path=dataset_path,
                       overwrite=True)
    return {k: v for k, v in summary.base.items() if k.startswith("pass@")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="Qwen/Qwen2.5-Coder-0.5B-Instruct")
    ap.add_argument("--tasks", type=int, default=164)
    ap.add_argument("--n-samples", type=int, default=10)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--dataset-path", default=None)
    ap.add_argument("--out", default="vllm-check")
    args = ap.parse_args()
    out = Path(args.out)
    tasks = list(load_dataset("humaneval", args.dataset_path).tasks.values())[:args.tasks]
    ids = [t.task_id for t in tasks]
    requests = [make_request(build_instruction(t, "humaneval"), "wizardcoder") for t in tasks]
    engine = cast(VLLMEngine, load_engine(resolve_model(args.model), "vllm"))
    prepared = [engine._prompt(r, i, SamplingParams(max_tokens=args.max_tokens))[0] for i, r in enumerate(requests)]
    greedy = SamplingParams(max_tokens=args.max_tokens, stop_after_code=True, repetition_stop=True)
    sampled = dataclasses.replace(greedy, temperature=0.8, top_p=0.95, seed=1)
    _plain(engine, prepared[:4], greedy, 1)  # warm-up: CUDA graphs, the allocator
    rows: dict[str, Any] = {}
    for name, params, n in (("greedy", greedy, 1), ("sampled", sampled, args.n_samples)):
        plain, plain_tokens, plain_s = _plain(engine, prepared, params, n)
        ours, our_tokens, our_s = _ours(engine, requests, params, n)
        rows[name] = {
            "plain": {"tokens": plain_tokens, "seconds": round(plain_s, 2), "tokens_per_s": round(plain_tokens / plain_s),
                      **_score(ids, plain, out / f"{name}-plain", args.dataset_path)},
            "ours": {"tokens": our_tokens, "seconds": round(our_s, 2), "tokens_per_s": round(our_tokens / our_s),
                     **_score(ids, ours, out / f"{name}-ours", args.dataset_path)}}
        if name == "greedy":  # the invariant: our answer is the plain answer cut where the engine cuts
            expected = []
            for [text] in plain:
                end = code_block_end(text.replace("\r", ""))
                cut = text[:end] if end is not None else text
                expected.append(cut_looping(cut, "stop", params)[0])
            rows[name]["equal_to_cut_plain"] = sum(e == o for e, [o] in zip(expected, ours))
    print(f"{args.model}: {len(tasks)} HumanEval tasks, max {args.max_tokens} tokens")
    print(f"{'run':8} {'tokens ours/plain':>18} {'time ours/plain':>16} {'tok/s ours':>11} {'tok/s plain':>12}  "
          "pass@k ours | plain")
    for name, r in rows.items():
        o, p = r["ours"], r["plain"]
        passes = " ".join(f"{k} {o[k]:.3f}|{p[k]:.3f}" for k in o if k.startswith("pass@"))
        print(f"{name:8} {o['tokens'] / p['tokens']:>18.2f} {o['seconds'] / p['seconds']:>16.2f} {o['tokens_per_s']:>11,} "
              f"{p['tokens_per_s']:>12,}  {passes}")
    print(f"greedy answers equal to the plain answer cut: {rows['greedy']['equal_to_cut_plain']} of {len(tasks)}")
    (out / "vllm_check.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
