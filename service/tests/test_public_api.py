"""The package's public surface is exactly what __init__ names, loaded only when used."""

from __future__ import annotations

import subprocess
import sys

import hf_inference_client_service as package


def test_all_matches_the_exports() -> None:
    assert set(package.__all__) == set(package._HOMES)
    assert len(package.__all__) == len(set(package.__all__))
    assert set(package.__all__) <= set(dir(package))


def test_every_export_resolves() -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_console_command_reads_configuration_without_loading_the_app() -> None:
    # The Hypercorn master only validates the configuration; workers load the app.
    heavy = ("quart", "aiohttp", "huggingface_hub.inference")
    probe = (
        "import sys, hf_inference_client_service.__main__;"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
