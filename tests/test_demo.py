"""``wizardcoder demo``: the real command with the embedded default model, driven in headless Chromium."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "Write a Python function that reverses a string."

needs_gradio = pytest.mark.skipif(importlib.util.find_spec("gradio") is None,
                                  reason="gradio is not installed (pip install 'wizardcoder[demo]')")
needs_browser = pytest.mark.skipif(
    importlib.util.find_spec("playwright") is None or not os.access(CHROMIUM, os.X_OK),
    reason=f"needs the playwright package and a system Chromium at {CHROMIUM} (apt-get install chromium)")

# Every DOM change of the last answer, so the test sees streaming however fast the model is.
WATCH_ANSWER = """() => {
  window.__lengths = [];
  const last = () => { const bots = document.querySelectorAll('[data-testid="bot"]');
                       return bots.length ? bots[bots.length - 1].innerText.trim() : ''; };
  new MutationObserver(() => { const n = last().length;
    if (n && window.__lengths[window.__lengths.length - 1] !== n) window.__lengths.push(n); })
    .observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


class FakeEngine:
    name, model_id = "fake", "fake"

    def __init__(self) -> None:
        self.requests: list = []
        self.closed_streams = 0

    def stream(self, request, params):
        self.requests.append(request)
        try:
            yield from ["def ", "f():", "\n    pass"]
        finally:
            self.closed_streams += 1


@needs_gradio
def test_history_becomes_the_request_and_shutdown_closes_the_stream():
    from wizardcoder.engines.base import SamplingParams
    from wizardcoder.engines.resolve import ModelRef
    from wizardcoder.interactive.demo import DemoChat
    from wizardcoder.prompting.registry import DEFAULT_MODEL

    engine = FakeEngine()
    chat = DemoChat(engine, ModelRef("default", "gguf", "x.gguf", DEFAULT_MODEL), "chat", SamplingParams())  # type: ignore[arg-type]
    history = [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
               {"role": "assistant", "content": "hello", "metadata": None},
               {"role": "assistant", "content": "thinking", "metadata": {"title": "a thought"}}]
    assert list(chat.respond("write f", history))[-1] == "def f():\n    pass"
    assert engine.requests[0].messages == ({"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                                           {"role": "user", "content": "write f"})
    answer = chat.respond("again", [])
    assert next(answer) == "def "
    chat.shutdown()  # Ctrl-C while an answer streams: the engine stream is closed before the engine is
    assert engine.closed_streams == 2
    assert list(answer) == [] and list(chat.respond("after", [])) == []
    assert len(engine.requests) == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``wizardcoder demo`` in a subprocess, with its output collected as it comes."""

    def __init__(self, cwd: Path, port: int) -> None:
        env = {**os.environ, "GRADIO_TEMP_DIR": str(cwd / "gradio-tmp")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wizardcoder.cli", "demo", "--port", str(port), "--max-tokens", "64"],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stdout.readline, "")), daemon=True).start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if line.startswith("demo: http"):
                    return line.split()[1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"wizardcoder demo printed no URL (exit {self.proc.poll()}):\n{self.output}")


def _answer_when_done(page, timeout: float = 120.0) -> str:
    """The last answer once its text has stopped changing for a few seconds."""
    bot = page.locator('[data-testid="bot"]').last
    bot.wait_for(timeout=timeout * 1000)
    deadline, text, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        now = bot.inner_text().strip()
        if now != text:
            text, since = now, time.monotonic()
        elif text and time.monotonic() - since > 3:
            return text
        time.sleep(0.2)
    pytest.fail(f"the answer never settled: {text!r}")


@pytest.mark.slow
@pytest.mark.timeout(400)
@needs_gradio
@needs_browser
def test_demo_streams_answers_in_a_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    port = _free_port()
    started = time.monotonic()
    server = Server(tmp_path, port)
    interrupted = None
    try:
        url = server.wait_url(timeout=180)
        assert url == f"http://127.0.0.1:{port}"
        hosts: set[str] = set()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: hosts.add(r.url.split("/")[2] if "://" in r.url else r.url))
            page.goto(url)
            box = page.get_by_role("textbox").first
            box.wait_for(timeout=60_000)
            assert "SmolLM2-135M-Instruct" in page.title() and "chat" in page.title()
            assert "chat template" in page.locator("body").inner_text()

            page.evaluate(WATCH_ANSWER)
            box.fill(QUESTION)
            box.press("Enter")
            answer = _answer_when_done(page)
            lengths = page.evaluate("window.__lengths")
            page.screenshot(path=tmp_path / "demo.png", full_page=True)
            print(f"answer ({len(lengths)} updates, lengths {lengths[:5]}...):\n{answer}")
            assert page.locator('[data-testid="user"]').last.inner_text().strip() == QUESTION
            assert len(lengths) >= 3 and lengths[0] < lengths[-1], f"the answer did not stream: {lengths}"
            code = page.locator('[data-testid="bot"]').last.locator("pre, code")
            assert "def " in answer or code.count() > 0, answer

            # A fresh session shows the examples; one click asks it.
            page2 = browser.new_page()
            page2.on("request", lambda r: hosts.add(r.url.split("/")[2] if "://" in r.url else r.url))
            page2.goto(url)
            example = "Write a Python function that checks whether a number is prime."
            page2.get_by_text(example).first.click(timeout=60_000)
            answer2 = _answer_when_done(page2)
            print(f"example answer:\n{answer2}")
            assert page2.locator('[data-testid="user"]').last.inner_text().strip() == example
            assert len(answer2) > 20

            # Ctrl-C while an answer streams: the server still stops cleanly (no crash freeing the model).
            bots = page2.locator('[data-testid="bot"]').count()
            box2 = page2.get_by_role("textbox").first
            box2.fill("Write a long Python program with many functions and comments.")
            box2.press("Enter")
            page2.locator('[data-testid="bot"]').nth(bots).wait_for(timeout=60_000)
            server.proc.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            browser.close()
        assert hosts == {f"127.0.0.1:{port}"}, f"the page reached beyond the demo server: {hosts}"
    finally:
        if interrupted is None:
            server.proc.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
        try:
            code = server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
            pytest.fail(f"wizardcoder demo did not stop within 15 s of Ctrl-C:\n{server.output}")
    print(f"demo test: {time.monotonic() - started:.1f} s, stopped {time.monotonic() - interrupted:.1f} s after Ctrl-C; "
          f"server output:\n{server.output}")
    assert code == 0, server.output
