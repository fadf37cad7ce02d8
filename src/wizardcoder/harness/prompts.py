"""The WizardCoder evaluation prompts of each benchmark (§3 of the method).

The instruction is what goes into the card's template; ``build_prompt`` applies the template so
that any engine can generate from the rows of ``wizardcoder prompts``.
"""

from __future__ import annotations

from collections.abc import Iterator

from wizardcoder.harness.datasets import Dataset, Task
from wizardcoder.prompting import format_prompt

PREFIX = "Create a Python script for this problem:"


def build_instruction(task: Task, benchmark: str) -> str:
    if benchmark in ("humaneval", "humaneval+"):
        return f"{PREFIX}\n{task.prompt}"
    if benchmark == "mbpp":
        tests = "\n".join(task.examples)
        return f"{PREFIX}\n{task.prompt}\nTest examples:\n{tests}"
    if benchmark == "mbpp+":
        example = task.examples[0] if task.examples else ""
        return (
            f"{task.prompt}\nYour code should satisfy the following assertion:\n"
            f"```python\n{example}\n```"
        )
    if task.library:  # DS-1000: its own instruction for chat models, then the problem
        from wizardcoder.harness.ds1000 import instruction as ds1000_instruction

        return ds1000_instruction(task)
    if task.language != "python":  # MultiPL-E
        from wizardcoder.harness.multiple import instruction

        return instruction(task)
    raise ValueError(f"unknown benchmark {benchmark!r}")


def build_prompt(task: Task, benchmark: str) -> str:
    """The full WizardCoder prompt (template applied) for one task."""
    return format_prompt(build_instruction(task, benchmark))


def prompt_rows(dataset: Dataset) -> Iterator[dict[str, str]]:
    for task in dataset.tasks.values():
        instruction = build_instruction(task, dataset.benchmark)
        yield {"task_id": task.task_id, "instruction": instruction, "prompt": format_prompt(instruction)}
