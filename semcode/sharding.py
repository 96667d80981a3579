"""Which shard a file belongs to: a stable hash of its repo-relative path.

Python's ``hash()`` is salted per process; blake2b of the UTF-8 path is the same in every
process, on every machine, for every Python.
"""

import hashlib


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
