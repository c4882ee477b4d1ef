"""The chain tests' own helpers over the shared stack package (hf_infernet_stack: anvil, the
protocol, consumers, the echo container, devnode processes): fresh chains, node health, and
delegated requests signed by eth_account, independent of the node's own EIP-712 code."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hf_infernet_stack.accounts import SECOND_NODE_KEY
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.consumers import REQUEST_COMPUTE
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.consumers import deploy_callback_consumer
from hf_infernet_stack.consumers import deploy_protocol
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.rpc import Rpc
from infernet_devnode.chain.subscriptions import container_set_hash


def protocol_and_consumer(chain: Anvil, deployer: Actor, workdir: Path) -> tuple[Rpc, str]:
    """Deploy the protocol and a callback consumer on a fresh anvil (always the same addresses)."""
    private = Rpc(chain.url)
    deploy_protocol(private, workdir)
    return private, deploy_callback_consumer(Actor(private, deployer.account.key.hex()))


def fresh_chain(
    port: int | None, deployer: Actor, workdir: Path, extra_args: tuple[str, ...] = ()
) -> tuple[Anvil, Rpc, str]:
    """A new anvil (on `port`, else a free one) with the protocol and a callback consumer."""
    chain = Anvil(extra_args=extra_args) if port is None else Anvil(port, extra_args=extra_args)
    chain.start()
    try:
        private, consumer = protocol_and_consumer(chain, deployer, workdir)
    except BaseException:
        chain.stop()
        raise
    return chain, private, consumer


def request_on(private: Rpc, deployer: Actor, consumer: str) -> int:
    owner = Actor(private, deployer.account.key.hex())
    return created_id(owner.transact(consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "x", 1))


def later_genesis(private: Rpc) -> tuple[str, ...]:
    """anvil args for a fresh chain whose genesis differs from `private`'s, as a restart in a
    later second gives it (same chain id, contract addresses and subscription ids)."""
    genesis_time = int(private("eth_getBlockByNumber", "0x0", False)["timestamp"], 16)
    return ("--timestamp", str(genesis_time + 60))


def second_node(first: Devnode, workdir: Path, **options: Any) -> Devnode:
    """Another devnode (anvil #4's key) on `first`'s chain and containers, syncing from the same
    subscription id; `options` set other fields."""
    return Devnode(
        workdir=workdir,
        rpc_url=first.rpc_url,
        containers=first.containers,
        key=SECOND_NODE_KEY,
        starting_sub_id=first.starting_sub_id,
        **options,
    )


@contextlib.contextmanager
def running(*nodes: Devnode) -> Iterator[None]:
    try:
        for node in nodes:
            node.start()
        yield
    except BaseException:
        for node in nodes:
            print(f"--- devnode {node.port} log ---\n{node.logs()}", file=sys.stderr)
        raise
    finally:
        for node in nodes:
            node.stop()


def health(node: Devnode) -> dict[str, Any]:
    status, body = node.get("/health")
    assert status == 200
    return dict(body)


def degraded_with(node: Devnode, words: str) -> bool:
    """Whether the node's /health says degraded, with `words` in its reason."""
    body = health(node)
    return body["status"] == "degraded" and words in body.get("reason", "")


def container_hash(ids: list[str]) -> str:
    return "0x" + container_set_hash(ids).hex()
