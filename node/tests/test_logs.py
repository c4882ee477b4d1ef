"""Log formatting and secret redaction."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

from infernet_devnode.config import LogConfig
from infernet_devnode.config import NodeConfig
from infernet_devnode.logs import REDACTED
from infernet_devnode.logs import JsonFormatter
from infernet_devnode.logs import SecretRedactor
from infernet_devnode.logs import configure_logging

SECRET = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, message, args, exc_info)


def test_redactor_masks_secrets_in_message_and_arguments() -> None:
    record = _record("key %s and %s", SECRET, SECRET.removeprefix("0x"))
    assert SecretRedactor([SECRET, SECRET.removeprefix("0x")]).filter(record)
    assert record.getMessage() == f"key {REDACTED} and {REDACTED}"


def test_redactor_masks_every_spelling_of_container_secrets() -> None:
    env_secret = 'quo"te\\slash-s\u00e9cret'
    containers = [{"id": "c", "bearer": "b" * 12, "env": {"KEY": env_secret, "SHORT": "1"}}]
    secrets = NodeConfig.model_validate({"containers": containers}).secrets()
    assert env_secret in secrets
    assert "1" not in secrets
    for spelling in (json.dumps(env_secret)[1:-1], repr(env_secret.encode())[2:-1]):
        record = _record("job failed: %s", f"sent b'{spelling}'")
        SecretRedactor(secrets).filter(record)
        assert record.getMessage() == f"job failed: sent b'{REDACTED}'"


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


def test_log_file_and_its_rotations_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "node.log"
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    previous = os.umask(0o022)  # the usual umask, under which files are created 0644
    try:
        config = LogConfig.model_validate({"path": str(path), "max_file_size": 200})
        configure_logging(config, [], log_file=True)
        for n in range(10):
            logging.getLogger("t").warning("line %d %s", n, "x" * 50)
        files = sorted(tmp_path.iterdir())
        assert [f.name for f in files] == ["node.log", "node.log.1", "node.log.2"]
        assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {
            f.name: 0o600 for f in files
        }
    finally:
        os.umask(previous)
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in kept[0]:
            root.addHandler(handler)
        root.setLevel(kept[1])
