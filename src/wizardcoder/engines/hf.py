"""transformers: any model directory, hub id or GGUF file (dequantized), on GPU or CPU.

Requests are sorted by prompt length and generated in left-padded batches. Sampling draws each
row's token with that request's own seeded generator (a logits processor, then a greedy pick),
so a sample depends on its seed only, never on which requests shared its batch.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, cast

import torch
from transformers import (
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from wizardcoder.engines import hf_loading
from wizardcoder.engines.base import Completion, Engine, FinishReason, Request, SamplingParams
from wizardcoder.engines.render import encode, fit_context, request_text, special_stop_ids
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.fences import code_block_end
from wizardcoder.prompting.repetition import RepetitionGuard, repetition_cut
from wizardcoder.prompting.stops import StopScanner, trim_at_stop

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
           "half": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def _pick_dtype(dtype: Any, device: str) -> Any:
    if dtype is None:
        if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    if dtype not in _DTYPES:
        raise WizardCoderError(f"unknown dtype {dtype!r} (choose from auto, {', '.join(_DTYPES)})")
    return _DTYPES[dtype]


class _SeededSampler(LogitsProcessor):
    """Temperature + top-p sampling with one generator per row; leaves only the drawn token."""

    def __init__(self, seeds: list[int | None], temperature: float, top_p: float) -> None:
        self.seeds, self.temperature, self.top_p = seeds, temperature, top_p
        self.generators: list[torch.Generator] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if not self.generators:  # made here, on the device the logits end up on
            for seed in self.seeds:
                gen = torch.Generator(device=scores.device)
                gen.manual_seed(seed) if seed is not None else gen.seed()
                self.generators.append(gen)
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_p, order = probs.sort(dim=-1, descending=True)
            drop = sorted_p.cumsum(dim=-1) - sorted_p > self.top_p  # keeps the token that crosses top_p
            probs = probs.scatter(-1, order, sorted_p.masked_fill(drop, 0.0))
        out = torch.full_like(scores, float("-inf"))
        for row, gen in enumerate(self.generators):
            token = torch.multinomial(probs[row], 1, generator=gen)
            out[row, token] = 0.0
        return cast(torch.FloatTensor, out)


class _Cancelled(StoppingCriteria):
    """Ends generation for every row once ``event`` is set (a closed stream)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        return cast(torch.BoolTensor, torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool,
                                                 device=input_ids.device))


class _CodeDone(StoppingCriteria):
    """Ends a row once its first python code block is closed (``SamplingParams.stop_after_code``)."""

    def __init__(self, tokenizer: Any, prompt_width: int) -> None:
        self.tokenizer, self.width = tokenizer, prompt_width

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        done = [False] * input_ids.shape[0]
        for row, ids in enumerate(input_ids.tolist()):
            if "`" in self.tokenizer.decode(ids[-1:]):
                text = self.tokenizer.decode(ids[self.width:], skip_special_tokens=True)
                done[row] = code_block_end(text.replace("\r", "")) is not None
        return cast(torch.BoolTensor, torch.tensor(done, dtype=torch.bool, device=input_ids.device))


class _Looping(StoppingCriteria):
    """Ends a row once its text loops (``SamplingParams.repetition_stop``); read after each token that
    ends a line and every 64 tokens (the text is cut exactly afterwards, in ``_finish``)."""

    def __init__(self, tokenizer: Any, prompt_width: int) -> None:
        self.tokenizer, self.width = tokenizer, prompt_width

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        done = [False] * input_ids.shape[0]
        for row, ids in enumerate(input_ids.tolist()):
            n = len(ids) - self.width
            if n % 64 == 0 or "\n" in self.tokenizer.decode(ids[-1:]):
                done[row] = repetition_cut(self.tokenizer.decode(ids[self.width:], skip_special_tokens=True)) is not None
        return cast(torch.BoolTensor, torch.tensor(done, dtype=torch.bool, device=input_ids.device))


