"""wizardcoder: run, evaluate, evolve and fine-tune WizardCoder-style code LLMs."""

__version__ = "0.1.0"
