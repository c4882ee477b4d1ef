"""Pure chain-side core: no sockets, no chain, no disk."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from infernet_devnode.chain.abi import COORDINATOR
from infernet_devnode.chain.abi import INFERNET_ERRORS
from infernet_devnode.chain.abi import decode_revert
from infernet_devnode.chain.delivery import ContainerOutputError
from infernet_devnode.chain.delivery import RetryPolicy
from infernet_devnode.chain.delivery import Verdict
from infernet_devnode.chain.delivery import encode_container_output
from infernet_devnode.chain.delivery import verdict_for_revert
from infernet_devnode.chain.eip712 import SignedDelegation
from infernet_devnode.chain.eip712 import delegation_digest
from infernet_devnode.chain.eip712 import domain_separator
from infernet_devnode.chain.eip712 import recover_signer
from infernet_devnode.chain.eip712 import sign_delegation
from infernet_devnode.chain.eip712 import signature_problem
from infernet_devnode.chain.intervals import Phase
from infernet_devnode.chain.intervals import schedule_at
from infernet_devnode.chain.rpc import bloom_may_contain
from infernet_devnode.chain.subscriptions import CANCELLED_ACTIVE_AT
from infernet_devnode.chain.subscriptions import ZERO_ADDRESS
from infernet_devnode.chain.subscriptions import ContainerLookup
from infernet_devnode.chain.subscriptions import ContainerPolicy
from infernet_devnode.chain.subscriptions import Subscription
from infernet_devnode.chain.subscriptions import admit_subscription
from infernet_devnode.chain.subscriptions import container_set_hash
from infernet_devnode.errors import InvalidField
from infernet_devnode.messages import DelegatedSubscriptionRequest

OWNER = "0x13D69Cf7d6CE4218F646B759Dcf334D82c023d8e"
COORDINATOR_ADDRESS = "0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1"
SIGNER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
OTHER_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
CHAIN_ID = 31337
ETH = ZERO_ADDRESS
TOKEN = "0x6e989C01a3e3A94C973A62280a72EC335598490e"


def make_sub(**changes: object) -> Subscription:
    fields: dict[str, object] = {
        "id": 7,
        "owner": OWNER,
        "active_at": 1_000,
        "period": 60,
        "frequency": 3,
        "redundancy": 1,
        "container_id": container_set_hash(["echo"]),
        "lazy": False,
        "verifier": ZERO_ADDRESS,
        "payment_amount": 0,
        "payment_token": ETH,
        "wallet": ZERO_ADDRESS,
    }
    fields.update(changes)
    return Subscription(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------ ABI and errors


def test_selectors_match_the_infernet_sdk() -> None:
    """Selectors the spec lists (infernet-node.md §6.1/§6.6) come out of our signatures."""
    assert COORDINATOR.deliver_compute.selector.hex() == "c509543d"
    assert COORDINATOR.deliver_compute_delegatee.selector.hex() == "9fff314a"
    names = {k.hex(): v for k, v in INFERNET_ERRORS.items()}
    assert names["4db310c3"] == "IntervalMismatch"
    assert names["88a21e4f"] == "NodeRespondedAlready"
    assert names["10c74b03"] == "SignerMismatch"
    assert names["0819bdcd"] == "SignatureExpired"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(bytes.fromhex("2f4ca85b"), "IntervalCompleted", id="custom-error"),
        pytest.param(b"", "reverted without data", id="empty"),
        pytest.param(
            bytes.fromhex("08c379a0") + abi_encode(["string"], ["nope"]), "Error(nope)", id="str"
        ),
        pytest.param(
            bytes.fromhex("4e487b71") + abi_encode(["uint256"], [0x11]), "Panic(0x11)", id="panic"
        ),
        pytest.param(bytes.fromhex("deadbeef"), "revert 0xdeadbeef", id="unknown"),
    ],
)
def test_decode_revert_names_the_error(data: bytes, name: str) -> None:
    assert decode_revert(data) == name


# ------------------------------------------------------------------ container-set hash


def test_container_set_hash_is_abi_encoded_string() -> None:
    """Spec §4.2 example values."""
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


# ------------------------------------------------------------------ intervals on chain time


@pytest.mark.parametrize(
    ("now", "phase", "interval", "wake_at"),
    [
        pytest.param(999, Phase.NOT_ACTIVE, 0, 1_000, id="before-activeAt"),
        pytest.param(1_000, Phase.ACTIVE, 1, 1_060, id="at-activeAt"),
        pytest.param(1_059, Phase.ACTIVE, 1, 1_060, id="end-of-first"),
        pytest.param(1_060, Phase.ACTIVE, 2, 1_120, id="second"),
        pytest.param(1_120, Phase.ACTIVE, 3, None, id="last"),
        pytest.param(1_180, Phase.COMPLETED, 0, None, id="past-frequency"),
    ],
)
def test_schedule_follows_the_coordinator_rules(
    now: int, phase: Phase, interval: int, wake_at: int | None
) -> None:
    schedule = schedule_at(make_sub(), now)
    assert (schedule.phase, schedule.interval, schedule.wake_at) == (phase, interval, wake_at)


def test_callback_is_always_interval_one() -> None:
    sub = make_sub(period=0, frequency=1)
    assert schedule_at(sub, 10**9).interval == 1


def test_cancelled_and_missing() -> None:
    assert schedule_at(make_sub(active_at=CANCELLED_ACTIVE_AT), 5_000).phase is Phase.CANCELLED
    assert schedule_at(make_sub(owner=ZERO_ADDRESS), 5_000).phase is Phase.MISSING


# ------------------------------------------------------------------ guardian


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


# ------------------------------------------------------------------ EIP-712


def test_domain_separator_matches_infernet_anvil() -> None:
    """Spec infernet-sdk.md §4 example (chain 31337, the fixed Coordinator address)."""
    assert domain_separator(CHAIN_ID, COORDINATOR_ADDRESS).hex() == (
        "10c951d595d1a987d17c9170c1eae194ce8a52d760f2ef8c7f4120f9c4fe0554"
    )


def typed_data(sub: Subscription, nonce: int, expiry: int) -> dict[str, object]:
    return {
        "types": {
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
        },
        "primaryType": "DelegateSubscription",
        "domain": {
            "name": "InfernetCoordinator",
            "version": "1",
            "chainId": CHAIN_ID,
            "verifyingContract": COORDINATOR_ADDRESS,
        },
        "message": {
            "nonce": nonce,
            "expiry": expiry,
            "sub": {
                "owner": sub.owner,
                "activeAt": sub.active_at,
                "period": sub.period,
                "frequency": sub.frequency,
                "redundancy": sub.redundancy,
                "containerId": sub.container_id,
                "lazy": sub.lazy,
                "verifier": sub.verifier,
                "paymentAmount": sub.payment_amount,
                "paymentToken": sub.payment_token,
                "wallet": sub.wallet,
            },
        },
    }


def signed(key: str, sub: Subscription, nonce: int = 1, expiry: int = 2_000) -> SignedDelegation:
    return sign_delegation(
        key, sub, nonce=nonce, expiry=expiry, chain_id=CHAIN_ID, coordinator=COORDINATOR_ADDRESS
    )


def test_digest_and_signature_match_eth_account() -> None:
    """eth_account's own EIP-712 implementation (independent of ours) is the reference."""
    sub = make_sub(id=0)
    message = encode_typed_data(full_message=typed_data(sub, 1, 2_000))
    digest = delegation_digest(CHAIN_ID, COORDINATOR_ADDRESS, 1, 2_000, sub)
    assert digest == keccak(b"\x19" + message.version + message.header + message.body)

    ours = signed(SIGNER_KEY, sub)
    reference = Account.sign_message(message, SIGNER_KEY)
    assert (ours.v, ours.r, ours.s) == (reference.v, reference.r, reference.s)
    assert recover_signer(digest, ours.v, ours.r, ours.s) == Account.from_key(SIGNER_KEY).address


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


