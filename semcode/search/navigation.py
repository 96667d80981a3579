"""Code navigation from the ``symbols`` table: where a name is defined, where it is used, who
calls it and what it calls.

Name-based, as GitHub's search-based navigation is: a reference is a name at a place, and it
is matched to definitions of the same name, ranked by scope — the same file first, then
files the asking file imports, then elsewhere. Two things narrow it beyond the name: a
method's callers are calls made *on* something (``x.get()``), a function's are bare calls or
calls through a module the caller imports (``os.path.join``, ``pkg.Do``); and ``--calls``
keeps calls only. Each answer says it is name-based.

With a checkout, the working tree's version of every path its overlay holds replaces the
index's: those files' symbols are read from the working tree (parsed once per content,
``navigation_worktree.py``), so a function just written is found with its callers. The scope
rules are ``scopes.py``'s.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from semcode.errors import ConfigError
from semcode.reports import DEFINITION, REFERENCE
from semcode.search.scopes import (
    ELSEWHERE,
    IMPORTED,
    SAME_FILE,
    SCOPES,
    Place,
    is_method_call,
    meant,
    qualifies,
    scope_of,
    split_name,
)
from semcode.store.tables import Store, sql_in, sql_str

NAME_BASED = ("name-based: matched by name and ranked by scope (same file, imported, "
              "elsewhere), not resolved by a compiler")
COLUMNS = ["path", "language", "role", "name", "qualified", "enclosing", "kind", "line",
           "end_line", "chunk_id", "detail"]
RELATIONS = ("definition", "references", "callers", "callees")
_AT = re.compile(r"^(?P<path>.+):(?P<line>\d+)$")


@dataclass
class Caller:
    """A definition (or a file's top level, ``<module>``) that calls the name, and where."""

    caller: str
    kind: str
    path: str
    line: int
    calls: list[int]
    scope: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Callee:
    """A call made inside the definition, with where its name is defined, if indexed."""

    name: str
    line: int
    receiver: str
    defined_at: list[Place] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "line": self.line, "receiver": self.receiver,
                "defined_at": [d.to_dict() for d in self.defined_at]}


@dataclass
class Answer:
    """What one question found: the definitions the name resolved to, and the results of
    the relation asked for (definitions, references, callers or callees)."""

    relation: str
    name: str
    resolved: list[Place]
    results: list
    note: str = NAME_BASED
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"relation": self.relation, "name": self.name, "note": self.note,
                "resolved": [d.to_dict() for d in self.resolved],
                "results": [r.to_dict() for r in self.results], "warnings": self.warnings}


# The working tree's side: the paths whose index symbols it replaces, and its own rows.
WorktreeSymbols = Callable[[list[str]], tuple[frozenset[str], pa.Table]]


