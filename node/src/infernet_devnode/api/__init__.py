"""The node's one HTTP face: every route it serves, over one way of answering.

Modules import only modules on a lower floor (``docs/devnode.md`` draws the layers):

    responses   JSON through the node's encoder, the error shape, the explorer's security
                headers, bounded integers from paths and queries
    chain_slot  what the REST API asks of the chain side, and the slot that holds it once
                the chain side has started
    chain       the chain side's answers (status routes, lines of /metrics, health) over a
                started ChainSide
    explorer    the explorer's page and read routes
    rest        the REST API (upstream's routes and the devnode's), the chain routes over the
                slot, the middleware every route runs under, and the application
    serving     the listening socket, its connections counted against server.max_connections

Only ``chain`` and ``explorer`` here and ``app`` import the chain half; only ``app`` imports
those two, when the chain side or the explorer is enabled, so a node without them never loads
web3 or eth_account. Nothing below imports this package.
"""

from __future__ import annotations

from .chain_slot import ChainSlot as ChainSlot
from .rest import create_app as create_app
from .rest import status_caller_allowed as status_caller_allowed
from .serving import ApiServer as ApiServer

__all__ = ["ApiServer", "ChainSlot", "create_app", "status_caller_allowed"]
