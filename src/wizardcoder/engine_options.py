"""The model / engine / sampling options shared by every command that runs a model.

Declared once and added to each command's signature by :func:`with_engine_options`, so
``generate``, ``chat``, ``serve``, ``demo`` and ``eval`` accept the same flags with the same help.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import Enum
from typing import Annotated, Any

import typer

from wizardcoder.errors import WizardCoderError

PANEL = "Model and engine"
SAMPLING = "Sampling"


class EngineName(str, Enum):
    llamacpp = "llamacpp"
    transformers = "transformers"
    vllm = "vllm"
    openai = "openai"


class PromptFormat(str, Enum):
    auto = "auto"
    wizardcoder = "wizardcoder"
    chat = "chat"
    raw = "raw"


@dataclass
class EngineArgs:
    model: Annotated[str, typer.Option(
        "--model", "-m", rich_help_panel=PANEL,
        help="'default' (the embedded SmolLM2-135M-Instruct GGUF), a .gguf file, a model directory, a hub id, "
             "a WizardCoder name (`wizardcoder models`), or with --base-url the name the server serves.")] = "default"
    engine: Annotated[EngineName | None, typer.Option(
        rich_help_panel=PANEL, help="Default: llamacpp for GGUF, transformers for directories and hub ids, "
                                    "openai with --base-url.")] = None
    base_url: Annotated[str | None, typer.Option(
        rich_help_panel=PANEL, help="An OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")] = None
    api_key_env: Annotated[str, typer.Option(
        rich_help_panel=PANEL, help="Environment variable holding the server's API key.")] = "OPENAI_API_KEY"
    prompt_format: Annotated[PromptFormat, typer.Option(
        rich_help_panel=PANEL, help="wizardcoder: the card's template; chat: the model's own chat template; raw: "
                                    "as written; auto: the registry's choice (chat for the default model).")] = PromptFormat.auto
    max_tokens: Annotated[int, typer.Option(min=1, rich_help_panel=SAMPLING, help="New tokens at most.")] = 2048
    temperature: Annotated[float, typer.Option(min=0.0, rich_help_panel=SAMPLING, help="0 = greedy.")] = 0.0
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0, rich_help_panel=SAMPLING)] = 1.0
    stop: Annotated[list[str] | None, typer.Option(
        rich_help_panel=SAMPLING, help="Extra stop string (repeatable); the family's stop token is always used.")] = None
    seed: Annotated[int | None, typer.Option(rich_help_panel=SAMPLING, help="Sampling seed.")] = None
    n_ctx: Annotated[int | None, typer.Option(
        min=16, rich_help_panel=PANEL, help="llama.cpp: context per sequence (default min(model, 4096)).")] = None
    parallel: Annotated[int, typer.Option(
        min=1, rich_help_panel=PANEL, help="llama.cpp: sequences decoded together.")] = 8
    threads: Annotated[int | None, typer.Option(min=1, rich_help_panel=PANEL, help="CPU threads (llama.cpp, torch).")] = None
    batch_size: Annotated[int, typer.Option(min=1, rich_help_panel=PANEL, help="transformers: prompts per batch.")] = 8
    device: Annotated[str | None, typer.Option(rich_help_panel=PANEL, help="transformers: cpu, cuda, cuda:1 ...")] = None
    concurrency: Annotated[int, typer.Option(min=1, rich_help_panel=PANEL, help="openai: requests in flight.")] = 8
    timeout: Annotated[float, typer.Option(min=1.0, rich_help_panel=PANEL, help="openai: seconds per request.")] = 600.0
    retries: Annotated[int, typer.Option(min=0, rich_help_panel=PANEL, help="openai: retries (exponential backoff, "
                                         "Retry-After honoured) on connection errors, 408, 409, 429 and 5xx.")] = 5

    def __post_init__(self) -> None:
        from wizardcoder.settings import check_number

        check_number("max_tokens", self.max_tokens, ge=1, integer=True)
        check_number("temperature", self.temperature, ge=0)
        check_number("top_p", self.top_p, ge=0, le=1)
        check_number("seed", self.seed, ge=0, integer=True, optional=True)
        check_number("n_ctx", self.n_ctx, ge=16, integer=True, optional=True)
        check_number("threads", self.threads, ge=1, integer=True, optional=True)
        for name in ("parallel", "batch_size", "concurrency"):
            check_number(name, getattr(self, name), ge=1, integer=True)
        check_number("timeout", self.timeout, gt=0)
        check_number("retries", self.retries, ge=0, integer=True)

    def resolve(self) -> Any:
        from wizardcoder.engines import resolve_model

        return resolve_model(self.model, self.engine.value if self.engine else None, self.base_url)

    def engine_for(self, ref: Any) -> str:
        """``--engine``, else the natural engine of the model kind."""
        return self.engine.value if self.engine else ref.default_engine()

    def open(self, ref: Any | None = None) -> Any:
        """Load the engine for ``ref`` (default: resolve ``--model``)."""
        from wizardcoder.engines import load_engine

        ref = ref or self.resolve()
        return load_engine(ref, self.engine_for(ref), n_ctx=self.n_ctx, parallel=self.parallel, threads=self.threads,
                           batch_size=self.batch_size, device=self.device, base_url=self.base_url,
                           api_key_env=self.api_key_env, concurrency=self.concurrency, timeout=self.timeout,
                           max_retries=self.retries)

    def prompt_format_for(self, ref: Any) -> str:
        from wizardcoder.prompting.formats import resolve_format

        return resolve_format(self.prompt_format.value, ref.card)

    def sampling(self, ref: Any) -> Any:
        from wizardcoder.engines import SamplingParams
        from wizardcoder.prompting.formats import default_stops

        if self.temperature > 0 and self.top_p == 0:
            raise WizardCoderError("--top-p 0 keeps no tokens; use --temperature 0 for greedy decoding")
        stops = tuple(dict.fromkeys((*default_stops(ref.card), *(self.stop or []))))
        return SamplingParams(self.max_tokens, self.temperature, self.top_p, stops, self.seed)


def with_engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the shared options; it receives them as ``eng: EngineArgs``."""
    hints = typing.get_type_hints(func, include_extras=True)
    own = [p.replace(annotation=hints.get(p.name, p.annotation))
           for p in inspect.signature(func).parameters.values() if p.name != "eng"]
    arg_hints = typing.get_type_hints(EngineArgs, include_extras=True)
    shared = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=arg_hints[f.name])
              for f in fields(EngineArgs)]
    names = [f.name for f in fields(EngineArgs)]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        eng = EngineArgs(**{n: kwargs.pop(n) for n in names})
        return func(eng=eng, **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # typer must see the combined signature, not the original
    return wrapper
