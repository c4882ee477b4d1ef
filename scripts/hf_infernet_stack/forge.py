"""Deploying on a chain: forge scripts (scripts/*.s.sol) and contracts from forge's artifacts
(out/), sent through web3 as a user of the contracts would send them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from web3 import Web3

from .accounts import CHAIN_ID
from .accounts import DEPLOYER_ADDRESS
from .accounts import PROTOCOL
from .errors import DeployError
from .foundry import foundry_tool
from .repository import ARTIFACTS
from .repository import REPO


def forge_script(
    script: str,
    rpc_url: str,
    key: str,
    broadcast_dir: Path,
    log: Path,
    timeout_s: float,
    settings: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Run `forge script <script> --broadcast` and return the CREATE transactions it sent.

    The broadcast folder is per run (FOUNDRY_BROADCAST) so parallel stacks never read each
    other's run-latest.json. `settings` are the script's environment variables (e.g. NODES).
    """
    env = dict(
        os.environ, **(settings or {}), FOUNDRY_BROADCAST=str(broadcast_dir), PRIVATE_KEY=key
    )
    argv = [
        foundry_tool("forge"),
        "script",
        f"scripts/{script}:{script.split('.')[0]}",
        "--rpc-url",
        rpc_url,
        "--private-key",
        key,
        "--broadcast",
        # One transaction at a time, each after the previous one's receipt. Sent all at once
        # (seven at the same millisecond for the protocol), on a loaded machine anvil 1.7.1 now
        # and then mined two and left the rest pending, with no block to come on automine, and
        # forge waited for their receipts for ever. On automine this costs nothing measurable
        # (0.55 s either way for the protocol).
        "--slow",
        "--non-interactive",
    ]
    with log.open("ab") as out:
        command = f"forge script scripts/{script} --rpc-url {rpc_url} --broadcast --slow"
        out.write(f"\n$ {command}\n".encode())
        out.flush()
        start = out.tell()
        try:
            done = subprocess.run(
                argv,
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeployError(
                script, f"forge script did not finish in {timeout_s:.0f} s (see {log})"
            ) from None
    if done.returncode != 0:
        said = _forge_error(log, start)
        raise DeployError(
            script, f"forge script exited with {done.returncode}: {said} (full output: {log})"
        )
    runs = sorted(broadcast_dir.glob(f"{script}/{CHAIN_ID}/run-latest.json"))
    if not runs:
        raise DeployError(script, f"no broadcast record under {broadcast_dir}")
    record = json.loads(runs[-1].read_text())
    return [tx for tx in record.get("transactions", []) if tx.get("transactionType") == "CREATE"]


def _forge_error(log: Path, start: int) -> str:
    """forge's own words for a failure: this run's `Error` lines, else its last line."""
    with log.open("rb") as f:
        f.seek(start)
        lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error")]
    return " / ".join(errors[-3:]) if errors else (lines[-1] if lines else "no output")


def check_protocol(w3: Web3) -> None:
    """Every fixed address holds code and the Registry points at the others."""
    for name, address in vars(PROTOCOL).items():
        if name == "node_wallet":
            continue
        if len(w3.eth.get_code(Web3.to_checksum_address(address))) == 0:
            raise DeployError("DeployProtocol.s.sol", f"no code at {name} {address}")
    registry = w3.eth.contract(
        address=Web3.to_checksum_address(PROTOCOL.registry), abi=REGISTRY_ABI
    )
    coordinator = registry.functions.COORDINATOR().call()
    if coordinator != PROTOCOL.coordinator:
        raise DeployError("DeployProtocol.s.sol", f"Registry.COORDINATOR() is {coordinator}")


REGISTRY_ABI = [
    {
        "type": "function",
        "name": n,
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"type": "address", "name": ""}],
    }
    for n in ("COORDINATOR", "READER", "WALLET_FACTORY", "INBOX", "FEE")
]


def artifact(contract: str, file: str | None = None) -> dict[str, Any]:
    """ABI and creation bytecode from forge's out/<File>.sol/<Contract>.json."""
    path = ARTIFACTS / f"{file or contract}.sol" / f"{contract}.json"
    if not path.is_file():
        raise DeployError(contract, f"no artifact at {path} (run `make build`)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def send_deployment(
    w3: Web3, contract: str, *args: Any, sender: str = DEPLOYER_ADDRESS
) -> tuple[str, Any]:
    """Send the creation transaction from the artifact; returns (contract, tx hash)."""
    art = artifact(contract)
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"]["object"])
    return contract, factory.constructor(*args).transact({"from": sender})


def deployed(w3: Web3, contract: str, tx: Any) -> Any:
    """Wait for a creation transaction and return the bound contract."""
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=60)
    if receipt["status"] != 1:
        raise DeployError(contract, f"deployment reverted in {tx.hex()}")
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact(contract)["abi"])


def deploy_contract(w3: Web3, contract: str, *args: Any, sender: str = DEPLOYER_ADDRESS) -> Any:
    """Deploy from the artifact and return the bound contract (sender: an account anvil unlocks
    or one `connect` signs for)."""
    return deployed(w3, *send_deployment(w3, contract, *args, sender=sender))
