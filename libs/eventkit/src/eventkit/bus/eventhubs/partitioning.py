"""Which partition a partition key lands on: the Event Hubs gateway's hash, in every process.

The gateway hashes the UTF-8 bytes of the key with Bob Jenkins' lookup3 (`hashlittle2`,
both seeds 0), folds the two 32-bit results into a signed 16-bit value (`h1 ^ h2`), and picks
`abs(value % partition_count)` with the remainder truncated toward zero (C# / Java `%`). The
Azure SDKs for .NET and Java carry this port of the service code; we follow them. (The Python
SDK's buffered producer uses Python's floor `%`, which differs for negative hash values; the
.NET / Java SDKs are the reference.) Never Python's `hash()`: it is salted per process.
"""

from __future__ import annotations

import functools
import struct

_MASK = 0xFFFFFFFF


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    m = _MASK
    a = (a - c) & m
    a ^= ((c << 4) | (c >> 28)) & m
    c = (c + b) & m
    b = (b - a) & m
    b ^= ((a << 6) | (a >> 26)) & m
    a = (a + c) & m
    c = (c - b) & m
    c ^= ((b << 8) | (b >> 24)) & m
    b = (b + a) & m
    a = (a - c) & m
    a ^= ((c << 16) | (c >> 16)) & m
    c = (c + b) & m
    b = (b - a) & m
    b ^= ((a << 19) | (a >> 13)) & m
    a = (a + c) & m
    c = (c - b) & m
    c ^= ((b << 4) | (b >> 28)) & m
    b = (b + a) & m
    return a, b, c


def _final(a: int, b: int, c: int) -> tuple[int, int, int]:
    m = _MASK
    c ^= b
    c = (c - ((b << 14) | (b >> 18))) & m
    a ^= c
    a = (a - ((c << 11) | (c >> 21))) & m
    b ^= a
    b = (b - ((a << 25) | (a >> 7))) & m
    c ^= b
    c = (c - ((b << 16) | (b >> 16))) & m
    a ^= c
    a = (a - ((c << 4) | (c >> 28))) & m
    b ^= a
    b = (b - ((a << 14) | (a >> 18))) & m
    c ^= b
    c = (c - ((b << 24) | (b >> 8))) & m
    return a, b, c


def lookup3(data: bytes) -> tuple[int, int]:
    """Bob Jenkins' `hashlittle2` with both seeds 0: returns the pair (primary, secondary)."""
    length = len(data)
    a = b = c = (0xDEADBEEF + length) & _MASK
    if length == 0:
        return c, b
    # Little-endian 32-bit words; the last block (1..12 bytes) is zero-padded, as lookup3 reads it.
    blocks = (length - 1) // 12 + 1
    words = struct.unpack(f"<{blocks * 3}I", data.ljust(blocks * 12, b"\0"))
    last = (blocks - 1) * 3
    for index in range(0, last, 3):
        a, b, c = _mix(
            (a + words[index]) & _MASK, (b + words[index + 1]) & _MASK, (c + words[index + 2]) & _MASK
        )
    a, b, c = _final((a + words[last]) & _MASK, (b + words[last + 1]) & _MASK, (c + words[last + 2]) & _MASK)
    return c, b


@functools.lru_cache(maxsize=65536)
def partition_key_hash(partition_key: str) -> int:
    """The gateway's signed 16-bit hash code of `partition_key` (0 for the empty key). Cached."""
    if not partition_key:
        return 0
    primary, secondary = lookup3(partition_key.encode("utf-8"))
    folded = (primary ^ secondary) & 0xFFFF
    return folded - 0x10000 if folded >= 0x8000 else folded


def partition_for_key(partition_key: str, partition_count: int) -> int:
    """Index of the partition that `partition_key` maps to among `partition_count` partitions.

    Stable across processes, machines and Python versions. Raises `ValueError` when
    `partition_count` is not positive.
    """
    if partition_count < 1:
        raise ValueError(f"partition_count must be at least 1, got {partition_count}")
    hash_code = partition_key_hash(partition_key)
    remainder = abs(hash_code) % partition_count  # truncated remainder, as C# `%`, then abs
    return remainder
