"""Turn a raw model response into a program.

``wizardcoder``: the authors' rules (§3 of the method): drop ``\\r``; keep the first fenced
python block if there is one; cut at ``if __name__ == "__main__":`` and ``# Example usage``;
for MBPP also at ``# Test examples``; for MBPP+ at the first top-level ``assert`` (models echo
the test). The code is then run after the task's prompt, so the prompt's imports and helpers
exist and the new definition replaces the stub.

``evalplus``: an evalplus-style sanitizer written on ``ast``: the longest parseable block of the
response, then only imports and the definitions (functions with a return, classes, assignments)
that the entry point reaches.

``none``: the response is the code.
"""

from __future__ import annotations

import ast
import re
import warnings

from wizardcoder.prompting.fences import FENCE, first_python_block

MODES = ("wizardcoder", "evalplus", "none")

def wizardcoder_extract(response: str, family: str) -> str:
    """The authors' post-processing; ``family`` is "humaneval", "mbpp" or "mbpp+"."""
    code = response.replace("\r", "")
    block = first_python_block(code)
    if block is not None:
        code = block
    markers = ['if __name__ == "__main__":', "if __name__ == '__main__':", "# Example usage"]
    if family in ("mbpp", "mbpp+"):
        markers.append("# Test examples")
    for marker in markers:
        pos = code.find(marker)
        if pos != -1:
            code = code[:pos]
    if family == "mbpp+":
        m = re.search(r"^assert\b", code, re.M)
        if m:
            code = code[: m.start()]
    return code.strip()


def parse(code: str) -> ast.Module:
    """``ast.parse`` without the SyntaxWarnings (invalid escapes...) that model code is full of."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


def _parses(code: str) -> bool:
    try:
        parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def longest_parseable(text: str, max_lines: int = 400) -> str:
    """The longest run of lines that parses as Python (counted in non-blank lines)."""
    if _parses(text):
        return text
    lines = text.split("\n")[:max_lines]
    nonblank = [0]
    for line in lines:
        nonblank.append(nonblank[-1] + (1 if line.strip() else 0))
    best, best_len = (0, 0), 0
    for i in range(len(lines)):
        if nonblank[len(lines)] - nonblank[i] <= best_len:
            break  # nothing starting here can beat the best
        for j in range(len(lines), i, -1):
            size = nonblank[j] - nonblank[i]
            if size <= best_len:
                break
            if _parses("\n".join(lines[i:j])):
                best, best_len = (i, j), size
                break
    return "\n".join(lines[best[0] : best[1]])


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def sanitize(response: str, entry_point: str | None) -> str:
    """evalplus-style: keep imports and the definitions the entry point needs."""
    blocks = [m.group(2) for m in FENCE.finditer(response.replace("\r", ""))]
    candidates = [longest_parseable(b) for b in blocks] + [longest_parseable(response.replace("\r", ""))]
    code = max(candidates, key=lambda c: sum(1 for ln in c.splitlines() if ln.strip()))
    try:
        tree = parse(code)
    except (SyntaxError, ValueError):
        return code
    imports: list[ast.stmt] = []
    defs: dict[str, ast.stmt] = {}
    order: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not any(isinstance(n, ast.Return) for n in ast.walk(node)):
                continue
            name = node.name
        elif isinstance(node, ast.ClassDef):
            name = node.name
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if not isinstance(target, ast.Name):
                continue
            name = target.id
        else:
            continue
        if name not in defs:  # the first definition wins, as in evalplus
            defs[name] = node
            order.append(name)
    keep = set(order)
    if entry_point:
        keep, queue = {entry_point}, [entry_point]
        while queue:
            definition = defs.get(queue.pop())
            if definition is None:
                continue
            for dep in _names(definition):
                if dep in defs and dep not in keep:
                    keep.add(dep)
                    queue.append(dep)
    lines = code.split("\n")
    parts = [_segment(lines, n) for n in imports]
    parts += [_segment(lines, defs[name]) for name in order if name in keep]
    out = "\n".join(parts).strip()
    return out or code


def _segment(lines: list[str], node: ast.stmt) -> str:
    start = node.lineno - 1
    if getattr(node, "decorator_list", None):
        start = min(d.lineno for d in node.decorator_list) - 1  # type: ignore[attr-defined]
    return "\n".join(lines[start : node.end_lineno])


def extract_code(response: str, mode: str, family: str, entry_point: str | None) -> str:
    if mode == "wizardcoder":
        return wizardcoder_extract(response, family)
    if mode == "evalplus":
        return sanitize(response, entry_point)
    if mode == "none":
        return response
    raise ValueError(f"unknown post-processing {mode!r}; choose one of {', '.join(MODES)}")
