"""Fair sharing (docs/devnode.md, "Fair sharing"): a hanging container or a flooding client holds
its own share of the node, never what the other containers and clients need."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from devnode_harness import NodeFactory
from hf_infernet_stack.containers import Containers
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import OTHER_CLIENT
from infernet_devnode.capacity import ONCHAIN
from infernet_devnode.capacity import CallLimits
from infernet_devnode.capacity import CallSlots
from infernet_devnode.config import parse_config
from infernet_devnode.errors import ConfigError


def _jobs(container: str, count: int, **data: Any) -> list[dict[str, Any]]:
    return [{"containers": [container], "data": {**data, "n": n}} for n in range(count)]


def _two_containers(containers: Containers) -> list[dict[str, Any]]:
    return [
        {"id": "hang", "url": containers.url("hang")},
        {"id": "echo", "url": containers.url("echo")},
    ]


def test_a_hanging_container_holds_its_share_and_other_containers_still_run(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        _two_containers(containers),
        server={"max_container_calls": 4, "max_batch_size": 50},
    )
    http = node.http()
    before = len(containers.calls_to("hang"))
    try:
        flood = http.post("/api/jobs/batch", _jobs("hang", 50))
        assert flood.status == 200
        # Half of the slots (the default of server.max_calls_per_container), no more.
        wait_for(lambda: len(containers.calls_to("hang")) - before >= 2, what="hang calls")
        job = http.job(["echo"], {"other": "container"})
        assert http.result(job)["status"] == "success"
        assert len(containers.calls_to("hang")) - before == 2
    finally:
        containers.release()


def test_a_flooding_client_gets_503_naming_its_limit_and_others_still_get_in(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        _two_containers(containers),
        server={"max_container_calls": 4, "max_jobs_per_client": 10, "max_batch_size": 10},
    )
    flood = node.http()
    try:
        assert flood.post("/api/jobs/batch", _jobs("hang", 10)).status == 200
        refused = [
            flood.post("/api/jobs/batch", _jobs("hang", 1)),
            flood.post("/api/jobs", _jobs("echo", 1)[0]),
            flood.post("/api/jobs/stream", _jobs("echo", 1)[0]),
        ]
        for answer in refused:
            assert answer.status == 503
            assert int(answer.headers["retry-after"]) >= 1
            assert answer.json["limit"] == "server.max_jobs_per_client"
            assert "at most 10 per client (server.max_jobs_per_client)" in answer.json["error"]
        other = node.http(OTHER_CLIENT)
        job = other.job(["echo"], {"other": "client"})
        assert other.result(job)["status"] == "success"
    finally:
        containers.release()


def test_a_client_queued_behind_a_flood_on_the_same_container_gets_the_next_turn(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        [{"id": "hang", "url": containers.url("hang")}],
        server={"max_container_calls": 1, "max_batch_size": 10},
    )
    flood, other = node.http(), node.http(OTHER_CLIENT)
    before = len(containers.calls_to("hang"))
    try:
        assert flood.post("/api/jobs/batch", _jobs("hang", 10, by="flood")).status == 200
        wait_for(lambda: len(containers.calls_to("hang")) == before + 1, what="first call")
        other.job(["hang"], {"by": "other"})
        containers.release()
        wait_for(lambda: len(containers.calls_to("hang")) == before + 2, what="second call")
        assert containers.calls_to("hang")[-1]["data"] == {"by": "other"}
    finally:
        containers.release()


def test_deliveries_take_the_reserve_and_cancelled_waiters_give_their_turn_back() -> None:
    async def scenario() -> None:
        slots = CallSlots(CallLimits(total=3, per_container=3, reserved_onchain=1))
        release = asyncio.Event()
        order: list[str] = []

        async def call(container: str, owner: str) -> None:
            async with slots.slot(container, owner):
                order.append(f"{owner}@{container}")
                await release.wait()

        offchain = [asyncio.create_task(call("a", "client")) for _ in range(4)]
        await asyncio.sleep(0)
        assert slots.busy == 2
        assert slots.waiting() == 2
        delivery = asyncio.create_task(call("a", ONCHAIN))
        await asyncio.sleep(0)
        assert order[-1] == f"{ONCHAIN}@a"
        assert slots.busy == 3
        offchain[3].cancel()  # a queued call whose client went away
        await asyncio.sleep(0)
        assert slots.waiting() == 1
        release.set()
        await asyncio.gather(delivery, *offchain[:3])
        assert slots.busy == 0
        assert slots.waiting() == 0
        assert len(order) == 4

    asyncio.run(scenario())


def test_fair_share_defaults_follow_max_container_calls_and_bad_values_name_the_key() -> None:
    server = parse_config({"server": {"max_container_calls": 64}}).config.server
    assert (server.calls_per_container, server.onchain_reserve) == (32, 8)
    assert server.max_jobs_per_client == 1_000
    for bad, key in [
        ({"max_calls_per_container": 65}, "server.max_calls_per_container"),
        ({"reserved_onchain_calls": 64}, "server.reserved_onchain_calls"),
        ({"max_jobs_per_client": 10}, "server.max_batch_size"),
    ]:
        with pytest.raises(ConfigError) as error:
            parse_config({"server": {"max_container_calls": 64, **bad}})
        assert error.value.field == key
