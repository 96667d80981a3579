"""Code-aware words for the full-text side: ``getUserName``, ``get_user_name`` and
``HTTPServer`` all yield their parts, next to the identifier itself."""

import re
from functools import lru_cache

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_identifier(name: str) -> list[str]:
    """``getUserName`` → [get, user, name]; ``HTTPServer2`` → [http, server, 2]."""
    return [p.lower() for p in _PARTS.findall(name)]


def keywords(text: str) -> str:
    """The text as the full-text index should see it: each identifier, lower-cased, followed
    by its parts when it has more than one."""
    return " ".join(map(_identifier_words, _IDENTIFIER.findall(text)))


@lru_cache(maxsize=1 << 16)
def _identifier_words(ident: str) -> str:
    """Code repeats its identifiers: each is split once per process."""
    parts = split_identifier(ident)
    return " ".join([ident.lower(), *parts]) if len(parts) > 1 else ident.lower()


# Dropped from natural-language *queries* only (never from the index, never from
# identifiers): in code they match comments and noise, not the thing described.
QUERY_STOP_WORDS = frozenset("""a an and are as at be by for from has have if in into is it its
of on or that the their this to was were which will with when where who whether
returns return given using use used
function func fn def""".split())  # declaration keywords: in every file, they match anything


def query_keywords(query: str) -> str:
    """``keywords`` for a query: identifiers and their parts, minus plain English words
    that carry no signal in code. A query that is only such words keeps them."""
    words: list[str] = []
    for ident in _IDENTIFIER.findall(query):
        parts = split_identifier(ident)
        plain = len(parts) == 1 and ident.islower()
        if plain and ident in QUERY_STOP_WORDS:
            continue
        words.append(ident.lower())
        if len(parts) > 1:
            words.extend(parts)
    return " ".join(words) or keywords(query)
