"""chain/delivery.py: container outputs to deliverCompute payloads, revert verdicts, retries."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode as abi_decode
from infernet_devnode.chain.delivery import ContainerOutputError
from infernet_devnode.chain.delivery import Failure
from infernet_devnode.chain.delivery import RetryPolicy
from infernet_devnode.chain.delivery import Verdict
from infernet_devnode.chain.delivery import encode_container_output
from infernet_devnode.chain.delivery import payload_for
from infernet_devnode.chain.delivery import verdict_for_revert
from infernet_devnode.results import ContainerError
from infernet_devnode.results import ContainerOutput
from infernet_devnode.results import ContainerResult


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


@pytest.mark.parametrize(
    ("result", "container_error"),
    [
        pytest.param(ContainerError("echo", "boom"), "echo: boom", id="container-error"),
        pytest.param(None, "no container ran", id="nothing-ran"),
        pytest.param(ContainerOutput("echo", "text"), "expected a JSON object", id="bad-output"),
    ],
)
def test_payload_for_names_the_container_fault(
    result: ContainerResult | None, container_error: str
) -> None:
    with pytest.raises(Failure) as raised:
        payload_for(result)
    assert container_error in raised.value.container_error


def test_payload_for_a_container_output() -> None:
    output = {k: "" for k in ("raw_input", "processed_input", "raw_output", "processed_output")}
    payload = payload_for(ContainerOutput("echo", {**output, "proof": "ab"}))
    assert payload.proof == b"\xab"
