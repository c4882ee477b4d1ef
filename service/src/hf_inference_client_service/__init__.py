"""HF Inference Client Service: an Infernet container answering jobs with Hugging Face inference.

Public surface: the app factory, the workflow, configuration, task and wire types, the ABI
helpers and the error hierarchy. The offline Hugging Face stand-in lives in
`hf_inference_client_service.offline_backend` (a test and demo tool, not re-exported here).
"""

from __future__ import annotations

from .app import create_app as create_app
from .backend_http import ConnectionLimits as ConnectionLimits
from .config import DEFAULT_MODELS as DEFAULT_MODELS
from .config import ServiceConfig as ServiceConfig
from .config import TextGenerationMode as TextGenerationMode
from .encoding import SCORE_SCALE as SCORE_SCALE
from .encoding import decode_onchain_input as decode_onchain_input
from .encoding import encode_input as encode_input
from .encoding import encode_raw_output as encode_raw_output
from .errors import BackendError as BackendError
from .errors import BackendTimeout as BackendTimeout
from .errors import BackendUnavailable as BackendUnavailable
from .errors import InvalidField as InvalidField
from .errors import ServiceError as ServiceError
from .errors import StreamBroken as StreamBroken
from .errors import UnsupportedRequest as UnsupportedRequest
from .hf_backend import HFInferenceClientWorkflow as HFInferenceClientWorkflow
from .protocol import ContainerCall as ContainerCall
from .protocol import ContainerInput as ContainerInput
from .protocol import JobLocation as JobLocation
from .protocol import parse_call as parse_call
from .retry import RetryPolicy as RetryPolicy
from .tasks import InputPolicy as InputPolicy
from .tasks import TaskId as TaskId
from .tasks import TaskInput as TaskInput
from .tasks import parse_offchain as parse_offchain

__all__ = [
    "DEFAULT_MODELS",
    "SCORE_SCALE",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "ConnectionLimits",
    "ContainerCall",
    "ContainerInput",
    "HFInferenceClientWorkflow",
    "InputPolicy",
    "InvalidField",
    "JobLocation",
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
