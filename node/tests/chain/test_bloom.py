"""chain/bloom.py: log-bloom membership as Ethereum computes it."""

from __future__ import annotations

from eth_utils.crypto import keccak
from infernet_devnode.chain.bloom import bloom_may_contain
from samples import COORDINATOR_ADDRESS
from samples import OWNER


def bloom_with(*values: bytes) -> bytes:
    bits = 0
    for value in values:
        digest = keccak(value)
        for i in (0, 2, 4):
            bits |= 1 << (((digest[i] << 8) | digest[i + 1]) % 2048)
    return bits.to_bytes(256, "big")


def test_bloom_answers_like_ethereum_blooms() -> None:
    address = bytes.fromhex(COORDINATOR_ADDRESS[2:])
    bloom = bloom_with(address)
    assert bloom_may_contain(bloom, address)
    assert not bloom_may_contain(bloom, bytes.fromhex(OWNER[2:]))
    assert bloom_may_contain(b"", address)  # no bloom: cannot rule anything out
