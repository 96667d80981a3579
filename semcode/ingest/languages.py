"""Languages as data: file names → language, and per language which tree-sitter node types
are definitions, of what kind, and how to find their names.

The chunker reads these tables and has no per-language branches of its own. A language with
``grammar=None`` is chunked by line windows; Markdown splits at its section nodes.
"""

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# Containers: a one-line header of one (`class X {`) is glued to its first member, not left
# as a chunk of its own. (Every definition's members become chunks of their own.)
CONTAINER_KINDS = frozenset({"class", "interface", "impl", "trait", "module", "namespace",
                             "section"})
# A function directly inside one of these is a method.
METHOD_PARENTS = frozenset({"class", "interface", "impl", "trait", "object"})
# Kinds kept whole while they fit the budget, their own members inside (a config file's
# top-level key with the keys under it; a make target): split only when too large.
WHOLE_KINDS = frozenset({"key", "table", "target", "stage"})


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    grammar: str | None
    extensions: tuple[str, ...] = ()
    filenames: tuple[str, ...] = ()
    # node type → kind
    definitions: dict[str, str] = field(default_factory=dict)
    # node types that wrap exactly one definition (decorators, export, template<…>)
    wrappers: frozenset[str] = frozenset()
    # declarations that define a function when their declarator's value is one
    # (JavaScript `const f = () => …`), and statements that do by assigning one to a name
    # (`Suite.prototype.timeout = function (ms) {…}`, `exports.f = …`)
    assignments: frozenset[str] = frozenset()
    assigned: frozenset[str] = frozenset()
    # node type → fields to follow, in order, to reach the name (default: "name")
    name_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # node type → field holding a qualifier for the symbol (Go receivers)
    qualifier_fields: dict[str, str] = field(default_factory=dict)
    # sibling node types that belong to the definition after them (comments, attributes)
    leading: frozenset[str] = frozenset({"comment"})
    # node type → a query pattern it must match to define anything (R's `f <- function…`
    # is a binary_operator whose right side is a function)
    shapes: dict[str, str] = field(default_factory=dict)
    # calls that define (Elixir's `def`, `defmodule`): the called name → kind; the name
    # defined is the first argument's
    macros: dict[str, str] = field(default_factory=dict)
    # definition node type → the node type of its body when that is the next sibling
    # (Dart's function_signature, then function_body)
    bodies: dict[str, str] = field(default_factory=dict)
    # definitions that run until the next one of their type (a Dockerfile's FROM: a stage)
    runs: frozenset[str] = frozenset()
    # names of methods the language calls rather than a person (Python's special methods,
    # constructors aside): what they do is reached through the API that triggers them
    hooks: str = ""


_C_NAMES: dict[str, tuple[str, ...]] = {"function_definition": ("declarator",)}

_JS_DEFS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "class_declaration": "class",
    "class": "class",
    "method_definition": "function",
}
_TS_DEFS = {
    **_JS_DEFS,
    "abstract_class_declaration": "class",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "internal_module": "namespace",
    "module": "namespace",
    "abstract_method_signature": "function",
}

