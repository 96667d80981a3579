"""``semcode agents``: a short section for a repository's AGENTS.md or CLAUDE.md, telling a
coding agent what semcode searches, when to use it instead of grep, and its tools."""

SECTION = """\
## Searching this repository: semcode

This repository has a semantic code index, served over MCP as `semcode` (or run `semcode`).
It holds the committed branch, proven whole by its checks, with the uncommitted changes of
this checkout on top.

- **Use `search_code` before grep** when you know what the code does but not its exact
  words: "where are retries with backoff", "parse a cookie header". It matches by meaning
  and by identifier (`getUserName` finds get_user_name). Use grep for an exact string you
  already know, or to list every use of one.
- `search_code(query, limit, language, path, kind, mode, max_tokens, cursor)`: `path` takes
  gitignore-style globs — `["!tests/**"]` leaves the tests out of a question about the code;
  `mode` is hybrid (default), vector or keyword; pass `next_cursor` back as `cursor` for more.
- Each hit is a whole definition: `path`, `start_line`–`end_line`, `symbol`, `kind`, `score`,
  `source` (index or worktree) and `part_of` (the lines of the whole function it is part of).
  Paths go back in as they came out: `find_similar` takes `path` or `path:line`.
- `find_similar(path, line)`: code like the definition at that line — other implementations,
  near-duplicates, the tests of a function.
- `find_symbol(name, relation)`: where a name is defined (`definition`), used
  (`references`: calls, imports, type uses), who calls it (`callers`), what it calls
  (`callees`). `name` is `route`, `Flask.route` or `path:line`. Name-based (no compiler):
  better than grep, which cannot tell a call from a comment; `kind` tells a method from a
  function of the same name.
- `index_status`: what is indexed, at which commit, how the checkout differs, whether the
  checks pass. `update_index` rebuilds what changed, in the background.
- From a shell: `semcode search "QUERY" --json`, `semcode similar PATH:LINE --json`,
  `semcode def|refs|callers|callees NAME --json`.
"""


def agents_section() -> str:
    return SECTION
