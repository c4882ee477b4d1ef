"""Real parts for the chain tests: anvil, the protocol from out/ artifacts, an echo container,
devnode processes. Synchronous on purpose: tests drive processes, not the node's event loop.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devnode_harness import free_port as free_port
from devnode_harness import stop_process
from devnode_harness import wait_until as wait_until
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from infernet_devnode.chain.abi import EVENT_SUBSCRIPTION_CREATED
from infernet_devnode.chain.abi import Function
from infernet_devnode.chain.eip712 import sign_delegation
from infernet_devnode.chain.subscriptions import Subscription
from infernet_devnode.chain.subscriptions import container_set_hash

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "out"
# The real anvil, never the npm wrapper (whose pid is not anvil's): the project's one resolver.
sys.path.append(str(REPO / "scripts"))
import onchain  # noqa: E402 - the stack's deployer: one way to deploy the protocol everywhere
from foundry import ANVIL_STATE_ARGS  # noqa: E402
from foundry import foundry_tool  # noqa: E402

# Well-known anvil test keys (mnemonic "test test ... junk"), in the roles of Ritual's examples.
ANVIL_0_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
NODE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil #1
DEPLOYER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # anvil #2
SIGNER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"  # anvil #3
SECOND_NODE_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"  # #4
# the nodes the sample consumers here take deliveries from (their constructor's allowlist)
ALLOWED_NODES = [Account.from_key(key).address for key in (NODE_KEY, SECOND_NODE_KEY)]
REGISTRY = onchain.PROTOCOL.registry
COORDINATOR = onchain.PROTOCOL.coordinator
NODE_WALLET = onchain.PROTOCOL.node_wallet
CONTAINER_ID = "hf_inference_client_service"
ZERO = "0x0000000000000000000000000000000000000000"

READY_TIMEOUT_S = 30.0
# forge script compiles nothing when out/ is fresh; a loaded machine still needs a while.
DEPLOY_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 10.0


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.error = error


class Rpc:
    """Minimal synchronous JSON-RPC client."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        request = urllib.request.Request(  # noqa: S310 - http URL of a test process
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - test URL
            answer = json.loads(response.read())
        if "error" in answer:
            raise RpcError(answer["error"])
        return answer["result"]

    def call(self, to: str, fn: Function, *args: Any) -> tuple[Any, ...]:
        raw = self("eth_call", {"to": to, "data": "0x" + fn.encode(*args).hex()}, "latest")
        return fn.decode(bytes.fromhex(raw[2:]))

    def block(self) -> dict[str, Any]:
        raw = self("eth_getBlockByNumber", "latest", False)
        return {"number": int(raw["number"], 16), "timestamp": int(raw["timestamp"], 16)}

    def advance(self, seconds: int) -> None:
        """Move chain time forward and mine one block (never sleep in tests)."""
        self("evm_increaseTime", seconds)
        self("evm_mine")

    def transactions_from(self, address: str) -> int:
        return int(self("eth_getTransactionCount", address, "latest"), 16)


@dataclass
class Anvil:
    port: int = field(default_factory=free_port)
    state_path: Path | None = None
    block_time: float | None = None
    extra_args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Anvil:
        argv = [foundry_tool("anvil"), "--port", str(self.port), "--host", "127.0.0.1", "--silent"]
        argv += ANVIL_STATE_ARGS
        if self.state_path is not None:
            argv += ["--state", str(self.state_path)]
        if self.block_time is not None:
            argv += ["--block-time", str(self.block_time)]
        argv += list(self.extra_args)
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        rpc = Rpc(self.url)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                rpc("eth_chainId")
                return True
            except (OSError, urllib.error.URLError):
                return False

        wait_until(ready, READY_TIMEOUT_S, "anvil")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=STOP_TIMEOUT_S)
            if self.proc.stderr is not None:
                self.proc.stderr.close()
            self.proc = None


