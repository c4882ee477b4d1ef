"""Log blooms: whether a block may hold a log of an address or topic (pure)."""

from __future__ import annotations

from eth_utils.crypto import keccak

__all__ = ["bloom_may_contain"]

# Ethereum's 2048-bit log bloom (yellow paper §4.3.1): 3 bits per address/topic, each from a
# 2-byte slice of keccak256(value), modulo 2048.
_BLOOM_BITS = 2048
_BLOOM_BYTES = _BLOOM_BITS // 8


def bloom_may_contain(bloom: bytes, value: bytes) -> bool:
    """False when the block's bloom proves no log has this address or topic (pure)."""
    if len(bloom) != _BLOOM_BYTES:
        return True  # no usable bloom: assume it may
    digest = keccak(value)
    for i in (0, 2, 4):
        bit = ((digest[i] << 8) | digest[i + 1]) % _BLOOM_BITS
        if not bloom[_BLOOM_BYTES - 1 - bit // 8] & (1 << (bit % 8)):
            return False
    return True
