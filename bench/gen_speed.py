"""Generation speed of each installed engine on the embedded default model, in one run.

    .venv/bin/python bench/gen_speed.py [--prompts 8] [--max-tokens 128]

Workload: the first N HumanEval prompts in the default model's chat format, greedy, at most
M new tokens each (the same requests for every configuration). Baseline: the authors' style,
transformers ``generate`` one prompt at a time (fp32 on CPU). Also llama-cpp-python's own
high-level ``Llama`` one prompt at a time (what a plain llama.cpp user gets). Prints generated
tokens per second (prompt processing included, model loading excluded) and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from wizardcoder.engines import Request, SamplingParams, load_engine, resolve_model
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.prompts import build_instruction
from wizardcoder.prompting.formats import make_request


def timed(label: str, fn: Callable[[], int]) -> tuple[str, int, float]:
    start = time.perf_counter()
    tokens = fn()
    return label, tokens, time.perf_counter() - start


def run_engine(label: str, engine_name: str, requests: list[Request], params: SamplingParams, one_at_a_time: bool,
               **options: object) -> tuple[str, int, float]:
    """Generation time only: the model is loaded before the clock starts."""
    with load_engine(resolve_model("default"), engine_name, **options) as eng:
        if one_at_a_time:
            return timed(label, lambda: sum(c.completion_tokens for r in requests for _, c in eng.generate([r], params)))
        return timed(label, lambda: sum(c.completion_tokens for _, c in eng.generate(requests, params)))


def run_llama_high_level(requests: list[Request], params: SamplingParams) -> tuple[str, int, float]:
    import llama_cpp

    from wizardcoder.engines import default_gguf

    llm = llama_cpp.Llama(str(default_gguf()), n_ctx=4096, verbose=False)

    def work() -> int:
        total = 0
        for r in requests:
            out = llm.create_chat_completion(list(r.messages or ()), max_tokens=params.max_tokens, temperature=0.0)
            total += out["usage"]["completion_tokens"]
        return total

    return timed("llama-cpp-python Llama, one at a time", work)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers is imported later, at load
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    ds = load_dataset("humaneval", None, None)
    tasks = list(ds.tasks.values())[: args.prompts]
    requests = [make_request(build_instruction(t, "humaneval"), "chat") for t in tasks]
    params = SamplingParams(max_tokens=args.max_tokens)
    runs: list[tuple[str, int, float]] = []
    if all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gguf")):
        runs.append(run_engine("transformers, batch 1 (authors' style, baseline)", "transformers", requests, params, True,
                               batch_size=1))
        runs.append(run_engine(f"transformers, batch {len(requests)}", "transformers", requests, params, False,
                               batch_size=len(requests)))
    runs.append(run_llama_high_level(requests, params))
    for p in (1, 4, 8):
        runs.append(run_engine(f"wizardcoder llamacpp, parallel {p}", "llamacpp", requests, params, False, parallel=p))
    base = runs[0][1] / runs[0][2]
    table = Table(title=f"generation speed · default model · {len(requests)} HumanEval prompts · greedy · max "
                        f"{args.max_tokens} new tokens")
    for col in ("configuration", "new tokens", "seconds", "tokens/s", "x baseline"):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    for label, tokens, secs in runs:
        rate = tokens / secs
        table.add_row(label, str(tokens), f"{secs:.1f}", f"{rate:.1f}", f"{rate / base:.2f}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