class RpcProxy:
    """A JSON-RPC endpoint in front of an anvil. A test can point it at another anvil at once
    (`proxy.upstream = url`: the node behind it sees a different chain without any outage), and
    it counts the requests it forwards (`count`, `methods`; batch items counted each) for the
    bench's idle-load figures. `proxy.refuse = "message"` answers every single request with that
    JSON-RPC error instead (an endpoint that answers, but with errors). One keep-alive connection
    upstream per proxy thread."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refuse: str | None = None
        self.count = 0
        self.methods: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []  # closed by close()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = outer._count(body)
                try:
                    answer, status = outer._refusal(request) or outer._forward(body)
                except OSError:
                    outer._drop()
                    answer, status = b"", 502
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _count(self, body: bytes) -> Any:
        """Count the request's calls; returns it parsed ({} when it is not JSON)."""
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        items = parsed if isinstance(parsed, list) else [parsed]
        with self._lock:
            self.count += len(items)
            self.methods.update(str(i.get("method")) if isinstance(i, dict) else "?" for i in items)
        return parsed

    def _refusal(self, request: Any) -> tuple[bytes, int] | None:
        message = self.refuse  # read once: a test may switch it while requests run
        if message is None or not isinstance(request, dict):
            return None
        error = {"code": -32000, "message": message}
        return json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "error": error}).encode(), 200

    def _forward(self, body: bytes) -> tuple[bytes, int]:
        upstream = self.upstream  # read once: a test may switch it while requests run
        held = getattr(self._local, "connection", None)
        if held is None or held[0] != upstream:
            self._drop()
            target = urlsplit(upstream)
            connection = http.client.HTTPConnection(
                target.hostname or "127.0.0.1", target.port, timeout=30
            )
            with self._lock:
                self._opened.append(connection)
            held = self._local.connection = (upstream, connection)
        held[1].request("POST", "/", body, {"Content-Type": "application/json"})
        response = held[1].getresponse()
        return response.read(), response.status

    def _drop(self) -> None:
        """Close this thread's upstream connection, if any."""
        held = getattr(self._local, "connection", None)
        self._local.connection = None
        if held is not None:
            held[1].close()

    def start(self) -> RpcProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            for connection in self._opened:
                connection.close()

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def artifact(file: str, contract: str) -> dict[str, Any]:
    path = OUT / f"{file}.sol" / f"{contract}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run `make build` first")
    return dict(json.loads(path.read_text()))


