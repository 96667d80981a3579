"""The scope rules of name-based navigation: which definitions of a name a use may mean, and
how a definition relates to a file (same file, imported, elsewhere) — what a reader applies
without a compiler (``semcode/search/navigation.py`` asks them)."""

import re
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

SAME_FILE, IMPORTED, ELSEWHERE = "same file", "imported", "elsewhere"
SCOPES = (SAME_FILE, IMPORTED, ELSEWHERE)
# receivers that are the object itself: a call on one is a method call
_SELF = frozenset({"self", "this", "cls", "super()", "super"})
_INDEX_STEMS = frozenset({"__init__", "index", "mod", "lib", "main"})
# Languages where a name from another file is in scope only once imported (a bare name that
# a file neither defines nor imports is a local, a parameter or a builtin)
_IMPORTING = frozenset({"python", "javascript", "typescript", "tsx"})


@dataclass
class Place:
    """One definition or reference; ``scope``: how it relates to where the question came
    from (or to the definition asked about)."""

    path: str
    line: int
    end_line: int
    kind: str
    name: str
    qualified: str = ""
    enclosing: str = ""
    detail: str = ""
    language: str = ""
    chunk_id: str = ""
    scope: str = ""

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


def meant(use: Place, candidates: list[Place], imports: list[Place]) -> set[tuple[str, int]]:
    """The definitions among ``candidates`` (all of the name) that a use may mean, by the
    scope rules a reader applies: ``self.f()`` is the enclosing class's ``f`` when it has one
    (``super().f()`` is not); a bare ``f`` is the one defined around it in its file, else
    the one its imports bring in (where names must be imported, none at all when neither
    binds it: a parameter, a local, a builtin); ``mod.f()`` is ``f`` of the module imported
    as ``mod``; an import names its module's. Anything else may mean any of them."""
    here = [d for d in candidates if d.path == use.path]
    receiver = use.detail if use.kind == "call" else ""
    chosen: list[Place] = []
    if use.kind == "import":
        chosen = [d for d in candidates if module_is(use.detail, d.path)]
    elif receiver in _SELF or receiver.startswith("super"):
        own = [d for d in here if d.enclosing and _inside(use.enclosing, d.enclosing)]
        chosen = own if receiver in _SELF else [d for d in candidates if d not in own]
    elif not receiver:
        local = [d for d in here if not d.enclosing or _inside(use.enclosing, d.enclosing)]
        if local:  # the innermost: a nested helper hides a module-level one of its name
            deepest = max(len(d.enclosing) for d in local)
            chosen = [d for d in local if len(d.enclosing) == deepest]
        else:
            bound = [i for i in imports if i.name in (use.name, "*")]
            chosen = [d for d in candidates if any(module_is(i.detail, d.path) for i in bound)]
            if not chosen and use.language in _IMPORTING:
                return set()  # bound by neither its file nor its imports: a local, a builtin
    else:
        head = re.split(r"[.\-:>(\[]", receiver, maxsplit=1)[0]
        modules = [i for i in imports if i.name == head]
        chosen = [d for d in candidates if any(module_is(i.detail, d.path) or
                                               PurePosixPath(d.path).stem == head
                                               for i in modules)]
    return {(d.path, d.line) for d in (chosen or candidates)}


def _inside(enclosing: str, parent: str) -> bool:
    return enclosing == parent or enclosing.startswith(parent + ".")


def split_name(name: str) -> tuple[str, str]:
    """(bare name, the qualified name when one was given)."""
    normal = name.replace("::", ".").replace("#", ".")
    bare = normal.rsplit(".", 1)[-1]
    return bare, normal if "." in normal else ""


def qualifies(qualified: str, asked: str) -> bool:
    normal = qualified.replace("::", ".")
    return normal == asked or normal.endswith("." + asked)


def is_method_call(call: Place, imports: list[Place]) -> bool:
    """A call made on an object (``x.get()``, ``self.get()``), not a bare call or one
    through a module the file imports (``os.path.join``, ``pkg.Do``)."""
    receiver = call.detail
    if not receiver:
        return False
    if receiver in _SELF:
        return True
    head = re.split(r"[.\-:>(\[]", receiver, maxsplit=1)[0]
    return not any(i.name == head or i.detail == receiver or i.detail.endswith("." + receiver)
                   for i in imports)


def scope_of(path: str, name: str, home: str | None, imports: list[Place]) -> str:
    """How a definition at ``path`` relates to the file ``home``."""
    if home is None:
        return ""
    if path == home:
        return SAME_FILE
    stem = PurePosixPath(path).stem
    # `from pkg.mod import name`, `import "./mod"`; or `from pkg import mod` then `mod.f()`
    if any(module_is(i.detail, path) or i.name == stem for i in imports):
        return IMPORTED
    return ELSEWHERE


def module_is(module: str, path: str) -> bool:
    """Whether an import's module plausibly names the file at ``path``: its last element is
    the file's stem, or (a package: Go, Python's ``__init__``) the folder's name."""
    parts = [p for p in re.split(r"[/.:\\\"'<>]+", module) if p and p not in
             ("crate", "self", "super", "h", "hpp", "js", "ts")]
    if not parts:
        return False
    pure = PurePosixPath(path)
    stem, folder = pure.stem, pure.parent.name
    last = parts[-1]
    return last == stem or last == folder and (stem in _INDEX_STEMS or pure.suffix == ".go")
