"""HF Inference Client Service: an Infernet container answering jobs with Hugging Face inference.

Public surface: the app factory, the workflow, configuration, task and wire types, the ABI
helpers and the error hierarchy. The offline Hugging Face stand-in is a separate package
(`hf_inference_standin`, in service/standin/), never part of this one.

Names are imported on first use (PEP 562): the console command's master process reads only the
configuration, so it does not pay for loading Quart, aiohttp and huggingface_hub, which every
worker loads anyway.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from .app import create_app as create_app
    from .config import DEFAULT_MODELS as DEFAULT_MODELS
    from .config import ConnectionLimits as ConnectionLimits
    from .config import ServiceConfig as ServiceConfig
    from .config import TextGenerationMode as TextGenerationMode
    from .encoding import SCORE_SCALE as SCORE_SCALE
    from .encoding import decode_onchain_input as decode_onchain_input
    from .encoding import encode_input as encode_input
    from .encoding import encode_raw_output as encode_raw_output
    from .errors import BackendError as BackendError
    from .errors import BackendTimeout as BackendTimeout
    from .errors import BackendUnavailable as BackendUnavailable
    from .errors import BodyTimeout as BodyTimeout
    from .errors import BodyTooLarge as BodyTooLarge
    from .errors import InvalidField as InvalidField
    from .errors import ServiceError as ServiceError
    from .errors import StreamBroken as StreamBroken
    from .errors import UnsupportedRequest as UnsupportedRequest
    from .hf_backend import HFInferenceClientWorkflow as HFInferenceClientWorkflow
    from .onchain_limits import OnchainLimits as OnchainLimits
    from .protocol import ContainerCall as ContainerCall
    from .protocol import ContainerInput as ContainerInput
    from .protocol import JobLocation as JobLocation
    from .protocol import parse_call as parse_call
    from .retry import RetryPolicy as RetryPolicy
    from .tasks import InputPolicy as InputPolicy
    from .tasks import TaskId as TaskId
    from .tasks import TaskInput as TaskInput
    from .tasks import parse_offchain as parse_offchain

_HOMES = {
    "create_app": "app",
    "ConnectionLimits": "config",
    "DEFAULT_MODELS": "config",
    "ServiceConfig": "config",
    "TextGenerationMode": "config",
    "SCORE_SCALE": "encoding",
    "decode_onchain_input": "encoding",
    "encode_input": "encoding",
    "encode_raw_output": "encoding",
    "BackendError": "errors",
    "BackendTimeout": "errors",
    "BackendUnavailable": "errors",
    "BodyTimeout": "errors",
    "BodyTooLarge": "errors",
    "InvalidField": "errors",
    "ServiceError": "errors",
    "StreamBroken": "errors",
    "UnsupportedRequest": "errors",
    "HFInferenceClientWorkflow": "hf_backend",
    "OnchainLimits": "onchain_limits",
    "ContainerCall": "protocol",
    "ContainerInput": "protocol",
    "JobLocation": "protocol",
    "parse_call": "protocol",
    "RetryPolicy": "retry",
    "InputPolicy": "tasks",
    "TaskId": "tasks",
    "TaskInput": "tasks",
    "parse_offchain": "tasks",
}

__all__ = [
    "DEFAULT_MODELS",
    "SCORE_SCALE",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "BodyTimeout",
    "BodyTooLarge",
    "ConnectionLimits",
    "ContainerCall",
    "ContainerInput",
    "HFInferenceClientWorkflow",
    "InputPolicy",
    "InvalidField",
    "JobLocation",
    "OnchainLimits",
    "RetryPolicy",
    "ServiceConfig",
    "ServiceError",
    "StreamBroken",
    "TaskId",
    "TaskInput",
    "TextGenerationMode",
    "UnsupportedRequest",
    "create_app",
    "decode_onchain_input",
    "encode_input",
    "encode_raw_output",
    "parse_call",
    "parse_offchain",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
