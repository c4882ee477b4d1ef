"""The devnode's own version and the Infernet Node version whose wire behaviour it reproduces.

A leaf: whatever reports a version imports it from here, never from the package root (whose
``__init__`` imports the node, which imports the HTTP face).
"""

from __future__ import annotations

__all__ = ["UPSTREAM_VERSION", "__version__"]

__version__ = "0.1.0"
# Reported by GET /info as "version".
UPSTREAM_VERSION = "1.4.0"
