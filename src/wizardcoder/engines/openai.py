"""Any OpenAI-compatible server (llama.cpp's, ``transformers serve``, vLLM, a hosted API).

Text prompts (the card's template applied, or raw) go to ``/v1/completions``; chat messages to
``/v1/chat/completions``, where the server applies the model's chat template. Requests run
``concurrency`` at a time; the client retries connection errors, 408/409/429 and 5xx answers
with exponential backoff (honouring ``Retry-After``) up to ``max_retries``, each try bounded by
``timeout``. Stop strings are also trimmed here: some servers return them, and some tokenizers
never produce them as one token.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import openai

from wizardcoder.engines.base import Completion, Engine, Request, SamplingParams, cut_looping
from wizardcoder.engines.render import render_messages
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.fences import cut_after_code
from wizardcoder.prompting.repetition import RepetitionGuard
from wizardcoder.prompting.stops import StopScanner, trim_at_stop

MAX_STOPS = 4  # the OpenAI API's limit; longer lists are trimmed here instead


class OpenAIEngine(Engine):
    name = "openai"

    def __init__(self, ref: ModelRef, base_url: str, api_key: str, timeout: float, max_retries: int, concurrency: int) -> None:
        self.ref, self.model_id, self.base_url = ref, ref.location, base_url
        self.concurrency = max(1, concurrency)
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)

    @classmethod
    def load(cls, ref: ModelRef, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
             timeout: float = 600.0, max_retries: int = 5, concurrency: int = 8, **_: Any) -> OpenAIEngine:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise WizardCoderError("the openai engine needs --base-url (or OPENAI_BASE_URL)")
        # Local servers accept any key; hosted ones fail with a clear 401 below.
        api_key = os.environ.get(api_key_env) or "EMPTY"
        return cls(ref, base_url.rstrip("/"), api_key, timeout, max_retries, concurrency)

    def close(self) -> None:
        self.client.close()

    def _args(self, request: Request, params: SamplingParams, stream: bool) -> tuple[Any, dict[str, Any]]:
        return call_args(self.client, self.model_id, self.ref, request, params, stream)

    def _call(self, request: Request, params: SamplingParams) -> Completion:
        if params.stop_after_code or params.repetition_stop:
            return self._call_streamed(request, params)
        create, args = self._args(request, params, stream=False)
        return to_completion(self._guard(create, args), params)

    def _call_streamed(self, request: Request, params: SamplingParams) -> Completion:
        """Streamed, and ended here once the first python block closes or the answer loops: closing the
        stream drops the connection, which aborts the request (llama.cpp's and vLLM's servers stop
        decoding), so no server spends tokens on what the evaluation would cut. The text equals the
        full answer cut where the llama.cpp engine cuts it. Token counts: the server's usage when it
        sends one, else the streamed chunks (one token each on llama.cpp's and vLLM's servers)."""
        create, args = self._args(request, params, stream=True)
        chunks = self._guard(create, args)
        scanner = StopScanner(params.stop)
        guard = RepetitionGuard() if params.repetition_stop else None
        text, n_chunks, reason, usage = "", 0, "stop", None
        try:
            for chunk in self._chunks(chunks):
                usage = getattr(chunk, "usage", None) or usage
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                piece = (choice.delta.content or "") if hasattr(choice, "delta") else (choice.text or "")
                n_chunks += bool(piece)
                out, end = scanner.feed(piece), None
                if scanner.stopped:
                    end = "stop"
                elif choice.finish_reason:
                    out += scanner.flush()
                    end = "length" if choice.finish_reason == "length" else "stop"
                if params.stop_after_code and "`" in out and (cut := cut_after_code(text, out)) is not None:
                    out, end = cut, "stop"
                if guard is not None and (keep := guard.feed(out)) is not None:
                    out, end = out[:keep], "repetition"
                text += out
                if end is not None:
                    reason = end
                    break
            else:
                text += scanner.flush()
        finally:
            chunks.close()
        return Completion(text, reason,  # type: ignore[arg-type]
                          usage.prompt_tokens if usage and reason in ("stop", "length") else 0,
                          usage.completion_tokens if usage and reason in ("stop", "length") else n_chunks)

    def _chunks(self, chunks: Any) -> Iterator[Any]:
        """The stream's chunks, with its errors as the one-line errors of ``_guard``."""
        try:
            yield from chunks
        except openai.APIConnectionError as exc:
            raise WizardCoderError(f"{self.base_url} broke off the stream: {exc.__cause__ or exc}") from None
        except openai.APIStatusError as exc:
            raise WizardCoderError(f"{self.base_url} answered {exc.status_code}: {exc.message or exc}") from None

    def _guard(self, create: Any, args: dict[str, Any]) -> Any:
        """Turn the client's exceptions into one-line errors that name the server."""
        try:
            return create(**args)
        except openai.APIConnectionError as exc:
            kind = "timed out" if isinstance(exc, openai.APITimeoutError) else "unreachable"
            raise WizardCoderError(f"{self.base_url} {kind} (after retries): {exc.__cause__ or exc}") from None
        except openai.APIStatusError as exc:
            detail = getattr(exc, "message", "") or str(exc)
            raise WizardCoderError(f"{self.base_url} answered {exc.status_code}: {detail}") from None

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="openai")
        pending: dict[Future[Completion], int] = {}
        todo = iter(range(len(requests)))
        try:
            for i in todo:
                pending[pool.submit(self._call, requests[i], params)] = i
                if len(pending) >= self.concurrency:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    yield i, fut.result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending[pool.submit(self._call, requests[nxt], params)] = nxt
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            if pending:  # abandoned (Ctrl-C, an error): drop the connections so no thread waits on a reply
                self.client.close()

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        create, args = self._args(request, params, stream=True)
        chunks = self._guard(create, args)
        scanner = StopScanner(params.stop)
        guard = RepetitionGuard() if params.repetition_stop else None
        try:
            for chunk in chunks:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                piece = (choice.delta.content or "") if hasattr(choice, "delta") else (choice.text or "")
                out = scanner.feed(piece)
                if guard is not None and (keep := guard.feed(out)) is not None:
                    if out[:keep]:
                        yield out[:keep]
                    return  # closing the stream aborts the request
                if out:
                    yield out
                if scanner.stopped:
                    return
            tail = scanner.flush()
            if tail:
                yield tail
        finally:
            chunks.close()


