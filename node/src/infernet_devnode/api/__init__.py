"""The node's one HTTP face: every route it serves, over one way of answering.

Modules import only modules on a lower floor (``docs/devnode.md`` draws the layers):

    responses   JSON through the node's encoder, the error shape, the explorer's security
                headers, bounded integers from paths and queries
    chain       the chain side's status routes and its lines of /metrics
    explorer    the explorer's page and read routes
    rest        the REST API (upstream's routes and the devnode's), the middleware every route
                runs under, and the application that holds them all
    serving     the listening socket, its connections counted against server.max_connections

Only this package and ``app`` import the chain half, and nothing below imports this package.
"""

from __future__ import annotations

from .rest import create_app as create_app
from .rest import status_caller_allowed as status_caller_allowed
from .serving import ApiServer as ApiServer

__all__ = ["ApiServer", "create_app", "status_caller_allowed"]
