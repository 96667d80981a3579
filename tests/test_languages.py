"""Every language with a grammar, on a small sample of its own syntax: two functions become
two chunks named by them, a container's methods become member chunks, and every non-blank
line belongs to exactly one chunk."""

import pytest

from semcode.embed.tokens import token_counter
from semcode.ingest.chunking import Chunker
from semcode.ingest.languages import language_of

# language → (file name, a function with {name} and {body}, a body line with {i})
FUNCTIONS = {
    "python": ("m.py", "def {name}(x):\n{body}\n    return x\n", "    x = x + {i}"),
    "javascript": ("m.js", "function {name}(x) {{\n{body}\n  return x;\n}}\n", "  x = x + {i};"),
    "typescript": ("m.ts", "function {name}(x: number): number {{\n{body}\n  return x;\n}}\n",
                   "  x = x + {i};"),
    "go": ("m.go", "package m\n\nfunc {name}(x int) int {{\n{body}\n\treturn x\n}}\n",
           "\tx = x + {i}"),
    "rust": ("m.rs", "fn {name}(mut x: i32) -> i32 {{\n{body}\n    x\n}}\n", "    x = x + {i};"),
    "java": ("M.java", "class Calc {{\n  int {name}(int x) {{\n{body}\n    return x;\n  }}\n}}\n",
             "    x = x + {i};"),
    "c": ("m.c", "int {name}(int x) {{\n{body}\n  return x;\n}}\n", "  x = x + {i};"),
    "cpp": ("m.cpp", "int {name}(int x) {{\n{body}\n  return x;\n}}\n", "  x = x + {i};"),
    "csharp": ("M.cs", "class Calc {{\n  int {name}(int x) {{\n{body}\n    return x;\n  }}\n}}\n",
               "    x = x + {i};"),
    "ruby": ("m.rb", "def {name}(x)\n{body}\n  x\nend\n", "  x = x + {i}"),
    "php": ("m.php", "<?php\nfunction {name}($x) {{\n{body}\n  return $x;\n}}\n",
            "  $x = $x + {i};"),
    "kotlin": ("m.kt", "fun {name}(x: Int): Int {{\n  var y = x\n{body}\n  return y\n}}\n",
               "  y = y + {i}"),
    "swift": ("m.swift", "func {name}(x: Int) -> Int {{\n  var y = x\n{body}\n  return y\n}}\n",
              "  y = y + {i}"),
    "scala": ("m.scala", "def {name}(x: Int): Int = {{\n  var y = x\n{body}\n  y\n}}\n",
              "  y = y + {i}"),
    "lua": ("m.lua", "function {name}(x)\n{body}\n  return x\nend\n", "  x = x + {i}"),
    "bash": ("m.sh", "{name}() {{\n  local x=$1\n{body}\n  echo $x\n}}\n", "  x=$((x + {i}))"),
    "elixir": ("m.ex", "defmodule Calc do\n  def {name}(x) do\n{body}\n    x\n  end\nend\n",
               "    x = x + {i}"),
    "haskell": ("M.hs", "{name} :: Int -> Int\n{name} x = x\n{body}\n", "  + {i}"),
    "ocaml": ("m.ml", "let {name} x =\n{body}\n  x\n", "  let x = x + {i} in"),
    "zig": ("m.zig", "fn {name}(x: i32) i32 {{\n    var y = x;\n{body}\n    return y;\n}}\n",
            "    y = y + {i};"),
    "dart": ("m.dart", "int {name}(int x) {{\n{body}\n  return x;\n}}\n", "  x = x + {i};"),
    "r": ("m.R", "{name} <- function(x) {{\n{body}\n  x\n}}\n", "  x <- x + {i}"),
    "julia": ("m.jl", "function {name}(x)\n{body}\n    return x\nend\n", "    x = x + {i}"),
    "perl": ("m.pl", "sub {name} {{\n    my ($x) = @_;\n{body}\n    return $x;\n}}\n",
             "    $x = $x + {i};"),
    "objc": ("m.m", "int {name}(int x) {{\n{body}\n  return x;\n}}\n", "  x = x + {i};"),
    "erlang": ("m.erl", "{name}(X0) ->\n{body}\n    X0.\n", "    _ = X0 + {i},"),
    "solidity": ("m.sol", "contract Calc {{\n  function {name}(uint x) public pure returns (uint)"
                 " {{\n{body}\n    return x;\n  }}\n}}\n", "    x = x + {i};"),
}

