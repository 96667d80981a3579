"""What a ``semcode`` command's flags and the environment say to work on: the settings, and
which of SEMCODE_REPOS's repositories."""

import argparse
import sys
from pathlib import Path

from semcode.config import Settings
from semcode.errors import ConfigError
from semcode.ingest import gitrepo


def settings_of(args: argparse.Namespace) -> Settings:
    """Settings from the environment and the flags. A path inside a git repository means
    that repository: its files are indexed (and shown) relative to its top."""
    repo = getattr(args, "repo", None) or getattr(args, "repo_path", None)
    settings = Settings.from_env(store=getattr(args, "store", None),
                                 shards=getattr(args, "shards", None),
                                 backend=getattr(args, "backend", None))
    if repo and settings.repositories:  # a path of the deployment's is that repository
        named = [name for name, path in settings.repositories.items()
                 if Path(path).resolve() == Path(repo).resolve()]
        if named:
            args.only = named
            return settings
        if settings.store and not getattr(args, "store", None):
            raise ConfigError(f"{repo} is not one of SEMCODE_REPOS, whose stores live under "
                              f"SEMCODE_STORE={settings.store} — add it there, or give --store")
    if repo:  # a path: that repository only
        settings = settings.with_overrides(repo=repo, repos="")
    if Path(settings.repo).is_dir() and gitrepo.is_git_repo(settings.repo):
        top = str(gitrepo.toplevel(settings.repo))
        if top != settings.repo_path:
            print(f"semcode: {settings.repo_path} is inside the repository {top}; using it",
                  file=sys.stderr)
            settings = settings.with_overrides(repo=top)
        reads = getattr(args, "command", "") != "index"
        if reads and not settings.store and not settings.repositories:
            from semcode.ingest.worktree import shared_store

            settings = settings.with_overrides(store=shared_store(settings.repo))
    return settings


def repositories_of(args: argparse.Namespace, settings: Settings) -> list[str]:
    """The SEMCODE_REPOS repositories this command covers (``--in``, else all); empty when
    the deployment has one repository."""
    from semcode.interfaces.repositories import chosen

    return chosen(settings, getattr(args, "only", None) or ())
