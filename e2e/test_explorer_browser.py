"""The explorer (GET /ui) in headless Chromium against the running local stack.

Each scenario drives the stack the way a user does (REST jobs, a consumer contract, anvil's clock)
and then looks at the page as a person would: the row appears, the reason is readable, hostile
text stays text. A screenshot of each scenario is saved under the stack's run folder
(``screenshots/``), and every test requires zero JavaScript and console errors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import PROOF_CONTAINER_ID
from hf_infernet_stack.browser import Errors
from hf_infernet_stack.browser import browser_page
from hf_infernet_stack.browser import chromium_available
from hf_infernet_stack.browser import screenshot
from hf_infernet_stack.chain_flows import DEFAULT_PERIOD_S
from hf_infernet_stack.chain_flows import ChainFlows
from hf_infernet_stack.chain_flows import deploy_consumers
from hf_infernet_stack.codec import HFTaskId
from hf_infernet_stack.codec import offchain_data
from hf_infernet_stack.rest import Http
from hf_infernet_stack.rest import NodeREST
from playwright.sync_api import Page
from playwright.sync_api import expect
from target import Target
from web3.logs import DISCARD

pytestmark = [
    # Off CI, a machine without Debian's chromium skips these; CI installs it and must run them.
    pytest.mark.skipif(
        not chromium_available() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make e2e installs it as root or in CI)",
    ),
    pytest.mark.devnode("the explorer is the devnode's own page"),
]

PAGE_TIMEOUT_MS = 20_000
# Each would set window.__xss (or open a dialog) if the page ever treated data as markup.
HOSTILE = (
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 1; alert(1)">',
    "javascript:window.__xss=1",
)


@pytest.fixture(scope="module", autouse=True)
def explorer_served(target: Target) -> None:
    """A devnode started with `explorer.enabled` off serves no /ui: nothing here can run."""
    if Http(target.node_url).get("/ui").status == 404:
        pytest.skip("the node under test serves no explorer (its explorer.enabled is off)")


@pytest.fixture(scope="module")
def browser() -> Iterator[tuple[Page, Errors]]:
    with browser_page() as opened:
        yield opened


@pytest.fixture(scope="module")
def shots(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: the run folder of the stack this session started."""
    base = target.stack.config.run_dir if target.stack else tmp_path_factory.mktemp("explorer")
    return base / "screenshots"


