"""infernet-devnode: a local Infernet node, wire-compatible with Infernet Node 1.4.0."""

from __future__ import annotations

from .app import Node as Node
from .components import NodeContext as NodeContext
from .config import NodeConfig as NodeConfig
from .config import load_config as load_config
from .config import parse_config as parse_config
from .errors import ChainNotAvailable as ChainNotAvailable
from .errors import ConfigError as ConfigError
from .errors import GuardianRejection as GuardianRejection
from .errors import InvalidField as InvalidField
from .errors import NodeError as NodeError
from .results import JobLocation as JobLocation
from .results import JobResult as JobResult
from .results import JobStatus as JobStatus
from .version import __version__ as __version__

__all__ = [
    "ChainNotAvailable",
    "ConfigError",
    "GuardianRejection",
    "InvalidField",
    "JobLocation",
    "JobResult",
    "JobStatus",
    "Node",
    "NodeConfig",
    "NodeContext",
    "NodeError",
    "__version__",
    "load_config",
    "parse_config",
]
