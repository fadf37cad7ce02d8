"""``wizardcoder serve``: start an existing OpenAI-compatible server with the right model and
prompt format, wait until it answers, print its URL, and stop it on Ctrl-C.

GGUF -> llama-cpp-python's server (card format registered for WizardCoders); a directory or hub
id -> ``transformers serve``; ``--engine vllm`` -> ``vllm serve`` with the card's Jinja template.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rich.console import Console

from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.chat_template import wizardcoder_chat_template


def _is_wizardcoder(ref: ModelRef) -> bool:
    return ref.card is not None and ref.card.prompt_format == "wizardcoder"


def server_command(ref: ModelRef, engine: str, host: str, port: int, n_ctx: int | None = None,
                   threads: int | None = None, template_dir: Path | None = None) -> tuple[list[str], dict[str, str], str]:
    """(argv, extra environment, served model name)."""
    env: dict[str, str] = {}
    if engine == "llamacpp":
        if ref.kind != "gguf":
            raise WizardCoderError("the llama.cpp server needs a .gguf model (use --engine transformers or vllm)")
        cmd = [sys.executable, "-m", "wizardcoder.interactive.llama_server", "--model", ref.location,
               "--model_alias", ref.label, "--host", host, "--port", str(port), "--n_ctx", str(n_ctx or 4096)]
        if threads:
            cmd += ["--n_threads", str(threads)]
        if ref.card is not None and _is_wizardcoder(ref):
            cmd += ["--chat_format", "wizardcoder"]
            env["WIZARDCODER_STOP"] = ref.card.stop or ""
        return cmd, env, ref.label
    if engine == "transformers":
        exe = shutil.which("transformers") or str(Path(sys.executable).with_name("transformers"))
        model = ref.location if ref.kind != "gguf" else f"{Path(ref.location).parent}:{Path(ref.location).name}"
        return [exe, "serve", model, "--host", host, "--port", str(port)], env, model
    if engine == "vllm":
        cmd = ["vllm", "serve", ref.location, "--host", host, "--port", str(port), "--served-model-name", ref.label]
        if n_ctx:
            cmd += ["--max-model-len", str(n_ctx)]
        if _is_wizardcoder(ref):
            tdir = template_dir or Path.home() / ".cache" / "wizardcoder"
            tdir.mkdir(parents=True, exist_ok=True)
            tpl = tdir / f"wizardcoder-{'bos' if ref.card and ref.card.adds_bos else 'nobos'}.jinja"
            tpl.write_text(wizardcoder_chat_template(bool(ref.card and ref.card.adds_bos)))
            cmd += ["--chat-template", str(tpl)]
        return cmd, env, ref.label
    raise WizardCoderError(f"serve: no server for engine {engine!r} (llamacpp, transformers or vllm)")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """In the child: get SIGTERM when ``wizardcoder serve`` dies, even by SIGKILL (Linux)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WizardCoderError(f"the server exited with code {proc.returncode} before answering at {url}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise WizardCoderError(f"the server did not answer at {url} within {timeout:.0f} s")


def serve(ref: ModelRef, engine: str, host: str, port: int, console: Console, n_ctx: int | None = None,
          threads: int | None = None, ready_timeout: float = 600.0) -> int:
    cmd, env, served = server_command(ref, engine, host, port, n_ctx, threads)
    url = f"http://{host}:{port}/v1"
    console.print(f"starting {engine} server for {ref.label}: {' '.join(cmd)}", highlight=False, soft_wrap=True)
    try:
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, preexec_fn=_die_with_parent)
    except FileNotFoundError:
        raise WizardCoderError(f"{cmd[0]}: not installed (the {engine} server)") from None
    previous = signal.signal(signal.SIGTERM, _terminate)  # `kill` stops the server too, not only Ctrl-C
    try:
        wait_ready(url, proc, ready_timeout)
        console.print(f"[bold green]ready[/bold green]: {url} · model {served!r} · try: wizardcoder chat "
                      f"--base-url {url} --model '{served}'", highlight=False, soft_wrap=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
