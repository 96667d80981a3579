"""Which shard a file belongs to: a stable hash of its repo-relative path.

Python's ``hash()`` is salted per process; blake2b of the UTF-8 path is the same in every
process, on every machine, for every Python.
"""

import hashlib
from collections.abc import Iterable


def shard_of(path: str, shard_count: int) -> int:
    digest = hashlib.blake2b(path.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shard_count


def shard_key(shard: int) -> str:
    return f"shard-{shard:02d}"


def shard_keys(shard_count: int) -> list[str]:
    return [shard_key(i) for i in range(shard_count)]


def shard_number(key: str) -> int:
    """``shard-03`` → 3, with a clear error for anything else."""
    prefix, _, number = key.partition("-")
    if prefix != "shard" or not number.isdigit():
        raise ValueError(f"not a shard key: {key!r} (expected shard-NN)")
    return int(number)


def shard_ranges(shards: Iterable[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` → ``0-2,5,7-8``."""
    spans: list[list[int]] = []
    for shard in sorted(shards):
        if spans and shard == spans[-1][1] + 1:
            spans[-1][1] = shard
        else:
            spans.append([shard, shard])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)


def parse_shard_ranges(text: str) -> list[int]:
    """The inverse of ``shard_ranges``."""
    shards: list[int] = []
    for span in filter(None, text.split(",")):
        first, _, last = span.partition("-")
        shards.extend(range(int(first), int(last or first) + 1))
    return shards
