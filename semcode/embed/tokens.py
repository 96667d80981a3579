"""Counting tokens the way the embedding model counts them.

The chunk budget is in model tokens, never characters, so no chunk is silently truncated.
This loads only the tokenizer (Rust ``tokenizers``), not the model, so parser processes stay
light. The packaged tokenizer.json carries truncation at 128: it is switched off here.

Counting is most of the chunker's cost (a tokenizer reads ~2 MB/s per core), so each line of a
file is tokenized once; with a tokenizer that splits words at whitespace (BERT's WordPiece, the
default's) a chunk's count is the sum of its lines', and nothing is tokenized again.
"""

from functools import lru_cache
from itertools import chain
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from semcode.embed.model_files import max_tokens, model_path, tokenizer_model
from semcode.imports import model_libraries

SPECIAL_TOKENS = 2  # [CLS] … [SEP]
# Pre-tokenizers that cut at every whitespace: no token spans a newline.
_WHITESPACE_SPLITTERS = frozenset({"BertPreTokenizer", "Whitespace", "WhitespaceSplit"})


class TokenCounter:
    def __init__(self, tokenizer: Tokenizer, window: int):
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tok = tokenizer
        self.window = window
        # "a\nb" counts as "a" plus "b": lines can be counted once and summed.
        self.additive = type(tokenizer.pre_tokenizer).__name__ in _WHITESPACE_SPLITTERS
        self._separator = _separator(tokenizer) if self.additive else None

    @property
    def budget(self) -> int:
        """Content tokens a chunk may hold so that the model reads all of it."""
        return self.window - SPECIAL_TOKENS

    def count(self, text: str) -> int:
        return len(self.ids(text))

    def count_many(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self.ids_many(texts)]

    def ids(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def ids_many(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids, one call for all."""
        if not texts:
            return []
        encoded = self._tok.encode_batch_fast(texts, add_special_tokens=False)  # no offsets
        return [e.ids for e in encoded]

    def lines(self, lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every line's token ids, one after another, and each line's count: what
        ``ids_many(lines)`` says, a third faster on code. The lines are tokenized as one text
        joined by a special token, which the tokenizer cuts out before it reads the rest, so
        each line between two is read on its own; a text that holds that token's own spelling
        is tokenized line by line."""
        if self._separator is not None and lines and \
                not any(self._separator[0] in line for line in lines):
            text, sep = self._separator[0].join(lines), self._separator[1]
            ids = np.asarray(self._tok.encode_batch_fast([text], add_special_tokens=False)[0].ids,
                             np.int64)
            cuts = np.flatnonzero(ids == sep)
            if len(cuts) == len(lines) - 1:
                return np.delete(ids, cuts), np.diff(np.r_[-1, cuts, len(ids)]) - 1
        each = self.ids_many(lines)
        return (np.fromiter(chain.from_iterable(each), np.int64),
                np.fromiter(map(len, each), np.int64, len(each)))

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tok

    def split_text(self, text: str, budget: int) -> list[str]:
        """Cut one over-long line into pieces of at most ``budget`` tokens, at token edges."""
        offsets = self._tok.encode(text, add_special_tokens=False).offsets
        pieces, start = [], 0
        for i in range(budget, len(offsets), budget):
            cut = offsets[i][0]
            pieces.append(text[start:cut])
            start = cut
        pieces.append(text[start:])
        return [p for p in pieces if p]


def _separator(tokenizer: Tokenizer) -> tuple[str, int] | None:
    """A special token the tokenizer cuts out of any text as it is written (not normalized
    first, not bound to word edges), to join lines with: its spelling and id."""
    for token_id, token in sorted(tokenizer.get_added_tokens_decoder().items()):
        if token.special and not (token.normalized or token.single_word or token.lstrip
                                  or token.rstrip) and token.content.strip():
            return token.content, token_id
    return None


@lru_cache(maxsize=4)
def token_counter(model: str) -> TokenCounter:
    model = tokenizer_model(model)
    path = Path(model_path(model))
    if (path / "tokenizer.json").is_file():
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    else:
        model_libraries()
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(path)).backend_tokenizer
    return TokenCounter(tokenizer, max_tokens(model))
