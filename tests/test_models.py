"""Models beyond the default: the query prompt a model asks for, and the window it reads."""

import json
from pathlib import Path

import numpy as np
import pytest

from semcode.config import DEFAULT_MODEL
from semcode.embed.embedding import Embedder
from semcode.embed.model_files import max_tokens, model_path, query_prompt
from semcode.embed.tokens import token_counter


@pytest.fixture
def prompted_model(tmp_path: Path) -> str:
    """The packaged model, but with a query prompt in its own configuration (as code
    retrieval models ship it) and a longer window."""
    source = Path(model_path(DEFAULT_MODEL))
    model = tmp_path / "prompted-minilm"
    model.mkdir()
    for item in source.iterdir():
        if item.name not in ("config_sentence_transformers.json", "sentence_bert_config.json"):
            (model / item.name).symlink_to(item)
    (model / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "search_query: ", "document": ""}}))
    (model / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": 512, "do_lower_case": False}))
    return str(model)


def test_the_prompt_comes_from_the_models_configuration_then_a_table():
    assert query_prompt(DEFAULT_MODEL) == ""  # all-MiniLM-L6-v2 wants none
    assert query_prompt("intfloat/e5-base-v2") == "query: "
    assert query_prompt("nomic-ai/CodeRankEmbed").startswith("Represent this query")


@pytest.mark.model
def test_queries_get_the_prompt_and_code_does_not(prompted_model):
    assert query_prompt(prompted_model) == "search_query: "
    queries = Embedder(prompted_model, backend="torch", for_queries=True)
    documents = Embedder(prompted_model, backend="torch")
    assert documents.query_prompt == ""
    asked = queries.encode(["parse a date string"])[0]
    assert np.allclose(asked, documents.encode(["search_query: parse a date string"])[0],
                       atol=1e-5)
    assert not np.allclose(asked, documents.encode(["parse a date string"])[0], atol=1e-3)


def test_the_chunk_budget_follows_the_models_window(prompted_model):
    assert max_tokens(DEFAULT_MODEL) == 256
    assert max_tokens(prompted_model) == 512
    assert token_counter(prompted_model).budget == 510