class Navigator:
    """Answers navigation questions from a store's ``symbols`` (and a checkout's overlay)."""

    def __init__(self, store: Store, worktree: WorktreeSymbols | None = None):
        self.store = store
        self.worktree = worktree
        self._side: tuple[frozenset[str], pa.Table] | None = None
        if not store.has("symbols"):
            raise ConfigError("this index has no symbols yet — run `semcode index` (an index "
                              "built before navigation gets them on its next run)")

    # -- the rows ----------------------------------------------------------------------------
    def _rows(self, warnings: list[str], **equal: str | Iterable[str]) -> pa.Table:
        """Symbols rows whose columns equal (or are among) the values given, the working
        tree's version of each path it holds instead of the index's."""
        where = " AND ".join(f"{c} = {sql_str(v)}" if isinstance(v, str) else sql_in(c, v)
                             for c, v in equal.items())
        rows = self.store.scan("symbols", COLUMNS, where)
        if self.worktree is None:
            return rows
        if self._side is None:  # the working tree looked at once a question
            self._side = self.worktree(warnings)
        hidden, own = self._side
        if hidden:
            rows = rows.filter(pc.invert(pc.is_in(rows.column("path"),
                                                  value_set=pa.array(sorted(hidden)))))
        if own.num_rows:
            mask = pa.array([True] * own.num_rows)
            for column, value in equal.items():
                values = pa.array([value] if isinstance(value, str) else list(value),
                                  own.schema.field(column).type)
                mask = pc.and_(mask, pc.is_in(own.column(column), value_set=values))
            rows = pa.concat_tables([rows, own.filter(mask).select(COLUMNS)])
        return rows

    @staticmethod
    def _places(rows: pa.Table) -> list[Place]:
        return [Place(path=r["path"], line=r["line"], end_line=r["end_line"], kind=r["kind"],
                      name=r["name"], qualified=r["qualified"], enclosing=r["enclosing"],
                      detail=r["detail"], language=r["language"], chunk_id=r["chunk_id"])
                for r in rows.to_pylist()]

    def _imports(self, paths: Iterable[str], warnings: list[str]) -> dict[str, list[Place]]:
        """Each file's imports: path → its import references (name, module)."""
        paths = sorted(set(paths))
        found: dict[str, list[Place]] = {p: [] for p in paths}
        if paths:
            for place in self._places(self._rows(warnings, role=REFERENCE, kind="import",
                                                 path=paths)):
                found[place.path].append(place)
        return found

    # -- names -------------------------------------------------------------------------------
    def target(self, name: str, warnings: list[str]) -> tuple[str, tuple[str, int] | None]:
        """``PATH:LINE`` → the name of the symbol there (a definition on that line, else the
        first reference on it, else the innermost definition around it), with the place as
        the context that ranks by scope; any other text is the name itself."""
        match = _AT.match(name)
        if match is None:
            return name, None
        path, line = match["path"].removeprefix("./"), int(match["line"])
        rows = self._places(self._rows(warnings, path=path))
        if not rows:
            raise ConfigError(f"{path} has no symbols in the index — is it indexed? "
                              "(`semcode status` lists what was skipped)")
        defined = [p for p in rows if p.line == line and p.qualified]
        used = sorted((p for p in rows if p.line == line and not p.qualified and p.name),
                      key=lambda p: (p.kind != "call", p.end_line))
        around = sorted((p for p in rows if p.qualified and p.line <= line <= p.end_line),
                        key=lambda p: p.end_line - p.line)
        found = defined or used or around
        if not found:
            raise ConfigError(f"nothing is defined or used at {path}:{line}")
        return found[0].qualified or found[0].name, (path, line)

    def definitions(self, name: str, at: tuple[str, int] | None, warnings: list[str],
                    kind: str = "") -> list[Place]:
        """Definitions of ``name`` (bare, or qualified as ``Class.method``), ranked by scope
        from ``at``: same file, imported, elsewhere."""
        bare, qualified = split_name(name)
        places = self._places(self._rows(warnings, role=DEFINITION, name=bare))
        if qualified:
            places = [p for p in places if qualifies(p.qualified, qualified)]
        if kind:
            places = [p for p in places if p.kind == kind]
        return self._ranked(places, at[0] if at else None, warnings)

    def _ranked(self, places: list[Place], home: str | None, warnings: list[str],
                ) -> list[Place]:
        imports = self._imports([home], warnings).get(home, []) if home else []
        for p in places:
            p.scope = scope_of(p.path, p.name, home, imports)
        return sorted(places, key=lambda p: (SCOPES.index(p.scope) if p.scope else 0,
                                             p.path, p.line))

    # -- questions ---------------------------------------------------------------------------
    def answer(self, relation: str, name: str, *, calls: bool = False, kind: str = "",
               ) -> Answer:
        if relation not in RELATIONS:
            raise ConfigError(f"relation must be one of {', '.join(RELATIONS)}, not {relation!r}")
        warnings: list[str] = []
        self._side = None  # each question sees the working tree as it is now
        target, at = self.target(name.strip(), warnings)
        if not target:
            raise ConfigError("give a name, or PATH:LINE")
        resolved = self.definitions(target, at, warnings, kind)
        if relation == "definition":
            results: list = resolved
        elif relation == "callees":
            results = self.callees(resolved, warnings)
        else:
            refs = self.references(target, resolved, warnings, calls=calls or
                                   relation == "callers")
            results = refs if relation == "references" else _callers(refs, self, warnings)
        if not resolved and relation != "references":
            warnings.append(f"no definition of {target} is indexed (a library's, or not "
                            "code semcode reads)")
        return Answer(relation, target, resolved, results, warnings=warnings)

    def references(self, name: str, resolved: list[Place], warnings: list[str], *,
                   calls: bool = False) -> list[Place]:
        """Uses of the name (calls only with ``calls``): for a method, calls made on
        something; for a function or class, bare calls and calls through an imported module.
        Ranked by scope from the definition's file."""
        bare, _ = split_name(name)
        equal: dict[str, str] = {"role": REFERENCE, "name": bare}
        if calls:
            equal["kind"] = "call"
        places = self._places(self._rows(warnings, **equal))
        # each using file's imports, read once for the three rules below
        imports = self._imports({p.path for p in places}, warnings)
        kinds = {"method" if p.kind == "method" else "function" for p in resolved}
        if len(kinds) == 1 and places:
            method = kinds == {"method"}
            places = [p for p in places if p.kind != "call"
                      or is_method_call(p, imports.get(p.path, [])) == method]
        everyone = self._places(self._rows(warnings, role=DEFINITION, name=bare))
        targets = {(d.path, d.line) for d in resolved}
        if resolved and places and len(targets) < len({(d.path, d.line) for d in everyone}):
            # other definitions share the name: keep the uses that may mean one asked about
            places = [p for p in places
                      if targets & meant(p, everyone, imports.get(p.path, []))]
        home = resolved[0].path if resolved else None
        return _ranked_uses(places, home, resolved, imports)

    def callees(self, resolved: list[Place], warnings: list[str]) -> list[Callee]:
        """The calls each resolved definition makes (not those of definitions nested in
        it), each with the definitions of its name, ranked from the caller's file."""
        found: list[Callee] = []
        for d in resolved:
            calls = self._places(self._rows(warnings, role=REFERENCE, kind="call", path=d.path,
                                            enclosing=d.qualified))
            names = sorted({c.name for c in calls})
            defined = self._places(self._rows(warnings, role=DEFINITION, name=names)) \
                if names else []
            ranked = self._ranked(defined, d.path, warnings)
            for c in sorted(calls, key=lambda c: (c.line, c.name)):
                here = [p for p in ranked if p.name == c.name]
                if is_method_call(c, []) and any(p.kind == "method" for p in here):
                    here = [p for p in here if p.kind == "method"] or here
                found.append(Callee(c.name, c.line, c.detail, here[:3]))
        return found