@pytest.fixture
def page(
    browser: tuple[Page, Errors], shots: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """The shared page; a screenshot per test, and no page errors allowed."""
    page, errors = browser
    errors.messages.clear()
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    try:
        yield page
    finally:
        name = request.node.name.replace("/", "_")
        screenshot(page, shots / f"{name}.png")
    assert errors.messages == []
    assert page.evaluate("window.__xss") is None


def open_view(page: Page, target: Target, fragment: str) -> None:
    page.goto(f"{target.node_url}/ui#/{fragment}")
    expect(page.locator("#status")).to_contain_text("updated")


def first_text(value: Any) -> str:
    """A string somewhere inside a JSON value (what the page must show somewhere)."""
    if isinstance(value, str):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        found = first_text(item)
        if found:
            return found
    return ""


def test_offchain_job_appears_with_its_result(page: Page, target: Target, node: NodeREST):
    prompt = "What does the explorer show?"
    data = offchain_data(HFTaskId.TEXT_GENERATION, prompt)
    job = node.wait_job(node.request_job(data, CONTAINER_ID))
    assert job["status"] == "success"

    open_view(page, target, "jobs")
    row = page.locator("#content tr", has_text=job["id"])
    expect(row).to_contain_text("success")
    expect(row).to_contain_text(CONTAINER_ID)
    row.get_by_role("link", name=job["id"]).click()

    content = page.locator("#content")
    expect(content).to_contain_text(prompt)
    expect(content).to_contain_text(json.dumps(first_text(job["result"]["output"]))[1:-1])
    expect(page.locator("#content section h2").first).to_contain_text(job["id"])


def test_failing_container_shows_its_reason(page: Page, target: Target, node: NodeREST):
    target.require_container(PROOF_CONTAINER_ID)
    data = offchain_data(HFTaskId.TEXT_CLASSIFICATION, "proof please")
    job = node.wait_job(node.request_job(data, PROOF_CONTAINER_ID, requires_proof=True))
    assert job["status"] == "failed"
    reason = job["result"]["error"]

    open_view(page, target, "jobs?status=failed")
    row = page.locator("#content tr", has_text=job["id"])
    expect(row).to_contain_text("failed")
    expect(row).to_contain_text(reason[:40])
    row.get_by_role("link", name=job["id"]).click()
    expect(page.locator("#content .failure")).to_contain_text(reason)


def test_recurring_subscription_shows_interval_one_delivered(
    page: Page, target: Target, node: NodeREST
):
    setup = target.chain_setup()
    chain = ChainFlows(target.w3, node, deploy_consumers(target.w3, setup), setup)
    consumer = chain.consumer("HFSubscriptionConsumer")
    task, period = HFTaskId.SUMMARIZATION, setup.period(DEFAULT_PERIOD_S)
    receipt = chain.transact(
        consumer.functions.startSubscription(
            int(task), "", ["first interval", "second interval"], 2, period, 1, False
        ),
        setup.deployer,
    )
    (event,) = consumer.events.SubscriptionStarted().process_receipt(receipt, errors=DISCARD)
    sub_id = int(event["args"]["subscriptionId"])

    open_view(page, target, f"subscriptions/{sub_id}")
    content = page.locator("#content")
    expect(content).to_contain_text(f"Subscription {sub_id}")
    if setup.moves_time:  # on timed blocks the interval may already be due
        expect(content).to_contain_text("interval 1 in")  # not active yet: due after one period
        expect(content).to_contain_text("no deliveries yet")
        chain.advance(period)
    chain.wait_answer(consumer, sub_id, 1)
    _, delivery = chain.delivered(task, sub_id, 1)

    row = page.locator("#content tr", has_text=delivery.tx_hash)
    expect(row).to_contain_text("delivered")
    expect(row.locator("td").nth(4)).not_to_be_empty()  # block of the receipt
    if setup.moves_time:
        expect(content).to_contain_text("interval 2 in")

    open_view(page, target, f"subscriptions?id={sub_id}")
    row = page.locator("#content tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("#1 delivered")
    expect(row).to_contain_text(CONTAINER_ID)


def test_delegated_request_shows_its_subscription(page: Page, target: Target, node: NodeREST):
    setup = target.chain_setup()
    chain = ChainFlows(target.w3, node, deploy_consumers(target.w3, setup), setup)
    result = chain.delegated(HFTaskId.TEXT_CLASSIFICATION, "signed off-chain")
    owner = chain.consumers["HFDelegatedConsumer"]

    open_view(page, target, f"delegations?owner={owner}")
    row = page.locator("#content tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("delivered")
    row.get_by_role("link", name=str(result.facts["subscription"])).click()
    expect(page.locator("#content tr", has_text=result.facts["delivery tx"])).to_contain_text(
        "delivered"
    )


def test_hostile_text_is_rendered_as_text(page: Page, target: Target, node: NodeREST):
    for value in HOSTILE:
        report = {"id": value, "status": "failed", "containers": [value]}
        node._call("PUT", "/api/status", report)
    data = {"task_id": 1, "prompt": HOSTILE[0], "model": HOSTILE[1], "extra": HOSTILE[2]}
    job = node.wait_job(node.request_job(data, CONTAINER_ID))

    open_view(page, target, "jobs")
    content = page.locator("#content")
    for value in HOSTILE:
        expect(content.get_by_text(value, exact=True).first).to_be_visible()
    page.locator("#content tr", has_text=job["id"]).get_by_role("link", name=job["id"]).click()
    for value in HOSTILE:
        expect(content).to_contain_text(json.dumps(value)[1:-1])
    if job["status"] == "failed":
        expect(content.locator(".failure")).to_contain_text(job["result"]["error"])

    open_view(page, target, "jobs?container=" + HOSTILE[2].replace("=", "%3D"))
    expect(content.get_by_text(HOSTILE[2], exact=True).first).to_be_visible()
    assert content.locator("img, script, iframe, object, embed").count() == 0
    hrefs = page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(href.startswith("#") for href in hrefs)


def test_overview_shows_chain_node_and_containers(page: Page, target: Target):
    open_view(page, target, "")
    content = page.locator("#content")
    expect(content).to_contain_text(str(target.description.chain_id))
    expect(content).to_contain_text(target.node_address)
    expect(page.locator("#content tr", has_text=CONTAINER_ID).first).to_contain_text("up")
    expect(content).to_contain_text("healthy")