# language → (file name, a container with two methods, their symbols)
CONTAINERS = {
    "python": ("m.py", "class Calc:\n    def alpha(self, x):\n        x = x + 1\n"
               "        x = x * 2\n        return x\n\n    def beta(self, x):\n"
               "        x = x - 1\n        x = x * 3\n        return x\n"),
    "javascript": ("m.js", "class Calc {\n  alpha(x) {\n    x = x + 1;\n    return x * 2;\n  }\n"
                   "  beta(x) {\n    x = x - 1;\n    return x * 3;\n  }\n}\n"),
    "typescript": ("m.ts", "class Calc {\n  alpha(x: number) {\n    x = x + 1;\n    return x * 2;\n"
                   "  }\n  beta(x: number) {\n    x = x - 1;\n    return x * 3;\n  }\n}\n"),
    "go": ("m.go", "package m\n\ntype Calc struct{ n int }\n\n"
           "func (c *Calc) alpha(x int) int {\n\tx = x + c.n\n\treturn x * 2\n}\n\n"
           "func (c *Calc) beta(x int) int {\n\tx = x - c.n\n\treturn x * 3\n}\n"),
    "rust": ("m.rs", "impl Calc {\n    fn alpha(&self, x: i32) -> i32 {\n        let y = x + 1;\n"
             "        y * 2\n    }\n    fn beta(&self, x: i32) -> i32 {\n        let y = x - 1;\n"
             "        y * 3\n    }\n}\n"),
    "java": ("M.java", "class Calc {\n  int alpha(int x) {\n    x = x + 1;\n"
             "    return x * 2;\n  }\n  int beta(int x) {\n    x = x - 1;\n"
             "    return x * 3;\n  }\n}\n"),
    "c": ("m.c", "struct Calc {\n  int alpha_count;\n  int beta_count;\n};\n"),
    "cpp": ("m.cpp", "class Calc {\n  int alpha(int x) {\n    x = x + 1;\n    return x * 2;\n  }\n"
            "  int beta(int x) {\n    x = x - 1;\n    return x * 3;\n  }\n};\n"),
    "csharp": ("M.cs", "class Calc {\n  int alpha(int x) {\n    x = x + 1;\n"
               "    return x * 2;\n  }\n  int beta(int x) {\n    x = x - 1;\n"
               "    return x * 3;\n  }\n}\n"),
    "ruby": ("m.rb", "class Calc\n  def alpha(x)\n    x = x + 1\n    x * 2\n  end\n\n"
             "  def beta(x)\n    x = x - 1\n    x * 3\n  end\nend\n"),
    "php": ("m.php", "<?php\nclass Calc {\n  function alpha($x) {\n    $x = $x + 1;\n"
            "    return $x * 2;\n  }\n  function beta($x) {\n    $x = $x - 1;\n"
            "    return $x * 3;\n  }\n}\n"),
    "kotlin": ("m.kt", "object Calc {\n  fun alpha(x: Int): Int {\n    val y = x + 1\n"
               "    return y * 2\n  }\n  fun beta(x: Int): Int {\n    val y = x - 1\n"
               "    return y * 3\n  }\n}\n"),
    "swift": ("m.swift", "struct Calc {\n  func alpha(x: Int) -> Int {\n    let y = x + 1\n"
              "    return y * 2\n  }\n  func beta(x: Int) -> Int {\n    let y = x - 1\n"
              "    return y * 3\n  }\n}\n"),
    "scala": ("m.scala", "object Calc {\n  def alpha(x: Int): Int = {\n    val y = x + 1\n"
              "    y * 2\n  }\n  def beta(x: Int): Int = {\n    val y = x - 1\n    y * 3\n"
              "  }\n}\n"),
    "lua": ("m.lua", "local Calc = {}\nfunction Calc.alpha(x)\n  local y = x + 1\n"
            "  return y * 2\nend\nfunction Calc.beta(x)\n  local y = x - 1\n  return y * 3\n"
            "end\nreturn Calc\n"),
    "bash": ("m.sh", "calc_alpha() {\n  local y=$(($1 + 1))\n  echo $((y * 2))\n}\n"
             "calc_beta() {\n  local y=$(($1 - 1))\n  echo $((y * 3))\n}\n"),
    "elixir": ("m.ex", "defmodule Calc do\n  def alpha(x) do\n    y = x + 1\n    y * 2\n  end\n\n"
               "  def beta(x) do\n    y = x - 1\n    y * 3\n  end\nend\n"),
    "haskell": ("M.hs", "instance Num Calc where\n  alpha x =\n    let y = x + 1\n    in y * 2\n"
                "  beta x =\n    let y = x - 1\n    in y * 3\n"),
    "ocaml": ("m.ml", "module Calc = struct\n  let alpha x =\n    let y = x + 1 in\n    y * 2\n\n"
              "  let beta x =\n    let y = x - 1 in\n    y * 3\nend\n"),
    "zig": ("m.zig", "const Calc = struct {\n    n: i32,\n"
            "    pub fn alpha(self: Calc, x: i32) i32 {\n        const y = x + self.n;\n"
            "        return y * 2;\n    }\n"
            "    pub fn beta(self: Calc, x: i32) i32 {\n        const y = x - self.n;\n"
            "        return y * 3;\n    }\n};\n"),
    "dart": ("m.dart", "class Calc {\n  int alpha(int x) {\n    var y = x + 1;\n    return y * 2;\n"
             "  }\n  int beta(int x) {\n    var y = x - 1;\n    return y * 3;\n  }\n}\n"),
    "r": ("m.R", "calc <- list()\ncalc_alpha <- function(x) {\n  y <- x + 1\n  y * 2\n}\n"
          "calc_beta <- function(x) {\n  y <- x - 1\n  y * 3\n}\n"),
    "julia": ("m.jl", "module Calc\nfunction alpha(x)\n    y = x + 1\n    return y * 2\nend\n"
              "function beta(x)\n    y = x - 1\n    return y * 3\nend\nend\n"),
    "perl": ("m.pl", "package Calc {\n    sub alpha {\n        my ($x) = @_;\n"
             "        return ($x + 1) * 2;\n    }\n    sub beta {\n        my ($x) = @_;\n"
             "        return ($x - 1) * 3;\n    }\n}\n"),
}


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(token_counter("all-MiniLM-L6-v2"))


