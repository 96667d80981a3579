"""Code-aware words for the full-text side: ``getUserName``, ``get_user_name`` and
``HTTPServer`` all yield their parts, next to the identifier itself."""

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_identifier(name: str) -> list[str]:
    """``getUserName`` → [get, user, name]; ``HTTPServer2`` → [http, server, 2]."""
    return [p.lower() for p in _PARTS.findall(name)]


def keywords(text: str) -> str:
    """The text as the full-text index should see it: each identifier, lower-cased, followed
    by its parts when it has more than one."""
    words: list[str] = []
    for ident in _IDENTIFIER.findall(text):
        parts = split_identifier(ident)
        words.append(ident.lower())
        if len(parts) > 1:
            words.extend(parts)
    return " ".join(words)
