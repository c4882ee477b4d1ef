"""chain/subscriptions.py: container-set hashes, lookups and the admission rules."""

from __future__ import annotations

import pytest
from infernet_devnode.chain.subscriptions import ContainerLookup
from infernet_devnode.chain.subscriptions import ContainerPolicy
from infernet_devnode.chain.subscriptions import Subscription
from infernet_devnode.chain.subscriptions import admit_subscription
from infernet_devnode.chain.subscriptions import container_set_hash
from samples import ETH
from samples import OWNER
from samples import TOKEN
from samples import make_sub


def test_container_set_hash_is_abi_encoded_string() -> None:
    """Upstream's example values (infernet-node v1.4.0)."""
    assert container_set_hash(["hello-world"]).hex() == (
        "5768661526084c7b4d30f7224ed6c74ade98db3c6c395c55400a17f34a547e22"
    )
    assert container_set_hash(["echo"]).hex() == (
        "e6bc11afcedb3f26d7fb181f4c6dd2e98781d79f965a4777058412b58f788ec8"
    )


def test_lookup_resolves_ordered_chains_only() -> None:
    lookup = ContainerLookup.build(["a", "b"])
    assert lookup.resolve(container_set_hash(["b", "a"])) == ("b", "a")
    assert lookup.resolve(container_set_hash(["a"])) == ("a",)
    assert lookup.resolve(container_set_hash(["c"])) == ()


def rules(**changes: object) -> dict[str, ContainerPolicy]:
    return {"echo": ContainerPolicy(id="echo", **changes)}  # type: ignore[arg-type]


def test_guardian_accepts_a_plain_subscription() -> None:
    admission = admit_subscription(make_sub(), ContainerLookup.build(["echo"]), rules(), None)
    assert admission.accepted
    assert admission.containers == ("echo",)


@pytest.mark.parametrize(
    ("sub", "policy", "payment_address", "reason"),
    [
        pytest.param(
            make_sub(container_id=container_set_hash(["other"])),
            {},
            None,
            "Container-set not supported",
            id="unknown-container",
        ),
        pytest.param(make_sub(), {"external": False}, None, "First container", id="internal"),
        pytest.param(
            make_sub(),
            {"allowed_addresses": frozenset({"0xabc"})},
            None,
            "not allowed",
            id="allow-list",
        ),
        pytest.param(
            make_sub(verifier=TOKEN),
            {},
            None,
            "does not generate proof",
            id="proof",
        ),
        pytest.param(
            make_sub(payment_amount=5),
            {},
            None,
            "no chain.wallet.payment_address",
            id="pays-without-wallet",
        ),
        pytest.param(
            make_sub(payment_amount=5, payment_token=TOKEN),
            {"accepted_payments": {ETH: 1}},
            OWNER,
            "does not accept token",
            id="token",
        ),
        pytest.param(
            make_sub(payment_amount=5),
            {"accepted_payments": {ETH: 10}},
            OWNER,
            "below the minimum 10",
            id="too-little",
        ),
        pytest.param(
            make_sub(),
            {"accepted_payments": {ETH: 1}},
            OWNER,
            "below the minimum 1",
            id="unpaid-but-payment-required",
        ),
    ],
)
def test_guardian_rejections_say_why(
    sub: Subscription, policy: dict[str, object], payment_address: str | None, reason: str
) -> None:
    admission = admit_subscription(
        sub, ContainerLookup.build(["echo"]), rules(**policy), payment_address
    )
    assert not admission.accepted
    assert reason in admission.reason


def test_guardian_accepts_enough_payment() -> None:
    sub = make_sub(payment_amount=10)
    admission = admit_subscription(
        sub, ContainerLookup.build(["echo"]), rules(accepted_payments={ETH: 10}), OWNER
    )
    assert admission.accepted
