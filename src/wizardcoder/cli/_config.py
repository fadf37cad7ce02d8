"""``--config FILE`` and ``--print-config`` for a command: its options as a YAML mapping.

The file's keys are the command's option names (``max_tokens`` or ``max-tokens``, or a flag's long
name such as ``teacher``); its values fill the options the command line leaves out, so flags always
win. ``--print-config`` prints the command's fully resolved settings in that same form and runs
nothing: ``cmd ... --print-config > x.yaml`` then ``cmd --config x.yaml`` is the same run. A bad
file is one line naming the file, the line and the key.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click as click  # typer's own copy of click (its exceptions, contexts and parameters)

from wizardcoder.errors import WizardCoderError

SKIP = ("config", "print_config", "resume", "overwrite", "quiet")  # how to run, not what to run


def _keys(command: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option" or param.name in SKIP:
            continue
        found[str(param.name)] = param
        for opt in [*param.opts, *param.secondary_opts]:
            if opt.startswith("--"):
                found.setdefault(opt[2:].replace("-", "_"), param)
    return found


def _check(param: Any, value: Any, ctx: typer.Context) -> None:
    """Convert ``value`` as the option would (typer's own coercion), so a wrong type names the file."""
    runtime = getattr(param, "get_runtime_param", None)
    if runtime is not None:
        runtime().coerce(value, param=param, ctx=ctx)


def read_config(path: Path, command: Any, ctx: typer.Context) -> dict[str, Any]:
    """The file's settings as ``{parameter name: value}``, each value checked by the option's own type."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise WizardCoderError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise WizardCoderError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise WizardCoderError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise WizardCoderError(f"{path}: a config is a mapping of settings, got {type(data).__name__}")
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in root.value}
    keys = _keys(command)
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{path}:{lines.get(str(key), 1)}"
        param = keys.get(str(key).replace("-", "_"))
        if param is None:
            raise WizardCoderError(f"{where}: unknown setting {key!r} (see {ctx.command_path} --help)")
        if value is None:
            continue
        try:
            _check(param, value, ctx)
        except click.exceptions.UsageError as exc:
            raise WizardCoderError(f"{where}: {key}: {exc.format_message()}") from None
        out[str(param.name)] = value
    return out


def _load(ctx: typer.Context, param: Any, value: Path | None) -> Path | None:
    if value is not None:
        ctx.default_map = {**(ctx.default_map or {}), **read_config(value, ctx.command, ctx)}
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _yaml(ctx: click.core.Context) -> str:
    """The command's settings in its options' order (not the order they were given in)."""
    import yaml

    order = [p.name for p in ctx.command.params if p.name in ctx.params]
    settings = {k: _plain(ctx.params[k]) for k in order if k not in SKIP}
    return yaml.safe_dump(settings, sort_keys=False, allow_unicode=True)


def dump_config(ctx: click.core.Context) -> None:
    import sys

    sys.stdout.write(_yaml(ctx))


def record_config(path: Path) -> None:
    """Write the running command's resolved settings next to what it made (``--config`` reads it back)."""
    from wizardcoder.jsonl import atomic_write_text

    atomic_write_text(path, _yaml(click.globals.get_current_context()))


ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", is_eager=True, callback=_load, exists=False, rich_help_panel="Config file",
    help="A YAML file of this command's settings (option names as keys); flags win over it.")]
PrintConfigOpt = Annotated[bool, typer.Option(
    "--print-config", rich_help_panel="Config file",
    help="Print the resolved settings as YAML (for --config) and run nothing.")]


def configurable(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command ``--config`` and ``--print-config`` (put it above the options decorators)."""
    hints = typing.get_type_hints(func, include_extras=True)
    own = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in inspect.signature(func).parameters.values()]

    @functools.wraps(func)
    def wrapper(config: Path | None = None, print_config: bool = False, **kwargs: Any) -> Any:
        if print_config:
            dump_config(click.globals.get_current_context())
            return None
        return func(**kwargs)

    extra = [inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigOpt),
             inspect.Parameter("print_config", inspect.Parameter.KEYWORD_ONLY, default=False,
                               annotation=PrintConfigOpt)]
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__
    return wrapper
