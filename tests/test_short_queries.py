"""The short queries the quality harness scores (bench/short_queries*.jsonl): every
development corpus has its share, each query points at a span of its corpus, and the file
written from the code says how it was written."""

import json
from collections import Counter

from bench.quality import CODE_QUERIES, CORPORA, SHORT_QUERIES, short_queries


def test_the_code_read_set_says_how_it_was_written_and_covers_every_corpus():
    header = [line for line in CODE_QUERIES.read_text().splitlines() if line.startswith("#")]
    assert any("reading the code only" in line for line in header)
    for corpus in CORPORA:
        queries = short_queries(CODE_QUERIES, corpus)
        assert len(queries) >= 16, corpus
        assert len({q["path"] for q in queries}) >= 2, corpus  # spread over files
        assert not [q for q, n in Counter(q["query"] for q in queries).items() if n > 1]


def test_every_short_query_is_a_few_words_with_a_span():
    for path in (SHORT_QUERIES, CODE_QUERIES):
        rows = [json.loads(line) for line in path.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
        assert rows and {r["corpus"] for r in rows} == set(CORPORA)
        for row in rows:
            assert 2 <= len(row["query"].split()) <= 12, row
            assert 1 <= row["start"] <= row["end"], row
            assert not row["path"].startswith("/") and row["symbol"], row
