"""Which model, on which engine, and how to sample from it: the settings every model-running
command shares (``generate``, ``eval --model``, ``chat``, ``serve``, ``demo``, and ``evolve``'s teacher).

Plain data, no CLI: each field declares its default, help and bounds once (``settings.setting``);
the command line derives its flags from them (``wizardcoder.cli._options``) and a Python caller
builds the same object, with the same checks, e.g. ``EngineSpec(model="x.gguf", max_tokens=512)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.settings import check_choice, check_fields, setting

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
class EngineSpec:
    model: str = setting(
        "default", "--model", "-m", panel=PANEL,
        help="'default' (the embedded SmolLM2-135M-Instruct GGUF), a .gguf file, a model directory, a hub id, "
             "a WizardCoder name (`wizardcoder models`), or with --base-url the name the server serves.")
    engine: EngineName | None = setting(None, panel=PANEL, help="Default: llamacpp for GGUF, transformers for "
                                        "directories and hub ids, openai with --base-url.")
    base_url: str | None = setting(None, panel=PANEL, help="An OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
    api_key_env: str = setting("OPENAI_API_KEY", panel=PANEL, help="Environment variable holding the server's API key.")
    prompt_format: PromptFormat = setting(
        PromptFormat.auto, panel=PANEL, help="wizardcoder: the card's template; chat: the model's own chat template; "
        "raw: as written; auto: the registry's choice (chat for the default model).")
    max_tokens: int = setting(2048, ge=1, integer=True, panel=SAMPLING, help="New tokens at most.")
    temperature: float = setting(0.0, ge=0.0, panel=SAMPLING, help="0 = greedy.")
    top_p: float = setting(1.0, ge=0.0, le=1.0, panel=SAMPLING)
    stop: list[str] | None = setting(None, panel=SAMPLING, help="Extra stop string (repeatable); the family's stop "
                                     "token is always used.")
    seed: int | None = setting(None, ge=0, integer=True, panel=SAMPLING, help="Sampling seed.")
    repetition_stop: bool = setting(
        True, "--repetition-stop/--no-repetition-stop", panel=SAMPLING, since="0.2", before=False,
        help="End an answer once its tail loops (a block of text repeated, numbers aside): finish_reason "
             "'repetition'. On full HumanEval and MBPP+ runs of the default model and Qwen2.5-Coder-0.5B it "
             "moved no verdict (bench/RESULTS.md); --no-repetition-stop decodes loops to the limit.")
    n_ctx: int | None = setting(None, ge=16, integer=True, panel=PANEL,
                                help="llama.cpp: context per sequence (default min(model, 4096)).")
    parallel: int = setting(8, ge=1, integer=True, panel=PANEL, help="llama.cpp: sequences decoded together.")
    reencode: str | None = setting(
        None, panel=PANEL, since="0.2", choices=("f16", "q8_0"),
        help="llama.cpp: run a cached re-encoding of the GGUF (made once, in a second), for quantizations "
             "without fast CPU kernels (the default model's Q4_1: about 1.4x generation, 2x prompt speed).")
    threads: int | None = setting(None, ge=1, integer=True, panel=PANEL, help="CPU threads (llama.cpp, torch).")
    batch_size: int = setting(8, ge=1, integer=True, panel=PANEL, help="transformers: prompts per batch.")
    device: str | None = setting(None, panel=PANEL, help="transformers: cpu, cuda, cuda:1 ...")
    concurrency: int = setting(8, ge=1, integer=True, panel=PANEL, help="openai: requests in flight.")
    timeout: float = setting(600.0, ge=0.1, panel=PANEL, help="openai: seconds per request.")
    retries: int = setting(5, ge=0, integer=True, panel=PANEL, help="openai: retries (exponential backoff, "
                           "Retry-After honoured) on connection errors, 408, 409, 429 and 5xx.")

    def __post_init__(self) -> None:
        for name, kind in (("engine", EngineName), ("prompt_format", PromptFormat)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                try:
                    setattr(self, name, kind(value))
                except ValueError:
                    raise WizardCoderError(f"{name} (--{name.replace('_', '-')}) must be one of "
                                           f"{', '.join(k.value for k in kind)}, got {value!r}") from None
        if self.reencode is not None:
            check_choice("reencode", self.reencode, ("f16", "q8_0"))
        check_fields(self)

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
                           reencode=self.reencode,
                           batch_size=self.batch_size, device=self.device, base_url=self.base_url,
                           api_key_env=self.api_key_env, concurrency=self.concurrency, timeout=self.timeout,
                           max_retries=self.retries)

    def run_info(self, ref: Any, prompt_format: str) -> dict[str, Any]:
        """What a generation run records of the model, so a resume with other weights is refused (the
        re-encoding only when asked for: runs made before it existed resume as they did)."""
        info = {"model": ref.location, "engine": self.engine_for(ref), "prompt_format": prompt_format}
        return {**info, "reencode": self.reencode} if self.reencode else info

    def prompt_format_for(self, ref: Any) -> str:
        from wizardcoder.prompting.formats import resolve_format

        return resolve_format(self.prompt_format.value, ref.card)

    def sampling(self, ref: Any) -> Any:
        from wizardcoder.engines import SamplingParams
        from wizardcoder.prompting.formats import default_stops

        if self.temperature > 0 and self.top_p == 0:
            raise WizardCoderError("--top-p 0 keeps no tokens; use --temperature 0 for greedy decoding")
        stops = tuple(dict.fromkeys((*default_stops(ref.card), *(self.stop or []))))
        return SamplingParams(self.max_tokens, self.temperature, self.top_p, stops, self.seed,
                              repetition_stop=self.repetition_stop)
