"""GET /service-resources answers, computed without network calls (bounded time, offline).

Upstream (infernet-ml 2.0.0 `utils/spec.py`) ran `lscpu`, `df` and `nvidia-smi` on every call and
asked the Hugging Face Hub whether a model is supported, which blocks and fails offline. Here the
capability document is built once at startup from the standard library, and `?model_id=` is a
local decision: supported when the id is one this service would accept (a well-formed repo id,
or a URL when URL models are allowed).
"""

from __future__ import annotations

import os
import platform
from typing import Any

from .config import ServiceConfig
from .errors import InvalidField
from .tasks import check_model

__all__ = ["SERVICE_ID", "model_supported", "service_resources"]

SERVICE_ID = "hf-inference-client-service"
# ServiceResources schema version used by infernet-ml 2.0.0.
_RESOURCES_VERSION = "0.1.0"
_TASK_NAMES = ["text_generation", "text_classification", "token_classification", "summarization"]


def service_resources(config: ServiceConfig) -> dict[str, Any]:
    """The capability document (infernet-ml ServiceResources shape, hardware from the stdlib)."""
    uname = platform.uname()
    return {
        "version": _RESOURCES_VERSION,
        "service_id": SERVICE_ID,
        "hardware_capabilities": [
            {
                "capability_id": "base",
                "os_info": {"name": uname.system, "version": uname.release},
                "cpu_info": {
                    "model": uname.processor or uname.machine,
                    "architecture": uname.machine,
                    "num_cores": os.cpu_count() or 1,
                },
            }
        ],
        "compute_capability": [
            {
                "id": "ml",
                "type": "hf_client",
                "task": _TASK_NAMES,
                "models": sorted(set(config.default_models.values())),
                "cached_models": [],
                "inference_engine": None,
                "inference_engine_version": None,
            }
        ],
    }


def model_supported(model_id: str, config: ServiceConfig) -> bool:
    """Whether jobs naming `model_id` would be accepted (no Hub lookup)."""
    if not model_id:
        return False
    try:
        return check_model(model_id, "model_id", config.inputs) is not None
    except InvalidField:
        return False
