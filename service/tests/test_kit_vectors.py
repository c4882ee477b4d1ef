"""The forge test kit's output vectors are what the service's encoder produces today.

contracts/test/vectors/service_outputs.json is committed; the kit's forge test rebuilds each
vector with its HFOutput builders. Regenerating it here keeps the file honest, so a change to the
service's on-chain encoding fails this test until the vectors (and hence the kit) follow.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

GENERATOR = Path(__file__).parents[2] / "contracts" / "test" / "vectors" / "service_outputs.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("service_outputs", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_vectors_match_the_service_encoder() -> None:
    generator = _generator()
    committed = json.loads(generator.VECTORS.read_text(encoding="utf-8"))
    assert committed == generator.vectors(), (
        "regenerate with: .venv/bin/python contracts/test/vectors/service_outputs.py"
    )


def test_vectors_cover_every_task() -> None:
    vectors = _generator().vectors()
    tasks = {v["task"] for v in vectors["text"]} | {v["task"] for v in vectors["labels"]}
    assert tasks == {1, 2, 3, 4}
