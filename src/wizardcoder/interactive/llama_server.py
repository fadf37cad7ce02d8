"""llama-cpp-python's OpenAI-compatible server, with the card's format registered as the chat
format ``wizardcoder`` (a WizardCoder GGUF rarely carries a usable chat template of its own).

Run by ``wizardcoder serve``; the stop string comes in ``WIZARDCODER_STOP``.
"""

from __future__ import annotations

import os
from typing import Any


def register() -> None:
    from llama_cpp import llama_chat_format as fmt

    from wizardcoder.prompting.chat_template import CHAT_TEMPLATE, render_chat

    stop = os.environ.get("WIZARDCODER_STOP") or None

    @fmt.register_chat_format("wizardcoder")
    def _wizardcoder(messages: list[dict[str, Any]], **_: Any) -> Any:
        turns = [{"role": m["role"], "content": m.get("content") or ""} for m in messages]
        return fmt.ChatFormatterResponse(prompt=render_chat(CHAT_TEMPLATE, turns, eos_token=stop or ""), stop=stop)


def main() -> None:
    register()
    from llama_cpp.server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
