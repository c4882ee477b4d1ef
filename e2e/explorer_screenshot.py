"""`make explorer-screenshot`: a stack on free ports, the demo's flows, then the explorer's picture.

Writes the overview to the given PNG (docs/explorer.png) and the page of the first recurring
subscription next to it (``-subscription.png``). One failing job (a proof asked of a container
that makes none) is added so the picture shows a failure and its reason.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from hf_infernet_stack.accounts import PROOF_CONTAINER_ID
from hf_infernet_stack.browser import browser_page
from hf_infernet_stack.browser import screenshot
from hf_infernet_stack.codec import HFTaskId
from hf_infernet_stack.codec import offchain_data
from hf_infernet_stack.demo import Demo
from hf_infernet_stack.local_stack import Stack
from hf_infernet_stack.repository import REPO
from hf_infernet_stack.stack_config import StackConfig
from playwright.sync_api import expect

WAIT_MS = 20_000


def main(target: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="explorer-shot-") as run_dir:
        config = StackConfig.with_free_ports(Path(run_dir), quiet=True, proof_container=True)
        stack = Stack(config)
        try:
            stack.start()
            demo = Demo(stack.urls, stack.consumers)
            demo.all_flows()
            data = offchain_data(HFTaskId.TEXT_CLASSIFICATION, "a proof, please")
            demo.node.wait_job(demo.node.request_job(data, PROOF_CONTAINER_ID, requires_proof=True))
            with browser_page() as (page, errors):
                page.goto(f"{stack.urls.node}/ui#/")
                expect(page.locator("#status")).to_contain_text("updated", timeout=WAIT_MS)
                screenshot(page, target)
                page.goto(f"{stack.urls.node}/ui#/subscriptions?state=completed")
                first = page.locator("#content tbody tr a").last
                expect(first).to_be_visible(timeout=WAIT_MS)
                first.click()
                expect(page.locator("#content")).to_contain_text("delivered", timeout=WAIT_MS)
                screenshot(page, target.with_name(target.stem + "-subscription.png"))
                if errors.messages:
                    print("explorer-screenshot: page errors:", *errors.messages, sep="\n  ")
                    return 1
        finally:
            stack.stop()
    print(f"explorer-screenshot: wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "explorer.png"))
