"""The devnode explorer: a read-only page at GET /ui over the node's own records.

Plain HTML, CSS and one script served from this package (``static/``): no build step, nothing
loaded from elsewhere, every value rendered as text. The queries over the off-chain job table
(``jobs``) and the container health probe (``health``) live here; the chain side's views live in
``chain.views`` and the routes in the HTTP face (``api.explorer``). See docs/explorer.md.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["PAGE_FILES"]

# The page and its files.
PAGE_FILES = resources.files(__name__).joinpath("static")
