"""Code Evol-Instruct: grow a code instruction dataset from seeds with a teacher LLM.

seeds -> :mod:`pipeline` (evolve / judge / answer against :mod:`teacher`, state in :mod:`state`)
-> :mod:`export` (dedup, decontamination, JSONL + Alpaca JSON) -> :mod:`stats`.
"""
