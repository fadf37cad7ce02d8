"""The one interface every engine offers: batch generation and streaming.

Prompts reach an engine either as text (the card's template already applied, or raw) or as chat
messages (rendered by the model's own chat template, or sent to a chat endpoint). Engines stop on
the model's end-of-generation tokens *and* on the stop strings in :class:`SamplingParams`,
matched on text (see :mod:`wizardcoder.prompting.stops`), which are trimmed from the output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from wizardcoder.prompting.repetition import repetition_cut
from wizardcoder.prompting.request import Message, Request
from wizardcoder.settings import check_fields, setting

if TYPE_CHECKING:
    from wizardcoder.engines.resolve import ModelRef

__all__ = ["Completion", "Engine", "FinishReason", "Message", "Request", "SamplingParams", "cut_looping"]
FinishReason = Literal["stop", "length", "repetition"]


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = setting(2048, ge=1, integer=True)
    temperature: float = setting(0.0, ge=0.0)  # 0: greedy
    top_p: float = setting(1.0, ge=0.0, le=1.0)
    stop: tuple[str, ...] = ()
    seed: int | None = setting(None, ge=0, integer=True)
    # End once the first python code block is closed (lossless for the WizardCoder post-processing).
    stop_after_code: bool = False
    # End an answer once its tail loops (wizardcoder.prompting.repetition), as finish_reason "repetition".
    repetition_stop: bool = setting(False, since="0.2")

    def __post_init__(self) -> None:
        check_fields(self)

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass
class Completion:
    text: str
    finish_reason: FinishReason = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warnings: list[str] = field(default_factory=list)


def cut_looping(text: str, reason: FinishReason, params: SamplingParams) -> tuple[str, FinishReason]:
    """For engines that get whole answers (a server's, vLLM's): the answer the repetition check would
    have ended, so every engine returns the same text (the tokens are spent already)."""
    if params.repetition_stop and (end := repetition_cut(text)) is not None:
        return text[:end], "repetition"
    return text, reason


class Engine(ABC):
    """A loaded model (or a connection to one)."""

    name: str = "engine"
    model_id: str = ""
    # Requests decoded together (llama.cpp --parallel, transformers --batch-size) where an answer
    # depends on which requests share its batch; None where the batching is not ours (a server's,
    # vLLM's scheduler). Reproducible batch runs (engines.batch) cut their requests into chunks of it.
    batch_width: int | None = None
    setup: str = ""  # how the engine placed itself (threads, batch), printed when a job starts
    share_prompts: bool = False  # n samples of one prompt decode it once (llama.cpp)
    prompt_computed: int | None = None  # prompt tokens decoded so far, where the engine counts them

    @classmethod
    @abstractmethod
    def load(cls, ref: ModelRef, **options: Any) -> Engine:
        """Load the model; options this engine does not know are ignored."""

    @abstractmethod
    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        """Completions as they finish, each with the index of its request (any order)."""

    @abstractmethod
    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        """Text pieces of one completion as they are decoded (stop strings never shown).

        Closing the iterator early (``.close()``, or ``break`` in a for loop) stops decoding.
        """

    def close(self) -> None:  # noqa: B027 - most engines hold nothing to release
        """Release the model or connection."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