class Actor:
    """An externally owned account sending transactions with its own key."""

    def __init__(self, rpc: Rpc, key: str) -> None:
        self.rpc = rpc
        self.account = Account.from_key(key)
        self.address = str(self.account.address)

    def send(self, to: str | None, data: bytes, *, value: int = 0) -> dict[str, Any]:
        tx_hash = self.broadcast(to, data, value=value)
        receipt = wait_until(
            lambda: self.rpc("eth_getTransactionReceipt", tx_hash), READY_TIMEOUT_S, "receipt"
        )
        if int(receipt["status"], 16) != 1:
            raise AssertionError(f"transaction {tx_hash} reverted")
        return dict(receipt)

    def broadcast(
        self, to: str | None, data: bytes, *, value: int = 0, gas: int = 8_000_000
    ) -> str:
        """Sign and send without waiting for a receipt (for blocks mined by hand)."""
        tx: dict[str, Any] = {
            "from": self.address,
            "data": "0x" + data.hex(),
            "value": value,
            "nonce": int(self.rpc("eth_getTransactionCount", self.address, "pending"), 16),
            "gas": gas,
            "maxFeePerGas": 10 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "chainId": int(self.rpc("eth_chainId"), 16),
            "type": 2,
        }
        if to is not None:
            tx["to"] = to_checksum_address(to)
        signed = self.account.sign_transaction(tx)
        return str(self.rpc("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex()))

    def transact(self, to: str, fn: Function, *args: Any) -> dict[str, Any]:
        return self.send(to, fn.encode(*args))

    def deploy(self, file: str, contract: str, *args: Any) -> str:
        receipt = self.send(None, creation_code(file, contract, *args))
        return to_checksum_address(receipt["contractAddress"])


def creation_code(file: str, contract: str, *args: Any) -> bytes:
    """Bytecode plus ABI-encoded constructor arguments, from the out/ artifact."""
    art = artifact(file, contract)
    ctor = next((x for x in art["abi"] if x["type"] == "constructor"), {"inputs": []})
    types = [i["type"] for i in ctor["inputs"]]
    code = bytes.fromhex(art["bytecode"]["object"].removeprefix("0x"))
    return code + abi_encode(types, list(args))


def deploy_protocol(rpc: Rpc, workdir: Path) -> None:
    """The protocol as `make up` and e2e deploy it: `forge script DeployProtocol.s.sol` run by
    anvil #2 on a fresh anvil, which lands every contract at infernet-anvil's address."""
    assert rpc.transactions_from(onchain.DEPLOYER_ADDRESS) == 0, "protocol needs a fresh anvil"
    workdir.mkdir(parents=True, exist_ok=True)
    onchain.forge_script(
        "DeployProtocol.s.sol",
        rpc.url,
        DEPLOYER_KEY,
        workdir / "broadcast",
        workdir / "forge.log",
        DEPLOY_TIMEOUT_S,
    )


# ---------------------------------------------------------------- consumers

REQUEST_COMPUTE = Function("requestCompute", ("uint8", "string", "string", "uint16"), ("uint32",))
START_SUBSCRIPTION = Function(
    "startSubscription",
    ("uint8", "string", "string[]", "uint32", "uint32", "uint16", "bool"),
    ("uint32",),
)
STOP_SUBSCRIPTION = Function("stopSubscription", ("uint32",))
ANSWER_COUNT = Function("answerCount", ("uint32", "uint32"), ("uint256",))
NEXT_ID = Function("id", (), ("uint32",))
TEXT_GENERATION = 1


def created_id(receipt: dict[str, Any]) -> int:
    """Subscription id from the Coordinator's SubscriptionCreated log in a receipt."""
    topic = "0x" + EVENT_SUBSCRIPTION_CREATED.hex()
    for entry in receipt["logs"]:
        if entry["topics"][0] == topic:
            return int(entry["topics"][1], 16)
    raise AssertionError("no SubscriptionCreated in receipt")


def answers(rpc: Rpc, consumer: str, sub_id: int) -> int:
    (count,) = rpc.call(consumer, ANSWER_COUNT, sub_id, 1)
    return int(count)


def deploy_callback_consumer(owner: Actor) -> str:
    """An HFCallbackConsumer owned by `owner`, on the chain `owner` sends to, taking deliveries
    from the test nodes (ALLOWED_NODES), with anvil #3 as its delegated signer."""
    return owner.deploy(
        "HFCallbackConsumer",
        "HFCallbackConsumer",
        REGISTRY,
        CONTAINER_ID,
        Actor(owner.rpc, SIGNER_KEY).address,
        ALLOWED_NODES,
    )


def protocol_and_consumer(chain: Anvil, deployer: Actor, workdir: Path) -> tuple[Rpc, str]:
    """Deploy the protocol and a callback consumer on a fresh anvil (always the same addresses)."""
    private = Rpc(chain.url)
    deploy_protocol(private, workdir)
    return private, deploy_callback_consumer(Actor(private, deployer.account.key.hex()))


def fresh_chain(
    port: int | None, deployer: Actor, workdir: Path, extra_args: tuple[str, ...] = ()
) -> tuple[Anvil, Rpc, str]:
    """A new anvil (on `port`, else a free one) with the protocol and a callback consumer."""
    chain = Anvil(extra_args=extra_args) if port is None else Anvil(port, extra_args=extra_args)
    chain.start()
    try:
        private, consumer = protocol_and_consumer(chain, deployer, workdir)
    except BaseException:
        chain.stop()
        raise
    return chain, private, consumer


def request_on(private: Rpc, deployer: Actor, consumer: str) -> int:
    owner = Actor(private, deployer.account.key.hex())
    return created_id(owner.transact(consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "x", 1))


def later_genesis(private: Rpc) -> tuple[str, ...]:
    """anvil args for a fresh chain whose genesis differs from `private`'s, as a restart in a
    later second gives it (same chain id, contract addresses and subscription ids)."""
    genesis_time = int(private("eth_getBlockByNumber", "0x0", False)["timestamp"], 16)
    return ("--timestamp", str(genesis_time + 60))


# ---------------------------------------------------------------- echo container


class EchoContainer:
    """A container answering like the HF service with text "echo:<input>" (task 1 shape)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.delay = 0.0  # seconds each answer takes (to catch a delivery in flight)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like a real container server

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls.append(body)
                if outer.delay:
                    time.sleep(outer.delay)
                data = body.get("data")
                if body.get("source") == 0:
                    text = "echo:" + _onchain_input(str(data))
                else:
                    text = "echo:" + str(data.get("input", json.dumps(data)))
                answer = {
                    "raw_input": "",
                    "processed_input": "",
                    "raw_output": abi_encode(["string"], [text]).hex(),
                    "processed_output": "",
                    # what MockAtomicVerifier accepts: keccak256(proof) == keccak256("valid")
                    "proof": b"valid".hex() if body.get("requires_proof") else "",
                }
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> EchoContainer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _onchain_input(data_hex: str) -> str:
    if not data_hex:
        return ""
    _task, _model, text = abi_decode(["uint8", "string", "string"], bytes.fromhex(data_hex))
    return str(text)


# ---------------------------------------------------------------- devnode processes


@dataclass
class Devnode:
    """One `infernet-devnode` process with a chain-enabled config."""

    workdir: Path
    rpc_url: str
    containers: dict[str, str]  # id -> url
    key: str = NODE_KEY
    starting_sub_id: int = 0
    port: int = field(default_factory=free_port)
    extra_wallet: dict[str, Any] = field(default_factory=dict)
    container_options: dict[str, Any] = field(default_factory=dict)  # added to every container
    server_options: dict[str, Any] = field(default_factory=dict)  # added to `server`
    sync_period: float = 0.1  # head poll period: idle load ~1/sync_period requests/s
    snapshot_sleep: float = 0.0  # snapshot_sync.sleep
    explorer: bool = False  # explorer.enabled
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return str(Account.from_key(self.key).address)

    def config(self) -> dict[str, Any]:
        return {
            "containers": [
                {"id": cid, "url": url, **self.container_options}
                for cid, url in self.containers.items()
            ],
            "chain": {
                "enabled": True,
                "rpc_url": self.rpc_url,
                "registry_address": REGISTRY,
                "trail_head_blocks": 0,
                "wallet": {
                    "private_key": self.key,
                    "max_gas_limit": 4_000_000,
                    **self.extra_wallet,
                },
                "snapshot_sync": {
                    "sleep": self.snapshot_sleep,
                    "batch_size": 500,
                    "starting_sub_id": self.starting_sub_id,
                    "sync_period": self.sync_period,
                },
            },
            "manage_containers": False,
            "forward_stats": False,
            "explorer": {"enabled": self.explorer},
            "server": {
                "port": self.port,
                "host": "127.0.0.1",
                "rate_limit": {"num_requests": 10_000, "period": 1},
                **self.server_options,
            },
            "storage": {"path": str(self.workdir / "devnode.sqlite3")},
            "log": {"path": str(self.workdir / "devnode.log"), "level": "INFO"},
        }

    def start(self, *, synced: bool = True) -> Devnode:
        """Start the process; wait until /health answers (and, with `synced`, says healthy:
        the initial sync is over)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "config.json"
        path.write_text(json.dumps(self.config()))
        self._stderr = open(self.workdir / "stderr.txt", "ab")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infernet_devnode", "--config", str(path)],
            stdout=self._stderr,
            stderr=self._stderr,
        )

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"devnode exited {self.proc.returncode}: {self.logs()}")
            try:
                status, body = self.get("/health")
            except OSError:
                return False
            return status == 200 and (not synced or body == {"status": "healthy"})

        wait_until(healthy, READY_TIMEOUT_S, "devnode /health")
        return self

    def logs(self) -> str:
        path = self.workdir / "stderr.txt"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self, *, hard: bool = False) -> None:
        if self.proc is not None:
            stop_process(self.proc, hard=hard, timeout=STOP_TIMEOUT_S)
            self.proc = None
        with contextlib.suppress(AttributeError):
            self._stderr.close()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - http URL of a test process
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        text = raw.decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def metric(self, name: str) -> float:
        status, text = self.get("/metrics")
        assert status == 200
        for line in str(text).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)

    def sees_block(self, number: int) -> bool:
        return self.metric("devnode_chain_head_block") >= number

    def subscription(self, sub_id: int) -> dict[str, Any] | None:
        status, body = self.get(f"/api/subscriptions/{sub_id}")
        return body if status == 200 else None

    def wait_delivered(self, sub_id: int, interval: int, timeout: float) -> None:
        """Poll this node's status API until (sub_id, interval) is recorded as delivered."""
        wait_until(
            lambda: self.delivery_state(sub_id, interval) == "delivered",
            timeout,
            f"delivery of subscription {sub_id}, interval {interval}",
        )

    def delivery_state(self, sub_id: int, interval: int) -> str | None:
        body = self.subscription(sub_id)
        if body is None:
            return None
        for d in body["deliveries"]:
            if d["interval"] == interval:
                return str(d["state"])
        return None


