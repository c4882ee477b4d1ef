"""chain/eip712.py: the delegated-subscription digest and signature, checked against eth_account."""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from hf_infernet_stack.delegation import DelegatedSubscription
from hf_infernet_stack.delegation import sign_delegated
from hf_infernet_stack.delegation import typed_message
from infernet_devnode.chain.eip712 import SignedDelegation
from infernet_devnode.chain.eip712 import delegation_digest
from infernet_devnode.chain.eip712 import domain_separator
from infernet_devnode.chain.eip712 import recover_signer
from infernet_devnode.chain.eip712 import signature_problem
from infernet_devnode.chain.subscriptions import ZERO_ADDRESS
from infernet_devnode.chain.subscriptions import Subscription
from infernet_devnode.chain.subscriptions import container_set_hash
from infernet_devnode.errors import InvalidField
from infernet_devnode.messages import DelegatedSubscriptionRequest
from samples import CHAIN_ID
from samples import COORDINATOR_ADDRESS
from samples import OTHER_KEY
from samples import OWNER
from samples import SIGNER_KEY
from samples import make_sub


def test_domain_separator_matches_infernet_anvil() -> None:
    """The domain separator of the EIP712Coordinator at infernet-anvil's address on chain 31337."""
    assert domain_separator(CHAIN_ID, COORDINATOR_ADDRESS).hex() == (
        "10c951d595d1a987d17c9170c1eae194ce8a52d760f2ef8c7f4120f9c4fe0554"
    )


def typed_data(sub: Subscription, nonce: int, expiry: int) -> dict[str, Any]:
    """The message as the stack package's eth_account signer builds it (an oracle independent
    of chain/eip712.py)."""
    fields = {k: v for k, v in asdict(sub).items() if k != "id"}
    return typed_message(
        DelegatedSubscription(**fields), nonce, expiry, COORDINATOR_ADDRESS, CHAIN_ID
    )


def signed(key: str, sub: Subscription, nonce: int = 1, expiry: int = 2_000) -> SignedDelegation:
    """A delegation as an owner's signer makes it (eth_account; the node itself never signs)."""
    fields = {k: v for k, v in asdict(sub).items() if k != "id"}
    signature = sign_delegated(
        DelegatedSubscription(**fields), nonce, expiry, key, COORDINATOR_ADDRESS, CHAIN_ID
    )
    return SignedDelegation(sub, nonce, expiry, signature["v"], signature["r"], signature["s"], {})


def test_digest_and_signature_match_eth_account() -> None:
    """eth_account's own EIP-712 implementation (independent of ours) is the reference: the node
    hashes the message as it does and recovers the signer of its signature."""
    sub = make_sub(id=0)
    message = encode_typed_data(full_message=typed_data(sub, 1, 2_000))
    digest = delegation_digest(CHAIN_ID, COORDINATOR_ADDRESS, 1, 2_000, sub)
    assert digest == keccak(b"\x19" + message.version + message.header + message.body)

    reference = Account.sign_message(message, SIGNER_KEY)
    signer = Account.from_key(SIGNER_KEY).address
    assert recover_signer(digest, reference.v, reference.r, reference.s) == signer


@pytest.mark.parametrize(
    ("key", "now", "problem"),
    [
        pytest.param(SIGNER_KEY, 1_999, "", id="valid"),
        pytest.param(SIGNER_KEY, 2_000, "SignatureExpired", id="expired-at-expiry"),
        pytest.param(OTHER_KEY, 1_000, "SignerMismatch", id="wrong-signer"),
    ],
)
def test_signature_problem(key: str, now: int, problem: str) -> None:
    delegation = signed(key, make_sub(id=0))
    found = signature_problem(
        delegation,
        chain_id=CHAIN_ID,
        coordinator=COORDINATOR_ADDRESS,
        now=now,
        expected_signer=Account.from_key(SIGNER_KEY).address,
    )
    assert found.startswith(problem) if problem else found == ""


def test_garbage_signature_is_reported_not_raised() -> None:
    delegation = SignedDelegation(make_sub(id=0), 1, 2_000, 27, 0, 0, {})
    found = signature_problem(
        delegation,
        chain_id=CHAIN_ID,
        coordinator=COORDINATOR_ADDRESS,
        now=1,
        expected_signer=OWNER,
    )
    assert found.startswith("InvalidSignature")


def wire_request(**sub_changes: object) -> DelegatedSubscriptionRequest:
    sub: dict[str, object] = {
        "owner": OWNER,
        "active_at": 0,
        "period": 0,
        "frequency": 1,
        "redundancy": 1,
        "containers": "0x" + container_set_hash(["echo"]).hex(),
        "lazy": False,
        "verifier": ZERO_ADDRESS,
        "payment_amount": 0,
        "payment_token": ZERO_ADDRESS,
        "wallet": ZERO_ADDRESS,
    }
    sub.update(sub_changes)
    return DelegatedSubscriptionRequest.model_validate(
        {
            "subscription": sub,
            "signature": {"nonce": 1, "expiry": 9, "v": 27, "r": 1, "s": 2},
            "data": {"input": "hi"},
        }
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"containers": "0x12"}, "subscription.containers", id="short-hash"),
        pytest.param({"owner": "nope"}, "subscription.owner", id="owner"),
        pytest.param({"redundancy": 70_000}, "subscription.redundancy", id="uint16"),
        pytest.param({"active_at": -1}, "subscription.active_at", id="negative"),
    ],
)
def test_delegated_request_fields_are_validated(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        SignedDelegation.from_message(wire_request(**changes))
    assert caught.value.field == field


def test_request_body_reads_back_as_the_same_delegation() -> None:
    delegation = signed(SIGNER_KEY, make_sub(id=0))
    delegation = replace(delegation, data={"input": "hi"})
    wire = DelegatedSubscriptionRequest.model_validate(delegation.request_body())
    assert SignedDelegation.from_message(wire) == delegation
