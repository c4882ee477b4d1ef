"""Deliveries: one (subscription, interval) the node answers on-chain (pure decisions).

A delivery moves PENDING -> RUNNING -> SENT -> DELIVERED, or ends SKIPPED (nothing left to do:
someone else filled the interval, it passed, the subscription was cancelled) or FAILED (attempts
exhausted, reason kept). The state is persisted before each transaction is broadcast, which is what
makes "exactly once per (subscription, interval) per node" hold across crashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from enum import IntEnum
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from ..errors import NodeError
from ..results import ContainerError
from ..results import ContainerOutput
from ..results import ContainerResult

__all__ = [
    "MAX_ATTEMPTS",
    "ChainPayload",
    "Closed",
    "ContainerOutputError",
    "Delivery",
    "DeliveryState",
    "Failure",
    "RetryPolicy",
    "Verdict",
    "encode_container_output",
    "payload_for",
    "responded_key",
    "verdict_for_revert",
]

# Upstream gives a (subscription, interval) three tries (infernet-node v1.4.0).
MAX_ATTEMPTS = 3
# The five keys a container returns for an on-chain destination (infernet-node v1.4.0).
_ONCHAIN_KEYS = ("raw_input", "processed_input", "raw_output", "processed_output", "proof")
_SUCCESS_CODE = "200"


class DeliveryState(IntEnum):
    PENDING = 0  # due, not started
    RUNNING = 1  # inputs read / containers running / simulating
    SENT = 2  # signed transaction persisted and broadcast, receipt not seen yet
    DELIVERED = 3  # receipt with status 1 (or nodeResponded already true for this node)
    SKIPPED = 4  # nothing to deliver any more; `reason` says why
    FAILED = 5  # gave up after MAX_ATTEMPTS; `reason` says why

    @property
    def final(self) -> bool:
        return self in (DeliveryState.DELIVERED, DeliveryState.SKIPPED, DeliveryState.FAILED)


@dataclass(frozen=True)
class Delivery:
    """Persisted state of one (subscription, interval) for this node."""

    subscription_id: int
    interval: int
    state: DeliveryState
    attempts: int = 0
    reason: str = ""
    tx_hash: str = ""
    raw_tx: str = ""  # signed transaction, kept until final so a crash can re-broadcast it as is
    container_error: str = ""
    updated_at: float = 0.0

    def sent(self, tx_hash: str, raw_tx: str) -> Delivery:
        """SENT with this signed transaction (what is persisted before it is broadcast)."""
        return replace(
            self,
            state=DeliveryState.SENT,
            tx_hash=tx_hash,
            raw_tx=raw_tx,
            reason="",
            container_error="",
        )

    def failed_attempt(self, reason: str, container_error: str = "") -> Delivery:
        """One more attempt counted, with why it failed."""
        return replace(
            self, attempts=self.attempts + 1, reason=reason, container_error=container_error
        )


class Verdict(IntEnum):
    """What a revert (or failure) means for the delivery."""

    DONE = 0  # this node already delivered this interval
    SKIP = 1  # nothing can ever be delivered for this interval
    RETRY = 2  # may succeed later: count an attempt


# Reverts that close the interval for this node for good (infernet-sdk v1.1.0).
_SKIP_ERRORS = frozenset(
    {
        "SubscriptionNotFound",
        "SubscriptionNotActive",
        "IntervalMismatch",
        "SubscriptionCompleted",
        "IntervalCompleted",
        "SignatureExpired",
        "SignerMismatch",
        "InvalidSignature",
        "UnsupportedVerifierToken",
    }
)


def verdict_for_revert(error_name: str) -> Verdict:
    """Classify a decoded revert reason (see `_abi.decode_revert`)."""
    if error_name == "NodeRespondedAlready":
        return Verdict.DONE
    if error_name in _SKIP_ERRORS:
        return Verdict.SKIP
    return Verdict.RETRY


class Failure(NodeError):
    """One attempt failed; `container_error` set when a container caused it."""

    def __init__(self, reason: str, container_error: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.container_error = container_error


class Closed(NodeError):
    """The interval is closed for this node (verdict DONE or SKIP)."""

    def __init__(self, verdict: Verdict, reason: str) -> None:
        super().__init__(reason)
        self.verdict = verdict
        self.reason = reason

    @property
    def state(self) -> DeliveryState:
        """The final state: DELIVERED when this node already answered, else SKIPPED."""
        return DeliveryState.DELIVERED if self.verdict is Verdict.DONE else DeliveryState.SKIPPED


def responded_key(subscription_id: int, interval: int, node: str) -> bytes:
    """Key of `nodeResponded`: keccak256(abi.encode(uint32 id, uint32 interval, address node))."""
    return keccak(abi_encode(["uint32", "uint32", "address"], [subscription_id, interval, node]))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of one delivery: attempts and the wall-clock backoff between them.

    Backoff is wall-clock on purpose: it paces retries against a flaky container or RPC endpoint,
    it never decides which interval is due (that is chain time, see `intervals`).
    """

    max_attempts: int = MAX_ATTEMPTS
    backoff_seconds: float = 0.5
    factor: float = 2.0

    def delay_after(self, attempts: int) -> float:
        return float(self.backoff_seconds * self.factor ** max(attempts - 1, 0))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class ChainPayload:
    """The `input`, `output` and `proof` bytes of a deliverCompute call."""

    input: bytes
    output: bytes
    proof: bytes