def second_node(first: Devnode, workdir: Path, **options: Any) -> Devnode:
    """Another devnode (anvil #4's key) on `first`'s chain and containers, syncing from the same
    subscription id; `options` set other fields."""
    return Devnode(
        workdir=workdir,
        rpc_url=first.rpc_url,
        containers=first.containers,
        key=SECOND_NODE_KEY,
        starting_sub_id=first.starting_sub_id,
        **options,
    )


@contextlib.contextmanager
def running(*nodes: Devnode) -> Iterator[None]:
    try:
        for node in nodes:
            node.start()
        yield
    except BaseException:
        for node in nodes:
            print(f"--- devnode {node.port} log ---\n{node.logs()}", file=sys.stderr)
        raise
    finally:
        for node in nodes:
            node.stop()


def health(node: Devnode) -> dict[str, Any]:
    status, body = node.get("/health")
    assert status == 200
    return dict(body)


def degraded_with(node: Devnode, words: str) -> bool:
    """Whether the node's /health says degraded, with `words` in its reason."""
    body = health(node)
    return body["status"] == "degraded" and words in body.get("reason", "")


def container_hash(ids: list[str]) -> str:
    return "0x" + container_set_hash(ids).hex()


# ---------------------------------------------------------------- delegated requests

DELEGATE_CREATED_IDS = Function("delegateCreatedIds", ("bytes32",), ("uint32",))
CHAIN_ID = 31337


def delegated_request(
    key: str,
    owner: str,
    *,
    nonce: int,
    expiry: int,
    data: dict[str, Any],
    period: int = 0,
    frequency: int = 1,
    active_at: int = 0,
    container: str = CONTAINER_ID,
    redundancy: int = 1,
) -> dict[str, Any]:
    """POST /api/jobs body for a delegated subscription, signed with `key` (EIP-712)."""
    sub = Subscription(
        id=0,
        owner=to_checksum_address(owner),
        active_at=active_at,
        period=period,
        frequency=frequency,
        redundancy=redundancy,
        container_id=container_set_hash([container]),
        lazy=False,
        verifier=ZERO,
        payment_amount=0,
        payment_token=ZERO,
        wallet=ZERO,
    )
    signed = sign_delegation(
        key, sub, nonce=nonce, expiry=expiry, chain_id=CHAIN_ID, coordinator=COORDINATOR, data=data
    )
    return signed.request_body()


def delegate_created_id(rpc: Rpc, owner: str, nonce: int) -> int:
    key = keccak(abi_encode(["address", "uint32"], [to_checksum_address(owner), nonce]))
    (sub_id,) = rpc.call(COORDINATOR, DELEGATE_CREATED_IDS, key)
    return int(sub_id)
