"""vLLM's offline ``LLM`` (GPU): every request handed to vLLM at once, scheduled by vLLM itself.

``vllm`` is imported inside :meth:`VLLMEngine.load`, so this module imports without it. Prompts
are tokenized here with the same rules as the transformers engine (chat template, no double BOS)
and handed to vLLM as token ids; prefix caching is on, so n samples of one prompt (and prompts
sharing the card's preamble) reuse its KV blocks.

Invariant: the text of an answer is the same whether vLLM decodes it whole or we end it early.
Without early ends, one ``LLM.generate`` call. With ``stop_after_code`` or ``repetition_stop`` the
requests go through vLLM's engine loop (``llm_engine.add_request`` / ``step``) and a request is
aborted the step its text closes the first python block or loops: the text is the full answer cut
where the llama.cpp engine cuts it (``prompting.fences.cut_after_code``, ``RepetitionGuard``), and no
GPU time goes to the tokens the evaluation would drop. :meth:`VLLMEngine.stream` uses the same loop.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from wizardcoder.engines.base import Completion, Engine, FinishReason, Request, SamplingParams, cut_looping
from wizardcoder.engines.render import encode, fit_context, request_text, special_stop_ids
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.fences import cut_after_code
from wizardcoder.prompting.repetition import RepetitionGuard
from wizardcoder.prompting.stops import trim_at_stop


@dataclass
class _Watch:
    """One request in the engine loop: the text so far and the checks that may end it early."""

    index: int
    prompt_tokens: int
    notes: list[str]
    guard: RepetitionGuard | None
    text: str = ""
    tokens: int = 0
    pieces: list[str] = field(default_factory=list)

    def feed(self, text: str, params: SamplingParams) -> FinishReason | None:
        """Take the request's cumulative text; a reason when it must end here (text cut to keep)."""
        piece, self.pieces = text[len(self.text):], []
        reason: FinishReason | None = None
        if params.stop_after_code and "`" in piece and (cut := cut_after_code(self.text, piece)) is not None:
            piece, reason = cut, "stop"
        if self.guard is not None and (keep := self.guard.feed(piece)) is not None:
            piece, reason = piece[:keep], "repetition"
        self.text += piece
        if piece:
            self.pieces.append(piece)
        return reason


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
                                "trust_remote_code": trust_remote_code, "enable_prefix_caching": True}
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

    def _sampling(self, requests: Sequence[Request], prepared: list[tuple[list[int], int, list[str]]],
                  params: SamplingParams) -> list[Any]:
        stop_ids = special_stop_ids(self.tokenizer, params.stop)
        sampling = []
        for req, (_, limit, _) in zip(requests, prepared):
            seed = req.seed if req.seed is not None else params.seed
            sampling.append(self._sampling_params(
                temperature=max(params.temperature, 0.0), top_p=params.top_p if not params.greedy else 1.0,
                max_tokens=limit, stop=list(params.stop) or None, stop_token_ids=stop_ids or None, seed=seed))
        return sampling

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        prepared = [self._prompt(req, i, params) for i, req in enumerate(requests)]
        sampling = self._sampling(requests, prepared, params)
        if params.stop_after_code or params.repetition_stop:
            for watch, reason in self._loop(prepared, sampling, params):
                if reason is not None:
                    yield watch.index, Completion(watch.text, reason, watch.prompt_tokens, watch.tokens,
                                                  list(watch.notes))
            return
        prompts = [{"prompt_token_ids": ids} for ids, _, _ in prepared]
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
        for i, out in enumerate(outputs):
            first = out.outputs[0]
            text, reason = _finished(first, params)
            yield i, Completion(text, reason, len(prepared[i][0]), len(first.token_ids), list(prepared[i][2]))

    def _loop(self, prepared: list[tuple[list[int], int, list[str]]], sampling: list[Any],
              params: SamplingParams) -> Iterator[tuple[_Watch, FinishReason | None]]:
        """vLLM's engine loop over all requests: after each step, every request that moved, with the
        reason it ended (None while it goes on). Requests left when the caller stops are aborted."""
        engine = self.llm.llm_engine
        tag = uuid.uuid4().hex[:12]
        live: dict[str, _Watch] = {}
        for i, ((ids, _, notes), sp) in enumerate(zip(prepared, sampling)):
            rid = f"wizardcoder-{tag}-{i}"
            engine.add_request(rid, {"prompt_token_ids": ids}, sp)
            live[rid] = _Watch(i, len(ids), notes, RepetitionGuard() if params.repetition_stop else None)
        try:
            while live:
                for out in engine.step():
                    watch = live.get(out.request_id)
                    if watch is None:
                        continue  # aborted by us a step ago
                    first = out.outputs[0]
                    watch.tokens = len(first.token_ids)
                    reason = watch.feed(first.text, params)
                    if reason is not None:
                        engine.abort_request([out.request_id])  # the tokens after the cut are never decoded
                    elif out.finished:
                        watch.text, reason = _finished(first, params)
                    if reason is not None:
                        del live[out.request_id]
                    yield watch, reason
        finally:
            if live:
                engine.abort_request(list(live))

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        """Text pieces as vLLM's engine loop decodes them; closing the iterator aborts the request."""
        prepared = [self._prompt(request, 0, params)]
        for watch, _ in self._loop(prepared, self._sampling([request], prepared, params), params):
            yield from watch.pieces


def _finished(first: Any, params: SamplingParams) -> tuple[str, FinishReason]:
    """A whole answer from vLLM: stop strings trimmed, then the repetition check's cut."""
    text, cut = trim_at_stop(first.text, params.stop)
    reason: FinishReason = "length" if first.finish_reason == "length" and not cut else "stop"
    return cut_looping(text, reason, params)
