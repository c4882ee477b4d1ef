"""The devnode explorer: a read-only page at GET /ui over the node's own records.

Plain HTML, CSS and one script served from this package (``static/``): no build step, nothing
loaded from elsewhere, every value rendered as text. See docs/explorer.md.
"""

from __future__ import annotations

from .routes import CONTENT_SECURITY_POLICY as CONTENT_SECURITY_POLICY
from .routes import install_explorer as install_explorer

__all__ = ["CONTENT_SECURITY_POLICY", "install_explorer"]
