"""Where the repository this package drives is: its forge scripts, contracts and artifacts.

The package is installed editable from the repository (`make setup`), so its source lives at
`scripts/hf_infernet_stack/` inside it.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# forge's build output (`make build`): ABIs and creation bytecode
ARTIFACTS = REPO / "out"
DEFAULT_RUN_DIR = REPO / ".run"
