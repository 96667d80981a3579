"""Opening a checkout's files without ever leaving the checkout.

A path that git names (``conf/passwd``) is a path *inside* the repository, but the file
system resolves it through whatever stands on disk: replace the folder ``conf`` with a
symlink to ``~/.aws`` (a pull is enough) and ``open(top / "conf/passwd")`` reads a file
outside. So every path from git or from a walk is opened here, one way or the other:

- ``openat2`` with ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`` (Linux 5.6+): the kernel
  refuses, in one call, a symlink in *any* component and any escape above the top;
- elsewhere (an older kernel, a seccomp filter that hides the call, macOS), component by
  component: each folder opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to the folder
  before it, then the file with ``O_NOFOLLOW``.

Either way what is read comes from a descriptor that was opened beneath the top with no
symlink on its path, so swapping a folder for a symlink after the open cannot redirect the
read (a check of the path *after* the read, as a ``realpath`` check needs, has nothing left
to catch). A file is opened ``O_NONBLOCK`` so that a FIFO cannot stall a run, and anything
but a regular file is refused.
"""

import ctypes
import errno
import os
import stat
import sys
from pathlib import Path

_SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437}.get(os.uname().machine) \
    if sys.platform == "linux" else None
_RESOLVE_NO_MAGICLINKS, _RESOLVE_NO_SYMLINKS, _RESOLVE_BENEATH = 0x02, 0x04, 0x08
_O_PATH = getattr(os, "O_PATH", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class OutsideCheckout(OSError):
    """The path leaves the checkout: a symlink in one of its components, or ``..`` above
    the top. Nothing was opened."""

    def __init__(self, path: str, why: str):
        super().__init__(errno.ELOOP, why, path)


class NotRegular(OSError):
    """The path names a folder, a device, a FIFO or a socket, not a file to read."""

    def __init__(self, path: str):
        super().__init__(errno.EINVAL, "not a regular file", path)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True) if _SYS_OPENAT2 is not None else None
if _libc is not None:
    _libc.syscall.restype = ctypes.c_long
_has_openat2: bool | None = None  # learnt at the first call: the kernel may not have it


def _openat2(top_fd: int, path: str, flags: int) -> int | None:
    """``openat2`` beneath ``top_fd`` with no symlink anywhere; None where the kernel (or a
    sandbox's filter) does not offer the call."""
    global _has_openat2
    if _libc is None or _SYS_OPENAT2 is None or _has_openat2 is False:
        return None
    how = _OpenHow(flags | _CLOEXEC, 0,
                   _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_long(top_fd),
                       ctypes.c_char_p(os.fsencode(path)), ctypes.byref(how),
                       ctypes.c_size_t(ctypes.sizeof(how)))
    if fd >= 0:
        _has_openat2 = True
        return int(fd)
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EPERM) and _has_openat2 is None:
        _has_openat2 = False  # not offered here: every later call walks instead
        return None
    if code in (errno.ELOOP, errno.EXDEV):
        raise OutsideCheckout(path, "a symlink stands in its path (not followed)"
                              if code == errno.ELOOP else "it leaves the checkout")
    raise OSError(code, os.strerror(code), path)


def _parts(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or path.startswith("/") or ".." in parts:
        raise OutsideCheckout(path, "not a path inside the checkout")
    return parts


def _walk_open(top_fd: int, path: str, flags: int) -> int:
    """The portable way: every folder of ``path`` opened with ``O_NOFOLLOW`` relative to the
    one before it, then the last component with ``flags | O_NOFOLLOW``."""
    parts = _parts(path)
    here = os.dup(top_fd)
    try:
        for part in parts[:-1]:
            try:
                step = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC,
                               dir_fd=here)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(here, part):
                    raise OutsideCheckout(path, "a symlink stands in its path (not followed)") \
                        from None
                raise
            os.close(here)
            here = step
        try:
            return os.open(parts[-1], flags | os.O_NOFOLLOW | _CLOEXEC, dir_fd=here)
        except OSError as exc:
            if exc.errno == errno.ELOOP and not flags & _O_PATH:
                raise OutsideCheckout(path, "it is a symlink (not followed)") from None
            raise
    finally:
        os.close(here)


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _open(top: str | Path, path: str, flags: int) -> int:
    _parts(path)
    top_fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        fd = _openat2(top_fd, path, flags)
        return fd if fd is not None else _walk_open(top_fd, path, flags)
    finally:
        os.close(top_fd)


def lstat(top: str | Path, path: str) -> os.stat_result:
    """``path``'s own stat (a symlink's, not its target's), found beneath ``top`` without
    following a symlink in any folder on the way. ``OutsideCheckout`` when one stands there."""
    if not _O_PATH:  # no O_PATH (macOS): stat the last component from its folder
        *folders, name = _parts(path)
        folder = _open(top, "/".join(folders), os.O_RDONLY | os.O_DIRECTORY) if folders \
            else os.open(top, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        try:
            return os.stat(name, dir_fd=folder, follow_symlinks=False)
        finally:
            os.close(folder)
    fd = _open(top, path, _O_PATH | os.O_NOFOLLOW)
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def read_bytes(top: str | Path, path: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` beneath ``top``: never through a symlink,
    never a FIFO, a device or a folder (``NotRegular``), never past ``limit`` bytes
    (``limit + 1`` are read at most, so the caller sees that it was over)."""
    fd = _open(top, path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(path)
        chunks, left = [], (limit + 1 if limit is not None else None)
        while left is None or left > 0:
            chunk = os.read(fd, 1 << 20 if left is None else min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            if left is not None:
                left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(top: str | Path, path: str) -> str | None:
    """A small settings file of the checkout (``.semcodeignore``) as text, or None when it
    is absent or is not a regular file beneath ``top``."""
    try:
        return read_bytes(top, path, limit=1 << 20).decode("utf-8", "replace")
    except OSError:
        return None
