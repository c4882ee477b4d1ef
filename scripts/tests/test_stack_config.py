"""A stack of several nodes (`make up NODES=n`): each node its own key, payment Wallet, port,
store and log, all on the same chain and service; a number of nodes the stack has no keys for is
refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from hf_infernet_stack.accounts import MAX_NODES
from hf_infernet_stack.accounts import NODE_KEY
from hf_infernet_stack.accounts import PROTOCOL
from hf_infernet_stack.stack_config import NodesError
from hf_infernet_stack.stack_config import Ports
from hf_infernet_stack.stack_config import StackConfig
from hf_infernet_stack.stack_config import Urls
from hf_infernet_stack.stack_config import node_config


def test_three_nodes_share_the_chain_and_service_and_nothing_else(tmp_path: Path) -> None:
    config = StackConfig(tmp_path, ports=Ports(more_nodes=Ports.following(4000, 3)))
    urls = Urls.of(config)

    nodes = [node_config(config, urls, i) for i in range(3)]

    assert config.nodes == 3
    assert urls.nodes == tuple(f"http://127.0.0.1:{p}" for p in (4000, 4001, 4002))
    for field in (
        lambda c: c["server"]["port"],
        lambda c: c["storage"]["path"],
        lambda c: c["log"]["path"],
        lambda c: c["chain"]["wallet"]["private_key"],
        lambda c: c["chain"]["wallet"]["payment_address"],
    ):
        assert len({field(c) for c in nodes}) == 3
    for same in (lambda c: c["chain"]["rpc_url"], lambda c: c["containers"]):
        assert len({str(same(c)) for c in nodes}) == 1
    # the first node is the one-node stack's: anvil #1, infernet-anvil's node Wallet
    assert nodes[0]["chain"]["wallet"]["private_key"] == NODE_KEY
    assert nodes[0]["chain"]["wallet"]["payment_address"] == PROTOCOL.node_wallet
    assert nodes[0]["storage"]["path"] == str(tmp_path / "devnode.sqlite")


def test_free_ports_give_each_node_its_own(tmp_path: Path) -> None:
    config = StackConfig.with_free_ports(tmp_path, nodes=2)

    ports = [config.ports.anvil, config.ports.service, config.ports.backend, *config.ports.nodes]
    assert config.nodes == 2
    assert len(set(ports)) == len(ports)


@pytest.mark.parametrize("nodes", ["0", str(MAX_NODES + 1), "two"])
def test_a_number_of_nodes_without_keys_is_refused(tmp_path: Path, nodes: str) -> None:
    with pytest.raises(NodesError, match=f"NODES={nodes}|NODES='{nodes}'"):
        Ports.following(4000, nodes)


def test_nodes_from_the_environment_follow_the_first_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODES", "2")
    monkeypatch.setenv("NODE_PORT", "4100")

    config = StackConfig.from_env(tmp_path)

    assert config.ports.nodes == (4100, 4101)
