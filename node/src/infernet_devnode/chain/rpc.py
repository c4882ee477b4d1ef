"""The chain client: JSON-RPC over web3.py's AsyncHTTPProvider (transactions: `sender`).

Calls are encoded and decoded with `abi` (pure); this module only moves bytes. Every read takes an
explicit block so the caller decides between `latest` and `latest - trail_head_blocks`.

Error tree (all subclass `ChainError`):
    ChainError(reason)
    +-- RpcUnavailable      the endpoint did not answer (connection refused, timeout)
    +-- RpcFailed           the endpoint answered with a JSON-RPC error that is not a revert
    +-- ProtocolMissing     no contract code at a protocol address (a chain without the protocol)
    +-- Reverted(name)      the EVM reverted; `name` is the decoded custom error
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import cast

import aiohttp
from eth_utils.address import to_checksum_address
from web3 import AsyncWeb3
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from ..errors import NodeError
from .abi import COORDINATOR
from .abi import REGISTRY
from .abi import WALLET_FACTORY
from .abi import Function
from .abi import decode_revert

__all__ = [
    "Block",
    "ChainClient",
    "ChainError",
    "ChainIdentity",
    "Contracts",
    "Log",
    "ProtocolMissing",
    "Receipt",
    "Reverted",
    "RpcFailed",
    "RpcUnavailable",
]

log = logging.getLogger(__name__)

# JSON-RPC error code EIP-1474 / geth / anvil use for "execution reverted" with revert data.
_REVERT_CODE = 3
_RPC_TIMEOUT_SECONDS = 30.0
# Keep-alive connections to the RPC endpoint (concurrent deliveries share them).
_MAX_CONNECTIONS = 32
# Reads are safe to retry on a connection error; eth_sendRawTransaction is settled by the
# receipt check instead (the endpoint may have accepted it).
_RETRYABLE_METHODS = (
    "eth_chainId",
    "eth_getBlockByNumber",
    "eth_call",
    "eth_getLogs",
    "eth_getBalance",
    "eth_getCode",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_getTransactionCount",
    "eth_estimateGas",
    "eth_maxPriorityFeePerGas",
)
# Tip used when the endpoint does not implement eth_maxPriorityFeePerGas (1 gwei).
_DEFAULT_PRIORITY_FEE_WEI = 1_000_000_000


class ChainError(NodeError):
    """Root of the chain client's errors; `reason` is safe to show (never contains keys)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RpcUnavailable(ChainError):
    """The RPC endpoint could not be reached."""


class RpcFailed(ChainError):
    """The RPC endpoint answered with an error that is not an EVM revert."""


class ProtocolMissing(ChainError):
    """A protocol contract (Registry, Coordinator) has no code on the endpoint's chain."""

    def __init__(self, name: str, address: str, rpc_url: str) -> None:
        super().__init__(
            f"no {name} contract at {address} on {rpc_url}: deploy the protocol there"
            f" (`make deploy-protocol RPC_URL={rpc_url}`) or fix chain.registry_address"
        )
        self.name = name
        self.address = address


class Reverted(ChainError):
    """The call reverted; `name` is the decoded error (e.g. "IntervalCompleted")."""

    def __init__(self, name: str, data: bytes = b"") -> None:
        super().__init__(name)
        self.name = name
        self.data = data


@dataclass(frozen=True)
class Block:
    number: int
    timestamp: int
    base_fee: int
    logs_bloom: bytes = b""
    hash: str = ""
    parent_hash: str = ""
    transactions: frozenset[str] = frozenset()  # hashes (lower case) of its transactions


@dataclass(frozen=True)
class Log:
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    transaction_hash: str
    log_index: int = 0  # position in its block


@dataclass(frozen=True)
class Receipt:
    transaction_hash: str
    status: int
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class Contracts:
    """Protocol addresses read from the Registry once at startup (infernet-node v1.4.0)."""

    registry: str
    coordinator: str
    reader: str
    wallet_factory: str


@dataclass(frozen=True)
class ChainIdentity:
    """Which chain an endpoint serves: its id and its genesis block's hash.

    The chain id alone cannot tell two anvils apart (both 31337); the genesis hash can (anvil's
    genesis carries its start time), and it survives an anvil restarted with `--load-state`.
    """

    chain_id: int
    genesis_hash: str

    def describe(self) -> str:
        return f"chain id {self.chain_id}, genesis {self.genesis_hash}"


def _block_param(block: int | str) -> str:
    return block if isinstance(block, str) else hex(block)