def _covers_each_line_once(chunks, source):
    owners = {}
    for c in chunks:
        for line in range(c.start_line, c.end_line + 1):
            owners[line] = owners.get(line, 0) + 1
    lines = source.split("\n")
    assert all(owners.get(n, 0) == 1 for n, text in enumerate(lines, 1) if text.strip())


@pytest.mark.parametrize("language", sorted(FUNCTIONS))
def test_two_functions_become_two_chunks_named_by_them(chunker, language):
    path, template, line = FUNCTIONS[language]
    assert language_of(path) == language
    body = "\n".join(line.format(i=i) for i in range(1, 11))
    first = template.format(name="alpha_total", body=body)
    second = template.format(name="beta_total", body=body)
    source = first + "\n" + second
    chunks = chunker.chunk(source, language)
    named = [c for c in chunks if c.symbol.split(".")[-1] in ("alpha_total", "beta_total")]
    assert [c.symbol.split(".")[-1] for c in named] == ["alpha_total", "beta_total"]
    assert all(c.kind in ("function", "method") for c in named)
    assert all(c.end_line - c.start_line >= 10 for c in named)  # the whole function
    _covers_each_line_once(chunks, source)


@pytest.mark.parametrize("language", sorted(CONTAINERS))
def test_a_container_becomes_member_chunks(chunker, language):
    path, source = CONTAINERS[language]
    chunks = chunker.chunk(source, language)
    symbols = [c.symbol for c in chunks]
    if language == "c":  # a struct has fields, not methods: one chunk
        assert symbols == ["Calc"]
    elif language in ("bash", "r"):  # no classes: functions by naming convention
        assert symbols[-2:] == ["calc_alpha", "calc_beta"]
    else:
        assert [s for s in symbols if s.endswith(("alpha", "beta"))] == \
            ["Calc.alpha", "Calc.beta"], symbols
    _covers_each_line_once(chunks, source)


CONFIGS = [
    ("ci.yml", "jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"
     "      - run: make test\nservices:\n  database:\n    image: postgres:16\n"
     "    environment:\n      POSTGRES_PASSWORD: example\n", ["jobs", "services"]),
    ("pyproject.toml", '[project]\nname = "semcode"\nversion = "0.1.0"\n'
     'dependencies = ["dagster", "lancedb"]\n\n[tool.ruff]\nline-length = 100\n'
     'target-version = "py311"\nselect = ["E", "F", "I"]\n', ["project", "tool.ruff"]),
    ("package.json", '{\n  "name": "web-app",\n  "scripts": {\n    "build": "vite build",\n'
     '    "test": "vitest run"\n  },\n  "dependencies": {\n    "react": "^18.0.0",\n'
     '    "react-dom": "^18.0.0"\n  }\n}\n', None),
    ("Dockerfile", "FROM python:3.11 AS build\nRUN pip install --prefix=/install semcode\n"
     "COPY . /src\nRUN make -C /src wheel\n\nFROM debian:bookworm AS runtime\n"
     "COPY --from=build /install /usr/local\nENTRYPOINT [\"semcode\"]\n", ["build", "runtime"]),
    ("Makefile", "build:\n\tpython -m build --wheel --outdir dist\n\tls -la dist\n\n"
     "test: build\n\tpython -m pytest -q tests\n\tpython -m mypy semcode\n", ["build", "test"]),
    ("CMakeLists.txt", "project(demo)\nfunction(add_demo_target name)\n"
     "  add_executable(${name} ${name}.c)\n  target_link_libraries(${name} m)\n"
     "endfunction()\nadd_demo_target(first)\n", None),
]


@pytest.mark.parametrize("path,source,names", CONFIGS)
def test_config_and_build_files_split_at_their_structure(chunker, path, source, names):
    language = language_of(path)
    chunks = chunker.chunk(source, language)
    assert language not in ("text", "")
    if names is not None:
        assert [c.symbol for c in chunks] == names
    assert any(c.symbol for c in chunks)
    _covers_each_line_once(chunks, source)
