"""The four Infernet flows, driven the way a user drives them (REST, web3, eth-abi, EIP-712).

Shared by the demo (scripts/demo.py) and the e2e suite. Nothing here knows about processes:
give it URLs and addresses.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi.abi import decode
from eth_abi.abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data

SCORE_SCALE = 1_000_000  # scores on-chain are int(score * 1e6) (spec: hf-service §1.4)
JOB_DEADLINE_S = 60.0
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class HFTaskId(IntEnum):
    """Task ids, wire-compatible with infernet-ml's HFTaskId (DESIGN.md)."""

    UNSET = 0
    TEXT_GENERATION = 1
    TEXT_CLASSIFICATION = 2
    TOKEN_CLASSIFICATION = 3
    SUMMARIZATION = 4


TASKS = (
    HFTaskId.TEXT_GENERATION,
    HFTaskId.TEXT_CLASSIFICATION,
    HFTaskId.TOKEN_CLASSIFICATION,
    HFTaskId.SUMMARIZATION,
)

# One input per task, as in Infernet's own examples and tests (spec: hf-service §5 Tests).
PROMPTS = {
    HFTaskId.TEXT_GENERATION: "Is the sky blue during a clear day?",
    HFTaskId.TEXT_CLASSIFICATION: "Decentralizing AI using crypto is awesome!",
    HFTaskId.TOKEN_CLASSIFICATION: "Ritual makes AI x crypto a great combination!",
    HFTaskId.SUMMARIZATION: (
        "Infernet lets smart contracts request off-chain compute from a network of nodes. A "
        "consumer contract asks the Coordinator for a subscription, a node notices it, runs the "
        "requested container, and delivers the output back on-chain in a transaction, where the "
        "consumer's callback decodes and stores it."
    ),
}


def offchain_data(task: HFTaskId, text: str, model: str = "") -> dict[str, Any]:
    """The `data` of an off-chain job (spec: hf-service §2.3)."""
    field = "prompt" if task == HFTaskId.TEXT_GENERATION else "text"
    data: dict[str, Any] = {"task_id": int(task), field: text}
    if model:
        data["model"] = model
    return data


def onchain_input(task: int, model: str, text: str) -> bytes:
    """abi.encode(uint8 task, string model, string input), the consumers' request bytes."""
    return encode(["uint8", "string", "string"], [task, model, text])


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """A decoded inference result: text (tasks 1, 4) or labels with scores (tasks 2, 3)."""

    task: HFTaskId
    text: str | None = None
    labels: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()

    def show(self) -> str:
        if self.text is not None:
            return repr(self.text)
        pairs = ", ".join(f"{lab} {s:.3f}" for lab, s in zip(self.labels, self.scores, strict=True))
        return f"[{pairs}]"


def decode_raw_output(task: HFTaskId, raw: bytes) -> Answer:
    """raw_output: abi.encode(string) for tasks 1 and 4, (string[], uint256[]) for 2 and 3."""
    if task in (HFTaskId.TEXT_GENERATION, HFTaskId.SUMMARIZATION):
        (text,) = decode(["string"], raw)
        return Answer(task, text=text)
    labels, scores = decode(["string[]", "uint256[]"], raw)
    return Answer(task, labels=tuple(labels), scores=tuple(s / SCORE_SCALE for s in scores))


def decode_delivered_output(task: HFTaskId, output: bytes) -> Answer:
    """The node delivers abi.encode(bytes raw_output, bytes processed_output) (DESIGN.md)."""
    raw, _processed = decode(["bytes", "bytes"], output)
    return decode_raw_output(task, raw)


def answer_from_offchain(task: HFTaskId, output: Any) -> Answer:
    """The service's off-chain `output` (HF's JSON shapes, spec: hf-service §2.4)."""
    if task == HFTaskId.TEXT_GENERATION:
        return Answer(task, text=output if isinstance(output, str) else output["generated_text"])
    if task == HFTaskId.SUMMARIZATION:
        return Answer(task, text=output["summary_text"])
    key = "label" if task == HFTaskId.TEXT_CLASSIFICATION else "entity_group"
    return Answer(
        task,
        labels=tuple(str(e[key]) for e in output),
        scores=tuple(float(e["score"]) for e in output),
    )


# ---------------------------------------------------------------- node REST (flow 1, flow 4)


class NodeHTTPError(Exception):
    """The node answered with a non-2xx status; carries the status and the JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class NodeREST:
    """The Infernet node REST API (spec: node §2) over plain HTTP."""

    url: str

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 (http URL of our own node)
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode(errors="replace")
            raise NodeHTTPError(e.code, parsed) from None

    def health(self) -> Any:
        return self._call("GET", "/health")

    def info(self) -> Any:
        return self._call("GET", "/info")

    def request_job(
        self, data: dict[str, Any], container: str, requires_proof: bool = False
    ) -> str:
        body = {"containers": [container], "data": data, "requires_proof": requires_proof}
        job_id: str = self._call("POST", "/api/jobs", body)["id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any] | None:
        results = self._call("GET", f"/api/jobs?id={job_id}")
        return results[0] if results else None

    def wait_job(self, job_id: str, deadline_s: float = JOB_DEADLINE_S) -> dict[str, Any]:
        """Poll GET /api/jobs?id= until the job leaves "running"."""
        end = time.monotonic() + deadline_s
        delay = 0.02
        while True:
            job = self.job(job_id)
            if job is not None and job.get("status") != "running":
                return job
            if time.monotonic() > end:
                raise TimeoutError(f"job {job_id} still running after {deadline_s:.0f} s: {job}")
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def request_delegated(
        self, subscription: dict[str, Any], signature: dict[str, int], data: dict[str, Any]
    ) -> Any:
        body = {"subscription": subscription, "signature": signature, "data": data}
        return self._call("POST", "/api/jobs", body)

    def subscription_status(self, sub_id: int) -> Any:
        """GET /api/subscriptions/{id}: the devnode's view of a subscription (extension)."""
        return self._call("GET", f"/api/subscriptions/{sub_id}")


# ---------------------------------------------------------------- delegated subscriptions (flow 4)


@dataclass(frozen=True)
class DelegatedSubscription:
    """The Subscription struct a delegated signer signs (spec: sdk §3.1, node §2.4 B)."""

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

    def rest(self) -> dict[str, Any]:
        """The node REST shape: snake_case, containers as 0x-hex bytes32."""
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


_SUBSCRIPTION_TYPE = [
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
]


def sign_delegated(
    sub: DelegatedSubscription,
    nonce: int,
    expiry: int,
    key: str,
    coordinator: str,
    chain_id: int,
) -> dict[str, int]:
    """EIP-712 DelegateSubscription signature, domain "InfernetCoordinator"/"1" (spec: sdk §4)."""
    typed = {
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
            "Subscription": _SUBSCRIPTION_TYPE,
        },
        "primaryType": "DelegateSubscription",
        "domain": {
            "name": "InfernetCoordinator",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": coordinator,
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
    signed = Account.sign_message(encode_typed_data(full_message=typed), private_key=key)
    return {"nonce": nonce, "expiry": expiry, "v": signed.v, "r": signed.r, "s": signed.s}
