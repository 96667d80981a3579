"""How far re-weighting what the hybrid ranking already knows can go: a learned ranker as an
upper bound for hand-tuned blends, priors and bonuses.

For every query of the development corpora that ``bench/quality.py`` built, takes the hybrid
search's candidates (the top 50 of each side, as search does) with features of each — the
current score, the cosine, the scaled BM25 score, the name match, kind, stub, hook, size,
piece, nesting, which side found it and at what rank, the query's words in the file's name —
and fits a linear ranker (softmax over each query's candidates: the answer's share) on top of
the current score. It reports MRR@10 (one result per definition, as search merges) three ways:

* current: the shipped ranking, recomputed from the features (matches ``quality.py``);
* held out: fitted on the other 15 corpora, scored on this one — what a learned ranking
  would give on code it was never fitted to;
* fitted here: fitted on this corpus's own answers — the most any weighting of these
  features can reach on it, an overfitted ceiling.

Usage (after ``python bench/quality.py --backend openvino --tag named ...``):

    python bench/ranking_ceiling.py --backend openvino --tag named [--corpora attrs,...]
"""

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality import CORPORA, OUT, store_of  # noqa: E402
from semcode.config import DEFAULT_MODEL  # noqa: E402

FEATURES = ["cosine", "keyword", "name", "one-word name match", "one-word name", "callable",
            "declaration", "hook", "log lines", "piece", "nested", "by vector", "by keyword",
            "vector rank", "keyword rank", "file name words"]
DEPTH = 50


def candidates(task: Path, model: str, backend: str, tag: str) -> list[dict]:
    """Per query: a feature row per candidate (the current score first), which candidates
    are answers, and the definition each stands for."""
    from score import is_hit

    import semcode.search.searcher as search
    from semcode.identifiers import query_keywords, split_identifier
    from semcode.ingest.languages import is_hook

    searcher = search.Searcher(str(store_of(task, model, backend, tag)), model=model,
                               backend=backend)
    out = []
    for q in map(json.loads, open(task / "queries.jsonl")):
        by_vector = searcher.index.vector_ranking(searcher.embed(q["query"]), DEPTH, None)
        by_keyword = searcher.index.keyword_ranking(q["query"], DEPTH, None, [])
        fused = dict(search.blend(by_vector, by_keyword, searcher.vector_share))
        rows = searcher.rows(list(fused))
        cosine, keyword = dict(by_vector), dict(by_keyword)
        floor, best = min(cosine.values()), max(keyword.values(), default=0.0) or 1.0
        vector_rank = {c: i for i, (c, _) in enumerate(by_vector)}
        keyword_rank = {c: i for i, (c, _) in enumerate(by_keyword)}
        words = set(query_keywords(q["query"]).split())
        features, answers, definitions = [], [], []
        for cid, row in sorted(rows.items()):
            own = (row["symbol"] or "").rsplit(".", 1)[-1]
            one_word = len(split_identifier(own)) == 1
            name = search.name_match(words, row["symbol"])
            cos, kw = cosine.get(cid, floor), keyword.get(cid, 0.0) / best
            part = (row.get("part_start") or 0, row.get("part_end") or 0)
            stem = row["path"].rsplit("/", 1)[-1].split(".")[0]
            features.append([
                searcher.rank_score(fused[cid], row, words), cos, kw, name, name * one_word,
                float(one_word),
                float(row["kind"] in search.CALLABLE_KINDS),
                float(search.is_declaration(row["path"], row["text"])),
                float(is_hook(row["language"], row["symbol"] or "")),
                math.log(row["end_line"] - row["start_line"] + 1),
                float(part[0] > 0 and part != (row["start_line"], row["end_line"])),
                float((row["symbol"] or "").count(".") > 0 and row["kind"] == "function"),
                float(cid in cosine), float(cid in keyword),
                1 / (1 + vector_rank.get(cid, DEPTH)), 1 / (1 + keyword_rank.get(cid, DEPTH)),
                len(words & set(split_identifier(stem))) / max(1, len(words))])
            answers.append(is_hit(row, q))
            definitions.append((row["path"], *part) if part[0] else
                               (row["path"], row["start_line"], row["end_line"]))
        out.append({"x": np.array(features, np.float32), "y": np.array(answers, bool),
                    "definitions": definitions})
    return out


