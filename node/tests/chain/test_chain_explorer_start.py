"""A node with the explorer serves before its chain side has started (docs/devnode.md, "Start,
sync and health"; docs/explorer.md): the page, the job routes and the overview answer at once,
the chain-reading routes say the chain side is starting, and all of them answer from the chain
once it has started."""

from __future__ import annotations

import sys
from pathlib import Path

from chain_harness import health
from chain_harness import request_on
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.anvil import RpcProxy
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import Http
from hf_infernet_stack.rpc import Rpc
from infernet_devnode.api.responses import CONTENT_SECURITY_POLICY

TIMEOUT_S = 30.0
STARTING = "the chain side is starting"
CHAIN_ROUTES = (
    "/api/explorer/subscriptions",
    "/api/explorer/subscriptions/1",
    "/api/explorer/delegations?state=failed",
)


def test_explorer_serves_while_the_chain_side_starts_then_reads_the_chain(
    tmp_path: Path,
    anvil: Anvil,
    rpc: Rpc,
    deployer: Actor,
    callback_consumer: str,
    echo: EchoContainer,
    last_id: int,
) -> None:
    with RpcProxy(anvil.url) as proxy:
        proxy.hold()  # the chain side's first RPC calls wait: it stays in its start
        node = Devnode(
            workdir=tmp_path / "node",
            rpc_url=proxy.url,
            containers={CONTAINER_ID: echo.url},
            starting_sub_id=last_id,
            explorer=True,
        )
        try:
            node.start(synced=False)  # returns at the first 200 on /health
            http = Http(node.url)
            assert health(node) == {"status": "starting", "reason": f"chain: {STARTING}"}
            for path in ("/ui", "/ui/explorer.js", "/api/explorer/jobs"):
                assert http.get(path).status == 200, path
            overview = http.get("/api/explorer/overview").json
            assert overview["chain"] == {"enabled": True, "status": "starting", "reason": STARTING}
            assert overview["queue"]["onchain_in_flight"] == 0
            assert [c["id"] for c in overview["containers"]] == [CONTAINER_ID]
            for path in CHAIN_ROUTES:
                answer = http.get(path)
                assert answer.status == 503, path
                assert answer.json == {"error": f"chain unavailable: {STARTING}"}
                assert answer.headers["retry-after"] == "1"
                assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            # a bad filter is still the client's error, named, while the chain side starts
            bad = http.get("/api/explorer/subscriptions?state=late")
            assert (bad.status, bad.json["field"]) == (400, "state")

            proxy.release()
            wait_for(lambda: health(node) == {"status": "healthy"}, TIMEOUT_S, "healthy")
            sub_id = request_on(rpc, deployer, callback_consumer)
            node.wait_delivered(sub_id, 1, TIMEOUT_S)
            overview = http.get("/api/explorer/overview").json
            assert overview["chain"]["address"] == node.address
            assert overview["chain"]["deliveries"]["delivered"] >= 1
            listed = http.get(f"/api/explorer/subscriptions?id={sub_id}").json
            assert [s["id"] for s in listed["subscriptions"]] == [sub_id]
            one = http.get(f"/api/explorer/subscriptions/{sub_id}")
            assert one.status == 200
            assert one.json["deliveries"][0]["state"] == "delivered"
            assert http.get("/api/explorer/delegations?state=failed").json["total"] == 0
        except BaseException:
            print(f"--- devnode log ---\n{node.logs()}", file=sys.stderr)
            raise
        finally:
            proxy.release()
            node.stop()
