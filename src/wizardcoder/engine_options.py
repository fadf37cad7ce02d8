"""Command-line flags derived from settings objects (the CLI's side of ``settings.setting``).

The model / engine / sampling flags of ``generate``, ``chat``, ``serve``, ``demo`` and ``eval`` come
from :class:`wizardcoder.engines.spec.EngineSpec`'s fields (default, help, bounds, panel): declared
once there, added to each command's signature by :func:`with_engine_options`.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import fields
from typing import Annotated, Any

import typer

from wizardcoder.engines.spec import PANEL as PANEL
from wizardcoder.engines.spec import SAMPLING, EngineName, EngineSpec, PromptFormat

EngineArgs = EngineSpec  # the name the CLI modules use
__all__ = ["PANEL", "SAMPLING", "EngineArgs", "EngineName", "EngineSpec", "PromptFormat", "options_of",
           "with_engine_options"]


def options_of(cls: type) -> list[inspect.Parameter]:
    """One keyword parameter per field of the dataclass ``cls``, annotated with its typer.Option."""
    hints = typing.get_type_hints(cls)
    params = []
    for f in fields(cls):
        meta = f.metadata.get("setting", {})
        bounds = {"min": meta.get("ge"), "max": meta.get("le")}
        if meta.get("gt") is not None and bounds["min"] is None:
            bounds["min"] = meta["gt"]  # the settings object refuses the bound itself
        option = typer.Option(*meta.get("flags", ()), help=meta.get("help") or None, rich_help_panel=meta.get("panel"),
                              **{k: v for k, v in bounds.items() if v is not None})
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                        annotation=Annotated[hints[f.name], option]))
    return params


def with_engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the shared options; it receives them as ``eng: EngineSpec``."""
    hints = typing.get_type_hints(func, include_extras=True)
    own = [p.replace(annotation=hints.get(p.name, p.annotation))
           for p in inspect.signature(func).parameters.values() if p.name != "eng"]
    shared = options_of(EngineSpec)
    names = [p.name for p in shared]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        eng = EngineSpec(**{n: kwargs.pop(n) for n in names})
        return func(eng=eng, **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # typer must see the combined signature, not the original
    return wrapper
