"""The chain half of the devnode: follow the Coordinator, deliver every due interval exactly once.

Modules import only modules on a lower floor (``docs/devnode.md`` draws the layers):

    pure core   abi, subscriptions, intervals, delivery, scheduling, eip712
    I/O         rpc (JSON-RPC client), store (SQLite tables), sender, payments, sync, tracking
    read-only   readout, status, views (plain data for the status routes, metrics, explorer)
    workers     settlement, execution, delegations
    loop        loop (the block loop that drives the workers)
    component   component (`ChainSide`: the chain half wired from the node's context)

Nothing here serves HTTP: the node's HTTP face (``infernet_devnode.api``) turns what this
package returns into answers. Only ``app`` (which builds `ChainSide`) and the HTTP face import
from here.
"""
