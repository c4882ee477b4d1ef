"""chain/rpc.py: how the JSON-RPC client names an endpoint that does not answer."""

from __future__ import annotations

import asyncio

import pytest
from hf_infernet_stack.processes import free_port
from infernet_devnode.chain.rpc import ChainClient
from infernet_devnode.chain.rpc import RpcUnavailable


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_an_endpoint_nobody_listens_on_is_unavailable_whatever_the_retries(retries: int) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    async def scenario() -> None:
        client = ChainClient(url, retries=retries)
        try:
            with pytest.raises(RpcUnavailable) as raised:
                await client.chain_id()
            assert raised.value.reason.startswith(f"eth_chainId: {url} unreachable")
        finally:
            await client.close()

    asyncio.run(scenario())
