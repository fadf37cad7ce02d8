"""Checks every settings object runs on its numbers, so the API refuses what the CLI refuses.

A setting out of range is one line naming it as a field and as a flag (``max_steps (--max-steps)
must be at least 1, got -1``), raised when the object is built: nothing has been read or written
yet. NaN and infinities are refused wherever a number is expected.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from wizardcoder.errors import WizardCoderError

_FLAGS = {"learning_rate": "--lr", "memory_bytes": "--memory-limit (GiB)"}  # where a flag is not the field's name


def _name(field: str) -> str:
    if " " in field:  # already a description ("method constraints weight")
        return field
    return f"{field} ({_FLAGS.get(field, '--' + field.replace('_', '-'))})"


def check_number(field: str, value: Any, *, ge: float | None = None, gt: float | None = None,
                 le: float | None = None, lt: float | None = None, integer: bool = False,
                 optional: bool = False) -> None:
    """Refuse ``value`` unless it is a (finite) number within the bounds; ``optional`` lets None pass."""
    if value is None and optional:
        return
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise WizardCoderError(f"{_name(field)} must be {kind}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise WizardCoderError(f"{_name(field)} must be a finite number, got {value!r}")
    for bound, ok, words in ((ge, lambda b: value >= b, "at least"), (gt, lambda b: value > b, "more than"),
                             (le, lambda b: value <= b, "at most"), (lt, lambda b: value < b, "less than")):
        if bound is not None and not ok(bound):
            raise WizardCoderError(f"{_name(field)} must be {words} {bound:g}, got {value!r}")


def check_choice(field: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise WizardCoderError(f"{_name(field)} must be one of {', '.join(choices)}, got {value!r}")


def setting(default: Any = None, *flags: str, help: str = "", ge: float | None = None, gt: float | None = None,
            le: float | None = None, panel: str | None = None, integer: bool = False,
            choices: tuple[str, ...] | None = None, cli: bool = True, default_factory: Any = None,
            since: str | None = None, before: Any = dataclasses.MISSING) -> Any:
    """A settings field that carries its default, its help, its bounds and its flags: the one place the
    CLI (``wizardcoder.cli._options``), YAML files and API calls take them from. ``choices`` lists the
    accepted strings (the flag shows them); ``cli=False`` keeps a field YAML/API-only (a mapping, say).
    ``since``: the version that added the field; :func:`record` leaves it out while it has the value that
    does what runs before that version did: ``before``, where a later version changed the default, else
    the default."""
    meta = {"flags": flags, "help": help, "ge": ge, "gt": gt, "le": le, "panel": panel, "integer": integer,
            "choices": choices, "cli": cli, "since": since, "before": default if before is dataclasses.MISSING else before}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata={"setting": meta})
    return dataclasses.field(default=default, metadata={"setting": meta})


def check_fields(obj: Any) -> None:
    """Apply the bounds declared with :func:`setting` to every numeric field of ``obj``."""
    for f in dataclasses.fields(obj):
        meta = f.metadata.get("setting")
        if not meta or all(meta[k] is None for k in ("ge", "gt", "le")):
            continue
        value = getattr(obj, f.name)
        optional = f.default is None or "None" in str(f.type)  # `float | None`: None means "off" or "unset"
        check_number(f.name, value, ge=meta["ge"], gt=meta["gt"], le=meta["le"], integer=meta["integer"],
                     optional=optional)


def record(obj: Any) -> dict[str, Any]:
    """``dataclasses.asdict(obj)`` as run records and fingerprints store it: a field added after a run
    was recorded (``setting(since=...)``) appears only when it asks for something runs before it did
    not do (a value other than ``before``), so adding a setting neither changes existing fingerprints
    nor refuses the resume of an earlier run, and turning its default on changes both, as it should."""
    out = dataclasses.asdict(obj)
    for f in dataclasses.fields(obj):
        meta = f.metadata.get("setting") or {}
        if meta.get("since") and out.get(f.name) == meta.get("before"):
            del out[f.name]
    return out


def added_since(obj: Any) -> set[str]:
    """The fields of ``obj`` added after its first version (``setting(since=...)``): a record that keeps
    only the settings a user gave must keep these too when they differ from ``before``, or a changed
    default would go unrecorded."""
    return {f.name for f in dataclasses.fields(obj) if (f.metadata.get("setting") or {}).get("since")}
