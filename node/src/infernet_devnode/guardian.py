"""Admission rules (docs/devnode.md, admission rules): which jobs a node accepts, as pure functions.

Rejections raise GuardianRejection carrying upstream's exact ``error`` text and ``params``; the
REST layer answers them with 405 (upstream's status, not 403) or puts them in a batch answer.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from .config import ContainerConfig
from .errors import GuardianRejection
from .messages import DelegatedSubscriptionRequest

__all__ = ["ContainerRules", "Guardian", "container_set_hash"]

ZERO_ADDRESS = "0x" + "00" * 20
# Upstream precomputes every ordered permutation of 2..N ids; that is N! entries, so
# the lookup stops at this many containers per set (enough for any realistic pipeline).
MAX_PERMUTATION_LENGTH = 4

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def container_set_hash(container_ids: Sequence[str]) -> str:
    """keccak256(abi.encode(string)) of the comma-joined ids, 0x-hex (docs/contracts.md)."""
    # Imported on first use: only the chain half hashes container sets, and eth_abi is a
    # tenth of an off-chain node's start (docs/benchmarks.md).
    from eth_abi.abi import encode as abi_encode
    from eth_hash.auto import keccak

    encoded = abi_encode(["string"], [",".join(container_ids)])
    return "0x" + keccak(encoded).hex()


@dataclass(frozen=True)
class ContainerRules:
    """The admission-relevant part of one container's config, pre-parsed."""

    id: str
    external: bool
    generates_proofs: bool
    allowed_ips: tuple[IpNetwork, ...]
    allowed_addresses: frozenset[str]
    allowed_delegate_addresses: frozenset[str]

    @classmethod
    def from_config(cls, config: ContainerConfig) -> ContainerRules:
        return cls(
            id=config.id,
            external=config.external,
            generates_proofs=config.generates_proofs,
            allowed_ips=tuple(ipaddress.ip_network(i, strict=False) for i in config.allowed_ips),
            allowed_addresses=frozenset(a.lower() for a in config.allowed_addresses),
            allowed_delegate_addresses=frozenset(
                a.lower() for a in config.allowed_delegate_addresses
            ),
        )

    def allows_ip(self, client: str) -> bool:
        """Empty list allows everyone; otherwise the client must be in one of the networks."""
        if not self.allowed_ips:
            return True
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self.allowed_ips)


class Guardian:
    """The admission rules of one node, built from its container configs."""

    def __init__(self, containers: Iterable[ContainerConfig]) -> None:
        self.rules: dict[str, ContainerRules] = {
            c.id: ContainerRules.from_config(c) for c in containers
        }
        # Built on the first lookup (the chain half's), see container_set_hash.
        self._by_hash: Mapping[str, tuple[str, ...]] | None = None

    def containers_for_hash(self, containers_hash: str) -> tuple[str, ...]:
        """Ordered container ids whose set hash is ``containers_hash``; () when unknown."""
        if self._by_hash is None:
            self._by_hash = _container_lookup(list(self.rules), MAX_PERMUTATION_LENGTH)
        return self._by_hash.get(containers_hash.lower(), ())

    def check_offchain(self, containers: Sequence[str], requires_proof: bool, client: str) -> None:
        """Off-chain job: the admission rules in upstream's order (docs/devnode.md, "The Infernet
        node protocol").

        Raises:
            GuardianRejection: the first rule that fails.
        """
        if not containers:
            raise GuardianRejection("No containers specified")
        for container in containers:
            if container not in self.rules:
                raise GuardianRejection("Container not supported", {"container": container})
        if not self.rules[containers[0]].external:
            raise GuardianRejection(
                "First container must be external", {"first_container": containers[0]}
            )
        if requires_proof and not self.rules[containers[-1]].generates_proofs:
            raise GuardianRejection(
                "Container does not generate proof", {"container": containers[-1]}
            )
        for container in containers:
            if not self.rules[container].allows_ip(client):
                raise GuardianRejection(
                    "Container not allowed for address", {"container": container, "address": client}
                )

    def check_delegated(
        self, request: DelegatedSubscriptionRequest, chain_enabled: bool, now: int
    ) -> tuple[str, ...]:
        """Delegated subscription: the admission rules in upstream's order (docs/devnode.md).
        Returns the container ids.

        ``now`` is unix seconds (the chain side may pass chain time). Fixes upstream's quirk of
        an unknown container hash ending in a 500: it is "Container not supported" here.

        Raises:
            GuardianRejection: the first rule that fails.
        """
        if not chain_enabled:
            raise GuardianRejection("Chain not enabled")
        subscription = request.subscription
        if request.signature.expiry < now:
            raise GuardianRejection("Signature expired", {"expiry": request.signature.expiry})
        containers = self.containers_for_hash(subscription.containers)
        if not containers:
            raise GuardianRejection(
                "Container not supported", {"containers_hash": subscription.containers}
            )
        if not self.rules[containers[0]].external:
            raise GuardianRejection(
                "First container must be external", {"first_container": containers[0]}
            )
        if (
            subscription.verifier.lower() != ZERO_ADDRESS
            and not self.rules[containers[-1]].generates_proofs
        ):
            raise GuardianRejection(
                "Container does not generate proof", {"container": containers[-1]}
            )
        owner = subscription.owner.lower()
        for container in containers:
            allowed = self.rules[container].allowed_delegate_addresses
            if allowed and owner not in allowed:
                raise GuardianRejection(
                    "Container not allowed for address",
                    {"container": container, "address": subscription.owner},
                )
        return containers


def _container_lookup(ids: Sequence[str], max_length: int) -> Mapping[str, tuple[str, ...]]:
    lookup: dict[str, tuple[str, ...]] = {}
    for length in range(1, min(len(ids), max_length) + 1):
        for permutation in itertools.permutations(ids, length):
            lookup[container_set_hash(permutation)] = permutation
    return lookup
