"""Paths as people and agents paste them back (``semcode/search/locations.py``)."""

import pytest

from semcode.errors import QueryError
from semcode.search.locations import glob_in_repository, in_repository, split_line


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "repo" / "src" / "app").mkdir(parents=True)
    (tmp_path / "repo" / "src" / "app" / "main.py").write_text("x = 1\n")
    (tmp_path / "repo" / "README.md").write_text("# r\n")
    (tmp_path / "link").symlink_to(tmp_path / "repo")
    return tmp_path / "repo"


@pytest.mark.parametrize(("given", "here", "expected"), [
    ("src/app/main.py", None, "src/app/main.py"),
    ("./src/app/main.py", None, "src/app/main.py"),
    ("src/../README.md", None, "README.md"),
    ("{repo}/src/app/main.py", None, "src/app/main.py"),
    ("{link}/src/app/main.py", None, "src/app/main.py"),  # the checkout through a symlink
    ("./main.py", "src/app", "src/app/main.py"),
    ("main.py", "src/app", "src/app/main.py"),  # names a file here, none at the top
    ("../../README.md", "src/app", "README.md"),
    ("README.md", "src/app", "README.md"),  # the index's own form wins when it names one
])
def test_a_path_given_back_is_the_index_s_path(repo, given, here, expected):
    given = given.format(repo=repo, link=repo.parent / "link")
    assert in_repository(given, repo, repo / here if here else None) == expected


@pytest.mark.parametrize("given", ["/etc/passwd", "../x.py", "src/../../x.py", "{outside}"])
def test_a_path_outside_the_repository_says_so(repo, given):
    with pytest.raises(QueryError, match="outside the repository"):
        in_repository(given.format(outside=repo.parent / "elsewhere.py"), repo)


@pytest.mark.parametrize(("glob", "expected"), [
    ("src/**", "src/**"),
    ("!tests/**", "!tests/**"),
    ("./src/**", "src/**"),
    ("{repo}/src/**/*.py", "src/**/*.py"),
    ("!{repo}/src/**", "!src/**"),
    ("{repo}/**", "**"),
    ("/src/**", "/src/**"),  # gitignore's anchor: no /src on this machine
])
def test_a_glob_written_as_a_path_is_the_index_s_glob(repo, glob, expected):
    assert glob_in_repository(glob.format(repo=repo), repo) == expected


def test_a_glob_outside_the_repository_says_so(repo):
    with pytest.raises(QueryError, match="outside the repository"):
        glob_in_repository(f"{repo.parent}/**", repo)


@pytest.mark.parametrize(("given", "expected"), [
    ("src/x.py:42", ("src/x.py", 42)),
    ("src/x.py:42:7", ("src/x.py", 42)),
    ("/abs/src/x.py:42:", ("/abs/src/x.py", 42)),  # as a piped search line prints it
    ("src/x.py", ("src/x.py", None)),
    ("src/a:b.py", ("src/a:b.py", None)),
])
def test_a_line_after_the_path_is_split_off(given, expected):
    assert split_line(given) == expected
