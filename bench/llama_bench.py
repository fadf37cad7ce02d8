"""Our llama.cpp engine against llama.cpp's own ``llama-batched-bench``: same model, sequences, batch,
threads and context, one run each, side by side.

    python bench/llama_bench.py --batched-bench /path/to/llama-batched-bench [--model default]
        [--parallel 8] [--npp 128] [--ntg 128] [--weights /tmp/model-F16.gguf ...]

``llama-batched-bench`` (built from the llama.cpp that llama-cpp-python vendors, same version) decodes
``--parallel`` prompts of ``--npp`` random tokens, then ``--ntg`` tokens for each sequence at once,
with no sampling: the physical limit of llama.cpp on this machine. Our engine (``LlamaCppEngine``, as
``generate`` and ``eval --model`` use it) gets ``--parallel`` prompts of the same length (number
sequences the model keeps counting, so none ends early) and decodes ``--ntg`` tokens each, greedy,
with everything a real run does per token (sampling, detokenizing, stop checks). Printed: prompt
and generation throughput of both and their ratio (target: ours >= 85 % of llama.cpp's), for each
GGUF given (the shipped Q4_1 and, e.g., an F16 re-encoding of it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

from wizardcoder.engines import Request, SamplingParams, load_engine, resolve_model
from wizardcoder.engines.cpus import cpu_budget
from wizardcoder.engines.llamacpp import LlamaCppEngine
from wizardcoder.engines.resolve import ModelRef


def _prompts(engine: LlamaCppEngine, n: int, npp: int) -> list[str]:
    """n different texts of exactly npp tokens (as the engine tokenizes them)."""
    out = []
    for j in range(n):
        words = [str(k) for k in range(100 * j + 1, 100 * j + 1 + 4 * npp)]
        text = "Keep counting:"
        for w in words:
            if len(engine.tokenize(f"{text} {w}")) > npp:
                break
            text = f"{text} {w}"
        while len(engine.tokenize(text)) < npp:
            text += ","
        out.append(text)
    return out


def ours(ref: ModelRef, parallel: int, npp: int, ntg: int, threads: int) -> dict[str, float]:
    engine = load_engine(ref, "llamacpp", parallel=parallel, threads=threads, n_ctx=4096)
    assert isinstance(engine, LlamaCppEngine)
    engine.share_prompts = False  # different prompts anyway
    prompts = _prompts(engine, parallel, npp)
    lengths = [len(engine.tokenize(p)) for p in prompts]
    params = SamplingParams(max_tokens=ntg)
    list(engine.generate([Request(prompt=prompts[0])], SamplingParams(max_tokens=4)))  # warm-up
    # Prompt processing alone: one token each, so the decode steps are (almost) all prompt.
    start = time.perf_counter()
    list(engine.generate([Request(prompt=p) for p in prompts], SamplingParams(max_tokens=1)))
    t_pp = time.perf_counter() - start
    start = time.perf_counter()
    done = dict(engine.generate([Request(prompt=p) for p in prompts], params))
    t_all = time.perf_counter() - start
    generated = sum(c.completion_tokens for c in done.values())
    engine.close()
    t_tg = max(t_all - t_pp, 1e-9)
    return {"pp": sum(lengths), "speed_pp": sum(lengths) / t_pp, "tg": generated, "speed_tg": generated / t_tg,
            "t": t_all, "speed": (sum(lengths) + generated) / t_all, "short": sum(c.completion_tokens < ntg
                                                                                   for c in done.values())}


def theirs(binary: str, gguf: str, parallel: int, npp: int, ntg: int, threads: int) -> dict[str, float]:
    cmd = [binary, "-m", gguf, "-c", str(4096 * parallel), "-b", "512", "-ub", "512", "-npp", str(npp),
           "-ntg", str(ntg), "-npl", str(parallel), "-t", str(threads), "-tb", str(threads), "--output-format",
           "jsonl"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("{\"n_kv_max\"")][-1]
    row = json.loads(line)
    return {"pp": row["pl"] * row["pp"], "speed_pp": row["speed_pp"], "tg": row["pl"] * row["tg"],
            "speed_tg": row["speed_tg"], "t": row["t"], "speed": row["speed"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batched-bench", required=True, help="the llama-batched-bench binary")
    ap.add_argument("--model", default="default")
    ap.add_argument("--weights", nargs="*", default=[], help="more GGUF files to run the same way")
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--npp", type=int, default=128)
    ap.add_argument("--ntg", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    threads = args.threads or cpu_budget().threads
    refs = [resolve_model(args.model)] + [resolve_model(w) for w in args.weights]
    print(f"{args.parallel} sequences x ({args.npp} prompt + {args.ntg} generated) tokens, {threads} threads, "
          "batch 512")
    print(f"{'weights':34} {'prompt t/s ours':>16} {'llama.cpp':>10} {'ratio':>6} {'gen t/s ours':>13} "
          f"{'llama.cpp':>10} {'ratio':>6} {'all t/s ratio':>14}")
    for ref in refs:
        b = theirs(args.batched_bench, ref.location, args.parallel, args.npp, args.ntg, threads)
        a = ours(ref, args.parallel, args.npp, args.ntg, threads)
        print(f"{Path(ref.location).name[:34]:34} {a['speed_pp']:>16.1f} {b['speed_pp']:>10.1f} "
              f"{a['speed_pp'] / b['speed_pp']:>6.2f} {a['speed_tg']:>13.1f} {b['speed_tg']:>10.1f} "
              f"{a['speed_tg'] / b['speed_tg']:>6.2f} {a['speed'] / b['speed']:>14.2f}"
              + (f"  ({a['short']:.0f} sequences ended early)" if a["short"] else ""))


if __name__ == "__main__":
    main()
