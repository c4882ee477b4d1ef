"""Files the node creates that may hold secrets or users' data: readable by its owner only.

The job store holds every job's input and output and the log may quote containers' answers, so
both are created with mode 0600, like config.json and stack.json. SQLite gives the store's WAL
and shared-memory files the database file's own mode (https://sqlite.org/tempfiles.html), so a
private database has private WAL and SHM files too.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_MODE", "create_private", "rotate_privately"]

PRIVATE_MODE = 0o600


def create_private(path: str | Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an existing file keeps its mode)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def rotate_privately(source: str, dest: str) -> None:
    """A ``logging.handlers.BaseRotatingHandler.rotator``: move the full log aside, then create
    its successor 0600 before the handler reopens it (the handler would create it 0644)."""
    if os.path.exists(source):
        os.replace(source, dest)
    create_private(source)
