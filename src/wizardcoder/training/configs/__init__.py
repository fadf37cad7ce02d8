"""Shipped configs: the paper's recipe as YAML and accelerate configs for many GPUs / nodes."""

from __future__ import annotations

from importlib.resources import files

CONFIGS = {"recipe": "recipe.yaml", "zero2": "zero2.yaml", "zero3-offload": "zero3-offload.yaml", "fsdp": "fsdp.yaml"}


def read_config(name: str) -> str:
    return files(__package__).joinpath(CONFIGS[name]).read_text(encoding="utf-8")
