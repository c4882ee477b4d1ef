"""Delegated subscriptions as their off-chain signer makes them: the Subscription struct, its
EIP-712 DelegateSubscription signature (domain "InfernetCoordinator"/"1", docs/contracts.md) and
the POST /api/jobs shape. Signed with eth_account's typed-data signer, so whatever checks the node
makes is checked against a signer independent of the node's own code."""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address

from .accounts import CHAIN_ID
from .accounts import CONTAINER_ID
from .accounts import PROTOCOL
from .accounts import ZERO_ADDRESS
from .accounts import container_id_hash

EIP712_DOMAIN_NAME = "InfernetCoordinator"
EIP712_DOMAIN_VERSION = "1"
# infernet-sdk v1.1.0, src/EIP712Coordinator.sol: the struct as the Coordinator hashes it
_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "DelegateSubscription": [
        {"name": "nonce", "type": "uint32"},
        {"name": "expiry", "type": "uint32"},
        {"name": "sub", "type": "Subscription"},
    ],
    "Subscription": [
        {"name": "owner", "type": "address"},
        {"name": "activeAt", "type": "uint32"},
        {"name": "period", "type": "uint32"},
        {"name": "frequency", "type": "uint32"},
        {"name": "redundancy", "type": "uint16"},
        {"name": "containerId", "type": "bytes32"},
        {"name": "lazy", "type": "bool"},
        {"name": "verifier", "type": "address"},
        {"name": "paymentAmount", "type": "uint256"},
        {"name": "paymentToken", "type": "address"},
        {"name": "wallet", "type": "address"},
    ],
}


@dataclass(frozen=True)
class DelegatedSubscription:
    """The Subscription struct a delegated signer signs (docs/contracts.md, wire formats)."""

    owner: str
    active_at: int
    period: int
    frequency: int
    redundancy: int
    container_id: bytes  # keccak256(abi.encode(string)), not the string
    lazy: bool = False
    verifier: str = ZERO_ADDRESS
    payment_amount: int = 0
    payment_token: str = ZERO_ADDRESS
    wallet: str = ZERO_ADDRESS

    def typed(self) -> dict[str, Any]:
        """The struct as EIP-712 typed data names its fields (camelCase)."""
        return {_camel(name): value for name, value in asdict(self).items()}

    def rest(self) -> dict[str, Any]:
        """The node REST shape (infernet-node v1.4.0): snake_case, containers as 0x-hex bytes32."""
        data = asdict(self)
        data["containers"] = "0x" + data.pop("container_id").hex()
        return data


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def typed_message(
    sub: DelegatedSubscription, nonce: int, expiry: int, coordinator: str, chain_id: int
) -> dict[str, Any]:
    """The whole EIP-712 message (types, domain, DelegateSubscription), as eth_account reads it."""
    return {
        "types": _TYPES,
        "primaryType": "DelegateSubscription",
        "domain": {
            "name": EIP712_DOMAIN_NAME,
            "version": EIP712_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": coordinator,
        },
        "message": {"nonce": nonce, "expiry": expiry, "sub": sub.typed()},
    }


def sign_delegated(
    sub: DelegatedSubscription,
    nonce: int,
    expiry: int,
    key: str,
    coordinator: str,
    chain_id: int,
) -> dict[str, int]:
    """The `signature` of POST /api/jobs: EIP-712 DelegateSubscription signed with `key`."""
    signed = Account.sign_typed_data(
        key, full_message=typed_message(sub, nonce, expiry, coordinator, chain_id)
    )
    return {"nonce": nonce, "expiry": expiry, "v": signed.v, "r": signed.r, "s": signed.s}


def delegated_request(
    sub: DelegatedSubscription,
    signature: dict[str, int],
    data: dict[str, Any],
) -> dict[str, Any]:
    """The POST /api/jobs body of a delegated subscription."""
    return {"subscription": sub.rest(), "signature": signature, "data": data}


def signed_delegated_request(
    key: str,
    owner: str,
    *,
    nonce: int,
    expiry: int,
    data: dict[str, Any],
    period: int = 0,
    frequency: int = 1,
    active_at: int = 0,
    container: str = CONTAINER_ID,
    redundancy: int = 1,
) -> dict[str, Any]:
    """POST /api/jobs body for a delegated subscription to `owner` on the local protocol
    (chain id and Coordinator of the stack), signed with `key`."""
    sub = DelegatedSubscription(
        owner=to_checksum_address(owner),
        active_at=active_at,
        period=period,
        frequency=frequency,
        redundancy=redundancy,
        container_id=container_id_hash(container),
    )
    signature = sign_delegated(sub, nonce, expiry, key, PROTOCOL.coordinator, CHAIN_ID)
    return delegated_request(sub, signature, data)
