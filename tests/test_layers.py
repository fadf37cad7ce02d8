"""The house's layers point one way: base utilities <- prompting, sandbox <- engines <- harness / evol / training
<- testing <- api <- cli. Checked on every import statement, function-level ones included (a lazy import of a
higher layer is still a dependency), and no module below the command line imports typer."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "wizardcoder"
BASE = {"errors", "settings", "jsonl", "records", "paths", "progress", "outlock"}
LAYERS = {"prompting": 1, "sandbox": 1, "engines": 2, "interactive": 3, "harness": 3, "evol": 3, "training": 3,
          "testing": 3.5,  # test / benchmark support (the fault server): above what it exercises, below the API
          "api": 4, "recipe": 4.5, "cli": 5}


def _layer(module: str) -> int:
    top = module.split(".")[0]
    if top in BASE:
        return 0
    return LAYERS[top]


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "wizardcoder":  # from wizardcoder import outlock
            found += [(node.lineno, f"wizardcoder.{a.name}") for a in node.names if a.name != "__version__"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def _modules() -> list[tuple[str, Path]]:
    return [(".".join(p.relative_to(SRC).with_suffix("").parts), p) for p in sorted(SRC.rglob("*.py"))
            if p.name != "__init__.py" or p.parent != SRC]


def test_no_module_imports_a_higher_layer():
    wrong = []
    for name, path in _modules():
        mine = _layer(name)
        for line, module in _imports(path):
            other = module.removeprefix("wizardcoder.")
            if module.startswith("wizardcoder.") and _layer(other) > mine:
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_only_the_command_line_imports_typer():
    wrong = [f"{path.relative_to(SRC)}:{line}" for name, path in _modules()
             if name.split(".")[0] != "cli"
             for line, module in _imports(path) if module.split(".")[0] == "typer"]
    assert not wrong, wrong
