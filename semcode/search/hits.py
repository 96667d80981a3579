"""What a search answers: its hits, each saying where it was found, and the warnings that
qualify them. Kept apart from the searcher so that what shows hits needs none of it."""

from semcode.reports import Report

INDEX, WORKTREE = "index", "worktree"  # where a hit comes from


class Hit(Report):
    """One result: where the chunk is, what it is, its score and its code."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    language: str
    kind: str
    score: float
    text: str
    chunk_id: str
    matched_by: str = ""  # vector, keyword or both: which side of the search found it
    # The lines of the whole definition this hit was cut from (a long function's windows
    # share them); (0, 0) in an index built before it was recorded.
    part_of: tuple[int, int] = (0, 0)
    # Which repository of SEMCODE_REPOS the hit is in; empty in a one-repository deployment.
    repository: str = ""
    # Where it comes from: the verified index ("index"), or the checkout's overlay of what
    # differs from the indexed commit ("worktree": an edit, a new file, a commit not indexed).
    source: str = INDEX


class Answer(Report):
    """The hits of one query, and warnings that qualify them."""

    hits: list[Hit]
    warnings: list[str] = []
