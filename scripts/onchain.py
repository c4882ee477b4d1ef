"""Chain-side facts and actions for the local stack: fixed addresses, keys, forge deploy scripts,
artifacts from out/, and web3 access as a user of the contracts would have it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from foundry import foundry_tool
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "out"
CONTAINER_ID = (
    "hf_inference_client_service"  # the container id consumers hash and config.json names
)
CHAIN_ID = 31337  # anvil's default, which ritualnetwork/infernet-anvil:1.0.0 keeps

# anvil's default accounts (mnemonic "test test ... junk"), in the roles of infernet-anvil's
# deployment: #1 the node, #2 the deployer (docs/stack.md); #0 an ordinary user.
USER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil #0
NODE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil #1
DEPLOYER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # anvil #2
SIGNER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"  # anvil #3
USER_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
NODE_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
DEPLOYER_ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
SIGNER_ADDRESS = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


@dataclass(frozen=True)
class ProtocolAddresses:
    """Where DeployProtocol.s.sol puts the protocol (anvil #2, nonces 0-5): infernet-anvil's."""

    registry: str = "0x663F3ad617193148711d28f5334eE4Ed07016602"
    coordinator: str = "0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1"
    inbox: str = "0x8438Ad1C834623CfF278AB6829a248E37C2D7E3f"
    reader: str = "0xBC9129Dc0487fc2E169941C75aABC539f208fb01"
    fee: str = "0x6e989C01a3e3A94C973A62280a72EC335598490e"
    wallet_factory: str = "0xF6168876932289D073567f347121A267095f3DD6"
    node_wallet: str = "0x60985ee8192B322c3CAbA97A9A9f7298bdc4335C"


PROTOCOL = ProtocolAddresses()


class DeployError(Exception):
    """A forge script or a deployment check failed; names the step and the reason."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


def address_of(key: str) -> str:
    """The account a private key signs for (checksummed)."""
    return str(Account.from_key(key).address)


def container_id_hash(container_id: str) -> bytes:
    """containerId on-chain = keccak256(abi.encode(string)) (docs/contracts.md, wire formats)."""
    return Web3.keccak(encode(["string"], [container_id]))


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


def connect(rpc_url: str, keys: Sequence[str] = ()) -> Web3:
    """web3 over HTTP; transactions from the accounts of `keys` are signed here, so they work on
    any chain, not only on anvil's unlocked accounts."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    if keys:
        w3.middleware_onion.inject(
            SignAndSendRawMiddlewareBuilder.build(list(keys)), name="signing", layer=0
        )
    return w3


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


def wait_for(what: str, check: Any, timeout_s: float) -> Any:
    """Poll `check()` with capped backoff until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not seen within {timeout_s:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
