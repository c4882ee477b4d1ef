"""Log formatting and secret redaction."""

from __future__ import annotations

import json
import logging

from infernet_devnode.logs import REDACTED
from infernet_devnode.logs import JsonFormatter
from infernet_devnode.logs import SecretRedactor

SECRET = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, message, args, exc_info)


def test_redactor_masks_secrets_in_message_and_arguments() -> None:
    record = _record("key %s and %s", SECRET, SECRET.removeprefix("0x"))
    assert SecretRedactor([SECRET, SECRET.removeprefix("0x")]).filter(record)
    assert record.getMessage() == f"key {REDACTED} and {REDACTED}"


def test_redactor_masks_secrets_in_tracebacks() -> None:
    try:
        raise ValueError(f"bad {SECRET}")
    except ValueError as e:
        record = _record("failed", exc=e)
    SecretRedactor([SECRET]).filter(record)
    text = JsonFormatter().format(record)
    assert SECRET not in text
    assert REDACTED in json.loads(text)["exception"]


def test_json_formatter_fields() -> None:
    line = json.loads(JsonFormatter().format(_record("hello %d", 5)))
    assert line["message"] == "hello 5"
    assert line["level"] == "error"
    assert line["logger"] == "t"
    assert line["ts"].endswith("Z")
