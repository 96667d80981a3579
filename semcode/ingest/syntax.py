"""What tree-sitter says about a file's structure: which nodes define something, of what
kind, under what name. The chunker asks ``Candidates.members`` for the nearest definitions
below a node; one query per language finds every candidate in C, so no Python code visits
every node of a large tree."""

from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node, Parser, Query, QueryCursor
from tree_sitter_language_pack import get_language, get_parser

from semcode.ingest.languages import LanguageSpec, spec_for

MAX_NAME = 120


@dataclass
class Member:
    node: Node  # the definition itself (inside any wrapper)
    start: int
    end: int
    kind: str
    name: str


@lru_cache(maxsize=32)
def parser(grammar: str) -> Parser:
    return get_parser(grammar)  # type: ignore[arg-type]  # bundled: no download at run time


@lru_cache(maxsize=32)
def _candidates_query(language_name: str) -> Query | None:
    """One query for every node type that may be a definition (a type the grammar lacks is
    left out; a ``*_specifier`` counts only with a body: ``struct S *p`` defines nothing)."""
    spec = spec_for(language_name)
    assert spec is not None and spec.grammar is not None
    language = get_language(spec.grammar)  # type: ignore[arg-type]
    types = sorted({*spec.definitions, *spec.wrappers, *spec.assignments})
    known = [t for t in _FUNCTION_VALUES if language.id_for_node_kind(t, True) is not None]
    patterns = [_pattern(t, spec) for t in types if language.id_for_node_kind(t, True) is not None]
    patterns += [f"({t} (assignment_expression right: [{' '.join(f'({v})' for v in known)}]))"
                 for t in sorted(spec.assigned) if known]
    return Query(language, f"[{' '.join(patterns)}] @d") if patterns else None


def _pattern(node_type: str, spec: LanguageSpec) -> str:
    """The query pattern for one candidate type: its shape when it has one."""
    if node_type in spec.shapes:
        return f"({node_type} {spec.shapes[node_type]})"
    if node_type == "call" and spec.macros:
        names = " ".join(f'"{m}"' for m in sorted(spec.macros))
        return f"(call target: (identifier) @_macro (#any-of? @_macro {names}))"
    return f"({node_type} body: (_))" if node_type.endswith("_specifier") else f"({node_type})"


class Candidates:
    """The nodes of one tree that may be definitions, found by a query that walks the tree in
    C, in document order (an outer node before the nodes inside it). ``members`` reads these
    instead of visiting every node of the tree in Python."""

    def __init__(self, root: Node, spec: LanguageSpec):
        query = _candidates_query(spec.name)
        found = QueryCursor(query).captures(root).get("d", []) if query else []
        self.nodes = sorted(found, key=lambda n: (n.start_byte, -n.end_byte))
        self.starts = [n.start_byte for n in self.nodes]

    def members(self, node: Node, spec: LanguageSpec) -> list["Member"]:
        """The nearest definitions below ``node``, in order (not looking inside them)."""
        found: list[Member] = []
        covered = -1  # where the last definition found ends: nothing inside it is nearest
        for c in self.nodes[bisect_left(self.starts, node.start_byte):]:
            if c.start_byte >= node.end_byte:
                break
            if c.start_byte < covered or c.end_byte > node.end_byte or not _below(c, node):
                continue
            member = _definition(c, spec)
            if member is not None:
                found.append(member)
                covered = c.end_byte
        return found


def _below(candidate: Node, node: Node) -> bool:
    """``candidate`` lies inside ``node`` (a node of the very same span may be its parent)."""
    if (candidate.start_byte, candidate.end_byte) != (node.start_byte, node.end_byte):
        return True
    if candidate == node:
        return False
    parent = candidate.parent
    while parent is not None and parent.end_byte - parent.start_byte == \
            node.end_byte - node.start_byte:
        if parent == node:
            return True
        parent = parent.parent
    return False


def first_line(node: Node) -> int:
    return node.start_point[0] + 1


def last_line(node: Node) -> int:
    row, col = node.end_point
    return row if col == 0 and row > node.start_point[0] else row + 1


def _text(node: Node) -> str:
    return " ".join((node.text or b"").decode("utf-8", "replace").split())[:MAX_NAME]


def _field_or_child(node: Node, name: str) -> Node | None:
    if name == "*":  # the first named child, whatever its type
        return node.named_children[0] if node.named_children else None
    found = node.child_by_field_name(name)
    if found is None:
        found = next((c for c in node.named_children if c.type == name), None)
    return found


