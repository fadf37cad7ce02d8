"""llama.cpp (GGUF) on the CPU, with continuous batching.

llama-cpp-python's high-level ``Llama`` decodes one sequence at a time. Small models on a few
cores are memory-bound at batch 1, so this engine drives llama.cpp's own multi-sequence API
directly: up to ``parallel`` sequences share every ``llama_decode`` call (one token each, plus
chunks of new prompts), each in its own KV stream; a finished sequence frees its slot for the
next prompt at once. Sampling (greedy, or temperature + top-p with one RNG per request) and
stop strings are done here on the logits and the decoded text.
"""

from __future__ import annotations

import codecs
import ctypes
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import llama_cpp as lc
import numpy as np

from wizardcoder.engines.base import Completion, Engine, Request, SamplingParams
from wizardcoder.engines.cpus import cpu_budget
from wizardcoder.engines.render import adds_special_tokens, fit_context, render_messages
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.fences import cut_after_code
from wizardcoder.prompting.repetition import RepetitionGuard
from wizardcoder.prompting.stops import StopScanner

try:  # llama.cpp logs every load detail to stderr unless told otherwise
    from llama_cpp import _logger

    _logger.set_verbose(False)
except Exception:  # pragma: no cover - logging only
    pass

_BACKEND = threading.Lock()
_backend_ready = False


def _init_backend() -> None:
    global _backend_ready
    with _BACKEND:
        if not _backend_ready:
            lc.llama_backend_init()
            _backend_ready = True


@dataclass
class _Seq:
    index: int  # of the request
    tokens: list[int]  # the prompt
    max_tokens: int
    scanner: StopScanner
    rng: np.random.Generator | None
    warnings: list[str]
    code_stop: bool = False
    guard: RepetitionGuard | None = None
    slot: int = -1
    fed: int = 0  # prompt tokens already decoded
    pos: int = 0
    generated: int = 0
    next_token: int | None = None
    text: list[str] = field(default_factory=list)
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))


