"""Delegated subscriptions: the request body, EIP-712 hashing and signer recovery (pure).

The types and domain are infernet-sdk v1.1.0's EIP712Coordinator's. Upstream (infernet-node
v1.4.0) accepts every delegated request and drops bad signatures silently later; the devnode
checks the signature when the request arrives so the client gets a 400 that says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ..errors import InvalidField
from ..messages import DelegatedSubscriptionRequest
from .subscriptions import UINT32_MAX
from .subscriptions import Subscription

__all__ = [
    "DELEGATE_TYPEHASH",
    "DOMAIN_TYPEHASH",
    "SUBSCRIPTION_TYPEHASH",
    "SignedDelegation",
    "delegate_key",
    "delegation_digest",
    "domain_separator",
    "recover_signer",
    "signature_problem",
]

EIP712_NAME = "InfernetCoordinator"
EIP712_VERSION = "1"
_SUBSCRIPTION_TYPE = (
    "Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,"
    "bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,"
    "address wallet)"
)
DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
SUBSCRIPTION_TYPEHASH = keccak(text=_SUBSCRIPTION_TYPE)
DELEGATE_TYPEHASH = keccak(
    text=f"DelegateSubscription(uint32 nonce,uint32 expiry,Subscription sub){_SUBSCRIPTION_TYPE}"
)
_SUBSCRIPTION_FIELD_TYPES = [
    "bytes32",
    "address",
    "uint32",
    "uint32",
    "uint32",
    "uint16",
    "bytes32",
    "bool",
    "address",
    "uint256",
    "address",
    "address",
]
_UINT16_MAX = 2**16 - 1
_UINT256_MAX = 2**256 - 1
_UINT8_MAX = 2**8 - 1
_BYTES32_HEX = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
# secp256k1 signatures carry v as 27/28 (Ethereum) or 0/1 (raw recovery id).
_V_OFFSET = 27


def domain_separator(chain_id: int, coordinator: str) -> bytes:
    """EIP-712 domain separator: name "InfernetCoordinator", version "1", no salt."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                DOMAIN_TYPEHASH,
                keccak(text=EIP712_NAME),
                keccak(text=EIP712_VERSION),
                chain_id,
                to_checksum_address(coordinator),
            ],
        )
    )


def _subscription_struct_hash(sub: Subscription) -> bytes:
    return keccak(abi_encode(_SUBSCRIPTION_FIELD_TYPES, [SUBSCRIPTION_TYPEHASH, *sub.as_tuple()]))


def delegation_digest(
    chain_id: int, coordinator: str, nonce: int, expiry: int, sub: Subscription
) -> bytes:
    """The digest the delegated signer signs (`\\x19\\x01 || domain || structHash`)."""
    struct_hash = keccak(
        abi_encode(
            ["bytes32", "uint32", "uint32", "bytes32"],
            [DELEGATE_TYPEHASH, nonce, expiry, _subscription_struct_hash(sub)],
        )
    )
    return keccak(b"\x19\x01" + domain_separator(chain_id, coordinator) + struct_hash)


def recover_signer(digest: bytes, v: int, r: int, s: int) -> str | None:
    """The checksummed address that signed `digest`, or None when (v, r, s) is not a signature."""
    recovery_id = v - _V_OFFSET if v >= _V_OFFSET else v
    try:
        signature = Signature(vrs=(recovery_id, r, s))
        return signature.recover_public_key_from_msg_hash(digest).to_checksum_address()
    except (BadSignature, ValueError):
        return None


def delegate_key(subscription_owner: str, nonce: int) -> bytes:
    """Key of `delegateCreatedIds`: keccak256(abi.encode(address owner, uint32 nonce))."""
    owner = to_checksum_address(subscription_owner)
    return keccak(abi_encode(["address", "uint32"], [owner, nonce]))


