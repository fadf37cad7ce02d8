"""Pacing the teacher: retry backoff with jitter, and requests/tokens-per-minute budgets."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 6  # tries after the first
    base: float = 1.0  # seconds before the first retry (doubles each time)
    cap: float = 60.0
    invalid_retries: int = 2  # re-asks of a model whose reply is unusable (no backoff: nothing is overloaded)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Exponential backoff with equal jitter; a server's Retry-After is a floor, never shortened."""
        step = min(self.cap, self.base * (2 ** attempt))
        wait = step / 2 + rng.uniform(0, step / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, 10 * self.cap))
        return wait


class RateLimiter:
    """Token buckets for requests and tokens per minute, refilled continuously.

    Each bucket holds one second's budget, so requests are spread evenly and no window of a minute
    sees more than the limit plus one second's worth. Tokens are reserved from an estimate before the request and settled with
    the real usage after it (the bucket may go into debt, which delays the next requests).
    """

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._req_cap = max(1.0, rpm / 60) if rpm else 0.0
        self._tok_cap = max(1.0, tpm / 60) if tpm else 0.0
        self._req, self._tok = self._req_cap, self._tok_cap
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return bool(self.rpm or self.tpm)

    def _refill(self) -> None:
        now = time.monotonic()
        dt, self._stamp = now - self._stamp, now
        if self.rpm:
            self._req = min(self._req_cap, self._req + dt * self.rpm / 60)
        if self.tpm:
            self._tok = min(self._tok_cap, self._tok + dt * self.tpm / 60)

    async def acquire(self, tokens: int) -> None:
        if not self.active:
            return
        need_tok = min(float(tokens), self._tok_cap)  # a request bigger than the bucket waits for a full one
        async with self._lock:  # first come, first served
            while True:
                self._refill()
                waits = []
                if self.rpm and self._req < 1:
                    waits.append((1 - self._req) * 60 / self.rpm)
                if self.tpm and self._tok < need_tok:
                    waits.append((need_tok - self._tok) * 60 / self.tpm)
                if not waits:
                    break
                await asyncio.sleep(max(waits))
            if self.rpm:
                self._req -= 1
            if self.tpm:
                self._tok -= tokens

    def settle(self, reserved: int, used: int) -> None:
        if self.tpm:
            self._tok -= used - reserved