class LlamaCppEngine(Engine):
    name = "llamacpp"

    def __init__(self, ref: ModelRef, n_ctx: int | None, parallel: int, threads: int, n_batch: int,
                 n_gpu_layers: int) -> None:
        path = Path(ref.location)
        if not path.is_file():
            raise WizardCoderError(f"{path}: no such GGUF file")
        _init_backend()
        self.ref, self.model_id, self.parallel = ref, ref.label, max(1, parallel)
        self.batch_width = self.parallel  # which requests share a decode step changes their logits
        mparams = lc.llama_model_default_params()
        mparams.n_gpu_layers = n_gpu_layers
        self._model = lc.llama_model_load_from_file(str(path).encode(), mparams)
        if not self._model:
            raise WizardCoderError(f"{path}: llama.cpp could not load this GGUF file")
        self._vocab = lc.llama_model_get_vocab(self._model)
        self.n_vocab = lc.llama_vocab_n_tokens(self._vocab)
        n_train = lc.llama_model_n_ctx_train(self._model)
        self.n_ctx = min(n_ctx or min(n_train, 4096), n_train) if n_train > 0 else (n_ctx or 4096)
        self.n_batch = max(n_batch, self.parallel)
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = self.n_ctx * self.parallel
        cparams.n_batch = cparams.n_ubatch = self.n_batch
        cparams.n_seq_max = self.parallel
        cparams.kv_unified = False  # one KV stream per sequence: attention never spans other prompts
        cparams.n_threads = cparams.n_threads_batch = threads
        cparams.no_perf = True
        self._ctx = lc.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            lc.llama_model_free(self._model)
            raise WizardCoderError(f"{path}: llama.cpp could not create a context of {cparams.n_ctx} tokens")
        self._mem = lc.llama_get_memory(self._ctx)
        # n samples of one prompt decode it once (see _share); prompt tokens decoded, all calls together
        self.share_prompts = True
        self.prompt_computed: int = 0
        self._batch = lc.llama_batch_init(self.n_batch, 0, 1)
        self._lock = threading.Lock()
        tpl = lc.llama_model_chat_template(self._model, None)
        self.chat_template = tpl.decode("utf-8") if tpl else None
        self.bos_text = self._token_text(lc.llama_vocab_bos(self._vocab))
        self.eos_text = self._token_text(lc.llama_vocab_eos(self._vocab))

    @classmethod
    def load(cls, ref: ModelRef, n_ctx: int | None = None, parallel: int = 8, threads: int | None = None,
             n_batch: int = 512, n_gpu_layers: int = 0, reencode: str | None = None, **_: Any) -> LlamaCppEngine:
        """``threads``: default one per physical core this process may use (affinity, cgroup quota).
        ``reencode``: run a cached re-encoding of the GGUF (f16, q8_0; ``engines.reencode``)."""
        if threads:
            n_threads, why = threads, f"{threads} thread{'s' if threads != 1 else ''} (--threads)"
        else:
            budget = cpu_budget()
            n_threads, why = budget.threads, budget.describe()
        weights = ""
        if reencode:
            from wizardcoder.engines.reencode import reencode as reencode_gguf

            path, made = reencode_gguf(Path(ref.location), reencode, n_threads)
            ref = replace(ref, location=str(path))
            weights = f", weights re-encoded as {reencode.upper()} ({'now' if made else 'cached'}: {path})"
        engine = cls(ref, n_ctx, parallel, n_threads, n_batch, n_gpu_layers)
        engine.setup = f"{why}, {engine.parallel} sequences in parallel, batches of {engine.n_batch} tokens{weights}"
        return engine

    def close(self) -> None:
        if getattr(self, "_ctx", None):
            lc.llama_batch_free(self._batch)
            lc.llama_free(self._ctx)
            lc.llama_model_free(self._model)
            self._ctx = self._model = None

    # -- text <-> tokens ------------------------------------------------------------------
    def _token_text(self, token: int) -> str:
        return lc.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace") if token >= 0 else ""

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = False) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 8
        buf = (lc.llama_token * cap)()
        n = lc.llama_tokenize(self._vocab, data, len(data), buf, cap, add_special, parse_special)
        if n < 0:
            cap = -n
            buf = (lc.llama_token * cap)()
            n = lc.llama_tokenize(self._vocab, data, len(data), buf, cap, add_special, parse_special)
        return list(buf[:n])

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = lc.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = lc.llama_token_to_piece(self._vocab, token, buf, -n, 0, False)
        return buf.raw[:n]

    def prompt_tokens(self, request: Request) -> list[int]:
        if request.messages is None:
            return self.tokenize(request.prompt or "", add_special=True, parse_special=False)
        text = render_messages(self.chat_template, list(request.messages), self.bos_text, self.eos_text, self.ref.card,
                               request.chat_template)
        return self.tokenize(text, add_special=adds_special_tokens(text, self.bos_text), parse_special=True)

    # -- decoding ---------------------------------------------------------------------------
    def _prepare(self, requests: Sequence[Request], params: SamplingParams) -> list[_Seq]:
        seqs = []
        for i, req in enumerate(requests):
            tokens = self.prompt_tokens(req)
            max_tokens, warnings = fit_context(len(tokens), params.max_tokens, self.n_ctx, i)
            seed = req.seed if req.seed is not None else params.seed
            rng = None if params.greedy else np.random.default_rng(seed)
            seqs.append(_Seq(i, tokens, max_tokens, StopScanner(params.stop), rng, warnings, params.stop_after_code,
                             RepetitionGuard() if params.repetition_stop else None))
        return seqs

    def _sample(self, logits: np.ndarray, seq: _Seq, params: SamplingParams) -> int:
        if seq.rng is None:
            return int(np.argmax(logits))
        z = logits.astype(np.float64) / params.temperature
        z -= z.max()
        p = np.exp(z)
        p /= p.sum()
        if params.top_p < 1.0:
            order = np.argsort(-p)
            keep = int(np.searchsorted(np.cumsum(p[order]), params.top_p)) + 1
            order = order[:keep]
            return int(order[seq.rng.choice(len(order), p=p[order] / p[order].sum())])
        return int(seq.rng.choice(len(p), p=p))

    def _run(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[_Seq, str, Completion | None]]:
        """Events (sequence, new text, completion when it finished) of a continuous batch."""
        queue = deque(self._prepare(requests, params))
        active: list[_Seq] = []
        free = list(range(self.parallel - 1, -1, -1))
        batch = self._batch
        with self._lock:
            lc.llama_memory_clear(self._mem, True)
            try:
                while queue or active:
                    while queue and free:
                        seq = queue.popleft()
                        seq.slot = free.pop()
                        active.append(seq)
                    n, outputs = 0, []
                    for seq in active:  # one token for every decoding sequence first
                        if seq.next_token is not None:
                            n = self._put(batch, n, seq.next_token, seq.pos, seq.slot, True)
                            seq.pos += 1
                            outputs.append((seq, n - 1))
                    ready = {id(s): s.fed for s in active}  # prompt tokens whose KV exists now
                    for seq in active:  # then prompt chunks while there is room
                        if seq.next_token is None and n < self.n_batch:
                            if seq.fed == 0 and self.share_prompts and not self._share(seq, active, ready):
                                continue  # an earlier sequence is decoding the same prompt: wait for it
                            take = min(len(seq.tokens) - seq.fed, self.n_batch - n)
                            self.prompt_computed += take
                            for k in range(take):
                                last = seq.fed + k == len(seq.tokens) - 1
                                n = self._put(batch, n, seq.tokens[seq.fed + k], seq.pos, seq.slot, last)
                                seq.pos += 1
                                if last:
                                    outputs.append((seq, n - 1))
                            seq.fed += take
                    batch.n_tokens = n
                    rc = lc.llama_decode(self._ctx, batch)
                    if rc != 0:
                        raise WizardCoderError(f"llama.cpp decode failed (code {rc}); lower --parallel or --n-ctx")
                    for seq, i in outputs:
                        logits = np.ctypeslib.as_array(lc.llama_get_logits_ith(self._ctx, i), shape=(self.n_vocab,))
                        token = self._sample(logits, seq, params)
                        piece, done = self._advance(seq, token)
                        if done is not None:
                            active.remove(seq)
                            if (heir := self._heir(seq, queue)) is not None:
                                queue.remove(heir)
                                active.append(heir)
                            else:
                                lc.llama_memory_seq_rm(self._mem, seq.slot, -1, -1)
                                free.append(seq.slot)
                        if piece or done is not None:
                            yield seq, piece, done
            finally:
                lc.llama_memory_clear(self._mem, True)

    def _share(self, seq: _Seq, active: list[_Seq], ready: dict[int, int]) -> bool:
        """Start ``seq`` from the KV of an earlier sequence with the same prompt (n samples of one
        prompt): all its prompt but the last token is copied, so the prompt is decoded once and each
        sample computes one token of it. False while that sequence has not decoded it yet."""
        last = len(seq.tokens) - 1
        leader = next((s for s in active if s.tokens == seq.tokens), seq)
        if leader is seq or last < 1:
            return True  # the first of its prompt (or a one-token prompt): decoded in full
        if ready.get(id(leader), 0) < last:
            return False
        lc.llama_memory_seq_cp(self._mem, leader.slot, seq.slot, -1, -1)  # another stream: the whole buffer
        if not lc.llama_memory_seq_rm(self._mem, seq.slot, last, -1):
            lc.llama_memory_seq_rm(self._mem, seq.slot, -1, -1)
            return True  # this cache cannot drop a tail: decode the prompt in full
        seq.fed = seq.pos = last
        return True

    def _heir(self, seq: _Seq, queue: deque[_Seq]) -> _Seq | None:
        """A waiting sequence with the finished ``seq``'s prompt takes over its slot and the prompt's KV
        in it (all but the last token, as in ``_share``), so the last samples of a prompt need no
        donor still running."""
        last = len(seq.tokens) - 1
        heir = next((q for q in queue if q.tokens == seq.tokens), None) if self.share_prompts and last >= 1 else None
        if heir is None or not lc.llama_memory_seq_rm(self._mem, seq.slot, last, -1):
            return None
        heir.slot, heir.fed, heir.pos = seq.slot, last, last
        return heir

    @staticmethod
    def _put(batch: Any, n: int, token: int, pos: int, seq_id: int, logits: bool) -> int:
        batch.token[n] = token
        batch.pos[n] = pos
        batch.n_seq_id[n] = 1
        batch.seq_id[n][0] = seq_id
        batch.logits[n] = logits
        return n + 1

    def _advance(self, seq: _Seq, token: int) -> tuple[str, Completion | None]:
        """Take one sampled token; the text it releases and the completion if it ended."""
        reason: str | None = None
        if lc.llama_vocab_is_eog(self._vocab, token):
            piece, reason = seq.decoder.decode(b"", final=True) + seq.scanner.flush(), "stop"
        else:
            seq.generated += 1
            piece = seq.scanner.feed(seq.decoder.decode(self._piece(token)))
            if seq.scanner.stopped:
                reason = "stop"
            elif seq.code_stop and "`" in piece and (cut := cut_after_code("".join(seq.text), piece)) is not None:
                seq.text = ["".join(seq.text)]
                piece, reason = cut, "stop"
            elif seq.generated >= seq.max_tokens:
                piece, reason = piece + seq.decoder.decode(b"", final=True) + seq.scanner.flush(), "length"
        # Every released character passes the repetition check, the last piece too: the answer ends
        # where repetition_cut of the whole text says (the invariant of prompting.repetition).
        if seq.guard is not None and (keep := seq.guard.feed(piece)) is not None:
            piece, reason = piece[:keep], "repetition"
        if reason is not None:
            return self._finish(seq, piece, reason)
        seq.next_token = token
        seq.text.append(piece)
        return piece, None

    @staticmethod
    def _finish(seq: _Seq, piece: str, reason: str) -> tuple[str, Completion]:
        seq.text.append(piece)
        return piece, Completion("".join(seq.text), reason, len(seq.tokens), seq.generated, seq.warnings)  # type: ignore[arg-type]

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        for seq, _piece, done in self._run(requests, params):
            if done is not None:
                yield seq.index, done

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        for _seq, piece, _done in self._run([request], params):
            if piece:
                yield piece
