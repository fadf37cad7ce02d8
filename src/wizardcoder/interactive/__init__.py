"""Talking to a model: terminal chat, OpenAI-compatible servers, a web demo."""
