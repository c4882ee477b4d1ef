"""chain/abi.py: selectors and revert decoding match the infernet-sdk."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from infernet_devnode.chain.abi import COORDINATOR
from infernet_devnode.chain.abi import INFERNET_ERRORS
from infernet_devnode.chain.abi import decode_revert


def test_selectors_match_the_infernet_sdk() -> None:
    """The Coordinator's selectors and error ids (infernet-sdk v1.1.0) follow from our ABI."""
    assert COORDINATOR.deliver_compute.selector.hex() == "c509543d"
    assert COORDINATOR.deliver_compute_delegatee.selector.hex() == "9fff314a"
    names = {k.hex(): v for k, v in INFERNET_ERRORS.items()}
    assert names["4db310c3"] == "IntervalMismatch"
    assert names["88a21e4f"] == "NodeRespondedAlready"
    assert names["10c74b03"] == "SignerMismatch"
    assert names["0819bdcd"] == "SignatureExpired"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(bytes.fromhex("2f4ca85b"), "IntervalCompleted", id="custom-error"),
        pytest.param(b"", "reverted without data", id="empty"),
        pytest.param(
            bytes.fromhex("08c379a0") + abi_encode(["string"], ["nope"]), "Error(nope)", id="str"
        ),
        pytest.param(
            bytes.fromhex("4e487b71") + abi_encode(["uint256"], [0x11]), "Panic(0x11)", id="panic"
        ),
        pytest.param(bytes.fromhex("deadbeef"), "revert 0xdeadbeef", id="unknown"),
    ],
)
def test_decode_revert_names_the_error(data: bytes, name: str) -> None:
    assert decode_revert(data) == name
