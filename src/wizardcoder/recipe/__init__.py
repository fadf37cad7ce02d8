"""``wizardcoder recipe``: the whole method in one file: answer seeds, evolve, train arms, evaluate.

:func:`recipe_run` runs a recipe into a directory, stage by stage (each keyed by a fingerprint of its
settings and inputs, skipped when finished, continued when stopped); :func:`recipe_plan` says what
would run. The file's format: :mod:`wizardcoder.recipe.spec`; the stages: :mod:`wizardcoder.recipe.stages`;
running, resume and the records in DIR: :mod:`wizardcoder.recipe.run`; the report (:func:`recipe_report`):
:mod:`wizardcoder.recipe.report`. This layer sits above the API
(it calls ``wizardcoder.api``'s jobs) and below the command line.
"""

from __future__ import annotations

from wizardcoder.recipe.report import ReportFiles, write_report
from wizardcoder.recipe.run import RecipeResult, StageResult, card_table, recipe_plan, recipe_run
from wizardcoder.recipe.spec import Recipe, load
from wizardcoder.recipe.stages import Plan

recipe_report = write_report  # the report of a run directory (finished or in progress), rebuilt from what it holds

__all__ = ["Plan", "Recipe", "RecipeResult", "ReportFiles", "StageResult", "card_table", "load", "recipe_plan",
           "recipe_report", "recipe_run", "write_report"]
