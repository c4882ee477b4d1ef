"""Logging: plain or JSON lines on stderr (and optionally a rotating file), secrets redacted."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from collections.abc import Iterable

from .config import LogConfig
from .private_files import create_private
from .private_files import rotate_privately
from .redaction import REDACTED
from .redaction import Redactor

__all__ = ["REDACTED", "JsonFormatter", "SecretRedactor", "configure_logging"]

_PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class SecretRedactor(logging.Filter):
    """Replaces every spelling of every known secret in a record's final message (and its
    traceback) with a placeholder (redaction.py)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._redactor = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._redactor:
            return True
        message = record.getMessage()
        redacted = self._redactor.text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_text is None:
            formatter = logging.Formatter()
            text = formatter.formatException(record.exc_info)
            record.exc_text, record.exc_info = self._redactor.text(text), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry)


def configure_logging(config: LogConfig, secrets: Iterable[str], log_file: bool) -> None:
    """Set up the root logger; ``log_file`` adds a rotating file at ``config.path``."""
    formatter: logging.Formatter = (
        JsonFormatter() if config.json_ else logging.Formatter(_PLAIN_FORMAT)
    )
    redactor = SecretRedactor(secrets)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        create_private(config.path)
        file_handler = logging.handlers.RotatingFileHandler(
            config.path, maxBytes=config.max_file_size, backupCount=config.backup_count
        )
        file_handler.rotator = rotate_privately
        handlers.append(file_handler)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        root.addHandler(handler)
    root.setLevel(config.level)
    # aiohttp's access log is off (the node logs jobs, not requests); keep its errors.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
