"""Admission rules (docs/devnode.md) as a table, without sockets."""

from __future__ import annotations

from typing import Any

import pytest
from infernet_devnode.config import ContainerConfig
from infernet_devnode.errors import GuardianRejection
from infernet_devnode.guardian import Guardian
from infernet_devnode.guardian import container_set_hash
from infernet_devnode.messages import DelegatedSubscriptionRequest

OWNER = "0x" + "ab" * 20
NOW = 1_700_000_000

GUARDIAN = Guardian(
    [
        ContainerConfig(id="open"),
        ContainerConfig(id="internal", external=False),
        ContainerConfig(id="prover", generates_proofs=True),
        ContainerConfig(id="lan", allowed_ips=["10.0.0.0/8", "::1"]),
        ContainerConfig(id="picky", allowed_delegate_addresses=[OWNER.upper().replace("0X", "0x")]),
    ]
)


@pytest.mark.parametrize(
    ("containers", "proof", "client", "error", "params"),
    [
        pytest.param([], False, "1.2.3.4", "No containers specified", {}, id="none"),
        pytest.param(
            ["open", "ghost"],
            False,
            "1.2.3.4",
            "Container not supported",
            {"container": "ghost"},
            id="unknown",
        ),
        pytest.param(
            ["internal", "open"],
            False,
            "1.2.3.4",
            "First container must be external",
            {"first_container": "internal"},
            id="first-internal",
        ),
        pytest.param(
            ["open"],
            True,
            "1.2.3.4",
            "Container does not generate proof",
            {"container": "open"},
            id="no-proof",
        ),
        pytest.param(
            ["open", "lan"],
            False,
            "1.2.3.4",
            "Container not allowed for address",
            {"container": "lan", "address": "1.2.3.4"},
            id="ip-not-allowed",
        ),
        pytest.param(
            ["lan"],
            False,
            "not-an-ip",
            "Container not allowed for address",
            {"container": "lan", "address": "not-an-ip"},
            id="client-unparsable",
        ),
    ],
)
def test_offchain_rejections(
    containers: list[str], proof: bool, client: str, error: str, params: dict[str, Any]
) -> None:
    with pytest.raises(GuardianRejection) as caught:
        GUARDIAN.check_offchain(containers, proof, client)
    assert (caught.value.error, caught.value.params) == (error, params)


@pytest.mark.parametrize(
    ("containers", "proof", "client"),
    [
        pytest.param(["open"], False, "1.2.3.4", id="plain"),
        pytest.param(["open", "internal"], False, "1.2.3.4", id="internal-second"),
        pytest.param(["open", "prover"], True, "1.2.3.4", id="proof-from-last"),
        pytest.param(["lan"], False, "10.9.8.7", id="ip-in-cidr"),
        pytest.param(["lan"], False, "::1", id="ipv6"),
    ],
)
def test_offchain_admissions(containers: list[str], proof: bool, client: str) -> None:
    GUARDIAN.check_offchain(containers, proof, client)


def _delegated(containers: list[str] | str, **changes: Any) -> DelegatedSubscriptionRequest:
    containers_hash = containers if isinstance(containers, str) else container_set_hash(containers)
    subscription = {
        "owner": OWNER,
        "active_at": 0,
        "period": 0,
        "frequency": 1,
        "redundancy": 1,
        "containers": containers_hash,
        "lazy": False,
        "verifier": "0x" + "00" * 20,
        "payment_amount": 0,
        "payment_token": "0x" + "00" * 20,
        "wallet": "0x" + "22" * 20,
        **changes.pop("subscription", {}),
    }
    signature = {"nonce": 1, "expiry": NOW + 60, "v": 27, "r": 1, "s": 2}
    signature.update(changes.pop("signature", {}))
    return DelegatedSubscriptionRequest.model_validate(
        {"subscription": subscription, "signature": signature, "data": {}}
    )


@pytest.mark.parametrize(
    ("request_", "enabled", "error"),
    [
        pytest.param(_delegated(["open"]), False, "Chain not enabled", id="chain-off"),
        pytest.param(
            _delegated(["open"], signature={"expiry": NOW - 1}),
            True,
            "Signature expired",
            id="expired",
        ),
        pytest.param(
            _delegated("0x" + "11" * 32), True, "Container not supported", id="unknown-hash"
        ),
        pytest.param(
            _delegated(["internal"]), True, "First container must be external", id="internal"
        ),
        pytest.param(
            _delegated(["open"], subscription={"verifier": "0x" + "99" * 20}),
            True,
            "Container does not generate proof",
            id="verifier-needs-proof",
        ),
        pytest.param(
            _delegated(["picky"], subscription={"owner": "0x" + "cd" * 20}),
            True,
            "Container not allowed for address",
            id="owner-not-allowed",
        ),
    ],
)
def test_delegated_rejections(
    request_: DelegatedSubscriptionRequest, enabled: bool, error: str
) -> None:
    with pytest.raises(GuardianRejection) as caught:
        GUARDIAN.check_delegated(request_, chain_enabled=enabled, now=NOW)
    assert caught.value.error == error


def test_delegated_admission_returns_ordered_containers() -> None:
    assert GUARDIAN.check_delegated(_delegated(["open", "internal"]), True, NOW) == (
        "open",
        "internal",
    )
    # owner compared case-insensitively; a verifier is fine when the last container proves
    request = _delegated(["picky", "prover"], subscription={"verifier": "0x" + "99" * 20})
    assert GUARDIAN.check_delegated(request, True, NOW) == ("picky", "prover")


def test_container_set_hash_matches_upstream_examples() -> None:
    assert (
        container_set_hash(["hello-world"])
        == "0x5768661526084c7b4d30f7224ed6c74ade98db3c6c395c55400a17f34a547e22"
    )
    assert (
        container_set_hash(["echo"])
        == "0xe6bc11afcedb3f26d7fb181f4c6dd2e98781d79f965a4777058412b58f788ec8"
    )
    assert GUARDIAN.containers_for_hash(container_set_hash(["lan", "open"])) == ("lan", "open")
    assert GUARDIAN.containers_for_hash("0x" + "00" * 32) == ()