class ContainerOutputError(NodeError, ValueError):
    """A container answer that cannot be delivered on-chain."""


def _hex_field(output: dict[str, Any], key: str) -> bytes:
    value = output.get(key)
    if value is None or value == "":
        return b""
    if not isinstance(value, str):
        raise ContainerOutputError(f"{key}: expected a hex string, got {type(value).__name__}")
    # Upstream crashes on a 0x prefix (infernet-node v1.4.0); accepting it costs nothing.
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(text)
    except ValueError as e:
        raise ContainerOutputError(f"{key}: not hex") from e


def encode_container_output(output: Any) -> ChainPayload:
    """Turn the last container's JSON answer into deliverCompute's (input, output, proof).

    With all five keys: input = abi.encode(bytes raw_input, bytes processed_input), output =
    abi.encode(bytes raw_output, bytes processed_output), proof = raw proof bytes. Without them
    upstream falls back to abi.encode(string repr(output)) with empty input and proof; so do we,
    for wire parity.

    Raises:
        ContainerOutputError: the answer is not an object, carries a `code` other than "200", or
            a field is not hex.
    """
    if not isinstance(output, dict):
        raise ContainerOutputError(f"expected a JSON object, got {type(output).__name__}")
    if "code" in output and output["code"] != _SUCCESS_CODE:
        raise ContainerOutputError(f"container answered code {output['code']!r}")
    if all(key in output for key in _ONCHAIN_KEYS):
        raw_input, processed_input, raw_output, processed_output, proof = (
            _hex_field(output, key) for key in _ONCHAIN_KEYS
        )
        return ChainPayload(
            input=abi_encode(["bytes", "bytes"], [raw_input, processed_input]),
            output=abi_encode(["bytes", "bytes"], [raw_output, processed_output]),
            proof=proof,
        )
    return ChainPayload(input=b"", output=abi_encode(["string"], [repr(output)]), proof=b"")


def payload_for(result: ContainerResult | None) -> ChainPayload:
    """The deliverCompute payload of a container run's last result (None: no container ran).

    Raises:
        Failure: a container failed, or its output cannot be delivered.
    """
    if isinstance(result, ContainerError):
        raise Failure("container failed", container_error=f"{result.container}: {result.error}")
    if not isinstance(result, ContainerOutput):
        raise Failure("container failed", container_error="no container ran")
    try:
        return encode_container_output(result.output)
    except ContainerOutputError as e:
        raise Failure("container output not deliverable", container_error=str(e)) from e
