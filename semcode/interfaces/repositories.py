"""Several repositories in one deployment (SEMCODE_REPOS): each has a store of its own, so
every invariant and check holds per repository; search fans out over their stores and blends
the hits by score; the deployment is healthy when every repository is.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from semcode.config import DEFAULT_LIMIT, DEFAULT_MODE, Settings
from semcode.errors import ConfigError, StoreNotFound
from semcode.interfaces.status import index_status
from semcode.reports import Report
from semcode.search.searcher import Answer, Filters, Hit, Searcher
from semcode.status_reports import IndexStatus


def chosen(settings: Settings, only: Sequence[str] = ()) -> list[str]:
    """The repositories a command covers: those named in ``only`` (checked against
    SEMCODE_REPOS), else all of them; empty when the deployment has one repository."""
    configured = settings.repositories
    if only and not configured:
        raise ConfigError(f"--in {' '.join(only)}: SEMCODE_REPOS is not set, so this "
                          "deployment has one repository")
    unknown = [name for name in only if name not in configured]
    if unknown:
        raise ConfigError(f"no repository named {', '.join(unknown)} in SEMCODE_REPOS "
                          f"(configured: {', '.join(configured)})")
    return list(dict.fromkeys(only)) if only else list(configured)


class Searchers:
    """One Searcher per repository, asked at once; the same questions as a Searcher, and
    every hit says which repository it is in. A repository without an index yet is left out
    with a warning (all of them without one is an error)."""

    def __init__(self, searchers: dict[str, Searcher], missing: Sequence[str] = (),
                 pool: ThreadPoolExecutor | None = None):
        if not searchers:
            raise StoreNotFound(f"no index yet for {', '.join(missing)} — run `semcode index`")
        self.searchers, self.missing = searchers, list(missing)
        self.pool = pool or ThreadPoolExecutor(len(searchers), thread_name_prefix="semcode-repo")

    @classmethod
    def open(cls, settings: Settings, names: Sequence[str]) -> "Searchers":
        """The stores of ``names``, each with the deployment's model."""
        searchers, missing = {}, []
        for name in names:
            try:
                searchers[name] = Searcher.of(settings.for_repo(name))
            except StoreNotFound:
                missing.append(name)
        return cls(searchers, missing)

    def only(self, names: Sequence[str]) -> "Searchers":
        """The same open searchers, over ``names`` only."""
        return Searchers({n: s for n, s in self.searchers.items() if n in names},
                         [n for n in self.missing if n in names], self.pool)

    def watch_worktree(self) -> None:
        for searcher in self.searchers.values():
            searcher.watch_worktree()

    def finish_worktree(self) -> None:
        for searcher in self.searchers.values():
            searcher.finish_worktree()

    def answer(self, query: str, *, k: int = DEFAULT_LIMIT, languages: Filters = (),
               paths: Filters = (), kinds: Filters = (), mode: str = DEFAULT_MODE) -> Answer:
        """Each repository's best ``k``, blended by score. Hybrid and vector scores are on
        one scale across stores (the cosine of one model; BM25 enters the hybrid relative to
        each store's best); keyword mode's raw BM25 depends on each store's word statistics,
        so its blend is rougher. The query is embedded once, for all of them."""
        first = next(iter(self.searchers.values()))
        vector = first.embed(query) if mode != "keyword" and query.strip() else None
        futures = {name: self.pool.submit(searcher.answer, query, k=k, languages=languages,
                                          paths=paths, kinds=kinds, mode=mode, vector=vector)
                   for name, searcher in self.searchers.items()}
        hits: list[Hit] = []
        warnings = [f"{name}: no index yet — run `semcode index --in {name}`"
                    for name in self.missing]
        for name, future in futures.items():
            answer = future.result()
            hits += [hit.model_copy(update={"repository": name}) for hit in answer.hits]
            warnings += [f"{name}: {warning}" for warning in answer.warnings]
        hits.sort(key=lambda hit: -hit.score)  # stable: a tie keeps the configured order
        return Answer(hits=hits[:k], warnings=warnings)

    def similar(self, repository: str, path: str, line: int | None = None, *,
                k: int = DEFAULT_LIMIT, languages: Filters = (), paths: Filters = (),
                kinds: Filters = (), across: bool = False) -> list[Hit]:
        """Code like ``path:line`` of ``repository``: in that repository, or ``across``
        every repository searched here (the place itself left out), blended by cosine."""
        if repository not in self.searchers:
            raise ConfigError(f"{repository!r} is not searched here (indexed: "
                              f"{', '.join(self.searchers)}) — name it with --in")
        vector, ids = self.searchers[repository].place(path, line)  # its checkout's too
        where = self.searchers if across else {repository: self.searchers[repository]}
        futures = {name: self.pool.submit(searcher.like, vector, k=k, languages=languages,
                                          paths=paths, kinds=kinds,
                                          exclude=ids if name == repository else ())
                   for name, searcher in where.items()}
        hits = [hit.model_copy(update={"repository": name})
                for name, future in futures.items() for hit in future.result()]
        return sorted(hits, key=lambda hit: -hit.score)[:k]


class DeploymentStatus(Report):
    """Every repository's status; healthy when each is."""

    repositories: dict[str, IndexStatus]
    healthy: bool  # the check overall: every repository's index is complete and passes

    def text(self) -> str:
        return "\n\n".join(f"{name}: {'healthy' if status.healthy else 'NOT healthy'}\n"
                            f"{status.text()}" for name, status in self.repositories.items())


def deployment_status(settings: Settings, names: Sequence[str]) -> DeploymentStatus:
    statuses = {}
    for name in names:
        each = settings.for_repo(name)
        statuses[name] = index_status(each.store_uri, each.repo, each.branch)
    return DeploymentStatus(repositories=statuses,
                            healthy=all(status.healthy for status in statuses.values()))