SPECS: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        "python", "python", (".py", ".pyi", ".pyw"),
        definitions={"function_definition": "function", "class_definition": "class"},
        wrappers=frozenset({"decorated_definition"}),
        hooks=r"__(?!init__|new__)\w+__",
    ),
    LanguageSpec(
        "javascript", "javascript", (".js", ".mjs", ".cjs", ".jsx"),
        definitions=_JS_DEFS, wrappers=frozenset({"export_statement"}),
        assignments=frozenset({"lexical_declaration", "variable_declaration"}),
        assigned=frozenset({"expression_statement"}),
    ),
    LanguageSpec(
        "typescript", "typescript", (".ts", ".mts", ".cts"),
        definitions=_TS_DEFS, wrappers=frozenset({"export_statement"}),
        assignments=frozenset({"lexical_declaration", "variable_declaration"}),
        assigned=frozenset({"expression_statement"}),
    ),
    LanguageSpec(
        "tsx", "tsx", (".tsx",),
        definitions=_TS_DEFS, wrappers=frozenset({"export_statement"}),
        assignments=frozenset({"lexical_declaration", "variable_declaration"}),
        assigned=frozenset({"expression_statement"}),
    ),
    LanguageSpec(
        "go", "go", (".go",),
        definitions={"function_declaration": "function", "method_declaration": "method",
                     "type_declaration": "type"},
        name_fields={"type_declaration": ("type_spec", "name")},
        qualifier_fields={"method_declaration": "receiver"},
    ),
    LanguageSpec(
        "rust", "rust", (".rs",),
        definitions={"function_item": "function", "function_signature_item": "function",
                     "struct_item": "struct", "enum_item": "enum", "trait_item": "trait",
                     "impl_item": "impl", "mod_item": "module", "macro_definition": "macro",
                     "union_item": "struct"},
        name_fields={"impl_item": ("type",)},
        leading=frozenset({"line_comment", "block_comment", "attribute_item"}),
    ),
    LanguageSpec(
        "java", "java", (".java",),
        definitions={"class_declaration": "class", "interface_declaration": "interface",
                     "enum_declaration": "class", "record_declaration": "class",
                     "annotation_type_declaration": "interface",
                     "method_declaration": "function", "constructor_declaration": "function"},
        leading=frozenset({"line_comment", "block_comment"}),
    ),
    LanguageSpec(
        "c", "c", (".c", ".h"),
        definitions={"function_definition": "function", "struct_specifier": "struct",
                     "union_specifier": "struct", "enum_specifier": "enum"},
        name_fields=_C_NAMES,
    ),
    LanguageSpec(
        "cpp", "cpp", (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp"),
        definitions={"function_definition": "function", "class_specifier": "class",
                     "struct_specifier": "class", "union_specifier": "struct",
                     "enum_specifier": "enum", "namespace_definition": "namespace"},
        wrappers=frozenset({"template_declaration"}),
        name_fields=_C_NAMES,
    ),
    LanguageSpec(
        "csharp", "csharp", (".cs",),
        definitions={"class_declaration": "class", "struct_declaration": "class",
                     "interface_declaration": "interface", "record_declaration": "class",
                     "enum_declaration": "enum", "namespace_declaration": "namespace",
                     "method_declaration": "function", "constructor_declaration": "function",
                     "property_declaration": "property"},
    ),
    LanguageSpec(
        "ruby", "ruby", (".rb", ".rake", ".gemspec"), ("Rakefile", "Gemfile"),
        definitions={"method": "function", "singleton_method": "function", "class": "class",
                     "module": "module", "singleton_class": "class"},
    ),
    LanguageSpec(
        "php", "php", (".php",),
        definitions={"function_definition": "function", "method_declaration": "function",
                     "class_declaration": "class", "interface_declaration": "interface",
                     "trait_declaration": "trait", "enum_declaration": "enum"},
    ),
    LanguageSpec("markdown", "markdown", (".md", ".markdown", ".mdx"),
                 definitions={"section": "section"}),
    LanguageSpec(
        "kotlin", "kotlin", (".kt", ".kts"),
        definitions={"function_declaration": "function", "class_declaration": "class",
                     "object_declaration": "class"},
        name_fields={"function_declaration": ("simple_identifier",),
                     "class_declaration": ("type_identifier",),
                     "object_declaration": ("type_identifier",)},
        leading=frozenset({"line_comment", "multiline_comment", "annotation"}),
    ),
    LanguageSpec(
        "swift", "swift", (".swift",),
        definitions={"function_declaration": "function", "class_declaration": "class",
                     "protocol_declaration": "interface", "init_declaration": "function",
                     "protocol_function_declaration": "function"},
        leading=frozenset({"comment", "multiline_comment"}),
    ),
    LanguageSpec(
        "scala", "scala", (".scala", ".sc"),
        definitions={"function_definition": "function", "function_declaration": "function",
                     "class_definition": "class", "object_definition": "class",
                     "trait_definition": "trait"},
        leading=frozenset({"comment", "block_comment"}),
    ),
    LanguageSpec("lua", "lua", (".lua",), definitions={"function_declaration": "function"}),
    LanguageSpec("bash", "bash", (".sh", ".bash", ".zsh"),
                 definitions={"function_definition": "function"}),
    LanguageSpec(
        "elixir", "elixir", (".ex", ".exs"),
        definitions={"call": "function"},
        macros={"def": "function", "defp": "function", "defmacro": "function",
                "defmacrop": "function", "defguard": "function", "defmodule": "module",
                "defprotocol": "interface", "defimpl": "impl"},
    ),
    LanguageSpec(
        "haskell", "haskell", (".hs",),
        definitions={"function": "function", "class": "class", "instance": "impl",
                     "data_type": "type", "newtype": "type"},
        shapes={"function": "name: (_)"},  # not a type's `a -> b`
        name_fields={"instance": ("patterns",)},  # `instance Show Point`: Point.show
        leading=frozenset({"comment", "haddock", "signature"}),
    ),
    LanguageSpec(
        "ocaml", "ocaml", (".ml", ".mli"),
        definitions={"value_definition": "function", "module_definition": "module",
                     "type_definition": "type", "class_definition": "class",
                     "method_definition": "function"},
        # a `let` with parameters defines a function; `let y = … in` inside one does not
        shapes={"value_definition": "(let_binding (parameter))"},
        name_fields={"value_definition": ("let_binding", "pattern"),
                     "module_definition": ("module_binding", "module_name"),
                     "type_definition": ("type_binding", "name")},
    ),
    LanguageSpec(
        "zig", "zig", (".zig",),
        definitions={"FnProto": "function", "VarDecl": "struct"},
        shapes={"VarDecl": "(ErrorUnionExpr (SuffixExpr (ContainerDecl)))"},
        bodies={"FnProto": "Block"},
        name_fields={"FnProto": ("IDENTIFIER",), "VarDecl": ("IDENTIFIER",)},
        leading=frozenset({"doc_comment", "line_comment"}),
    ),
    LanguageSpec(
        "dart", "dart", (".dart",),
        definitions={"function_signature": "function", "class_definition": "class",
                     "mixin_declaration": "class", "extension_declaration": "class",
                     "enum_declaration": "enum"},
        wrappers=frozenset({"method_signature"}),
        bodies={"function_signature": "function_body"},
        leading=frozenset({"comment", "documentation_comment", "annotation"}),
    ),
    LanguageSpec(
        "r", "r", (".r",),
        definitions={"binary_operator": "function"},
        shapes={"binary_operator": "lhs: (identifier) rhs: (function_definition)"},
        name_fields={"binary_operator": ("lhs",)},
    ),
    LanguageSpec(
        "julia", "julia", (".jl",),
        definitions={"function_definition": "function", "macro_definition": "macro",
                     "module_definition": "module", "struct_definition": "struct",
                     "abstract_definition": "type"},
        name_fields={"function_definition": ("signature", "call_expression", "*"),
                     "macro_definition": ("signature", "call_expression", "*"),
                     "struct_definition": ("type_head",)},
        leading=frozenset({"line_comment", "block_comment", "string_literal"}),
    ),
    LanguageSpec(
        "perl", "perl", (".pl", ".pm", ".t"),
        definitions={"subroutine_declaration_statement": "function",
                     "package_statement": "module"},
        shapes={"package_statement": "(block)"},
    ),
    LanguageSpec(
        "objc", "objc", (".m", ".mm"),
        definitions={"class_interface": "class", "class_implementation": "class",
                     "protocol_declaration": "interface", "method_definition": "function",
                     "function_definition": "function"},
        name_fields={"class_interface": ("identifier",), "class_implementation": ("identifier",),
                     "protocol_declaration": ("identifier",),
                     "method_definition": ("identifier",), **_C_NAMES},
    ),
    LanguageSpec("erlang", "erlang", (".erl", ".hrl"), definitions={"fun_decl": "function"},
                 name_fields={"fun_decl": ("function_clause", "name")}),
    LanguageSpec(
        "solidity", "solidity", (".sol",),
        definitions={"contract_declaration": "class", "interface_declaration": "interface",
                     "library_declaration": "module", "function_definition": "function",
                     "modifier_definition": "function", "constructor_definition": "function",
                     "struct_declaration": "struct", "enum_declaration": "enum",
                     "event_definition": "type"},
    ),
    LanguageSpec(
        "proto", "proto", (".proto",),
        definitions={"message": "struct", "service": "interface", "enum": "enum",
                     "rpc": "function"},
        name_fields={"message": ("message_name",), "service": ("service_name",),
                     "enum": ("enum_name",), "rpc": ("rpc_name",)},
    ),
    LanguageSpec("hcl", "hcl", (".tf", ".hcl", ".tfvars"), definitions={"block": "block"},
                 name_fields={"block": ("string_lit",)}),  # resource "aws_instance" "web"
    # Config and build files: top-level keys, tables, targets, stages
    LanguageSpec("yaml", "yaml", (".yml", ".yaml"), definitions={"block_mapping_pair": "key"},
                 name_fields={"block_mapping_pair": ("key",)}),
    LanguageSpec("toml", "toml", (".toml",),
                 definitions={"table": "table", "table_array_element": "table", "pair": "key"},
                 name_fields={"table": ("*",), "table_array_element": ("*",), "pair": ("*",)}),
    LanguageSpec("json", "json", (".json",), definitions={"pair": "key"},
                 name_fields={"pair": ("key",)}),
    LanguageSpec("make", "make", (".mk", ".mak"), ("Makefile", "makefile", "GNUmakefile"),
                 definitions={"rule": "target"}, name_fields={"rule": ("targets",)}),
    LanguageSpec("dockerfile", "dockerfile", (".dockerfile",), ("Dockerfile", "Containerfile"),
                 definitions={"from_instruction": "stage"}, runs=frozenset({"from_instruction"}),
                 name_fields={"from_instruction": ("image_alias",)}),
    LanguageSpec("cmake", "cmake", (".cmake",), ("CMakeLists.txt",),
                 definitions={"function_def": "function", "macro_def": "function"},
                 name_fields={"function_def": ("function_command", "argument_list", "*"),
                              "macro_def": ("macro_command", "argument_list", "*")}),
)

