"""Chain faults said plainly: an endpoint that stops answering, a chain without the protocol,
a fresh chain behind the same URL. Each shows in /health and in one log line, and passes by
itself once the fault is gone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chain_harness import degraded_with
from chain_harness import fresh_chain
from chain_harness import health
from chain_harness import later_genesis
from chain_harness import protocol_and_consumer
from chain_harness import request_on
from chain_harness import running
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import PROTOCOL
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.anvil import RpcProxy
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import answers
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rpc import Rpc

TIMEOUT_S = 30.0
# Head polls the node makes while a fault lasts, before the test counts its log lines.
POLLS_DURING_FAULT = 20


def test_health_says_why_while_the_endpoint_is_down_and_recovers(
    tmp_path: Path, deployer: Actor, echo: EchoContainer, chains: list[Anvil]
) -> None:
    chain = Anvil(state_path=tmp_path / "anvil-state.json").start()
    chains.append(chain)
    protocol_and_consumer(chain, deployer, tmp_path / "protocol")
    node = Devnode(
        workdir=tmp_path / "node", rpc_url=chain.url, containers={CONTAINER_ID: echo.url}
    )
    with running(node):
        assert health(node) == {"status": "healthy"}
        chain.stop()
        wait_for(lambda: degraded_with(node, "unreachable"), TIMEOUT_S, "degraded /health")
        assert chain.url.removeprefix("http://") in health(node)["reason"]
        chain.start()
        wait_for(lambda: health(node) == {"status": "healthy"}, TIMEOUT_S, "healthy again")


def test_running_node_notices_a_fresh_chain_without_an_outage(
    tmp_path: Path, deployer: Actor, echo: EchoContainer, chains: list[Anvil]
) -> None:
    """The endpoint swaps chains between two polls (nothing unreachable, no head going back):
    the first head that does not descend from the last one processed gives it away."""
    old, old_rpc, old_consumer = fresh_chain(None, deployer, tmp_path / "old")
    chains.append(old)
    new, new_rpc, new_consumer = fresh_chain(
        None, deployer, tmp_path / "new", later_genesis(old_rpc)
    )
    chains.append(new)
    for _ in range(10):  # the new chain is ahead: its head is no rewind of the old one
        new_rpc("evm_mine")
    with RpcProxy(old.url) as proxy:
        node = Devnode(
            workdir=tmp_path / "node", rpc_url=proxy.url, containers={CONTAINER_ID: echo.url}
        )
        with running(node):
            first = request_on(old_rpc, deployer, old_consumer)
            node.wait_delivered(first, 1, TIMEOUT_S)
            proxy.upstream = new.url
            second = request_on(new_rpc, deployer, new_consumer)
            assert second == first
            wait_for(
                lambda: answers(new_rpc, new_consumer, second) == 1,
                TIMEOUT_S,
                "delivery on the new chain",
            )
            logs = node.logs()
            assert logs.count("belongs to another chain") == 1
            assert "unreachable" not in logs


def test_a_chain_without_the_protocol_is_said_once_and_then_served(
    tmp_path: Path, deployer: Actor, echo: EchoContainer, chains: list[Anvil]
) -> None:
    """anvil restarted without the protocol: one line naming the Registry and what to run (not
    a traceback per block), /health degraded; once the protocol is deployed, work resumes."""
    old, old_rpc, _ = fresh_chain(None, deployer, tmp_path / "old")
    chains.append(old)
    bare = Anvil(extra_args=later_genesis(old_rpc)).start()
    chains.append(bare)
    bare_rpc = Rpc(bare.url)
    for _ in range(10):
        bare_rpc("evm_mine")
    with RpcProxy(old.url) as proxy:
        node = Devnode(
            workdir=tmp_path / "node", rpc_url=proxy.url, containers={CONTAINER_ID: echo.url}
        )
        with running(node):
            proxy.upstream = bare.url
            wait_for(
                lambda: degraded_with(node, f"no Registry contract at {PROTOCOL.registry}"),
                TIMEOUT_S,
                "degraded /health naming the Registry",
            )
            assert "make deploy-protocol" in health(node)["reason"]
            polls = node.metric("devnode_chain_rpc_requests_total")
            wait_for(
                lambda: (
                    node.metric("devnode_chain_rpc_requests_total") > polls + POLLS_DURING_FAULT
                ),
                TIMEOUT_S,
                "more polls during the fault",
            )
            logs = node.logs()
            assert logs.count(f"no Registry contract at {PROTOCOL.registry}") == 1
            assert "Traceback" not in logs
            # the protocol arrives: the node adopts the chain and serves it
            _, consumer = protocol_and_consumer(bare, deployer, tmp_path / "deployed")
            wait_for(lambda: health(node) == {"status": "healthy"}, TIMEOUT_S, "healthy")
            sub_id = request_on(bare_rpc, deployer, consumer)
            wait_for(lambda: answers(bare_rpc, consumer, sub_id) == 1, TIMEOUT_S, "delivery")


@dataclass
class ProxiedNode:
    """A running devnode whose RPC endpoint is a proxy in front of a chain of its own."""

    node: Devnode
    proxy: RpcProxy
    chain: Anvil
    rpc: Rpc
    consumer: str


@pytest.fixture
def proxied(
    tmp_path: Path, deployer: Actor, echo: EchoContainer, chains: list[Anvil]
) -> Iterator[ProxiedNode]:
    chain, rpc, consumer = fresh_chain(None, deployer, tmp_path / "chain")
    chains.append(chain)
    with RpcProxy(chain.url) as proxy:
        node = Devnode(
            workdir=tmp_path / "node", rpc_url=proxy.url, containers={CONTAINER_ID: echo.url}
        )
        with running(node):
            wait_for(lambda: health(node) == {"status": "healthy"}, TIMEOUT_S, "healthy")
            yield ProxiedNode(node, proxy, chain, rpc, consumer)


def test_a_node_far_behind_reads_new_subscriptions_at_a_state_the_endpoint_keeps(
    proxied: ProxiedNode, deployer: Actor
) -> None:
    """An outage during which a request is made and 1,600 blocks follow: the node catches up
    in log ranges of 1,000 blocks, while anvil keeps only its last 500 states (as a non-archive
    endpoint keeps its last few). The request is still read and answered."""
    node, proxy, rpc, consumer = proxied.node, proxied.proxy, proxied.rpc, proxied.consumer
    first = request_on(rpc, deployer, consumer)
    node.wait_delivered(first, 1, TIMEOUT_S)
    proxy.upstream = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    wait_for(lambda: health(node)["status"] == "degraded", TIMEOUT_S, "the outage")
    second = request_on(rpc, deployer, consumer)
    rpc("anvil_mine", hex(1_600))
    proxy.upstream = proxied.chain.url
    node.wait_delivered(second, 1, TIMEOUT_S)
    assert answers(rpc, consumer, second) == 1
    assert "BlockOutOfRange" not in node.logs()


def test_an_endpoint_answering_errors_is_said_once_and_then_served(
    proxied: ProxiedNode, deployer: Actor
) -> None:
    """An endpoint that answers every call with a JSON-RPC error: /health degraded quoting it,
    one log line (no traceback per poll); once it answers again, a request made meanwhile is
    delivered."""
    node, proxy = proxied.node, proxied.proxy
    proxy.refuse = "upstream quota exceeded"
    wait_for(lambda: degraded_with(node, "answered with an error"), TIMEOUT_S, "degraded")
    assert "upstream quota exceeded" in health(node)["reason"]
    polls = proxy.count
    wait_for(lambda: proxy.count > polls + 3, TIMEOUT_S, "more polls during the fault")
    request = request_on(proxied.rpc, deployer, proxied.consumer)
    proxy.refuse = None
    node.wait_delivered(request, 1, TIMEOUT_S)
    logs = node.logs()
    said = "chain: the endpoint answered with an error: eth_getBlockByNumber: upstream"
    assert logs.count(said) == 1
    assert "working again" in logs
    assert "Traceback" not in logs
