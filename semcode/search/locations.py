"""Paths as people and agents give them back, made into paths as the index holds them.

The index names a file by its path relative to the repository's top, '/'-separated. semcode
prints absolute paths on a terminal (so they open), relative ones in JSON and MCP, and
``path:line`` for a hit: every one of those is accepted back — absolute (as printed, or through
a symlink to the checkout), ``./``- or ``../``-relative to the folder the command runs in,
relative to the top, with ``:LINE`` after it. A path outside the repository is an error that
says so, never a silent empty answer.
"""

import os
import re
from pathlib import Path, PurePosixPath

from semcode.errors import QueryError

# path:line, path:line:column (as compilers print), and either with the colon a piped
# search line puts after it (``path:line: symbol …``)
LINE_SUFFIX = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::\d+)?:?$")
GLOB_CHARS = re.compile(r"[*?\[]")


def split_line(given: str) -> tuple[str, int | None]:
    """``src/x.py:42`` (``src/x.py:42:7``, ``src/x.py:42:``) → (``src/x.py``, 42); a path
    without a line number → (path, None)."""
    found = LINE_SUFFIX.match(given)
    return (found["path"], int(found["line"])) if found else (given, None)


def in_repository(given: str, top: str | Path, here: str | Path | None = None) -> str:
    """``given`` relative to the repository's ``top``. ``here``: the folder a ``./`` path is
    relative to (the CLI's working folder; the top when None). A bare relative path is the
    index's own form, unless ``here`` is a folder inside the repository where it names a file
    and the top does not."""
    if not given or given == ".":
        return given
    top_path = Path(os.path.abspath(top))
    base = Path(os.path.abspath(here)) if here is not None else top_path
    path = Path(given)
    if not path.is_absolute():
        explicit = given in ("..",) or given.startswith(("./", "../"))
        if not explicit and not _prefers_here(given, top_path, base):
            relative = PurePosixPath(os.path.normpath(given)).as_posix()
            if relative == ".." or relative.startswith("../"):
                raise _outside(given, top_path)
            return relative
        path = base / given
    return _relative_to(Path(os.path.normpath(path)), top_path, given)


def glob_in_repository(glob: str, top: str | Path, here: str | Path | None = None) -> str:
    """A gitignore-style glob (``!`` to exclude) whose leading folders may be written as a
    path is: ``<abs top>/src/**`` and ``./src/**`` are ``src/**``. A glob that starts with
    ``/`` but names no folder on this machine is gitignore's anchor (``/src/**``), kept."""
    negated = glob.startswith("!")
    body = glob[1:] if negated else glob
    parts = body.split("/")
    literal = next((i for i, part in enumerate(parts) if GLOB_CHARS.search(part)), len(parts))
    head, tail = "/".join(parts[:literal]), parts[literal:]
    if not head or not body.startswith(("/", "./", "../")) and body not in (".", ".."):
        return glob  # the index's own form
    if body.startswith("/") and not Path("/", head.split("/")[1]).exists():
        return glob  # gitignore's anchor: /src/** is src/** at the top only
    try:
        where = in_repository(head, top, here)
    except QueryError:
        raise _outside(glob, Path(os.path.abspath(top))) from None
    joined = "/".join([where, *tail]) if where not in ("", ".") else "/".join(tail) or "**"
    return ("!" if negated else "") + joined


def repository_of(given: str, roots: list[str]) -> str:
    """Which of ``roots`` (the checkouts of a deployment's repositories) a path or glob lies
    in — an absolute one, or one relative to this folder; else the first."""
    where = Path(os.path.abspath(given.removeprefix("!")))
    return next((root for root in roots if where.is_relative_to(os.path.abspath(root))),
                roots[0])


def _prefers_here(given: str, top: Path, here: Path) -> bool:
    """A bare path typed in a subfolder of the repository that names a file there, not at
    the top (``cd src; semcode similar app.py``)."""
    if here == top or not here.is_relative_to(top):
        return False
    return (here / given).exists() and not (top / given).exists()


def _relative_to(path: Path, top: Path, given: str) -> str:
    """An absolute path as the index holds it: against the top as written, then with
    symlinks resolved on both sides (a checkout reached through a link)."""
    for candidate, root in ((path, top), (path.resolve(), top.resolve())):
        if candidate.is_relative_to(root):
            return candidate.relative_to(root).as_posix()
    raise _outside(given, top)


def _outside(given: str, top: Path) -> QueryError:
    return QueryError(f"{given} is outside the repository {top} — give a path inside it "
                      "(relative to its top, or absolute)")
