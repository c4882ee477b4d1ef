"""Files of the run folder that hold keys are readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from hf_infernet_stack.run_folder import PRIVATE_MODE
from hf_infernet_stack.run_folder import write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_private_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "config.json"

    write_private(path, '{"private_key": "0x59c6"}\n')

    assert _mode(path) == PRIVATE_MODE == 0o600
    assert path.read_text() == '{"private_key": "0x59c6"}\n'


def test_an_existing_world_readable_file_is_narrowed_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("an older, longer config that must not survive\n")
    path.chmod(0o644)

    write_private(path, "{}\n")

    assert _mode(path) == 0o600
    assert path.read_text() == "{}\n"