@dataclass(frozen=True)
class SignedDelegation:
    """A delegated subscription with its signature, as the node keeps it until delivered."""

    subscription: Subscription
    nonce: int
    expiry: int
    v: int
    r: int
    s: int
    data: dict[str, Any]

    @classmethod
    def from_message(cls, message: DelegatedSubscriptionRequest) -> SignedDelegation:
        """Validate the ranges and formats the wire model leaves open.

        Raises:
            InvalidField: naming the offending field, e.g. `subscription.containers`.
        """
        sub = message.subscription
        sig = message.signature
        for name, value, bound in (
            ("subscription.active_at", sub.active_at, UINT32_MAX),
            ("subscription.period", sub.period, UINT32_MAX),
            ("subscription.frequency", sub.frequency, UINT32_MAX),
            ("subscription.redundancy", sub.redundancy, _UINT16_MAX),
            ("subscription.payment_amount", sub.payment_amount, _UINT256_MAX),
            ("signature.nonce", sig.nonce, UINT32_MAX),
            ("signature.expiry", sig.expiry, UINT32_MAX),
            ("signature.v", sig.v, _UINT8_MAX),
            ("signature.r", sig.r, _UINT256_MAX),
            ("signature.s", sig.s, _UINT256_MAX),
        ):
            if not 0 <= value <= bound:
                raise InvalidField(name, f"must be between 0 and {bound}")
        if not _BYTES32_HEX.match(sub.containers):
            raise InvalidField(
                "subscription.containers", "expected the 0x-hex bytes32 container-set hash"
            )
        subscription = Subscription(
            id=0,
            owner=_address("subscription.owner", sub.owner),
            active_at=sub.active_at,
            period=sub.period,
            frequency=sub.frequency,
            redundancy=sub.redundancy,
            container_id=bytes.fromhex(sub.containers[2:]),
            lazy=sub.lazy,
            verifier=_address("subscription.verifier", sub.verifier),
            payment_amount=sub.payment_amount,
            payment_token=_address("subscription.payment_token", sub.payment_token),
            wallet=_address("subscription.wallet", sub.wallet),
        )
        return cls(subscription, sig.nonce, sig.expiry, sig.v, sig.r, sig.s, dict(message.data))

    def request_body(self) -> dict[str, Any]:
        """The POST /api/jobs body that `from_message` reads back (infernet-node v1.4.0)."""
        return {
            "subscription": self.subscription.as_json(),
            "signature": {
                "nonce": self.nonce,
                "expiry": self.expiry,
                "v": self.v,
                "r": self.r,
                "s": self.s,
            },
            "data": self.data,
        }


def _address(field: str, value: str) -> str:
    if not _ADDRESS.match(value):
        raise InvalidField(field, "expected a 0x-prefixed 20-byte hex address")
    return to_checksum_address(value)


def signature_problem(
    delegation: SignedDelegation,
    *,
    chain_id: int,
    coordinator: str,
    now: int,
    expected_signer: str,
) -> str:
    """Why the Coordinator would reject this signature at chain time `now`; "" when it is valid.

    Same checks and order as createSubscriptionDelegatee (infernet-sdk v1.1.0): expiry first
    (`now >= expiry` reverts SignatureExpired), then the recovered signer against the owner's
    current `getSigner()`.
    """
    if now >= delegation.expiry:
        return f"SignatureExpired: expiry {delegation.expiry} is not after chain time {now}"
    digest = delegation_digest(
        chain_id, coordinator, delegation.nonce, delegation.expiry, delegation.subscription
    )
    recovered = recover_signer(digest, delegation.v, delegation.r, delegation.s)
    if recovered is None:
        return "InvalidSignature: (v, r, s) does not recover to an address"
    if recovered != to_checksum_address(expected_signer):
        return (
            f"SignerMismatch: signed by {recovered}, but {delegation.subscription.owner}"
            f".getSigner() is {to_checksum_address(expected_signer)}"
        )
    return ""