class TransformersEngine(Engine):
    name = "transformers"

    def __init__(self, ref: ModelRef, model: Any, tokenizer: Any, device: str, batch_size: int) -> None:
        self.ref, self.model, self.tokenizer, self.device = ref, model, tokenizer, device
        self.batch_size = max(1, int(batch_size))
        self.batch_width = self.batch_size  # padding and batch shape change the logits
        self.model_id = ref.label
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.max_positions: int | None = getattr(config, "max_position_embeddings", None)
        gen_eos = getattr(model.generation_config, "eos_token_id", None)
        eos = [gen_eos] if isinstance(gen_eos, int) else list(gen_eos or [])
        if tokenizer.eos_token_id is not None:
            eos.append(tokenizer.eos_token_id)
        self.eos_ids = list(dict.fromkeys(eos))
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.eos_ids[0] if self.eos_ids else 0)

    @classmethod
    def load(cls, ref: ModelRef, device: str | None = None, dtype: Any = None, batch_size: int = 8,
             trust_remote_code: bool = False, threads: int | None = None, **_: Any) -> TransformersEngine:
        """``threads``: torch's CPU threads (fewer than the cores helps when other work shares them)."""
        if threads:
            torch.set_num_threads(int(threads))
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = _pick_dtype(dtype, device)
        if ref.kind not in hf_loading.LOADABLE_KINDS:
            raise WizardCoderError(f"{ref.label}: the transformers engine loads local models and hub ids, not {ref.kind}")
        source = hf_loading.hf_source(ref)
        # On GPU the weights go straight to the device (a 34B model need not fit in CPU memory first).
        placement = None if device == "cpu" else device
        with hf_loading.loading(source, f"cannot load {ref.label} ({ref.location}) in transformers"):
            tokenizer = hf_loading.load_tokenizer(source, trust_remote_code=trust_remote_code)
            model = hf_loading.load_causal_lm(source, dtype=torch_dtype, trust_remote_code=trust_remote_code,
                                              device_map=placement)
        if placement is None:
            model.to(device)
        model.eval()
        return cls(ref, model, tokenizer, device, batch_size)

    def close(self) -> None:
        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- preparation ------------------------------------------------------------------------
    def prompt_ids(self, request: Request) -> list[int]:
        ids = encode(self.tokenizer, request_text(self.tokenizer, request, self.ref.card))
        if not ids and self.tokenizer.bos_token_id is not None:
            ids = [self.tokenizer.bos_token_id]
        return ids

    def _prepare(self, request: Request, index: int, params: SamplingParams) -> tuple[list[int], int, list[str]]:
        if params.max_tokens < 1:
            raise WizardCoderError(f"max_tokens must be at least 1 (got {params.max_tokens})")
        ids = self.prompt_ids(request)
        if not ids:
            raise WizardCoderError(f"request {index}: empty prompt")
        limit, notes = fit_context(len(ids), params.max_tokens, self.max_positions, index)
        return ids, limit, notes

    def _generation(self, params: SamplingParams, requests: Sequence[Request], max_new: int,
                    cancel: threading.Event | None = None, prompt_width: int = 0) -> dict[str, Any]:
        """Keyword arguments for ``model.generate``: sampling from ``params`` alone, so that the checkpoint's
        generation_config defaults (top_k, repetition penalty, ...) cannot change what a benchmark measures."""
        eos = self.eos_ids + [i for i in special_stop_ids(self.tokenizer, params.stop) if i not in self.eos_ids]
        stops = [s for s in params.stop if s]
        config = GenerationConfig(max_new_tokens=max_new, do_sample=False, num_beams=1, eos_token_id=eos or None,
                                  pad_token_id=self.pad_id, stop_strings=stops or None)
        kwargs: dict[str, Any] = {"generation_config": config}
        if stops:
            kwargs["tokenizer"] = self.tokenizer
        if not params.greedy:
            seeds = [req.seed if req.seed is not None else params.seed for req in requests]
            kwargs["logits_processor"] = LogitsProcessorList([_SeededSampler(seeds, params.temperature, params.top_p)])
        criteria: list[StoppingCriteria] = [_Cancelled(cancel)] if cancel is not None else []
        if params.stop_after_code:
            criteria.append(_CodeDone(self.tokenizer, prompt_width))
        if params.repetition_stop:
            criteria.append(_Looping(self.tokenizer, prompt_width))
        if criteria:
            kwargs["stopping_criteria"] = StoppingCriteriaList(criteria)
        return kwargs

    def _batch_inputs(self, prompts: list[list[int]]) -> dict[str, torch.Tensor]:
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, p in enumerate(prompts):  # left padding: every row's last prompt token is at the same column
            ids[row, width - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[row, width - len(p):] = 1
        return {"input_ids": ids.to(self.model.device), "attention_mask": mask.to(self.model.device)}

    # -- generation -------------------------------------------------------------------------
    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        prepared = [self._prepare(req, i, params) for i, req in enumerate(requests)]
        order = sorted(range(len(requests)), key=lambda i: len(prepared[i][0]))
        # A clipped request runs alone, so that no row of a batch outgrows the context.
        clipped = [i for i in order if prepared[i][1] < params.max_tokens]
        full = [i for i in order if prepared[i][1] >= params.max_tokens]
        batches = [full[k:k + self.batch_size] for k in range(0, len(full), self.batch_size)] + [[i] for i in clipped]
        for batch in batches:
            max_new = min(prepared[i][1] for i in batch)
            inputs = self._batch_inputs([prepared[i][0] for i in batch])
            kwargs = self._generation(params, [requests[i] for i in batch], max_new,
                                      prompt_width=inputs["input_ids"].shape[1])
            with torch.inference_mode():
                out = self.model.generate(**inputs, **kwargs)
            generated = out[:, inputs["input_ids"].shape[1]:].tolist()
            for row, i in enumerate(batch):
                completion = self._finish(generated[row], params, max_new, kwargs["generation_config"].eos_token_id or [])
                completion.prompt_tokens = len(prepared[i][0])
                completion.warnings = list(prepared[i][2])
                yield i, completion

    def _finish(self, tokens: list[int], params: SamplingParams, max_new: int, eos: list[int]) -> Completion:
        """One row's completion: cut at EOS and at the first stop string (the row may have run on)."""
        end = next((k for k, t in enumerate(tokens) if t in eos), None)
        kept = tokens if end is None else tokens[:end]
        text, stopped = trim_at_stop(self._decode(kept), params.stop)
        count = self._tokens_to_stop(kept, params.stop) if stopped else len(kept) + (end is not None)
        if params.stop_after_code and (cut := code_block_end(text.replace("\r", ""))) is not None:
            text, stopped = text.replace("\r", "")[:cut], True  # the row ran on only while its batch did
        reason: FinishReason = "stop" if stopped or end is not None or count < max_new else "length"
        if params.repetition_stop and (loop := repetition_cut(text)) is not None:
            text, reason = text[:loop], "repetition"
            count = min(count, self._tokens_to_chars(kept, loop))
        return Completion(text, reason, completion_tokens=count)

    def _tokens_to_chars(self, tokens: list[int], chars: int) -> int:
        """The fewest leading tokens whose text is at least ``chars`` long."""
        lo, hi = 1, len(tokens)
        while lo < hi:
            mid = (lo + hi) // 2
            if len(self._decode(tokens[:mid])) >= chars:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def _tokens_to_stop(self, tokens: list[int], stops: Sequence[str]) -> int:
        """The fewest leading tokens whose text holds a stop string (what the model generated to stop)."""
        lo, hi = 1, len(tokens)
        while lo < hi:
            mid = (lo + hi) // 2
            if trim_at_stop(self._decode(tokens[:mid]), stops)[1]:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        ids, max_new, notes = self._prepare(request, 0, params)
        for note in notes:
            warnings.warn(note, stacklevel=2)
        cancel = threading.Event()
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = self._generation(params, [request], max_new, cancel, prompt_width=len(ids))
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(**self._batch_inputs([ids]), streamer=streamer, **kwargs)
            except BaseException as exc:  # re-raised in the consumer
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="wizardcoder-hf-stream", daemon=True)
        thread.start()
        scanner = StopScanner(params.stop)
        guard = RepetitionGuard() if params.repetition_stop else None
        try:
            for piece in streamer:
                text = scanner.feed(piece)
                if guard is not None and (keep := guard.feed(text)) is not None:
                    if text[:keep]:
                        yield text[:keep]
                    break
                if text:
                    yield text
                if scanner.stopped:
                    break
            if failure:
                raise WizardCoderError(f"generation failed: {failure[0]}") from failure[0]
            if tail := scanner.flush():
                yield tail
        finally:
            cancel.set()
            thread.join()
