"""An endpoint that accepts connections and never answers is noticed within seconds, and a
chain event that every poll sees again is said once per episode (docs/devnode.md, "Chain
faults"), against real anvils."""

from __future__ import annotations

import signal
from pathlib import Path

from chain_harness import degraded_with
from chain_harness import fresh_chain
from chain_harness import health
from chain_harness import later_genesis
from chain_harness import request_on
from chain_harness import running
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.anvil import RpcProxy
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import wait_for

TIMEOUT_S = 30.0
# The default chain.liveness_timeout is 2 s: the stall shows well within this.
STALL_NOTICED_S = 8.0
# RPC requests the node makes while a fault lasts, before the test counts its log lines.
REQUESTS_DURING_FAULT = 20


def test_an_endpoint_that_stops_answering_is_degraded_within_seconds_and_said_once(
    tmp_path: Path, deployer: Actor, echo: EchoContainer, chains: list[Anvil]
) -> None:
    chain, rpc, consumer = fresh_chain(None, deployer, tmp_path / "chain")
    chains.append(chain)
    node = Devnode(
        workdir=tmp_path / "node", rpc_url=chain.url, containers={CONTAINER_ID: echo.url}
    )
    with running(node):
        assert health(node) == {"status": "healthy"}
        assert chain.proc is not None
        chain.proc.send_signal(signal.SIGSTOP)  # the kernel still accepts its connections
        try:
            wait_for(
                lambda: degraded_with(node, "did not answer eth_chainId within 2 s"),
                STALL_NOTICED_S,
                "degraded /health",
            )
            sent = node.metric("devnode_chain_rpc_requests_total")
            wait_for(
                lambda: node.metric("devnode_chain_rpc_requests_total") >= sent + 3,
                TIMEOUT_S,
                "more probes during the stall",
            )
            assert node.metric("devnode_chain_rpc_healthy") == 0
        finally:
            chain.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: health(node) == {"status": "healthy"}, TIMEOUT_S, "healthy again")
        logs = node.logs()
        assert logs.count("did not answer eth_chainId") == 1
        assert logs.count("answers again") == 1
        sub_id = request_on(rpc, deployer, consumer)
        node.wait_delivered(sub_id, 1, TIMEOUT_S)


def test_a_head_that_went_back_is_said_once_while_the_episode_lasts(
    tmp_path: Path, deployer: Actor, echo: EchoContainer, chains: list[Anvil]
) -> None:
    """anvil restarted fresh and without the protocol behind the same URL: its head is below
    the last block processed at every poll until the protocol is deployed."""
    old, old_rpc, _ = fresh_chain(None, deployer, tmp_path / "old")
    chains.append(old)
    bare = Anvil(extra_args=later_genesis(old_rpc)).start()
    chains.append(bare)
    with RpcProxy(old.url) as proxy:
        node = Devnode(
            workdir=tmp_path / "node", rpc_url=proxy.url, containers={CONTAINER_ID: echo.url}
        )
        with running(node):
            proxy.upstream = bare.url
            wait_for(lambda: degraded_with(node, "no Registry"), TIMEOUT_S, "degraded")
            sent = node.metric("devnode_chain_rpc_requests_total")
            wait_for(
                lambda: (
                    node.metric("devnode_chain_rpc_requests_total") > sent + REQUESTS_DURING_FAULT
                ),
                TIMEOUT_S,
                "more polls during the fault",
            )
            assert node.logs().count("head went back") == 1
