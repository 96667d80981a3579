import dagster as dg
from pydantic import Field

from semcode.config import DEFAULT_MAX_FILE_BYTES, DEFAULT_PARSE_TIMEOUT
from semcode.ingest import gitrepo


class RepoResource(dg.ConfigurableResource):
    """The repository being indexed: a git working copy or bare repository (its tracked
    branch is pinned per run), or a plain directory (its working tree, sha256 hashes)."""

    path: str = Field(description="Path to the repository (SEMCODE_REPO).")
    branch: str = Field(default="", description="Tracked branch; empty = the checked-out one "
                        "(SEMCODE_BRANCH).")
    remote: str = Field(default="", description="Remote to fetch before reading the branch, "
                        "e.g. origin; empty = read the local branch (SEMCODE_REMOTE).")
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES,
                                description="Larger files are skipped.")
    parse_timeout_s: int = Field(default=DEFAULT_PARSE_TIMEOUT,
                                 description="Seconds one file's parse may take; a file "
                                 "that takes longer is cut by line windows, with the reason "
                                 "parse_timeout (SEMCODE_PARSE_TIMEOUT).")

    def tracked_ref(self) -> str:
        """The branch as git should resolve it: ``main``, or ``origin/main`` with a remote;
        empty outside git."""
        if not gitrepo.is_git_repo(self.path):
            return ""
        branch = self.branch or gitrepo.current_branch(self.path)
        return f"{self.remote}/{branch}" if self.remote else branch

    fetch_every_s: int = Field(default=300, description="With a remote: fetch at most this "
                               "often, unless a push hook touched the nudge file.")

    def wait_for_push(self, seconds: float) -> bool:
        """Whether the tracked branch moved (or a push hook nudged) within ``seconds`` of
        waiting — the files that record it are watched, no git runs meanwhile."""
        if seconds <= 0 or not gitrepo.is_git_repo(self.path):
            return False
        branch = self.branch or gitrepo.current_branch(self.path)
        ref = f"refs/remotes/{self.remote}/{branch}" if self.remote else f"refs/heads/{branch}"
        return gitrepo.wait_for_change(gitrepo.ref_files(self.path, ref), seconds)

    def fetch_head(self) -> str | None:
        """The tracked branch's commit (None outside git), fetching the remote first when
        one is set and a fetch is due: a push hook nudged, or ``fetch_every_s`` passed."""
        if not gitrepo.is_git_repo(self.path):
            return None
        if self.remote and gitrepo.fetch_due(self.path, self.fetch_every_s):
            gitrepo.git(self.path, "fetch", "--quiet", self.remote,
                        self.branch or gitrepo.current_branch(self.path))
            gitrepo.mark_fetched(self.path)
        return gitrepo.resolve(self.path, self.tracked_ref())
