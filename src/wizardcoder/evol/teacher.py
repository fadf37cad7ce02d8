"""The teacher LLM, asked asynchronously: any OpenAI-compatible server, or an in-process engine.

:class:`TeacherClient` adds what a long run against a real API needs on top of a backend: a
bounded number of requests in flight, requests/tokens-per-minute budgets, and retries with
exponential backoff and jitter on 429 / 408 / 409 / 5xx, timeouts, dropped connections and
unreadable responses, honouring ``Retry-After``; and a few immediate re-asks when the model's
reply is unusable (the caller's ``validate`` rejects it). What each try got is returned with the
answer, for the run's records.

Errors fall in three kinds: *transient* (retried, then the request is left unfinished for
``--resume``), *per-request* (400 and the like, or a reply ``validate`` still rejects after
``invalid_retries`` re-asks with another seed: the row is eliminated with that reason) and
*fatal* (401 / 403 / 404: wrong key, URL or model; the run stops).
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import openai
from openai.types import Completion as TextCompletion
from openai.types.chat import ChatCompletion

from wizardcoder.engines.base import Completion, Engine, Request, SamplingParams
from wizardcoder.engines.openai import call_args, to_completion
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.limits import RateLimiter, RetryPolicy

Validator = Callable[[str], str | None]  # the problem with a reply, or None when it is usable


class TeacherError(Exception):
    def __init__(self, kind: str, message: str, transient: bool = True, fatal: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind, self.transient, self.fatal, self.retry_after = kind, transient, fatal, retry_after


class TeacherUnavailable(WizardCoderError):
    """The teacher failed too many requests in a row (down, or refusing us): stop, resume later."""


@dataclass
class Outcome:
    completion: Completion | None  # None: every try failed
    attempts: int
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    transient: bool = False  # the last failure was transient (leave the row for --resume)

    @property
    def ok(self) -> bool:
        return self.completion is not None


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def classify(exc: BaseException) -> TeacherError:
    """An OpenAI client exception as one of our three kinds."""
    if isinstance(exc, TeacherError):
        return exc
    refused = _os_cause(exc)
    if isinstance(exc, openai.APIConnectionError) and refused is not None:  # the aiohttp transport calls it a timeout
        if refused.errno == errno.ECONNREFUSED:
            return TeacherError("connection", "connection refused (is the server running, at that address?)")
        if (refused.errno or 0) < 0:  # getaddrinfo's codes
            return TeacherError("connection", "connection failed: cannot resolve the host name")
        return TeacherError("connection", f"connection failed: {os.strerror(refused.errno or 0).lower()}")
    if isinstance(exc, openai.APITimeoutError):
        return TeacherError("timeout", "request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return TeacherError("connection", f"connection failed: {exc.__cause__ or exc}")
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        detail = (getattr(exc, "message", "") or str(exc)).splitlines()[0][:200]
        if code in (408, 409, 429) or code >= 500:
            return TeacherError(str(code), detail, retry_after=_retry_after(exc.response.headers))
        if code in (401, 403, 404):
            return TeacherError(str(code), detail, transient=False, fatal=True)
        return TeacherError(str(code), detail, transient=False)
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError, ValueError, KeyError, TypeError,
                        AttributeError, IndexError)):
        return TeacherError("malformed", f"unreadable response: {type(exc).__name__}: {str(exc)[:120]}")
    raise exc


def _os_cause(exc: BaseException) -> OSError | None:
    """The socket error under a client exception (connection refused, no route, unknown host), if any."""
    seen = 0
    cur: BaseException | None = exc.__cause__ or exc.__context__
    while cur is not None and seen < 10:
        if isinstance(cur, OSError) and not isinstance(cur, TimeoutError) and cur.errno is not None:
            return cur
        for arg in getattr(cur, "args", ()):
            if isinstance(arg, OSError) and not isinstance(arg, TimeoutError) and arg.errno is not None:
                return arg
        cur, seen = cur.__cause__ or cur.__context__, seen + 1
    return None


class Backend:
    name = "teacher"

    async def complete(self, request: Request, params: SamplingParams) -> Completion:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def _http_client(timeout: float) -> Any:
    """aiohttp under the OpenAI client when installed (the ``openai[aiohttp]`` extra): measured ~25 % less
    CPU per request than the default httpx transport, which matters at hundreds of requests in flight."""
    try:
        from openai import DefaultAioHttpClient
    except ImportError:
        return None
    try:
        return DefaultAioHttpClient(timeout=timeout)
    except RuntimeError:  # the extra's packages are missing
        return None


class OpenAIBackend(Backend):
    """Chat endpoint for messages, text completions for prompts (the card's format)."""

    def __init__(self, ref: ModelRef, base_url: str, api_key: str, timeout: float) -> None:
        self.ref, self.base_url, self.name = ref, base_url.rstrip("/"), ref.location
        self.client = openai.AsyncOpenAI(base_url=self.base_url, api_key=api_key, timeout=timeout, max_retries=0,
                                         http_client=_http_client(timeout))

    async def complete(self, request: Request, params: SamplingParams) -> Completion:
        _, args = call_args(self.client, self.ref.location, self.ref, request, params)
        # The client's generic ``post``: the body goes out as built, without the per-call type-driven
        # transform of ``create`` (measured ~2 ms of CPU per request, half the client's cost).
        chat = "messages" in args
        resp = await self.client.post("/chat/completions" if chat else "/completions", body=args,
                                      cast_to=ChatCompletion if chat else TextCompletion)
        return to_completion(resp, params)

    async def aclose(self) -> None:
        await self.client.close()


class EngineBackend(Backend):
    """An in-process engine (llama.cpp, transformers, vLLM) shared by many concurrent asks.

    Requests are gathered into batches of up to ``batch`` with the same sampling settings and run
    in a worker thread, so the engine's own batching does the parallel work.
    """

    def __init__(self, engine: Engine, batch: int) -> None:
        self.engine, self.batch, self.name = engine, max(1, batch), engine.model_id or engine.name
        self._queue: list[tuple[Request, SamplingParams, asyncio.Future[Completion]]] = []
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._lock = threading.Lock()  # the engine is used by one thread at a time, and closed by none in use
        self._closing = False

    async def complete(self, request: Request, params: SamplingParams) -> Completion:
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())
        fut: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._queue.append((request, params, fut))
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(0)  # let the other asks of this tick join the batch
            self._wake.clear()
            while True:
                self._queue = [q for q in self._queue if not q[2].done()]  # asks cancelled meanwhile
                if not self._queue:
                    break
                params = self._queue[0][1]
                live = [q for q in self._queue if q[1] == params][: self.batch]
                for q in live:
                    self._queue.remove(q)
                try:
                    results = await asyncio.to_thread(self._generate, [q[0] for q in live], params)
                except Exception as exc:
                    for q in live:
                        if not q[2].done():
                            q[2].set_exception(TeacherError("engine", f"{type(exc).__name__}: {exc}", transient=False))
                    continue
                for (_, _, fut), comp in zip(live, results, strict=True):
                    if not fut.done():
                        fut.set_result(comp)

    def _generate(self, requests: list[Request], params: SamplingParams) -> list[Completion]:
        with self._lock:
            out: list[Completion | None] = [None] * len(requests)
            for i, comp in self.engine.generate(requests, params):
                out[i] = comp
                if self._closing:  # leaving the loop closes the generator: the engine stops decoding
                    break
            return [c or Completion("") for c in out]

    def _close(self) -> None:
        with self._lock:
            self.engine.close()

    async def aclose(self) -> None:
        self._closing = True
        if self._runner is not None:
            self._runner.cancel()
        await asyncio.to_thread(self._close)  # after the batch in flight lets go of the engine


