import dagster as dg
from pydantic import Field

from semcode import gitrepo


class RepoResource(dg.ConfigurableResource):
    """The repository being indexed: a git working copy or bare repository (its tracked
    branch is pinned per run), or a plain directory (its working tree, sha256 hashes)."""

    path: str = Field(description="Path to the repository (SEMCODE_REPO).")
    branch: str = Field(default="", description="Tracked branch; empty = the checked-out one "
                        "(SEMCODE_BRANCH).")
    max_file_bytes: int = Field(default=1_000_000, description="Larger files are skipped.")

    def tracked_branch(self) -> str:
        return self.branch or gitrepo.current_branch(self.path)

    def head(self) -> str | None:
        """The commit at the tip of the tracked branch, or None outside git."""
        if not gitrepo.is_git_repo(self.path):
            return None
        return gitrepo.resolve(self.path, self.tracked_branch())
