"""Fine-tune the packaged all-MiniLM-L6-v2 for code search on this interpreter's standard
library, then point SEMCODE_MODEL at the result.

Pairs are (first sentence of a function's docstring, the function with its docstring replaced
by ``...``, read as semcode reads a chunk: its qualified name's words, then the code) from
every stdlib module outside tests, idlelib and site-packages — code that is in none of the 16
development corpora. Batches hold one module's functions, so a pair's negatives are its
siblings (``tkraise`` against ``lower``): the confusion search makes. The loss is the
symmetric in-batch cross-entropy on cosines × 20 (sentence-transformers' multiple-negatives
ranking loss, both ways), one epoch, AdamW 2e-5 with 10% warm-up. On 2 CPU cores: 5,247 pairs,
~14 minutes.

    python bench/finetune.py --out ~/.cache/semcode/models/minilm-stdlib
    SEMCODE_MODEL=~/.cache/semcode/models/minilm-stdlib semcode index --full

BENCHMARKS.md has what it did on the 16 corpora.
"""

import argparse
import ast
import json
import random
import re
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from semcode.embedding import embedding_text  # noqa: E402

SKIP = {"site-packages", "test", "tests", "idlelib", "lib2to3", "turtledemo", "ensurepip",
        "__pycache__"}
SENTENCE = re.compile(r"(?<=[.!?])\s|\n\s*\n")


def pairs_from(stdlib: Path) -> list[dict[str, str]]:
    """(query, code, module) for every documented function of ``stdlib``, grouped by module
    in a shuffled module order."""
    by_module: dict[str, list[dict[str, str]]] = {}
    for path in sorted(stdlib.rglob("*.py")):
        if SKIP & set(path.relative_to(stdlib).parts):
            continue
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        by_module[str(path)] = list(_documented(tree, source.splitlines()))
    modules = sorted(by_module)
    random.Random(0).shuffle(modules)
    return [pair for module in modules for pair in by_module[module]]


def _documented(tree: ast.Module, lines: list[str]):
    owners = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or \
                node.name.startswith("__"):
            continue
        doc = ast.get_docstring(node)
        first = SENTENCE.split(doc.strip(), maxsplit=1)[0].replace("\n", " ").strip() \
            if doc else ""
        if len(first.split()) < 4 or len(first) > 300:
            continue
        docstring = node.body[0]
        start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        code = [*lines[start - 1:docstring.lineno - 1], " " * docstring.col_offset + "...",
                *lines[docstring.end_lineno:node.end_lineno]]
        owner = owners.get(node)
        name = f"{owner.name}.{node.name}" if isinstance(owner, ast.ClassDef) else node.name
        yield {"query": first, "code": embedding_text(name, "\n".join(code))}


def train(pairs: list[dict[str, str]], out: Path, batch: int, window: int, lr: float) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    from semcode.model_files import model_path

    torch.manual_seed(0)
    model = SentenceTransformer(model_path("all-MiniLM-L6-v2"), device="cpu")
    model.max_seq_length = window
    model.train()
    steps = len(pairs) // batch
    warm = max(1, steps // 10)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else (steps - s) / (steps - warm))
    labels = torch.arange(batch)

    def embed(texts: list[str]) -> torch.Tensor:
        vectors = model(model.preprocess(texts))["sentence_embedding"]
        return torch.nn.functional.normalize(vectors, dim=-1)

    started = time.time()
    for step in range(steps):
        group = pairs[step * batch:(step + 1) * batch]
        scores = embed([p["query"] for p in group]) @ embed([p["code"] for p in group]).T * 20
        loss = (torch.nn.functional.cross_entropy(scores, labels)
                + torch.nn.functional.cross_entropy(scores.T, labels)) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 20 == 0 or step == steps - 1:
            print(f"step {step + 1}/{steps}  loss {loss.item():.3f}  "
                  f"{time.time() - started:.0f} s", flush=True)
    model.eval()
    model.save(str(out))
    print(f"saved {out} ({len(pairs)} pairs, {time.time() - started:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the model")
    parser.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--window", type=int, default=256, help="tokens a text is cut to")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--pairs", type=int, default=0, help="use only the first N pairs")
    args = parser.parse_args()
    pairs = pairs_from(args.stdlib)
    pairs = pairs[:args.pairs] if args.pairs else pairs
    print(f"{len(pairs)} pairs from {args.stdlib}", flush=True)
    if args.out.exists():
        sys.exit(f"{args.out} exists — choose another --out")
    train(pairs, args.out, args.batch, args.window, args.lr)
    print(json.dumps({"model": str(args.out), "pairs": len(pairs)}))


if __name__ == "__main__":
    main()
