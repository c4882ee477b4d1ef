"""The chain tests, e2e and `make up` deploy the protocol one way (forge script
DeployProtocol.s.sol); this pins where that puts it: infernet-anvil's addresses, which Ritual's
example node configs name."""

from __future__ import annotations

from eth_account import Account
from eth_utils.address import to_checksum_address
from hf_infernet_stack.accounts import NODE_KEY
from hf_infernet_stack.rpc import Rpc
from infernet_devnode.chain.abi import Function

# Ritual's infernet-anvil image: its deployer (anvil account #2) at nonces 0-5, then the node's
# Wallet as the WalletFactory's first contract.
INFERNET_ANVIL = {
    "REGISTRY": "0x663F3ad617193148711d28f5334eE4Ed07016602",
    "COORDINATOR": "0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1",
    "INBOX": "0x8438Ad1C834623CfF278AB6829a248E37C2D7E3f",
    "READER": "0xBC9129Dc0487fc2E169941C75aABC539f208fb01",
    "FEE": "0x6e989C01a3e3A94C973A62280a72EC335598490e",
    "WALLET_FACTORY": "0xF6168876932289D073567f347121A267095f3DD6",
}
NODE_WALLET = "0x60985ee8192B322c3CAbA97A9A9f7298bdc4335C"

IS_VALID_WALLET = Function("isValidWallet", ("address",), ("bool",))
OWNER = Function("owner", (), ("address",))


def test_the_protocol_lands_at_infernet_anvils_addresses(rpc: Rpc) -> None:
    registry = INFERNET_ANVIL["REGISTRY"]
    for name, address in INFERNET_ANVIL.items():
        assert rpc("eth_getCode", address, "latest") not in ("0x", ""), f"no code at {name}"
        if name != "REGISTRY":
            (named,) = rpc.call(registry, Function(name, (), ("address",)))
            assert to_checksum_address(named) == address, f"Registry.{name}()"


def test_the_node_wallet_belongs_to_the_node_key(rpc: Rpc) -> None:
    (valid,) = rpc.call(INFERNET_ANVIL["WALLET_FACTORY"], IS_VALID_WALLET, NODE_WALLET)
    assert valid
    (owner,) = rpc.call(NODE_WALLET, OWNER)
    assert to_checksum_address(owner) == Account.from_key(NODE_KEY).address
