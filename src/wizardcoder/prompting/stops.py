"""Stop strings, checked on text rather than on token ids.

Some tokenizers split ``</s>`` into several tokens, and then a model that "says" it never emits
the EOS id: the engines therefore also watch the decoded text. In streaming, text that could be
the start of a stop string is held back until it is known not to be one, so a stop string is
never shown to the user even in part.
"""

from __future__ import annotations

from collections.abc import Iterable


def trim_at_stop(text: str, stops: Iterable[str]) -> tuple[str, bool]:
    """``text`` cut before the earliest stop string, and whether one was found."""
    cut = min((i for s in stops if s and (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class StopScanner:
    """Incremental stop-string detection over streamed text pieces."""

    def __init__(self, stops: Iterable[str]) -> None:
        self.stops = tuple(dict.fromkeys(s for s in stops if s))
        self._held = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """The part of ``piece`` (plus held text) that is safe to emit now."""
        if self.stopped:
            return ""
        text = self._held + piece
        out, self.stopped = trim_at_stop(text, self.stops)
        if self.stopped:
            self._held = ""
            return out
        keep = self._partial_suffix(text)
        self._held = text[len(text) - keep:] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """Held text once the stream has ended without a stop."""
        out, self._held = ("" if self.stopped else self._held), ""
        return out

    def _partial_suffix(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that is a proper prefix of a stop string."""
        best = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:n]):
                    best = n
                    break
        return best
