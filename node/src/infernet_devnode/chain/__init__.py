"""The chain half of the devnode: follow the Coordinator, deliver every due interval exactly once.

Modules import only modules on a lower floor (``docs/devnode.md`` draws the layers):

    pure core   abi, subscriptions, intervals, delivery, scheduling, eip712
    I/O         rpc (JSON-RPC client), store (SQLite tables), sender, payments, sync, tracking
    workers     settlement, execution, delegations
    loop        loop (the block loop that drives the workers)
    component   component (the node's ChainComponent: wiring, REST routes, metrics)

The off-chain half (REST API, job store, container client) lives one level up and never imports
from here; only ``app`` builds the component.
"""