def _revert_data(error: dict[str, Any]) -> bytes | None:
    """Revert bytes out of a JSON-RPC error object, or None when it is not a revert."""
    data = error.get("data")
    if isinstance(data, dict):  # some clients nest it: {"data": {"data": "0x..."}}
        data = data.get("data")
    message = str(error.get("message", ""))
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if error.get("code") == _REVERT_CODE or "revert" in message.lower():
        return b""
    return None


class ChainClient:
    """JSON-RPC reads, calls and broadcasts on one endpoint.

    Args:
        rpc_url: HTTP(S) endpoint.
        retries: transport-level retries web3.py makes on connection errors before giving up.
    """

    def __init__(self, rpc_url: str, *, retries: int = 2) -> None:
        self.rpc_url = rpc_url
        # With zero retries web3's retry loop ends without an error to raise (a TypeError comes
        # out instead), so zero means no retry configuration at all.
        retry = (
            ExceptionRetryConfiguration(
                errors=(aiohttp.ClientConnectionError, TimeoutError),
                retries=retries,
                backoff_factor=0.1,
                method_allowlist=_RETRYABLE_METHODS,
            )
            if retries > 0
            else None
        )
        self._w3 = AsyncWeb3(
            AsyncWeb3.AsyncHTTPProvider(
                rpc_url,
                request_kwargs={"timeout": aiohttp.ClientTimeout(total=_RPC_TIMEOUT_SECONDS)},
                exception_retry_configuration=retry,
            )
        )
        self.requests_sent = 0
        # time.monotonic() of the last answer of any kind (the liveness probe reads it).
        self.last_answer = time.monotonic()
        self._session: aiohttp.ClientSession | None = None

    async def _ensure_session(self) -> None:
        # web3's default session closes the TCP connection after every request
        # (force_close=True); a keep-alive pool saves a connect per JSON-RPC call.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=_MAX_CONNECTIONS),
                timeout=aiohttp.ClientTimeout(total=_RPC_TIMEOUT_SECONDS),
            )
            provider = cast(Any, self._w3.provider)
            await provider.cache_async_session(self._session)

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        provider = cast(Any, self._w3.provider)
        await provider.disconnect()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def request(self, method: str, params: Sequence[Any]) -> Any:
        """One JSON-RPC request; returns `result`.

        Raises:
            RpcUnavailable: no answer from the endpoint.
            Reverted: the EVM reverted (eth_call, eth_estimateGas).
            RpcFailed: any other JSON-RPC error.
        """
        self.requests_sent += 1
        await self._ensure_session()
        try:
            response = await self._w3.provider.make_request(cast(Any, method), list(params))
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise RpcUnavailable(
                f"{method}: {self.rpc_url} unreachable ({type(e).__name__})"
            ) from e
        except Exception as e:  # web3 wraps transport failures after its retries
            if "connect" in str(e).lower() or "timeout" in str(e).lower():
                raise RpcUnavailable(f"{method}: {self.rpc_url} unreachable") from e
            raise
        self.last_answer = time.monotonic()
        error = response.get("error")
        if error:
            error_obj: dict[str, Any] = (
                dict(error) if isinstance(error, dict) else {"message": str(error)}
            )
            revert = _revert_data(error_obj)
            if revert is not None:
                raise Reverted(decode_revert(revert), revert)
            raise RpcFailed(f"{method}: {error_obj.get('message', error_obj)}")
        return response.get("result")

    # ------------------------------------------------------------------ reads

    async def chain_id(self) -> int:
        return int(await self.request("eth_chainId", []), 16)

    async def identity(self) -> ChainIdentity:
        """The endpoint's chain id and genesis block hash."""
        genesis = await self.request("eth_getBlockByNumber", ["0x0", False])
        if genesis is None:
            raise RpcFailed("eth_getBlockByNumber: genesis block not found")
        return ChainIdentity(await self.chain_id(), str(genesis["hash"]).lower())

    async def block(self, block: int | str = "latest") -> Block:
        raw = await self.request("eth_getBlockByNumber", [_block_param(block), False])
        if raw is None:
            raise RpcFailed(f"eth_getBlockByNumber: block {block} not found")
        return Block(
            number=int(raw["number"], 16),
            timestamp=int(raw["timestamp"], 16),
            base_fee=int(raw.get("baseFeePerGas") or "0x0", 16),
            logs_bloom=bytes.fromhex(str(raw.get("logsBloom") or "0x")[2:]),
            hash=str(raw.get("hash") or "").lower(),
            parent_hash=str(raw.get("parentHash") or "").lower(),
            transactions=frozenset(
                str(tx).lower() for tx in raw.get("transactions") or () if isinstance(tx, str)
            ),
        )

    async def call(
        self,
        to: str,
        function: Function,
        *args: Any,
        block: int | str = "latest",
        sender: str | None = None,
    ) -> tuple[Any, ...]:
        """eth_call `function(*args)` on `to` and decode its outputs."""
        raw = await self.call_raw(to, function.encode(*args), block=block, sender=sender)
        return function.decode(raw)

    async def call_raw(
        self, to: str, data: bytes, *, block: int | str = "latest", sender: str | None = None
    ) -> bytes:
        tx: dict[str, str] = {"to": to, "data": "0x" + data.hex()}
        if sender:
            tx["from"] = sender
        result = await self.request("eth_call", [tx, _block_param(block)])
        return bytes.fromhex(str(result)[2:])

    async def has_code(self, address: str) -> bool:
        return str(await self.request("eth_getCode", [address, "latest"])) not in ("0x", "")

    async def balance(self, address: str, block: int | str = "latest") -> int:
        return int(await self.request("eth_getBalance", [address, _block_param(block)]), 16)

    async def logs(
        self, address: str, topics: Sequence[bytes], from_block: int, to_block: int
    ) -> list[Log]:
        """Logs of `address` whose topic0 is one of `topics`, in block order."""
        params = {
            "address": address,
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "topics": [["0x" + t.hex() for t in topics]],
        }
        raw = await self.request("eth_getLogs", [params])
        return [
            Log(
                address=to_checksum_address(item["address"]),
                topics=tuple(bytes.fromhex(t[2:]) for t in item["topics"]),
                data=bytes.fromhex(item["data"][2:]),
                block_number=int(item["blockNumber"], 16),
                transaction_hash=item["transactionHash"],
                log_index=int(item.get("logIndex") or "0x0", 16),
            )
            for item in raw
        ]

    async def receipt(self, tx_hash: str) -> Receipt | None:
        raw = await self.request("eth_getTransactionReceipt", [tx_hash])
        if raw is None:
            return None
        return Receipt(
            transaction_hash=raw["transactionHash"],
            status=int(raw["status"], 16),
            block_number=int(raw["blockNumber"], 16),
            gas_used=int(raw["gasUsed"], 16),
        )

    async def transaction_known(self, tx_hash: str) -> bool:
        """True while the endpoint knows the transaction (in its pool or mined)."""
        return await self.request("eth_getTransactionByHash", [tx_hash]) is not None

    async def nonce(self, address: str, block: str = "pending") -> int:
        return int(await self.request("eth_getTransactionCount", [address, block]), 16)

    async def estimate_gas(self, sender: str, to: str, data: bytes) -> int:
        """Simulate against the latest block. Not the pending one (what anvil and others use
        when no block is given): that replays every transaction in the pool first, so a burst
        of deliveries made each simulation cost more than the one before."""
        tx = {"from": sender, "to": to, "data": "0x" + data.hex()}
        return int(await self.request("eth_estimateGas", [tx, "latest"]), 16)

    async def priority_fee(self) -> int:
        try:
            return int(await self.request("eth_maxPriorityFeePerGas", []), 16)
        except RpcFailed:
            return _DEFAULT_PRIORITY_FEE_WEI

    async def send_raw(self, raw: str) -> str:
        return str(await self.request("eth_sendRawTransaction", [raw]))

    async def contracts(self, registry: str) -> Contracts:
        """Read the Coordinator, Reader and WalletFactory addresses from the Registry.

        Raises:
            ProtocolMissing: the Registry or the Coordinator it names has no code.
        """
        registry = to_checksum_address(registry)
        if not await self.has_code(registry):
            raise ProtocolMissing("Registry", registry, self.rpc_url)
        (coordinator,) = await self.call(registry, REGISTRY.coordinator)
        if not await self.has_code(coordinator):
            raise ProtocolMissing("Coordinator", to_checksum_address(coordinator), self.rpc_url)
        (reader,) = await self.call(registry, REGISTRY.reader)
        (wallet_factory,) = await self.call(registry, REGISTRY.wallet_factory)
        return Contracts(
            registry=registry,
            coordinator=to_checksum_address(coordinator),
            reader=to_checksum_address(reader),
            wallet_factory=to_checksum_address(wallet_factory),
        )

    async def is_valid_wallet(self, contracts: Contracts, wallet: str) -> bool:
        (valid,) = await self.call(contracts.wallet_factory, WALLET_FACTORY.is_valid_wallet, wallet)
        return bool(valid)

    async def next_subscription_id(self, contracts: Contracts, block: int | str) -> int:
        (next_id,) = await self.call(contracts.coordinator, COORDINATOR.id, block=block)
        return int(next_id)
