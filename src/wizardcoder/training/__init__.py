"""Supervised fine-tuning with the WizardCoder recipe (TRL + PEFT + accelerate underneath)."""

from wizardcoder.training.config import TrainConfig, build_config, load_recipe

__all__ = ["TrainConfig", "build_config", "load_recipe"]
