"""The node's one HTTP face: every route it serves, over one way of answering.

Modules import only modules on a lower floor (``docs/devnode.md`` draws the layers):

    responses   JSON through the node's encoder, the error shape, the explorer's security
                headers, bounded integers from paths and queries
    chain_slot  what the REST API and the explorer ask of the chain side, and the slots that
                hold it once the chain side has started
    chain       the chain side's answers (status routes, lines of /metrics, health) over a
                started ChainSide
    explorer    the explorer's page and read routes, its chain-reading ones over a slot
    rest        the REST API (upstream's routes and the devnode's), the chain routes over the
                slot, the middleware every route runs under, and the application
    serving     the listening socket, its connections counted against server.max_connections

Only ``chain`` here and ``app`` import the chain half; only ``app`` imports ``chain``, when the
chain side is enabled, so a node without it never loads web3 or eth_account, with or without
the explorer. Nothing below imports this package.
"""

from __future__ import annotations

from .chain_slot import ChainSlot as ChainSlot
from .rest import create_app as create_app
from .rest import status_caller_allowed as status_caller_allowed
from .serving import ApiServer as ApiServer

__all__ = ["ApiServer", "ChainSlot", "create_app", "status_caller_allowed"]
