"""The dry-run teacher over HTTP, with injected faults: a fake OpenAI-compatible server on loopback.

Test and benchmark support (:mod:`wizardcoder.testing`). It stands in for a remote teacher in the
fault-injection tests and the throughput benchmark of the Code Evol-Instruct pipeline; a dry run of
``wizardcoder evolve`` needs no server (``--teacher fake`` runs the same answers in process).
Standard library only (asyncio streams and a minimal HTTP/1.1 with keep-alive and Content-Length
bodies), and little work per request, so that on a small machine a benchmark measures our client's
overhead, not the server's.

Invariants: answers are :func:`wizardcoder.evol.dry_run.reply` to the request's text, the very
function the in-process engine uses, so a run against this server and one with ``--teacher fake``
write the same rows; they depend on the prompt text only (never on the seed or on timing), so an
interrupted run and a clean one get the same answers. Faults (429, 500, hangs, garbage bodies) are
drawn per request from their own ``random.Random(fault_seed)``, independently of the prompt.
``GET /stats`` counts what was received, including a count per prompt (sha1 of its text) so a crash
test can check that no finished request was sent again.

Run it: ``python -m wizardcoder.testing.fault_server --port 0 --latency 0.2 --capacity 16 --rate-429 0.1``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from wizardcoder.evol.dry_run import chat_text, count_tokens, prompt_kind, reply

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
            429: "Too Many Requests", 500: "Internal Server Error"}
_GARBAGE = (b'{"id": "chatcmpl-garbage", "object": "chat.completion", "choices": [{"index": 0, "message": {"ro',
            b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>")


def _error(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class _BadRequest(Exception):
    pass


class FakeTeacher:
    """The server. Build it, ``await start()``, send requests to :attr:`base_url`, ``await stop()``.

    Each completion request waits for one of ``capacity`` slots (0: no limit) and holds it for
    ``latency`` seconds, so throughput is at most capacity / latency, like a real server. A 429 is
    answered at once and a hang holds no slot (as a rate limiter and a lost request would); a 500
    and a garbage body take their slot and latency like a normal answer.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0, capacity: int = 0,
                 rate_429: float = 0.0, rate_500: float = 0.0, rate_hang: float = 0.0, rate_garbage: float = 0.0,
                 retry_after: float = 0.05, fault_seed: int = 0, model: str = "fake-teacher") -> None:
        if min(rate_429, rate_500, rate_hang, rate_garbage) < 0 or rate_429 + rate_500 + rate_hang + rate_garbage > 1:
            raise ValueError("fault rates must be fractions that add up to at most 1")
        self.host, self._port, self.latency, self.capacity = host, port, latency, capacity
        self.rate_429, self.rate_500, self.rate_hang, self.rate_garbage = rate_429, rate_500, rate_hang, rate_garbage
        self.retry_after, self.fault_seed, self.model = retry_after, fault_seed, model
        self._rng = random.Random(fault_seed)
        self._sem: asyncio.Semaphore | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._next_id = 0
        self._garbage_sent = 0
        self.reset()

    # -- counters ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Zero the counters (``POST /reset``); the fault sequence goes on where it was."""
        self._requests = 0
        self._completed = 0
        self._by_kind: dict[str, int] = {"evolve": 0, "judge": 0, "answer": 0}
        self._faults: dict[str, int] = {"429": 0, "500": 0, "hang": 0, "garbage": 0}
        self._prompts: dict[str, int] = {}

    def stats(self) -> dict[str, Any]:
        """What was received: completion requests, by prompt kind, faults, completed, per prompt sha1.

        Safe to call from another thread: dict copies are atomic under the GIL.
        """
        return {"requests": self._requests, "by_kind": self._by_kind.copy(), "faults": self._faults.copy(),
                "completed": self._completed, "prompts": self._prompts.copy()}

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the fake teacher is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> None:
        self._closing = False
        self._sem = asyncio.Semaphore(self.capacity) if self.capacity > 0 else None
        self._server = await asyncio.start_server(self._handle, self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection (hung requests included)."""
        if self._server is None:
            return
        self._closing = True
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if self._closing or task is None:
            writer.close()
            return
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    writer.write(_response(400, _error("malformed request line", "invalid_request_error"), False))
                    return
                method, target, version = parts
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    writer.write(_response(411, _error("send a Content-Length body", "invalid_request_error"), False))
                    return
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                conn = headers.get("connection", "").lower()
                keep = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
                try:
                    reply = await self._route(method, target.partition("?")[0], body, reader, keep)
                except Exception as exc:  # a bug here must not look like a hang to the client
                    keep = False
                    reply = _response(500, _error(f"fake teacher failed: {exc!r}", "server_error"), keep)
                if reply is None:  # a hang, ended by the client going away
                    return
                writer.write(reply)
                await writer.drain()
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # a client that went away or spoke nonsense: nothing to report
        except asyncio.CancelledError:
            pass  # stop(); re-raising makes Python 3.11's stream callback log a traceback
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _route(self, method: str, path: str, body: bytes, reader: asyncio.StreamReader, keep: bool) -> bytes | None:
        path = path.rstrip("/")
        if path in ("/v1/chat/completions", "/v1/completions", "/chat/completions", "/completions"):
            if method != "POST":
                return _response(405, _error("use POST", "invalid_request_error"), keep)
            return await self._complete(path.endswith("chat/completions"), body, reader, keep)
        if path in ("/v1/models", "/models") and method == "GET":
            return _response(200, {"object": "list", "data": [
                {"id": self.model, "object": "model", "created": 0, "owned_by": "wizardcoder"}]}, keep)
        if path == "/stats" and method == "GET":
            return _response(200, self.stats(), keep)
        if path == "/reset" and method == "POST":
            self.reset()
            return _response(200, {"ok": True}, keep)
        return _response(404, _error(f"no route {method} {path}", "invalid_request_error"), keep)

    async def _complete(self, chat: bool, body: bytes, reader: asyncio.StreamReader, keep: bool) -> bytes | None:
        self._requests += 1
        try:
            req = json.loads(body)
            if not isinstance(req, dict):
                raise _BadRequest("the body must be a JSON object")
            if req.get("stream"):
                raise _BadRequest("streaming is not supported by the fake teacher")
            if chat:
                messages = req.get("messages")
                if not isinstance(messages, list) or not messages:
                    raise _BadRequest("messages must be a non-empty list")
                texts = [chat_text(messages)]
            else:
                prompt = req.get("prompt")
                prompts = [prompt] if isinstance(prompt, str) else prompt
                if not isinstance(prompts, list) or not prompts or not all(isinstance(t, str) for t in prompts):
                    raise _BadRequest("prompt must be a string or a list of strings")
                texts = prompts
            max_tokens = req.get("max_completion_tokens", req.get("max_tokens")) if chat else req.get("max_tokens")
            if max_tokens is not None and not isinstance(max_tokens, int):
                raise _BadRequest("max_tokens must be an integer")
            stop = req.get("stop") or []
            stop = [stop] if isinstance(stop, str) else stop
            if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
                raise _BadRequest("stop must be a string or a list of strings")
        except (ValueError, _BadRequest, AttributeError, TypeError) as exc:
            return _response(400, _error(str(exc), "invalid_request_error"), keep)

        for text in texts:
            digest = hashlib.sha1(text.encode()).hexdigest()
            self._prompts[digest] = self._prompts.get(digest, 0) + 1
            kind = prompt_kind(text)
            self._by_kind[kind] = self._by_kind.get(kind, 0) + 1

        fault = self._draw_fault()
        if fault == "429":
            return _response(429, _error("Rate limit reached (fake teacher).", "requests", "rate_limit_exceeded"), keep,
                             f"Retry-After: {self.retry_after:g}\r\n")
        if fault == "hang":
            while await reader.read(65536):  # until the client disconnects (or stop() cancels us)
                pass
            return None

        if self._sem is not None:
            async with self._sem:
                if self.latency > 0:
                    await asyncio.sleep(self.latency)
        elif self.latency > 0:
            await asyncio.sleep(self.latency)

        if fault == "500":
            return _response(500, _error("The server had an error (fake teacher).", "server_error"), keep)
        if fault == "garbage":  # alternately truncated JSON and an HTML page, both with status 200
            raw = _GARBAGE[self._garbage_sent % 2]
            self._garbage_sent += 1
            ctype = "application/json" if raw.startswith(b"{") else "text/html"
            return _raw_response(200, raw, keep, ctype)

        self._next_id += 1
        choices = []
        prompt_tokens = completion_tokens = 0
        for i, text in enumerate(texts):
            out, finish = reply(text, max_tokens, stop)
            prompt_tokens += count_tokens(text)
            completion_tokens += count_tokens(out)
            if chat:
                choices.append({"index": i, "message": {"role": "assistant", "content": out}, "logprobs": None,
                                "finish_reason": finish})
            else:
                choices.append({"index": i, "text": out, "logprobs": None, "finish_reason": finish})
        self._completed += 1
        return _response(200, {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-fake{self._next_id}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": req.get("model") or self.model,
            "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }, keep)

    def _draw_fault(self) -> str | None:
        if not (self.rate_429 or self.rate_500 or self.rate_hang or self.rate_garbage):
            return None
        r = self._rng.random()
        for name, rate in (("429", self.rate_429), ("500", self.rate_500), ("hang", self.rate_hang),
                           ("garbage", self.rate_garbage)):
            if r < rate:
                self._faults[name] += 1
                return name
            r -= rate
        return None


def _raw_response(status: int, body: bytes, keep: bool, ctype: str = "application/json", extra: str = "") -> bytes:
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: {'keep-alive' if keep else 'close'}\r\n\r\n")
    return head.encode("latin-1") + body


def _response(status: int, payload: Any, keep: bool, extra: str = "") -> bytes:
    return _raw_response(status, json.dumps(payload).encode(), keep, "application/json", extra)


def serve_in_thread(**kwargs: Any) -> tuple[FakeTeacher, Callable[[], None]]:
    """A started :class:`FakeTeacher` on its own event loop in a daemon thread, and a function that stops it.

    For synchronous tests and benchmarks: the caller's own loop (if any) stays free.
    """
    teacher = FakeTeacher(**kwargs)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(teacher.start())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="fake-teacher", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        raise failure[0]

    def stop() -> None:
        if not thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(teacher.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    return teacher, stop


async def _serve(args: argparse.Namespace) -> None:
    teacher = FakeTeacher(host=args.host, port=args.port, latency=args.latency, capacity=args.capacity,
                          rate_429=args.rate_429, rate_500=args.rate_500, rate_hang=args.rate_hang,
                          rate_garbage=args.rate_garbage, retry_after=args.retry_after, fault_seed=args.fault_seed,
                          model=args.model)
    await teacher.start()
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    print(f"listening on {teacher.base_url}", flush=True)
    await done.wait()
    await teacher.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or SIGINT."""
    p = argparse.ArgumentParser(prog="python -m wizardcoder.testing.fault_server", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0: a free one")
    p.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    p.add_argument("--capacity", type=int, default=0, help="requests served at once (0: unlimited)")
    for fault in ("429", "500", "hang", "garbage"):
        p.add_argument(f"--rate-{fault}", type=float, default=0.0, help=f"fraction of requests that get {fault}")
    p.add_argument("--retry-after", type=float, default=0.05, help="Retry-After seconds on a 429")
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--model", default="fake-teacher")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(p.parse_args(argv)))


if __name__ == "__main__":
    main()
