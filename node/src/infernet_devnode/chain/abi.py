"""The slice of the Infernet SDK v1.1.0 ABI the devnode touches (infernet-sdk v1.1.0).

Functions are described by their canonical signature plus output types, and encoded with eth_abi
directly: encode and decode are pure, only `ChainClient` talks to the RPC endpoint.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

__all__ = [
    "CONSUMER",
    "COORDINATOR",
    "ERC20",
    "EVENT_SUBSCRIPTION_CANCELLED",
    "EVENT_SUBSCRIPTION_CREATED",
    "EVENT_SUBSCRIPTION_FULFILLED",
    "INFERNET_ERRORS",
    "READER",
    "REGISTRY",
    "SUBSCRIPTION_TUPLE",
    "WALLET",
    "WALLET_FACTORY",
    "Function",
    "decode_revert",
]

# Coordinator.sol `struct Subscription`, static, encoded in place (infernet-sdk v1.1.0).
SUBSCRIPTION_TUPLE = (
    "(address,uint32,uint32,uint32,uint16,bytes32,bool,address,uint256,address,address)"
)

_SELECTOR_BYTES = 4


@dataclass(frozen=True)
class Function:
    """One contract function: name, argument types and return types."""

    name: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.inputs)})"

    @property
    def selector(self) -> bytes:
        return _selector(self.signature)

    def encode(self, *args: Any) -> bytes:
        """Calldata for a call with `args` (selector followed by the ABI-encoded arguments)."""
        return self.selector + abi_encode(list(self.inputs), list(args))

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """The decoded return values of a successful call."""
        return tuple(abi_decode(list(self.outputs), data))


@functools.cache
def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:_SELECTOR_BYTES]


def _event_topic(signature: str) -> bytes:
    return keccak(text=signature)


class _Registry:
    coordinator = Function("COORDINATOR", (), ("address",))
    reader = Function("READER", (), ("address",))
    wallet_factory = Function("WALLET_FACTORY", (), ("address",))


class _Coordinator:
    id = Function("id", (), ("uint32",))
    get_subscription = Function("getSubscription", ("uint32",), (SUBSCRIPTION_TUPLE,))
    node_responded = Function("nodeResponded", ("bytes32",), ("bool",))
    redundancy_count = Function("redundancyCount", ("bytes32",), ("uint16",))
    delegate_created_ids = Function("delegateCreatedIds", ("bytes32",), ("uint32",))
    deliver_compute = Function(
        "deliverCompute", ("uint32", "uint32", "bytes", "bytes", "bytes", "address")
    )
    deliver_compute_delegatee = Function(
        "deliverComputeDelegatee",
        (
            "uint32",
            "uint32",
            SUBSCRIPTION_TUPLE,
            "uint8",
            "bytes32",
            "bytes32",
            "uint32",
            "bytes",
            "bytes",
            "bytes",
            "address",
        ),
    )


class _Reader:
    read_subscription_batch = Function(
        "readSubscriptionBatch", ("uint32", "uint32"), (f"{SUBSCRIPTION_TUPLE}[]",)
    )
    read_redundancy_count_batch = Function(
        "readRedundancyCountBatch", ("uint32[]", "uint32[]"), ("uint16[]",)
    )


class _Consumer:
    get_container_inputs = Function(
        "getContainerInputs", ("uint32", "uint32", "uint32", "address"), ("bytes",)
    )
    get_signer = Function("getSigner", (), ("address",))


class _WalletFactory:
    is_valid_wallet = Function("isValidWallet", ("address",), ("bool",))


class _Wallet:
    owner = Function("owner", (), ("address",))
    approve = Function("approve", ("address", "address", "uint256"))
    allowance = Function("allowance", ("address", "address"), ("uint256",))


class _ERC20:
    balance_of = Function("balanceOf", ("address",), ("uint256",))


REGISTRY = _Registry
COORDINATOR = _Coordinator
READER = _Reader
CONSUMER = _Consumer
WALLET_FACTORY = _WalletFactory
WALLET = _Wallet
ERC20 = _ERC20

EVENT_SUBSCRIPTION_CREATED = _event_topic("SubscriptionCreated(uint32)")
EVENT_SUBSCRIPTION_CANCELLED = _event_topic("SubscriptionCancelled(uint32)")
EVENT_SUBSCRIPTION_FULFILLED = _event_topic("SubscriptionFulfilled(uint32,address)")

# Custom errors a delivery can revert with (infernet-node v1.4.0).
_ERROR_NAMES = (
    "InvalidWallet",
    "IntervalMismatch",
    "IntervalCompleted",
    "UnauthorizedVerifier",
    "NodeRespondedAlready",
    "SubscriptionNotFound",
    "ProofRequestNotFound",
    "NotSubscriptionOwner",
    "SubscriptionCompleted",
    "SubscriptionNotActive",
    "UnsupportedVerifierToken",
    "SignerMismatch",
    "SignatureExpired",
    "InvalidSignature",
    "TransferFailed",
    "ETHTransferFailed",
    "InsufficientFunds",
    "InsufficientAllowance",
    "NodeNotAllowed",
    "InsufficientBalance",
    "NotCoordinator",
    "Reentrancy",
)
INFERNET_ERRORS: dict[bytes, str] = {
    keccak(text=f"{name}()")[:_SELECTOR_BYTES]: name for name in _ERROR_NAMES
}

# Solidity's built-in revert shapes: Error(string) and Panic(uint256).
_ERROR_STRING = keccak(text="Error(string)")[:_SELECTOR_BYTES]
_PANIC = keccak(text="Panic(uint256)")[:_SELECTOR_BYTES]


def decode_revert(data: bytes) -> str:
    """A readable name for revert data: the Infernet error name, `Error(...)`, `Panic(0x..)`.

    Unknown selectors come back as their hex so the reason is still specific.
    """
    if not data:
        return "reverted without data"
    selector = data[:_SELECTOR_BYTES]
    if selector in INFERNET_ERRORS:
        return INFERNET_ERRORS[selector]
    try:
        if selector == _ERROR_STRING:
            (message,) = abi_decode(["string"], data[_SELECTOR_BYTES:])
            return f"Error({message})"
        if selector == _PANIC:
            (code,) = abi_decode(["uint256"], data[_SELECTOR_BYTES:])
            return f"Panic({code:#x})"
    except Exception:  # malformed revert payloads fall through to the hex form
        return f"revert 0x{data.hex()}"
    return f"revert 0x{data.hex()}"