def call_args(client: Any, model_id: str, ref: ModelRef, request: Request, params: SamplingParams,
              stream: bool = False) -> tuple[Any, dict[str, Any]]:
    """The endpoint (chat or text completions) and arguments for ``request``; ``client`` sync or async."""
    args: dict[str, Any] = {"model": model_id, "max_tokens": params.max_tokens, "stream": stream,
                            "temperature": params.temperature, "top_p": params.top_p}
    if params.stop:
        args["stop"] = list(params.stop[:MAX_STOPS])
    seed = request.seed if request.seed is not None else params.seed
    if seed is not None:
        args["seed"] = seed
    if request.messages is not None and request.chat_template is None:
        return client.chat.completions.create, {**args, "messages": list(request.messages)}
    prompt = request.prompt
    if prompt is None:  # a chat in a template of ours: rendered here, sent as text
        prompt = render_messages(None, list(request.messages or ()), "", "", ref.card, request.chat_template)
    return client.completions.create, {**args, "prompt": prompt}


def to_completion(resp: Any, params: SamplingParams) -> Completion:
    """A server's answer as a Completion; stop strings the server returned are trimmed."""
    choice = resp.choices[0]
    text = (choice.message.content or "") if hasattr(choice, "message") else (choice.text or "")
    text, cut = trim_at_stop(text, params.stop)
    usage = resp.usage
    text, reason = cut_looping(text, "length" if choice.finish_reason == "length" and not cut else "stop", params)
    return Completion(text, reason, usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)
