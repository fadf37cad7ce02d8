"""Code Evol-Instruct: grow a code instruction dataset from seeds with a teacher LLM.

seeds -> :mod:`pipeline` (evolve / judge / answer against :mod:`teacher`, state in :mod:`state`)
-> :mod:`export` (dedup, decontamination, JSONL + Alpaca JSON) -> :mod:`stats`.

Importing this package registers the dry-run teacher ``fake`` (:mod:`dry_run`) with the engines'
resolver, so ``--teacher fake`` resolves to an in-process engine while the engines layer knows
nothing of evol; its module loads only when the engine is opened.
"""

from __future__ import annotations

from typing import Any

from wizardcoder.engines.base import Engine
from wizardcoder.engines.resolve import ModelRef, register_builtin


def _load_fake_teacher(ref: ModelRef, **options: Any) -> Engine:
    from wizardcoder.evol.dry_run import FakeTeacherEngine

    return FakeTeacherEngine.load(ref, **options)


register_builtin("fake", _load_fake_teacher)