def mrr(queries: list[dict], weights: np.ndarray, scale: float) -> float:
    """MRR@10 of ranking by scale × current + features · weights, one hit per definition."""
    total = 0.0
    for q in queries:
        scores = scale * q["x"][:, 0] + q["x"][:, 1:] @ weights
        listed: set = set()
        for i in np.argsort(-scores, kind="stable"):
            if q["definitions"][i] in listed:
                continue
            listed.add(q["definitions"][i])
            if q["y"][i]:
                total += 1 / len(listed)
                break
            if len(listed) == 10:
                break
    return total / len(queries)


def fit(queries: list[dict], l2: float = 1e-3, steps: int = 400) -> tuple[np.ndarray, float]:
    """Weights that maximise the answers' softmax share of each query's candidates."""
    import torch

    queries = [q for q in queries if q["y"].any()]
    width, n = queries[0]["x"].shape[1], max(len(q["y"]) for q in queries)
    x = torch.zeros(len(queries), n, width)
    valid = torch.zeros(len(queries), n, dtype=torch.bool)
    answer = torch.zeros(len(queries), n, dtype=torch.bool)
    for i, q in enumerate(queries):
        m = len(q["y"])
        x[i, :m], valid[i, :m], answer[i, :m] = (torch.tensor(q["x"]), True,
                                                 torch.tensor(q["y"]))
    torch.manual_seed(0)
    weights = torch.zeros(width - 1, requires_grad=True)
    scale = torch.tensor(20.0, requires_grad=True)
    optimiser = torch.optim.Adam([weights, scale], lr=0.05)
    never = torch.tensor(-1e9)
    for _ in range(steps):
        optimiser.zero_grad()
        scores = scale * x[:, :, 0] + x[:, :, 1:] @ weights
        loss = (torch.logsumexp(torch.where(valid, scores, never), 1)
                - torch.logsumexp(torch.where(answer, scores, never), 1)).mean()
        (loss + l2 * (weights ** 2).sum()).backward()
        optimiser.step()
    return weights.detach().numpy(), float(scale.detach())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", default=",".join(CORPORA))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    data = {name: candidates(OUT / name / "task", args.model, args.backend, args.tag)
            for name in CORPORA}
    zero = np.zeros(len(FEATURES), np.float32)
    rows = {}
    for name in args.corpora.split(","):
        held = fit([q for other, qs in data.items() if other != name for q in qs])
        here = fit(data[name])
        rows[name] = [mrr(data[name], zero, 1.0), mrr(data[name], *held),
                      mrr(data[name], *here)]
        print(f"{name:16s} current {rows[name][0]:.3f}  held out {rows[name][1]:.3f}  "
              f"fitted here {rows[name][2]:.3f}", flush=True)
    languages = {"make_corpus.py": "python", "make_corpus_js.py": "javascript",
                 "make_corpus_go.py": "go"}
    for language in ("python", "javascript", "go"):
        figures = [v for n, v in rows.items() if languages[CORPORA[n][3]] == language]
        if figures:
            print(f"mean ({language}): " + "  ".join(
                f"{label} {statistics.mean(f[i] for f in figures):.3f}"
                for i, label in enumerate(("current", "held out", "fitted here"))))
    weights, scale = fit([q for qs in data.values() for q in qs])
    print("fitted on all: current ×", round(scale, 1),
          {f: round(float(w), 2) for f, w in zip(FEATURES, weights, strict=True)})


if __name__ == "__main__":
    main()