# Text we index by line windows: no grammar, still worth finding.
TEXT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "sql": (".sql",),
    "html": (".html", ".htm"),
    "css": (".css", ".scss", ".less"),
    "rst": (".rst",),
    "text": (".txt", ".cfg", ".ini", ".conf"),
}

_BY_NAME = {spec.name: spec for spec in SPECS}
_BY_EXTENSION = {ext: spec.name for spec in SPECS for ext in spec.extensions}
_BY_EXTENSION.update({ext: lang for lang, exts in TEXT_LANGUAGES.items() for ext in exts})
_BY_FILENAME = {fname: spec.name for spec in SPECS for fname in spec.filenames}


def language_of(path: str) -> str:
    """The language of a repo-relative path; ``text`` when nothing more specific is known."""
    p = PurePosixPath(path)
    return _BY_FILENAME.get(p.name) or _BY_EXTENSION.get(p.suffix.lower(), "text")


def spec_for(language: str) -> LanguageSpec | None:
    """The tree-sitter spec of a language, or None for line-window languages."""
    return _BY_NAME.get(language)


_HOOKS = {spec.name: re.compile(spec.hooks) for spec in SPECS if spec.hooks}


def is_hook(language: str, symbol: str) -> bool:
    """Whether a definition (by its qualified name) is a method its language calls rather
    than a person: Python's ``Interval.__contains__``, not ``Interval.__init__``."""
    hooks = _HOOKS.get(language)
    return hooks is not None and hooks.fullmatch(symbol.rsplit(".", 1)[-1]) is not None


def known_languages() -> list[str]:
    return sorted({*_BY_NAME, *TEXT_LANGUAGES})


def known_kinds() -> list[str]:
    """Every kind a chunk can have: what the language tables define, a method (a function
    of a class), a file's top-level code (``module``) and line windows (``block``)."""
    defined = {kind for spec in SPECS for kind in (*spec.definitions.values(),
                                                   *spec.macros.values())}
    return sorted(defined | {"method", "module", "block"})
