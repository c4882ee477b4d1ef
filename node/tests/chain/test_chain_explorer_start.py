"""A node with the explorer serves before its chain side has started (docs/devnode.md, "Start,
sync and health"; docs/explorer.md): the page, the job routes and the overview answer at once,
the chain-reading routes say the chain side is starting, and all of them answer from the chain
once it has started."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chain_harness import health
from chain_harness import request_on
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.anvil import RpcProxy
from hf_infernet_stack.browser import browser_page
from hf_infernet_stack.browser import chromium_available
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import Http
from hf_infernet_stack.rest import node_ready
from hf_infernet_stack.rpc import Rpc
from infernet_devnode.api.responses import CONTENT_SECURITY_POLICY
from playwright.sync_api import expect

TIMEOUT_S = 30.0
PAGE_TIMEOUT_MS = 20_000
STARTING = "the chain side is starting"
CHAIN_ROUTES = (
    "/api/explorer/subscriptions",
    "/api/explorer/subscriptions/1",
    "/api/explorer/delegations?state=failed",
)


@dataclass
class StartingNode:
    node: Devnode
    proxy: RpcProxy  # holding the chain side's RPC calls until released


@pytest.fixture
def starting(
    tmp_path: Path, anvil: Anvil, echo: EchoContainer, last_id: int
) -> Iterator[StartingNode]:
    """A node with the explorer whose chain side is held in its start (its first RPC calls
    wait), serving; its log printed when the test fails."""
    with RpcProxy(anvil.url) as proxy:
        proxy.hold()
        node = Devnode(
            workdir=tmp_path / "node",
            rpc_url=proxy.url,
            containers={CONTAINER_ID: echo.url},
            starting_sub_id=last_id,
            explorer=True,
        )
        try:
            node.start(synced=False)  # returns at the first 200 on /health
            yield StartingNode(node, proxy)
        except BaseException:
            print(f"--- devnode log ---\n{node.logs()}", file=sys.stderr)
            raise
        finally:
            proxy.release()
            node.stop()


def test_explorer_serves_while_the_chain_side_starts_then_reads_the_chain(
    starting: StartingNode, rpc: Rpc, deployer: Actor, callback_consumer: str
) -> None:
    node = starting.node
    http = Http(node.url)
    assert health(node) == {"status": "starting", "reason": f"chain: {STARTING}"}
    assert not node_ready(node.url)  # what the local stack and the e2e suite wait for
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

    starting.proxy.release()
    wait_for(lambda: health(node) == {"status": "healthy"}, TIMEOUT_S, "healthy")
    assert node_ready(node.url)
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


@pytest.mark.skipif(not chromium_available(), reason="Debian's chromium is not installed")
def test_the_page_says_the_chain_side_is_starting_then_shows_the_chain(
    starting: StartingNode,
) -> None:
    """The page polls through the start: the overview and the subscription list say the chain
    side is starting, then fill in without a reload."""
    with browser_page() as (page, _):
        page.goto(starting.node.url + "/ui#/")
        content = page.locator("#content")
        expect(content).to_contain_text(STARTING, timeout=PAGE_TIMEOUT_MS)
        expect(content).to_contain_text(CONTAINER_ID)  # the off-chain part is there already
        page.goto(starting.node.url + "/ui#/subscriptions")
        expect(content).to_contain_text(f"chain unavailable: {STARTING}", timeout=PAGE_TIMEOUT_MS)
        expect(page.locator("#status")).to_contain_text("retrying in 1 s")
        starting.proxy.release()
        expect(content).to_contain_text("chain time", timeout=PAGE_TIMEOUT_MS)
        page.goto(starting.node.url + "/ui#/")
        expect(content).to_contain_text(starting.node.address, timeout=PAGE_TIMEOUT_MS)
