"""Gitignore-style globs (``.semcodeignore``, ``--path``) matched in linear time.

pathspec turns each glob into a regular expression; Python's backtracking engine can take
seconds on a crafted one (``*a*a*a*a*a*a*a*a*a*a*b`` against a long name took 18 s), so the
expressions run on RE2, which cannot backtrack.
"""

import re
from collections.abc import Iterable

import pathspec
import re2  # type: ignore[import-untyped]

from semcode.errors import QueryError

MAX_GLOBS = 1_000
MAX_GLOB_CHARS = 4_096


def compile_globs(lines: Iterable[str], *, source: str = "--path") -> pathspec.PathSpec:
    """A matcher for gitignore-style lines; a clear error for lines no matcher can take."""
    lines = list(lines)
    if len(lines) > MAX_GLOBS or any(len(line) > MAX_GLOB_CHARS for line in lines):
        raise QueryError(f"{source}: at most {MAX_GLOBS} globs of {MAX_GLOB_CHARS} characters")
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines, backend="re2")
    except (ValueError, TypeError, re.error, pathspec.patterns.gitignore.GitIgnorePatternError,
            re2.error) as exc:
        raise QueryError(f"{source}: invalid glob ({exc}) — use gitignore-style globs such "
                         "as 'src/**/*.py'") from None


UNCLOSED = re.compile(r"(?<!\\)\[(?![^\]]*\])")  # a "[" no "]" closes ("\\[" is literal)


def compile_path_globs(globs: Iterable[str]) -> pathspec.PathSpec:
    """The matcher of a search's path filter. gitignore reads an unclosed ``[`` as a class
    that matches nothing, so such a filter answers nothing, silently: here it is a typo.
    Exclusions alone (``!tests/**``) mean everything but them, as a person means it (to
    gitignore, they would match nothing)."""
    globs = list(globs)
    if globs and all(glob.startswith("!") for glob in globs):
        globs = ["**", *globs]
    for glob in globs:
        if UNCLOSED.search(glob):
            raise QueryError(f"--path {glob!r}: a '[' without its ']' — a class of characters "
                             "is '[ab]', a literal bracket '\\['")
    return compile_globs(globs, source="--path")
