"""vLLM's offline ``LLM`` (GPU): one ``generate`` call for all requests, scheduled by vLLM itself.

``vllm`` is imported inside :meth:`VLLMEngine.load`, so this module imports without it. Prompts
are tokenized here with the same rules as the transformers engine (chat template, no double BOS)
and handed to vLLM as token ids. The offline ``LLM`` cannot stream: :meth:`VLLMEngine.stream`
yields the whole completion once; ``wizardcoder serve --engine vllm`` is the streaming path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from wizardcoder.engines.base import Completion, Engine, FinishReason, Request, SamplingParams, cut_looping
from wizardcoder.engines.render import encode, fit_context, request_text, special_stop_ids
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.stops import trim_at_stop


class VLLMEngine(Engine):
    name = "vllm"

    def __init__(self, ref: ModelRef, llm: Any, sampling_params_cls: Any) -> None:
        self.ref, self.llm, self._sampling_params = ref, llm, sampling_params_cls
        self.model_id = ref.label
        self.tokenizer = llm.get_tokenizer()
        try:
            self.max_positions: int | None = int(llm.llm_engine.model_config.max_model_len)
        except (AttributeError, TypeError, ValueError):
            self.max_positions = None

    @classmethod
    def load(cls, ref: ModelRef, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.9,
             dtype: str = "auto", max_model_len: int | None = None, tokenizer: str | None = None,
             trust_remote_code: bool = False, **_: Any) -> VLLMEngine:
        """``tokenizer``: a tokenizer dir or hub id (for a GGUF, vLLM otherwise converts the file's own)."""
        try:
            import vllm
        except ImportError as exc:
            raise WizardCoderError(f"engine vllm needs packages that are not installed ({exc.name}): pip install vllm "
                                   "(Linux with a CUDA GPU)") from None

        if ref.kind == "gguf":
            model = os.path.abspath(ref.location)
        elif ref.kind in ("dir", "hub"):
            model = ref.location if not ref.gguf_file else os.path.join(ref.location, ref.gguf_file)
        else:
            raise WizardCoderError(f"{ref.label}: the vllm engine loads local models and hub ids, not {ref.kind}")
        if tokenizer is None and ref.kind != "gguf":
            tokenizer = ref.location  # a GGUF inside a dir / repo: the repo's tokenizer files
        args: dict[str, Any] = {"model": model, "tokenizer": tokenizer or model, "dtype": dtype,
                                "tensor_parallel_size": tensor_parallel_size,
                                "gpu_memory_utilization": gpu_memory_utilization,
                                "trust_remote_code": trust_remote_code}
        if max_model_len is not None:
            args["max_model_len"] = int(max_model_len)
        try:
            llm = vllm.LLM(**args)
        except (OSError, ValueError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise WizardCoderError(f"cannot load {ref.label} ({ref.location}) in vllm: {first}") from None
        return cls(ref, llm, vllm.SamplingParams)

    def close(self) -> None:
        self.llm = None

    def _prompt(self, request: Request, index: int, params: SamplingParams) -> tuple[list[int], int, list[str]]:
        ids = encode(self.tokenizer, request_text(self.tokenizer, request, self.ref.card))
        if not ids:
            raise WizardCoderError(f"request {index}: empty prompt")
        limit, notes = fit_context(len(ids), params.max_tokens, self.max_positions, index)
        return ids, limit, notes

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        prepared = [self._prompt(req, i, params) for i, req in enumerate(requests)]
        stop_ids = special_stop_ids(self.tokenizer, params.stop)
        sampling = []
        for req, (_, limit, _) in zip(requests, prepared):
            seed = req.seed if req.seed is not None else params.seed
            sampling.append(self._sampling_params(
                temperature=max(params.temperature, 0.0), top_p=params.top_p if not params.greedy else 1.0,
                max_tokens=limit, stop=list(params.stop) or None, stop_token_ids=stop_ids or None, seed=seed))
        prompts = [{"prompt_token_ids": ids} for ids, _, _ in prepared]
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
        for i, out in enumerate(outputs):
            first = out.outputs[0]
            text, cut = trim_at_stop(first.text, params.stop)
            reason: FinishReason = "length" if first.finish_reason == "length" and not cut else "stop"
            text, reason = cut_looping(text, reason, params)
            yield i, Completion(text, reason, len(prepared[i][0]), len(first.token_ids), list(prepared[i][2]))

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        """The whole completion as one piece: the offline ``LLM`` has no incremental output."""
        for _, completion in self.generate([request], params):
            if completion.text:
                yield completion.text
