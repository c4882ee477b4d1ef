"""The package's public surface is exactly what __init__ re-exports."""

from __future__ import annotations

import types

import hf_inference_client_service as package


def test_all_matches_the_exports() -> None:
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public.discard("annotations")  # `from __future__ import annotations`, not an export
    assert set(package.__all__) == public
    assert len(package.__all__) == len(set(package.__all__))


def test_every_export_resolves() -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None
