"""JSON-RPC to a chain, through web3.py's HTTP provider: raw calls for tests and tools that speak
to anvil directly, and a `Web3` that signs with given keys for contract users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import Protocol

from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.types import RPCEndpoint

RPC_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 1.0


class RpcError(Exception):
    """The endpoint answered a call with a JSON-RPC error; carries it."""

    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error


class ContractCall(Protocol):
    """A contract function as calldata: encode its arguments, decode its return values."""

    def encode(self, *args: Any) -> bytes: ...

    def decode(self, data: bytes) -> tuple[Any, ...]: ...


class Rpc:
    """Raw JSON-RPC calls (hex in, hex out), as a chain tool speaks to anvil."""

    def __init__(self, url: str, timeout_s: float = RPC_TIMEOUT_S) -> None:
        self.url = url
        # no retries inside the provider: a probe must answer at once, and a test that stops a
        # chain must see the failure, not a retried call
        self._provider = Web3.HTTPProvider(
            url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
        )

    def __call__(self, method: str, *params: Any) -> Any:
        """The call's `result`.

        Raises:
            RpcError: the endpoint answered with an error.
            OSError: it could not be reached (requests' errors are OSErrors).
        """
        answer = self._provider.make_request(RPCEndpoint(method), list(params))
        if answer.get("error") is not None:
            raise RpcError(answer["error"])
        return answer.get("result")

    def call(self, to: str, fn: ContractCall, *args: Any) -> tuple[Any, ...]:
        raw = self("eth_call", {"to": to, "data": "0x" + fn.encode(*args).hex()}, "latest")
        return fn.decode(bytes.fromhex(raw[2:]))

    def block(self) -> dict[str, Any]:
        raw = self("eth_getBlockByNumber", "latest", False)
        return {"number": int(raw["number"], 16), "timestamp": int(raw["timestamp"], 16)}

    def advance(self, seconds: int) -> None:
        """Move chain time forward and mine one block (intervals follow chain time)."""
        self("evm_increaseTime", seconds)
        self("evm_mine")

    def transactions_from(self, address: str) -> int:
        return int(self("eth_getTransactionCount", address, "latest"), 16)


def rpc_ok(url: str) -> bool:
    """Whether a JSON-RPC endpoint answers eth_chainId."""
    try:
        Rpc(url, PROBE_TIMEOUT_S)("eth_chainId")
    except (OSError, RpcError, ValueError):
        return False
    return True


def connect(rpc_url: str, keys: Sequence[str] = ()) -> Web3:
    """web3 over HTTP; transactions from the accounts of `keys` are signed here, so they work on
    any chain, not only on anvil's unlocked accounts."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    if keys:
        w3.middleware_onion.inject(
            SignAndSendRawMiddlewareBuilder.build(list(keys)), name="signing", layer=0
        )
    return w3