class TeacherClient:
    """Retries, rate limits and a failure breaker around a backend."""

    def __init__(self, backend: Backend, policy: RetryPolicy, limiter: RateLimiter | None = None,
                 max_consecutive_failures: int = 20, seed: int = 0) -> None:
        self.backend, self.policy, self.limiter = backend, policy, limiter or RateLimiter()
        self.max_consecutive_failures = max_consecutive_failures
        self._failures_in_row = 0
        self._rng = random.Random(seed)

    @property
    def name(self) -> str:
        return self.backend.name

    async def ask(self, request: Request, params: SamplingParams, validate: Validator | None = None) -> Outcome:
        errors: list[str] = []
        start = time.monotonic()
        estimate = len(request.prompt or "".join(m["content"] for m in request.messages or ())) // 4 + 1
        last: TeacherError | None = None
        invalid = 0
        attempt = 0
        while True:
            await self.limiter.acquire(estimate)
            try:
                try:
                    comp = await self.backend.complete(request, params)
                except Exception as exc:
                    raise classify(exc) from None
                self.limiter.settle(estimate, (comp.prompt_tokens + comp.completion_tokens) or estimate)
                problem = validate(comp.text) if validate else None
                if problem:
                    raise TeacherError("invalid", problem, transient=False)
            except TeacherError as err:
                if err.fatal:
                    raise WizardCoderError(f"teacher {self.backend.name}: {err.kind} {err}") from None
                errors.append(f"{err.kind}: {err}"[:300])
                last = err
                if err.kind == "invalid":
                    # The model answered, but not usably: ask again at once, differently (another seed; sampled
                    # if it was greedy, which would only repeat itself), a few times at most.
                    invalid += 1
                    if invalid > self.policy.invalid_retries:
                        break
                    seed = (request.seed if request.seed is not None else params.seed or 0) + 1
                    request = replace(request, seed=seed)
                    params = replace(params, temperature=params.temperature or 0.7)
                    continue
                attempt += 1
                if not err.transient or attempt > self.policy.retries:
                    break
                await asyncio.sleep(self.policy.delay(attempt - 1, err.retry_after, self._rng))
                continue
            self._failures_in_row = 0
            return Outcome(comp, len(errors) + 1, errors, time.monotonic() - start)
        assert last is not None
        transient = last.transient
        if transient:
            self._failures_in_row += 1
            if self._failures_in_row >= self.max_consecutive_failures:
                raise TeacherUnavailable(
                    f"teacher {self.backend.name}: {self._failures_in_row} requests in a row failed after "
                    f"{self.policy.retries} retries (last: {errors[-1]}); fix it and run again with --resume")
        return Outcome(None, len(errors), errors, time.monotonic() - start, transient)

    async def aclose(self) -> None:
        await self.backend.aclose()