def _name(node: Node, spec: LanguageSpec) -> str:
    current = node
    for field in spec.name_fields.get(node.type, ("name",)):
        nxt = _field_or_child(current, field)
        if nxt is None:
            break
        current = nxt
    while (inner := current.child_by_field_name("declarator")) is not None:
        current = inner
    if current is not node:
        return _text(current).strip("\"'")
    heading = next((c for c in node.named_children if c.type.endswith("_heading")), None)
    if heading is not None:
        return _text(heading).lstrip("#").strip()
    return ""


def _qualifier(node: Node, spec: LanguageSpec) -> str:
    field = spec.qualifier_fields.get(node.type)
    holder = node.child_by_field_name(field) if field else None
    if holder is None:
        return ""
    stack = [holder]
    while stack:
        current = stack.pop()
        if current.type == "type_identifier":
            return _text(current)
        stack.extend(reversed(current.named_children))
    return ""


def _definition(node: Node, spec: LanguageSpec) -> Member | None:
    inner = node
    while inner.type in spec.wrappers:
        nxt = next((c for c in inner.named_children if c.type in spec.definitions
                    or c.type in spec.wrappers or c.type in spec.assignments
                    or c.type in spec.assigned), None)
        if nxt is None:
            return None
        inner = nxt
    kind = spec.definitions.get(inner.type)
    name_node = inner
    if kind is None and inner.type in spec.assignments:
        declarators = [c for c in inner.named_children if c.type == "variable_declarator"]
        value = declarators[0].child_by_field_name("value") if len(declarators) == 1 else None
        kind = _value_kind(value)
        if kind is None:
            return None
        name_node = declarators[0]
    if kind is None and inner.type in spec.assigned:
        assignment = next((c for c in inner.named_children
                           if c.type == "assignment_expression"), None)
        left = assignment.child_by_field_name("left") if assignment else None
        kind = _value_kind(assignment.child_by_field_name("right") if assignment else None)
        if left is None or kind is None:
            return None
        return _member(node, inner, kind, _text(left).replace(".prototype.", "."), spec)
    if kind is not None and inner.type == "call" and spec.macros:
        target = inner.child_by_field_name("target")
        kind = spec.macros.get(_text(target) if target is not None else "")
        return None if kind is None else _member(node, inner, kind, _macro_name(inner), spec)
    if kind is None:
        return None
    if inner.type.endswith("_specifier") and inner.child_by_field_name("body") is None:
        return None  # `struct S *p` names a type, it does not define one
    name = _name(name_node, spec)
    qualifier = _qualifier(inner, spec)
    return _member(node, inner, kind, f"{qualifier}.{name}" if qualifier and name else name,
                   spec)


def _value_kind(value: Node | None) -> str | None:
    """What a value assigned to a name defines: a function, a class, or nothing."""
    if value is None or value.type not in _FUNCTION_VALUES:
        return None
    return "class" if value.type == "class" else "function"


def _member(outer: Node, inner: Node, kind: str, name: str, spec: LanguageSpec) -> Member:
    """The definition with the comments (attributes…) right above it, and its body when
    the grammar puts that beside it, or up to the next of its kind when it runs."""
    start = first_line(outer)
    prev = outer.prev_named_sibling
    while prev is not None and prev.type in spec.leading and last_line(prev) == start - 1:
        start = first_line(prev)
        prev = prev.prev_named_sibling
    end = last_line(outer)
    holder = outer  # the body follows the outermost node of the signature's own span
    while holder.parent is not None and holder.next_named_sibling is None and \
            (holder.parent.start_byte, holder.parent.end_byte) == \
            (holder.start_byte, holder.end_byte):
        holder = holder.parent
    body = holder.next_named_sibling
    if inner.type in spec.bodies and body is not None and body.type == spec.bodies[inner.type]:
        end = last_line(body)
    if inner.type in spec.runs:
        nxt = outer.next_named_sibling
        while nxt is not None and nxt.type != outer.type:
            end, nxt = last_line(nxt), nxt.next_named_sibling
    return Member(inner, start, end, kind, name)


def _macro_name(call: Node) -> str:
    """What a defining call defines: its first argument's name (``greet`` of
    ``def greet(name) when …``, ``Greeter`` of ``defmodule Greeter``)."""
    arguments = next((c for c in call.named_children if c.type == "arguments"), None)
    current = arguments.named_children[0] if arguments and arguments.named_children else None
    while current is not None and current.type in ("binary_operator", "call"):
        current = current.child_by_field_name("left") or current.child_by_field_name("target")
    return _text(current) if current is not None else ""


_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "class",
                              "generator_function"})