# ------------------------------------------------------------------ delivery decisions


def test_five_key_output_is_encoded_as_bytes_pairs() -> None:
    payload = encode_container_output(
        {
            "raw_input": "0102",
            "processed_input": "",
            "raw_output": "0xaabb",
            "processed_output": None,
            "proof": "ff",
        }
    )
    assert abi_decode(["bytes", "bytes"], payload.input) == (b"\x01\x02", b"")
    assert abi_decode(["bytes", "bytes"], payload.output) == (b"\xaa\xbb", b"")
    assert payload.proof == b"\xff"


def test_other_output_falls_back_to_python_repr_like_upstream() -> None:
    payload = encode_container_output({"a": 1})
    assert abi_decode(["string"], payload.output) == ("{'a': 1}",)
    assert payload.input == b""


@pytest.mark.parametrize(
    "output",
    [
        pytest.param({"code": 200}, id="integer-code"),
        pytest.param({"code": "500"}, id="error-code"),
        pytest.param([1], id="not-object"),
        pytest.param(
            {
                "raw_input": "zz",
                "processed_input": "",
                "raw_output": "",
                "processed_output": "",
                "proof": "",
            },
            id="not-hex",
        ),
    ],
)
def test_undeliverable_outputs_raise(output: object) -> None:
    with pytest.raises(ContainerOutputError):
        encode_container_output(output)


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("NodeRespondedAlready", Verdict.DONE),
        ("IntervalCompleted", Verdict.SKIP),
        ("IntervalMismatch", Verdict.SKIP),
        ("SubscriptionNotActive", Verdict.SKIP),
        ("InsufficientFunds", Verdict.RETRY),
        ("Error(consumer said no)", Verdict.RETRY),
    ],
)
def test_revert_verdicts(name: str, verdict: Verdict) -> None:
    assert verdict_for_revert(name) is verdict


def test_retry_policy_is_bounded() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_seconds=0.5, factor=2)
    assert [policy.delay_after(n) for n in (1, 2)] == [0.5, 1.0]
    assert not policy.exhausted(2)
    assert policy.exhausted(3)


# ------------------------------------------------------------------ log bloom


def bloom_with(*values: bytes) -> bytes:
    bits = 0
    for value in values:
        digest = keccak(value)
        for i in (0, 2, 4):
            bits |= 1 << (((digest[i] << 8) | digest[i + 1]) % 2048)
    return bits.to_bytes(256, "big")


def test_bloom_answers_like_ethereum_blooms() -> None:
    address = bytes.fromhex(COORDINATOR_ADDRESS[2:])
    bloom = bloom_with(address)
    assert bloom_may_contain(bloom, address)
    assert not bloom_may_contain(bloom, bytes.fromhex(OWNER[2:]))
    assert bloom_may_contain(b"", address)  # no bloom: cannot rule anything out
