"""The demo's run of every flow for every task against a running stack, with a scorecard
(`make demo`, scripts/demo.py; the explorer's screenshot runs it too)."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from functools import partial

from .accounts import CONTAINER_ID
from .chain_flows import ChainFlows
from .chain_flows import FlowResult
from .codec import PROMPTS
from .codec import TASKS
from .codec import Answer
from .codec import HFTaskId
from .codec import answer_from_offchain
from .codec import offchain_data
from .rest import NodeREST
from .rpc import connect
from .stack_config import Urls


@dataclass(frozen=True)
class Outcome:
    flow: str
    task: HFTaskId
    ok: bool
    seconds: float
    detail: str


class Demo:
    """Runs the flows against a running stack and keeps a scorecard."""

    def __init__(self, urls: Urls, consumers: dict[str, str]) -> None:
        self.urls = urls
        self.node = NodeREST(urls.node)
        self.w3 = connect(urls.rpc)
        # a stack of several nodes: every node asked to answer every interval (redundancy n)
        nodes = urls.nodes or (urls.node,)
        self.chain = ChainFlows(
            self.w3,
            self.node,
            consumers,
            redundancy=len(nodes),
            more_nodes=tuple(NodeREST(url) for url in nodes[1:]),
        )
        self.outcomes: list[Outcome] = []
        # Flow 1's answer per task: on-chain token classifications borrow its words to be read.
        self.offchain_answers: dict[HFTaskId, Answer] = {}

    def run(self, flow: str, task: HFTaskId, action: Callable[[], FlowResult]) -> None:
        label = f"{flow:<22} {task.name.lower():<21}"
        print(f"  {label} ...", end="", flush=True)
        t0 = time.monotonic()
        try:
            result = action()
        except Exception as e:  # a demo reports every failure and carries on
            took = time.monotonic() - t0
            print(f" FAILED ({took:.1f} s): {type(e).__name__}: {e}", flush=True)
            if os.environ.get("DEMO_DEBUG"):
                traceback.print_exc()
            self.outcomes.append(Outcome(flow, task, False, took, str(e)))
            return
        took = time.monotonic() - t0
        print(f" ok ({took:.1f} s)", flush=True)
        result = self.readable(task, result)
        for line in result.lines():
            print(f"      {line}")
        self.outcomes.append(Outcome(flow, task, True, took, result.answer.show()))

    def readable(self, task: HFTaskId, result: FlowResult) -> FlowResult:
        """Name each on-chain entity by its word, taken from flow 1's answer to the same text."""
        known = self.offchain_answers.get(task)
        if known is None or result.answer.words:
            return result
        answer = result.answer.with_words_of(known)
        if answer is result.answer:
            return result
        note = "from the off-chain answer to the same text (on-chain: labels and scores only)"
        return replace(result, answer=answer, facts={**result.facts, "words": note})

    def offchain(self, task: HFTaskId) -> FlowResult:
        job_id = self.node.request_job(offchain_data(task, PROMPTS[task]), CONTAINER_ID)
        job = self.node.wait_job(job_id)
        if job["status"] != "success":
            raise RuntimeError(f"job {job_id} {job['status']}: {job['result']}")
        answer: Answer = answer_from_offchain(task, job["result"]["output"]["output"])
        self.offchain_answers[task] = answer
        return FlowResult(answer, {"job id": job_id})

    def all_flows(self) -> None:
        if self.chain.redundancy > 1:
            print(
                f"\n{self.chain.redundancy} nodes: flows 2-4 ask for redundancy "
                f"{self.chain.redundancy}, each answer listed with the node that gave it"
            )
        print("\nFlow 1: off-chain job (POST /api/jobs, GET /api/jobs?id=)")
        for task in TASKS:
            self.run("off-chain job", task, partial(self.offchain, task))
        print("\nFlow 2: callback request from HFCallbackConsumer")
        for task in TASKS:
            self.run("callback", task, partial(self.chain.callback, task, PROMPTS[task]))
        print("\nFlow 3: direct recurring subscription (2 intervals; chain time moved by anvil)")
        for task in TASKS:
            self.run("subscription x2", task, partial(self.chain.recurring, task, PROMPTS[task]))
        print("\nFlow 4: delegated subscription signed off-chain (EIP-712, anvil #3)")
        for task in TASKS:
            self.run("delegated", task, partial(self.chain.delegated, task, PROMPTS[task]))

    def scorecard(self) -> str:
        ok = sum(o.ok for o in self.outcomes)
        lines = ["\nflow                    ok    time per run (min / max)"]
        for flow in dict.fromkeys(o.flow for o in self.outcomes):
            runs = [o for o in self.outcomes if o.flow == flow]
            times = [o.seconds for o in runs]
            lines.append(
                f"  {flow:<22}{sum(o.ok for o in runs)}/{len(runs)}   "
                f"{min(times):.2f} s / {max(times):.2f} s"
            )
        lines.append(f"{ok}/{len(self.outcomes)} flow runs succeeded")
        lines += [
            f"  FAILED {o.flow} / {o.task.name.lower()}: {o.detail}"
            for o in self.outcomes
            if not o.ok
        ]
        return "\n".join(lines)
