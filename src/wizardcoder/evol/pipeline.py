"""Code Evol-Instruct rounds: evolve, eliminate, answer; every step recorded in the run state.

Each pool slot (one per seed) evolves on its own: in round ``r`` its current instruction gets one
method (drawn from the weights with a generator seeded by the run seed and the row id, so a
resumed run draws the same), the teacher rewrites it, the free checks run, the teacher judges
parent vs child, the teacher answers, the answer checks run. An accepted child is the slot's
instruction for round ``r + 1``; a failed one leaves the parent in the pool (as in the paper).
Slots are independent, so ``concurrency`` workers keep that many requests in flight with no
barrier between rounds; the result is the same as evolving the whole pool round by round.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from wizardcoder.engines.base import Completion, SamplingParams
from wizardcoder.evol.config import EvolveConfig
from wizardcoder.evol.filters import check_answer, check_instruction
from wizardcoder.evol.prompts import (
    clean_evolved,
    evolve_prompt,
    judge_prompt,
    parse_judgement,
    task_text,
)
from wizardcoder.evol.state import RequestRecord, Row, Store, child_id
from wizardcoder.evol.teacher import Outcome, TeacherClient, Validator
from wizardcoder.prompting.formats import make_request

JUDGE_MAX_TOKENS = 24


@dataclass
class RunCounts:
    """What a run did (this process), for progress and the closing summary."""

    decided: Counter[int] = field(default_factory=Counter)  # slots decided per round
    accepted: Counter[int] = field(default_factory=Counter)
    answered: Counter[int] = field(default_factory=Counter)  # rows the teacher answered (accepted or not)
    reasons: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    reused: int = 0  # finished before a restart: taken from the state, not sent again
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    tokens: int = 0
    unfinished: int = 0  # slots left for --resume after transient failures
    last_error: str = ""  # the last failed attempt's error, as the teacher client worded it


def _nonempty(text: str) -> str | None:
    return None if text.strip() else "empty reply"


def _evolved_ok(text: str) -> str | None:
    return None if clean_evolved(text) else "empty evolved task"


def _judgement_ok(text: str) -> str | None:
    return None if parse_judgement(text) is not None else f"judgement neither Equal nor Not Equal: {text.strip()[:60]!r}"


class Evolver:
    def __init__(self, store: Store, teacher: TeacherClient, cfg: EvolveConfig,
                 on_event: Callable[[Row | None, RunCounts], None] | None = None) -> None:
        self.store, self.teacher, self.cfg = store, teacher, cfg
        self.counts = RunCounts()
        self.on_event = on_event or (lambda row, counts: None)
        self._reuse = store.done_requests()
        self._judge = SamplingParams(max_tokens=JUDGE_MAX_TOKENS, temperature=0.0, stop=cfg.sampling.stop)

    def pending(self) -> list[tuple[Row, int]]:
        """(current parent, last decided round) of every slot with rounds still to run."""
        return [(parent, last) for _, (parent, last) in sorted(self.store.frontier().items()) if last < self.cfg.rounds]

    async def run(self) -> RunCounts:
        todo = self.pending()
        queue = iter(todo)

        async def worker() -> None:
            for parent, last in queue:
                await self._slot(parent, last)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.cfg.concurrency, len(todo))):
                group.create_task(worker())
        return self.counts

    async def _slot(self, parent: Row, last: int) -> None:
        for rnd in range(last + 1, self.cfg.rounds + 1):
            row = await self._evolve(parent, rnd)
            if row is None:
                self.counts.unfinished += 1
                self.on_event(None, self.counts)
                return
            self.store.add_row(row)
            self.counts.decided[rnd] += 1
            if row.status == "accepted":
                self.counts.accepted[rnd] += 1
                parent = row
            else:
                self.counts.reasons[row.reason or "?"] += 1
            self.on_event(row, self.counts)

    async def _ask(self, row_id: str, kind: str, content: str, params: SamplingParams,
                   validate: Validator) -> tuple[Completion | None, Outcome | None]:
        """The teacher's reply (reused from the state when it finished before) and how the asking went."""
        key = f"{row_id}:{kind}"
        rec = self._reuse.pop(key, None)
        if rec is not None:
            self.counts.reused += 1
            reused = Completion(rec.response or "", rec.finish_reason or "stop", rec.prompt_tokens, rec.completion_tokens)
            return reused, None
        request = make_request(content, self.cfg.prompt_format, seed=self.cfg.request_seed(key))
        out = await self.teacher.ask(request, params, validate)
        comp = out.completion
        self.counts.requests += 1
        for err in out.errors:
            self.counts.errors[err.split(":", 1)[0]] += 1
            self.counts.last_error = err
        self.store.put_request(RequestRecord(
            key, row_id, kind, "done" if comp else "failed", comp.text if comp else None,
            comp.finish_reason if comp else None, comp.prompt_tokens if comp else 0, comp.completion_tokens if comp else 0,
            out.attempts, out.errors, out.seconds, time.time()))
        if comp is None:
            self.counts.failed += 1
            return None, out
        self.counts.tokens += comp.prompt_tokens + comp.completion_tokens
        return comp, out

    async def _evolve(self, parent: Row, rnd: int) -> Row | None:
        """Round ``rnd`` of ``parent``'s slot, decided; None if the teacher could not be reached."""
        cfg, filters = self.cfg, self.cfg.filters
        rid = child_id(parent.slot, rnd)
        method = cfg.method_for(rid)
        task = task_text(parent.instruction, parent.input)
        row = Row(rid, parent.slot, rnd, "", status="eliminated", parent_id=parent.id, method=method.name,
                  teacher=self.teacher.name)

        def spend(comp: Completion) -> None:
            row.prompt_tokens += comp.prompt_tokens
            row.completion_tokens += comp.completion_tokens

        def failed(out: Outcome | None, what: str) -> Row | None:
            if out is not None and out.transient:
                return None
            row.reason = "unusable_reply" if out and out.errors and out.errors[-1].startswith("invalid") else "teacher_error"
            row.detail = f"{what}: {out.errors[-1] if out and out.errors else 'no reply'}"
            return row

        comp, out = await self._ask(rid, "evolve", evolve_prompt(method, task), cfg.sampling, _evolved_ok)
        if comp is None:
            return failed(out, "evolve")
        spend(comp)
        row.instruction = clean_evolved(comp.text)
        if comp.finish_reason in ("length", "repetition") and filters.on("length"):
            row.reason, row.detail = "truncated", ("evolved task looped" if comp.finish_reason == "repetition"
                                                   else "evolved task cut at the token limit")
            return row
        verdict = check_instruction(row.instruction, task, filters)
        if verdict:
            row.reason, row.detail = verdict
            return row
        if filters.on("no_gain") and filters.judge_gain:
            comp, out = await self._ask(rid, "judge", judge_prompt(task, row.instruction), self._judge,
                                              _judgement_ok)
            if comp is None:
                return failed(out, "judge")
            spend(comp)
            if parse_judgement(comp.text):
                row.reason, row.detail = "no_gain", f"teacher judged {comp.text.strip()[:40]!r}"
                return row
        comp, out = await self._ask(rid, "answer", row.instruction, cfg.sampling, _nonempty)
        if comp is None:
            return failed(out, "answer")
        spend(comp)
        self.counts.answered[rnd] += 1
        row.output = comp.text.strip()
        verdict = check_answer(comp.text, comp.finish_reason, filters)
        if verdict:
            row.reason, row.detail = verdict
            return row
        row.status = "accepted"
        return row
