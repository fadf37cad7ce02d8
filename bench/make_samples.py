"""Write deterministic samples files of our own making for HumanEval+ and MBPP+.

One sample per task: about half the tasks get the canonical solution unchanged, the others an
``ast`` mutant of it (the first mutation, in a seeded order, that changes the code). A few tasks
also get a second, handcrafted "hard" sample (infinite loop, ``pass`` body, syntax error,
``sys.exit`` inside the function).

    WIZARDCODER_DATA_DIR=/work/shared/data .venv/bin/python bench/make_samples.py

Writes tests/data/humanevalplus-mutants.jsonl and tests/data/mbppplus-mutants.jsonl.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import random
from pathlib import Path

from wizardcoder.harness.datasets import load_dataset

ROOT = Path(__file__).resolve().parent.parent
OUT = {
    "humaneval+": ROOT / "tests" / "data" / "humanevalplus-mutants.jsonl",
    "mbpp+": ROOT / "tests" / "data" / "mbppplus-mutants.jsonl",
}
SEED = 20240601
N_HARD = 2  # tasks per hard kind and benchmark

FLIP_CMP = {
    ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}


# Each operator: (name, applies(node) -> bool, mutate(node) in place)
def _cmp_ok(n: ast.AST) -> bool:
    return isinstance(n, ast.Compare) and type(n.ops[0]) in FLIP_CMP


def _cmp_do(n: ast.Compare) -> None:
    n.ops[0] = FLIP_CMP[type(n.ops[0])]()


def _add_ok(n: ast.AST) -> bool:
    return isinstance(n, (ast.BinOp, ast.AugAssign)) and isinstance(n.op, ast.Add)


def _add_do(n: ast.BinOp | ast.AugAssign) -> None:
    n.op = ast.Sub()


def _int_ok(n: ast.AST) -> bool:
    return isinstance(n, ast.Constant) and type(n.value) is int


def _int_do(n: ast.Constant) -> None:
    n.value += 1


def _ret_ok(n: ast.AST) -> bool:
    return isinstance(n, ast.Return) and n.value is not None and not (
        isinstance(n.value, ast.Constant) and n.value.value is None
    )


def _ret_do(n: ast.Return) -> None:
    n.value = ast.Constant(None)


def _bool_ok(n: ast.AST) -> bool:
    return isinstance(n, ast.BoolOp)


def _bool_do(n: ast.BoolOp) -> None:
    n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()


OPERATORS = [
    ("flip-compare", _cmp_ok, _cmp_do),
    ("add-to-sub", _add_ok, _add_do),
    ("int-plus-one", _int_ok, _int_do),
    ("return-none", _ret_ok, _ret_do),
    ("and-or-swap", _bool_ok, _bool_do),
]


def _function(tree: ast.Module, name: str) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return tree


def mutate(program: str, entry_point: str, rng: random.Random) -> tuple[str, str] | None:
    """The first (seeded order) single mutation inside the entry point that changes the code."""
    tree = ast.parse(program)
    original = ast.unparse(tree)
    scope = _function(tree, entry_point)
    nodes = list(ast.walk(scope))
    candidates = [(op, i) for op in OPERATORS for i, n in enumerate(nodes) if op[1](n)]
    rng.shuffle(candidates)
    for (name, _, do), i in candidates:
        mutant_tree = copy.deepcopy(tree)
        target = list(ast.walk(_function(mutant_tree, entry_point)))[i]
        do(target)
        ast.fix_missing_locations(mutant_tree)
        mutant = ast.unparse(mutant_tree)
        if mutant != original:
            return name, mutant + "\n"
    return None


def _replace_body(program: str, entry_point: str, body: str) -> str:
    tree = ast.parse(program)
    fn = _function(tree, entry_point)
    fn.body = ast.parse(body).body
    return ast.unparse(tree) + "\n"


HARD = {
    "infinite-loop": lambda p, e: _replace_body(p, e, "while True:\n    pass"),
    "pass-body": lambda p, e: _replace_body(p, e, "pass"),
    "sys-exit": lambda p, e: _replace_body(p, e, "import sys\nsys.exit(0)"),
    "syntax-error": lambda p, e: p + "\ndef broken(:\n    return\n",
}


def make(benchmark: str) -> tuple[list[dict], dict[str, int]]:
    tasks = load_dataset(benchmark).tasks
    ids = list(tasks)
    rng = random.Random(f"{SEED}:{benchmark}")
    keep = set(rng.sample(ids, len(ids) // 2))
    rows: list[dict] = []
    kinds: dict[str, int] = {}
    for tid in ids:
        task = tasks[tid]
        kind, program = "canonical", task.canonical
        if tid not in keep:
            got = mutate(task.canonical, task.entry_point, random.Random(f"{SEED}:{tid}"))
            if got is not None:
                kind, program = got
        kinds[kind] = kinds.get(kind, 0) + 1
        rows.append({"task_id": tid, "solution": program})
    # hard ones: extra samples (index 1) on a few tasks
    hard_tasks = rng.sample(ids, N_HARD * len(HARD))
    for j, (kind, build) in enumerate(HARD.items()):
        for tid in hard_tasks[j * N_HARD:(j + 1) * N_HARD]:
            task = tasks[tid]
            rows.append({"task_id": tid, "solution": build(task.canonical, task.entry_point)})
            kinds[kind] = kinds.get(kind, 0) + 1
    # group rows by task (dataset order), keeping each task's sample order
    order = {tid: i for i, tid in enumerate(ids)}
    rows.sort(key=lambda r: order[r["task_id"]])  # stable
    return rows, kinds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", choices=sorted(OUT), action="append")
    args = ap.parse_args()
    for benchmark in args.benchmark or list(OUT):
        rows, kinds = make(benchmark)
        path = OUT[benchmark]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        print(f"{path.relative_to(ROOT)}: {len(rows)} samples, {path.stat().st_size} bytes; "
              + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