def _ranked_uses(places: list[Place], home: str | None, resolved: list[Place],
                 imports: dict[str, list[Place]]) -> list[Place]:
    """Uses in the definition's own file first, then in files that import it, then
    elsewhere (``imports``: each using file's)."""
    for p in places:
        p.scope = "" if home is None else SAME_FILE if p.path == home else IMPORTED if any(
            scope_of(d.path, d.name, p.path, imports.get(p.path, [])) == IMPORTED
            for d in resolved) else ELSEWHERE
    return sorted(places, key=lambda p: (SCOPES.index(p.scope) if p.scope else 0,
                                         p.path, p.line))


def _callers(refs: list[Place], navigator: Navigator, warnings: list[str]) -> list[Caller]:
    """Call references grouped by the definition they are made in."""
    groups: dict[tuple[str, str], list[Place]] = {}
    for ref in refs:
        if ref.kind == "call":
            groups.setdefault((ref.path, ref.enclosing), []).append(ref)
    paths = sorted({path for path, _ in groups})
    defined: dict[tuple[str, str], Place] = {}
    if paths:
        for d in navigator._places(navigator._rows(warnings, role=DEFINITION, path=paths)):
            defined.setdefault((d.path, d.qualified), d)
    callers = []
    for (path, enclosing), calls in groups.items():
        held = defined.get((path, enclosing))
        callers.append(Caller(caller=enclosing or "<module>",
                              kind=held.kind if held else "module",
                              path=path, line=held.line if held else 1,
                              calls=sorted(c.line for c in calls), scope=calls[0].scope))
    return sorted(callers, key=lambda c: (SCOPES.index(c.scope) if c.scope else 0, c.path,
                                          c.line))
