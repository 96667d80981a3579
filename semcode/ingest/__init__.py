"""Ingest: a repository into chunks — git, the snapshot's manifest, languages, tree-sitter,
the chunker and the sandbox it runs in.

Owns what is indexed and why a file is not (discovery: ignore rules, binary, generated,
vendored, LFS), reading a checkout without leaving it (beneath, worktree), which grammar and
node types each language has (languages, syntax), and how a file becomes chunk rows within
the model's window (chunking, rows, sandbox). Writes nothing to the store.

May import: embed (the chunk budget is counted in the model's tokens) and the root modules.
The layers contract in pyproject.toml keeps this true (`make lint`).
"""
