"""References the e2e tests compare against: the service called directly, as the node calls it,
and the published infernet-client 1.4.0 in its own venv."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hf_infernet_stack.codec import Answer
from hf_infernet_stack.codec import HFTaskId
from hf_infernet_stack.codec import decode_raw_output
from hf_infernet_stack.codec import onchain_input
from hf_infernet_stack.repository import REPO
from hf_infernet_stack.rest import Http
from target import Target

CLIENT_TIMEOUT_S = 60


def call_service(target: Target, body: dict[str, Any]) -> tuple[int, Any]:
    """POST /service_output on the service directly; returns (status, JSON body)."""
    answer = Http(target.service_url).post("/service_output", body)
    return answer.status, answer.json


def service_answer(target: Target, task: HFTaskId, source: int, data: Any) -> Answer:
    """The service's own on-chain answer for an input (source 0: hex bytes, 1: JSON)."""
    status, reply = call_service(target, {"source": source, "destination": 0, "data": data})
    assert status == 200, reply
    return decode_raw_output(task, bytes.fromhex(reply["raw_output"]))


def onchain_hex(task: HFTaskId, text: str) -> str:
    """The consumers' request bytes for (task, default model, text), hex without 0x."""
    return onchain_input(task, "", text).hex()


def client_bin() -> Path:
    """The infernet-client 1.4.0 venv (its own, see Makefile); `make e2e` sets the path."""
    path = Path(os.environ.get("INFERNET_CLIENT_BIN", REPO / ".venv-client" / "bin"))
    if not (path / "infernet-client").exists():
        pytest.fail(f"infernet-client not found in {path}: run `make e2e` (it installs it)")
    return path
