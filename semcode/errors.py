"""The errors a user can act on. Each message says what happened and what to run next.

The edges (the CLI, the MCP server) catch ``SemcodeError`` and print its message; anything
else is a bug and keeps its traceback.
"""


import os
import re


class SemcodeError(Exception):
    """A problem with the input, the repository or the store, not with semcode itself."""


class ConfigError(SemcodeError):
    """A setting (environment variable or flag) has a value semcode cannot use."""


class RepoError(SemcodeError):
    """The repository is missing, empty, or git refused a request."""


class GitError(RepoError):
    """A git command failed; the message carries git's own words."""


class StoreNotFound(SemcodeError):
    """No index at the configured store yet."""


class StoreError(SemcodeError):
    """The store exists but cannot be used as it is (another model, a damaged table)."""


class StoreDamaged(StoreError):
    """A file of the store cannot be read: truncated, zeroed, overwritten or gone."""


class StoreUnreachable(StoreError):
    """The store cannot be reached: its endpoint is down, its bucket missing, its credentials
    refused, or its folder cannot be read."""


class StoreBusy(SemcodeError):
    """Another writer holds the store's writer lease (or took it from an expired holder)."""


class LeaseLost(StoreBusy):
    """This writer's lease lapsed or passed to another: its commit was refused."""


class QueryError(SemcodeError):
    """A search request semcode cannot answer as asked (bad glob, mode, limit, language)."""


class NotIndexed(QueryError):
    """The requested path or line has no chunk in the index."""


class CommitConflict(SemcodeError):
    """A concurrent writer committed first; the write may be retried."""


# Lance reports a lost commit race as a plain RuntimeError/OSError whose text starts like
# this (lancedb 0.40 has no exception type for it); this is the one place that reads it.
_CONFLICT_MARKERS = ("Retryable commit conflict", "Commit conflict for version")


def as_commit_conflict(exc: BaseException) -> CommitConflict | None:
    """The typed conflict behind a LanceDB error, or None when ``exc`` is something else."""
    if isinstance(exc, CommitConflict):
        return exc
    if isinstance(exc, RuntimeError | OSError) and any(m in str(exc) for m in _CONFLICT_MARKERS):
        return CommitConflict(str(exc))
    return None


# What Lance says when a file it needs is damaged or gone (lancedb 0.40): the IO class of its
# errors, a bad magic number, a short read. Read here, and only here.
_DAMAGE_MARKERS = ("LanceError(IO)", "does not appear to be a Lance file",
                   "failed to fill whole buffer", "LanceError(Corrupt", "Invalid range",
                   "Not found:", "No such file or directory")


def as_damage(exc: BaseException, uri: str = "") -> StoreDamaged | None:
    """The typed damage behind a LanceDB error (its first line kept), or None."""
    if isinstance(exc, StoreDamaged):
        return exc
    text = str(exc)
    if not isinstance(exc, RuntimeError | OSError | ValueError) or \
            not any(m in text for m in _DAMAGE_MARKERS):
        return None
    first = first_line(exc)
    where = f"the store at {uri}" if uri else "the store"
    return StoreDamaged(f"{where} cannot be read ({first}) — run `semcode index` to repair "
                        "it (it rebuilds what is damaged)")


def first_line(exc: BaseException) -> str:
    """An error's first line, without the Rust source location Lance appends."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line.split(", /rustc/")[0].removeprefix("lance error: ")[:300]


# What LanceDB (0.40, through Rust's object_store) says when it cannot reach a store, and
# the cause a person can act on. Read here, and only here.
_UNREACHABLE_CAUSES = (
    (("ConnectionRefused", "Connection refused"),
     "connection refused — is the server up? (AWS_ENDPOINT_URL names it)"),
    (("dns error", "failed to lookup address", "Name or service not known"),
     "the endpoint's host name does not resolve"),
    (("TimedOut", "timed out", "operation timed out"), "the connection timed out"),
    (("NoSuchBucket",), "the bucket does not exist — create it, or correct the store's URI"),
    (("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
      "AccessDenied", "status: 403", "status: 401", "Forbidden"),
     "access denied — check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
     "AWS_PROFILE) and that they may read the bucket"),
    (("Missing region", "MissingRegion"), "no region — set AWS_REGION"),
    (("PermissionDenied",), "permission denied — check who may read the folder"),
)
_REQUEST_MARKERS = ("Failed to connect to namespace", "RetryError", "ListRequest",
                    "GetRequest", "HttpError", "Generic { store:")
_ENDPOINT = re.compile(r"uri: Some\((https?://[^/\s)]+)")


def as_unreachable(exc: BaseException, uri: str) -> StoreUnreachable | None:
    """One sentence for a store that cannot be reached — the store, its endpoint, the cause
    — or None when ``exc`` is something else."""
    if isinstance(exc, StoreUnreachable):
        return exc
    text = str(exc)
    if not isinstance(exc, RuntimeError | OSError | ValueError) or \
            not any(m in text for m in _REQUEST_MARKERS):
        return None
    cause = next((why for markers, why in _UNREACHABLE_CAUSES
                  if any(m in text for m in markers)), "")
    if not cause and "Failed to connect to namespace" not in text:
        return None  # a request that reached the store and failed there: damage, or a bug
    cause = cause or first_line(exc)
    store = f"the store at {uri}" if uri else "the store"
    found = _ENDPOINT.search(text)
    if uri and "://" not in uri or not (uri or found):
        return StoreUnreachable(f"{store} cannot be read: {cause}")
    endpoint = found.group(1) if found else (
        os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT")
        or "the provider's default endpoint")
    return StoreUnreachable(f"{store} cannot be reached at {endpoint}: {cause}")


def as_store_error(exc: BaseException, uri: str = "") -> StoreError | None:
    """What a LanceDB error means for the person: a store out of reach, or a damaged one;
    None when it is neither (a bug: it keeps its traceback)."""
    return as_unreachable(exc, uri) or as_damage(exc, uri)
