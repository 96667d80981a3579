"""Languages as data: file names → language, and per language which tree-sitter node types
are definitions, of what kind, and how to find their names.

The chunker reads these tables and has no per-language branches of its own. A language with
``grammar=None`` is chunked by line windows; Markdown splits at its section nodes.
"""

from dataclasses import dataclass, field
from pathlib import PurePosixPath

# Kinds whose members always become chunks of their own (a class is its methods plus a header).
CONTAINER_KINDS = frozenset({"class", "interface", "impl", "trait", "module", "namespace",
                             "section"})
# A function directly inside one of these is a method.
METHOD_PARENTS = frozenset({"class", "interface", "impl", "trait"})


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
)

# Text we index by line windows: no grammar, still worth finding.
TEXT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "shell": (".sh", ".bash", ".zsh"),
    "yaml": (".yml", ".yaml"),
    "toml": (".toml",),
    "json": (".json",),
    "sql": (".sql",),
    "html": (".html", ".htm"),
    "css": (".css", ".scss", ".less"),
    "rst": (".rst",),
    "kotlin": (".kt", ".kts"),
    "swift": (".swift",),
    "scala": (".scala",),
    "lua": (".lua",),
    "text": (".txt", ".cfg", ".ini", ".conf"),
}

_BY_NAME = {spec.name: spec for spec in SPECS}
_BY_EXTENSION = {ext: spec.name for spec in SPECS for ext in spec.extensions}
_BY_EXTENSION.update({ext: lang for lang, exts in TEXT_LANGUAGES.items() for ext in exts})
_BY_FILENAME = {fname: spec.name for spec in SPECS for fname in spec.filenames}
_BY_FILENAME.update({"Makefile": "make", "Dockerfile": "dockerfile"})


def language_of(path: str) -> str:
    """The language of a repo-relative path; ``text`` when nothing more specific is known."""
    p = PurePosixPath(path)
    return _BY_FILENAME.get(p.name) or _BY_EXTENSION.get(p.suffix.lower(), "text")


def spec_for(language: str) -> LanguageSpec | None:
    """The tree-sitter spec of a language, or None for line-window languages."""
    return _BY_NAME.get(language)


def known_languages() -> list[str]:
    return sorted({*_BY_NAME, *TEXT_LANGUAGES, "make", "dockerfile"})
