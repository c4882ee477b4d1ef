"""Keeping the Hugging Face token out of what callers receive (pure).

A backend may echo the request's `Authorization` header inside a successful answer (a debugging
proxy, a hostile endpoint, a model repeating its prompt). Answers are redacted after they are
parsed, so the token is found whatever JSON escaping the backend used (`\\u0068\\u0066_...` is
`hf_...` once parsed). Streams are redacted as they are relayed: the end of a piece that could be
the start of the token is held back until the next piece shows whether it is.
"""

from __future__ import annotations

from typing import Any

from .outputs import TaskOutput

__all__ = ["REDACTED", "StreamRedactor", "redact_output"]

REDACTED = "[redacted]"


def _redact(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, REDACTED)
    if isinstance(value, list):
        return [_redact(item, secret) for item in value]
    if isinstance(value, dict):
        return {key: _redact(item, secret) for key, item in value.items()}
    return value


def redact_output(output: TaskOutput, secret: str) -> TaskOutput:
    """`output` with `secret` replaced in every string it holds."""
    redacted: TaskOutput = _redact(output, secret)
    return redacted


class StreamRedactor:
    """Redacts `secret` from a text that arrives in pieces; `feed` each, then `flush`."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._held = ""

    def feed(self, piece: str) -> str:
        """The text that can be relayed now that `piece` arrived (possibly empty)."""
        text = (self._held + piece).replace(self._secret, REDACTED)
        held = self._partial_secret_at_end(text)
        self._held = text[len(text) - held :]
        return text[: len(text) - held]

    def flush(self) -> str:
        """The held-back end, once the stream is over (it was not the token after all)."""
        rest, self._held = self._held, ""
        return rest

    def _partial_secret_at_end(self, text: str) -> int:
        # The longest end of `text` that begins the secret: an occurrence cut by the end of
        # this piece starts there, and every complete occurrence was already replaced.
        for size in range(min(len(text), len(self._secret) - 1), 0, -1):
            if self._secret.startswith(text[-size:]):
                return size
        return 0
