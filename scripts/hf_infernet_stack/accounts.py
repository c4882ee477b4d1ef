"""Fixed facts of a local chain: anvil's accounts in their roles, the protocol's addresses, the
container id the consumers ask for."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import encode
from eth_account import Account
from web3 import Web3

CONTAINER_ID = "hf_inference_client_service"  # the container id consumers hash and config names
# a second entry for the same service that claims proofs (e2e: a requires_proof job reaches it)
PROOF_CONTAINER_ID = "hf_with_proofs"
CHAIN_ID = 31337  # anvil's default, which ritualnetwork/infernet-anvil:1.0.0 keeps
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# anvil's default accounts (mnemonic "test test ... junk"), in the roles of infernet-anvil's
# deployment: #1 the node, #2 the deployer (docs/stack.md); #0 an ordinary user; #3 the delegated
# consumers' signer; #4 a second node (chain tests); #6 and #7 the further nodes of a stack of
# several (`make up NODES=n`, the compose profile "nodes").
USER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil #0
NODE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil #1
DEPLOYER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # anvil #2
SIGNER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"  # anvil #3
SECOND_NODE_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"  # #4
# DeployProtocol.s.sol's EXTRA_NODE_KEYS default: anvil #6, anvil #7
EXTRA_NODE_KEYS = (
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
)
USER_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
NODE_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
DEPLOYER_ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
SIGNER_ADDRESS = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


@dataclass(frozen=True)
class ProtocolAddresses:
    """Where DeployProtocol.s.sol puts the protocol (anvil #2, nonces 0-5): infernet-anvil's."""

    registry: str = "0x663F3ad617193148711d28f5334eE4Ed07016602"
    coordinator: str = "0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1"
    inbox: str = "0x8438Ad1C834623CfF278AB6829a248E37C2D7E3f"
    reader: str = "0xBC9129Dc0487fc2E169941C75aABC539f208fb01"
    fee: str = "0x6e989C01a3e3A94C973A62280a72EC335598490e"
    wallet_factory: str = "0xF6168876932289D073567f347121A267095f3DD6"
    node_wallet: str = "0x60985ee8192B322c3CAbA97A9A9f7298bdc4335C"


PROTOCOL = ProtocolAddresses()


def address_of(key: str) -> str:
    """The account a private key signs for (checksummed)."""
    return str(Account.from_key(key).address)


def container_id_hash(container_id: str) -> bytes:
    """containerId on-chain = keccak256(abi.encode(string)) (docs/contracts.md, wire formats)."""
    return Web3.keccak(encode(["string"], [container_id]))


# The nodes of a local stack, in order: the first is the stack's default node (`node_url`).
NODE_KEYS = (NODE_KEY, *EXTRA_NODE_KEYS)
# Each node's payment Wallet: DeployProtocol.s.sol creates them in this order on anvil's chain id
# (the WalletFactory's first three CREATEs; docs/stack.md).
NODE_WALLETS = (
    PROTOCOL.node_wallet,
    "0x7749f632935738EA2Dd32EBEcbb8B9145E1efeF6",
    "0xf8F05DA938450EfF02289087C4Bf53f198289712",
)
MAX_NODES = len(NODE_KEYS)
