"""On-chain subscriptions as the node sees them, container-set hashing and the guardian (pure).

The struct and hashing are infernet-sdk v1.1.0's; container-set lookup and the admission rules
for on-chain subscriptions follow infernet-node v1.4.0 (docs/devnode.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ..messages import UINT32_MAX

__all__ = [
    "CANCELLED_ACTIVE_AT",
    "UINT32_MAX",
    "ZERO_ADDRESS",
    "Admission",
    "ContainerLookup",
    "ContainerPolicy",
    "Subscription",
    "admit_subscription",
    "container_set_hash",
    "payment_rule_violation",
]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
# cancelSubscription() sets activeAt to type(uint32).max (infernet-sdk v1.1.0).
CANCELLED_ACTIVE_AT = UINT32_MAX
# Permutations grow factorially (infernet-node v1.4.0): chains longer than this are not
# enumerated (5 ids already give 325 hashes).
_MAX_CHAIN_LENGTH = 5


@dataclass(frozen=True)
class Subscription:
    """Coordinator.sol `Subscription`, plus its id. Addresses are checksummed strings."""

    id: int
    owner: str
    active_at: int
    period: int
    frequency: int
    redundancy: int
    container_id: bytes
    lazy: bool
    verifier: str
    payment_amount: int
    payment_token: str
    wallet: str

    @classmethod
    def from_tuple(cls, subscription_id: int, values: Sequence[Any]) -> Subscription:
        """Build from the decoded ABI tuple, in struct field order."""
        (owner, active_at, period, frequency, redundancy, container_id, lazy, verifier) = values[:8]
        payment_amount, payment_token, wallet = values[8:11]
        return cls(
            id=subscription_id,
            owner=to_checksum_address(owner),
            active_at=int(active_at),
            period=int(period),
            frequency=int(frequency),
            redundancy=int(redundancy),
            container_id=bytes(container_id),
            lazy=bool(lazy),
            verifier=to_checksum_address(verifier),
            payment_amount=int(payment_amount),
            payment_token=to_checksum_address(payment_token),
            wallet=to_checksum_address(wallet),
        )

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in struct field order (for deliverComputeDelegatee and EIP-712)."""
        return (
            self.owner,
            self.active_at,
            self.period,
            self.frequency,
            self.redundancy,
            self.container_id,
            self.lazy,
            self.verifier,
            self.payment_amount,
            self.payment_token,
            self.wallet,
        )

    def as_json(self) -> dict[str, Any]:
        """The REST shape (snake_case, containers as 0x-hex bytes32), as POST /api/jobs takes it."""
        return {
            "owner": self.owner,
            "active_at": self.active_at,
            "period": self.period,
            "frequency": self.frequency,
            "redundancy": self.redundancy,
            "containers": "0x" + self.container_id.hex(),
            "lazy": self.lazy,
            "verifier": self.verifier,
            "payment_amount": self.payment_amount,
            "payment_token": self.payment_token,
            "wallet": self.wallet,
        }

    @property
    def exists(self) -> bool:
        """getSubscription returns an all-zero struct for unknown ids."""
        return self.owner != ZERO_ADDRESS

    @property
    def is_callback(self) -> bool:
        return self.period == 0

    @property
    def is_cancelled(self) -> bool:
        return self.active_at == CANCELLED_ACTIVE_AT

    @property
    def requires_proof(self) -> bool:
        return self.verifier != ZERO_ADDRESS

    @property
    def pays(self) -> bool:
        return self.payment_amount > 0


def container_set_hash(container_ids: Sequence[str]) -> bytes:
    """`keccak256(abi.encode(string))` of the comma-joined ids (infernet-node v1.4.0)."""
    return keccak(abi_encode(["string"], [",".join(container_ids)]))


@dataclass(frozen=True)
class ContainerLookup:
    """Container-set hash -> the ordered container ids it names, for the configured ids."""

    by_hash: Mapping[bytes, tuple[str, ...]]

    @classmethod
    def build(cls, container_ids: Iterable[str]) -> ContainerLookup:
        ids = list(dict.fromkeys(container_ids))
        by_hash: dict[bytes, tuple[str, ...]] = {}
        for length in range(1, min(len(ids), _MAX_CHAIN_LENGTH) + 1):
            for chain in itertools.permutations(ids, length):
                by_hash[container_set_hash(chain)] = chain
        return cls(by_hash)

    def resolve(self, container_hash: bytes) -> tuple[str, ...]:
        """The ordered ids for a hash; empty when the node does not serve that set."""
        return self.by_hash.get(bytes(container_hash), ())


@dataclass(frozen=True)
class ContainerPolicy:
    """What the guardian needs to know about one configured container (docs/configuration.md)."""

    id: str
    external: bool = True
    generates_proofs: bool = False
    # lowercase addresses; empty means everyone is allowed
    allowed_addresses: frozenset[str] = frozenset()
    allowed_delegate_addresses: frozenset[str] = frozenset()
    # checksummed token address -> minimum amount in the token's smallest unit
    accepted_payments: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Admission:
    """The guardian's answer: accepted, or rejected with a reason (and the container ids)."""

    accepted: bool
    reason: str = ""
    containers: tuple[str, ...] = ()


def payment_rule_violation(
    sub: Subscription,
    rules: Sequence[ContainerPolicy],
    payment_address: str | None,
) -> str:
    """Why the subscription's payment is not acceptable to these containers; "" when it is.

    Mirrors upstream's WalletChecker (infernet-node v1.4.0): a paying subscription needs
    a configured payment wallet; every container with a non-empty `accepted_payments` must list the
    token, and the amount must reach the sum of the containers' minimums for it.
    """
    if sub.pays and not payment_address:
        return "Invalid payment: subscription pays but no chain.wallet.payment_address is set"
    token = to_checksum_address(sub.payment_token)
    required = 0
    for rule in rules:
        if not rule.accepted_payments:
            continue
        accepted = {to_checksum_address(t): amount for t, amount in rule.accepted_payments.items()}
        if token not in accepted:
            return f"Invalid payment: container {rule.id} does not accept token {token}"
        required += accepted[token]
    if sub.payment_amount < required:
        return f"Invalid payment: amount {sub.payment_amount} is below the minimum {required}"
    return ""


def admit_subscription(
    sub: Subscription,
    lookup: ContainerLookup,
    rules: Mapping[str, ContainerPolicy],
    payment_address: str | None,
) -> Admission:
    """Guardian for an on-chain subscription found by sync (infernet-node v1.4.0).

    The chain-dependent parts (wallet validity, balance) are checked at delivery time by
    `payments`; this decides everything that follows from the subscription and the config.
    """
    containers = lookup.resolve(sub.container_id)
    if not containers:
        return Admission(False, f"Container-set not supported: 0x{sub.container_id.hex()}")
    chain = [rules[c] for c in containers]
    if not chain[0].external:
        return Admission(False, f"First container must be external: {containers[0]}", containers)
    owner = sub.owner.lower()
    for rule in chain:
        if rule.allowed_addresses and owner not in rule.allowed_addresses:
            return Admission(
                False, f"Container not allowed for address: {rule.id} {sub.owner}", containers
            )
    if sub.requires_proof and not chain[-1].generates_proofs:
        return Admission(False, f"Container does not generate proof: {chain[-1].id}", containers)
    violation = payment_rule_violation(sub, chain, payment_address)
    if violation:
        return Admission(False, violation, containers)
    return Admission(True, "", containers)
