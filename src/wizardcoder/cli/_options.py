"""Command-line flags derived from settings objects (the CLI's side of ``settings.setting``).

A settings dataclass declares each field's default, help, bounds, choices and flags once; the
commands get their options from it here, so a flag cannot drift from the field it fills. The model
/ engine / sampling flags of ``generate``, ``chat``, ``serve``, ``demo``, ``eval`` and (as the
teacher) ``evolve`` come from :class:`~wizardcoder.engines.spec.EngineSpec`; ``train``'s from
:class:`~wizardcoder.training.config.TrainConfig`.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, fields
from enum import Enum
from typing import Annotated, Any

import typer

from wizardcoder.engines.spec import EngineName, EngineSpec, PromptFormat

__all__ = ["EngineName", "EngineSpec", "PromptFormat", "options_of", "with_engine_options", "with_options"]


def _default(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None


def _shown(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _choice_enum(name: str, choices: tuple[str, ...]) -> type[Enum]:
    return Enum(name, {c: c for c in choices}, type=str)  # type: ignore[return-value]


def options_of(cls: type, *, unset: bool = False, skip: tuple[str, ...] = (), defaults: Mapping[str, Any] | None = None,
               flags: Mapping[str, tuple[str, ...]] | None = None, helps: Mapping[str, str] | None = None,
               panel: str | None = None, panels: Mapping[str, str] | None = None) -> list[inspect.Parameter]:
    """One keyword parameter per CLI field of the dataclass ``cls``, annotated with its typer.Option.

    ``unset``: every option defaults to None (not given), the field's default shown in its help, so
    a YAML file below the flags can still fill it. ``defaults``/``flags``/``helps``/``panel(s)`` adapt
    a shared settings object to one command (the teacher's defaults in ``evolve``)."""
    hints = typing.get_type_hints(cls)
    defaults, flags, helps, panels = defaults or {}, flags or {}, helps or {}, panels or {}
    params = []
    for f in fields(cls):
        meta = f.metadata.get("setting", {})
        if f.name in skip or not meta.get("cli", True):
            continue
        bounds = {"min": meta.get("ge"), "max": meta.get("le")}
        if meta.get("gt") is not None and bounds["min"] is None:
            bounds["min"] = meta["gt"]  # the settings object refuses the bound itself
        required = f.default is MISSING and f.default_factory is MISSING and f.name not in defaults
        default = defaults.get(f.name, _default(f))
        names = flags.get(f.name, meta.get("flags", ()))
        kind: Any = hints[f.name]
        if meta.get("choices"):
            choice = _choice_enum(f.name.title().replace("_", ""), meta["choices"])
            kind = choice | None if default is None or unset else choice
            default = None if default is None else choice(default)
        text = helps.get(f.name, meta.get("help") or "")
        if unset:
            if type(None) not in typing.get_args(kind):
                kind = kind | None
            if hints[f.name] in (bool, bool | None):
                pair = next((n for n in names if "/" in n), None)
                if pair:  # --merge/--no-merge: name the side that is the default
                    on, off = pair.split("/")
                    text = f"{text} \\[default: {(on if default else off).lstrip('-')}]".strip()  # \\[: not rich markup
            elif default is not None:
                text = f"{text} \\[default: {_shown(default)}]".strip()
            default = None
        option = typer.Option(*names, help=text or None,
                              rich_help_panel=panels.get(f.name) or panel or meta.get("panel"),
                              **{k: v for k, v in bounds.items() if v is not None})
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=... if required else default,
                                        annotation=Annotated[kind, option]))
    return params


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) and not isinstance(value, (EngineName, PromptFormat)) else value


def with_options(cls: type, name: str, *, build: bool = True, **adapt: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command ``cls``'s options; it receives them as ``name``: the built object, or with
    ``build=False`` the dict of values (None where a flag was not given, under ``unset=True``)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        hints = typing.get_type_hints(func, include_extras=True)
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(func).parameters.values() if p.name != name]
        shared = options_of(cls, **adapt)
        names = [p.name for p in shared]

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            values = {n: _plain(kwargs.pop(n)) for n in names}
            return func(**{name: cls(**values) if build else values}, **kwargs)

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        del wrapper.__wrapped__  # typer must see the combined signature, not the original
        return wrapper

    return decorate


with_engine_options = with_options(EngineSpec, "eng")
