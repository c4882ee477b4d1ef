"""A stack description from a file or STACK_* variables: what is required, what wins, what is
refused, and that keys never show in its repr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hf_infernet_stack.accounts import CHAIN_ID
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import PROTOCOL
from hf_infernet_stack.accounts import SIGNER_KEY
from hf_infernet_stack.description import MAX_DESCRIPTION_BYTES
from hf_infernet_stack.description import DescriptionError
from hf_infernet_stack.description import StackDescription
from hf_infernet_stack.description import describe
from hf_infernet_stack.description import read_description

URLS = {
    "rpc_url": "http://127.0.0.1:8545",
    "node_url": "http://127.0.0.1:4000",
    "service_url": "http://127.0.0.1:3000",
}
ENV_URLS = {
    "STACK_RPC_URL": URLS["rpc_url"],
    "STACK_NODE_URL": URLS["node_url"],
    "STACK_SERVICE_URL": URLS["service_url"],
}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(data))
    return path


def test_three_urls_describe_a_local_or_compose_stack(tmp_path: Path) -> None:
    described = read_description(_write(tmp_path, URLS))

    assert described.automine
    assert described.chain_id == CHAIN_ID
    assert described.protocol.registry == PROTOCOL.registry
    assert described.container_id == CONTAINER_ID
    assert described.keys.signer.get_secret_value() == SIGNER_KEY
    assert described.consumers == {}


def test_variables_describe_a_stack_and_override_a_file(tmp_path: Path) -> None:
    alone = describe({**ENV_URLS, "STACK_BLOCK_TIME": "1", "STACK_CHAIN_ID": "5"})
    assert (alone.block_time, alone.chain_id) == (1.0, 5)

    base = read_description(_write(tmp_path, {**URLS, "block_time": 2, "consumers": {"A": "0x1"}}))
    over = describe(
        {"STACK_NODE_URL": "http://127.0.0.1:4001", "STACK_BLOCK_TIME": "automine"}, base
    )
    assert over.node_url == "http://127.0.0.1:4001"
    assert over.automine
    assert over.consumers == {"A": "0x1"}  # what no variable names stays as the file says


def test_a_file_round_trips_with_its_keys(tmp_path: Path) -> None:
    key = "0x" + "11" * 32
    described = describe({**ENV_URLS, "STACK_USER_KEY": key})

    again = read_description(_write(tmp_path, described.to_data()))

    assert again == described
    assert again.keys.user.get_secret_value() == key


def test_keys_stay_out_of_the_repr() -> None:
    key = "0x" + "22" * 32
    described = describe({**ENV_URLS, "STACK_DEPLOYER_KEY": key})

    assert key not in repr(described) + str(described)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"rpc_url": URLS["rpc_url"]}, "node_url", id="missing-url"),
        pytest.param({**URLS, "nodeurl": "x"}, "nodeurl", id="unknown-key"),
        pytest.param({**URLS, "block_time": 0}, "block_time", id="zero-block-time"),
        pytest.param({**URLS, "protocol": {}}, "protocol.registry", id="no-registry"),
        pytest.param({**URLS, "keys": {"owner": "0x1"}}, "keys.owner", id="unknown-key-role"),
    ],
)
def test_a_bad_description_names_the_field(tmp_path: Path, data: dict[str, object], field: str):
    path = _write(tmp_path, data)

    with pytest.raises(DescriptionError) as bad:
        read_description(path)

    assert bad.value.source == str(path)
    assert bad.value.reason.startswith(field + ":")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"{not json", "not JSON", id="not-json"),
        pytest.param(b" " * (MAX_DESCRIPTION_BYTES + 1), "larger than", id="too-large"),
    ],
)
def test_an_unreadable_file_is_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "stack.json"
    path.write_bytes(content)

    with pytest.raises(DescriptionError) as bad:
        read_description(path)

    assert reason in bad.value.reason


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DescriptionError) as bad:
        read_description(tmp_path / "nowhere.json")

    assert "cannot read it" in bad.value.reason


def test_the_description_is_frozen() -> None:
    described = StackDescription(**URLS)

    with pytest.raises(ValueError, match="frozen"):
        described.rpc_url = "http://elsewhere"  # type: ignore[misc]


def test_a_stack_of_several_nodes_lists_them_the_default_first(tmp_path: Path) -> None:
    second = {
        "url": "http://127.0.0.1:4001",
        "address": "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    }
    first = {"url": URLS["node_url"], "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}

    described = read_description(_write(tmp_path, {**URLS, "nodes": [first, second]}))
    alone = read_description(_write(tmp_path, URLS))

    assert described.node_urls == (URLS["node_url"], second["url"])
    assert alone.node_urls == (URLS["node_url"],)
    assert read_description(_write(tmp_path, described.to_data())) == described
    with pytest.raises(DescriptionError) as bad:
        read_description(_write(tmp_path, {**URLS, "nodes": [second, first]}))
    assert "nodes[0].url" in bad.value.reason


def test_a_node_url_variable_describes_that_one_node(tmp_path: Path) -> None:
    first = {"url": URLS["node_url"], "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}
    second = {
        "url": "http://127.0.0.1:4001",
        "address": "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    }
    base = read_description(_write(tmp_path, {**URLS, "nodes": [first, second]}))

    over = describe({"STACK_NODE_URL": "http://127.0.0.1:4009"}, base)

    assert over.node_urls == ("http://127.0.0.1:4009",)
