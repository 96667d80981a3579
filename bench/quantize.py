"""Quantizing the encoder with NNCF, calibrated on code (issue #26, point 2): the OpenVINO
graph of the packaged model as exported (fp32, or bf16 where the CPU has it), with int8
weights only, and post-training int8 (weights and activations) calibrated on chunks and
queries of the development corpora. For each: the raw rate on chunk texts, one query's
latency, and what the issue's gates read here — mean and lowest cosine to the exported
graph's vectors, and the top-10 neighbours of each query kept. A variant worth a full run
then goes through ``bench/quality.py`` (the hybrid MRR gate on all 16 corpora).

    pip install -e '.[bench]'   # nncf
    python bench/quantize.py [--texts 800] [--calibration 80]
"""

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality import CORPORA, build_task, index, store_of  # noqa: E402

MODEL = "all-MiniLM-L6-v2"
WORK = ROOT / "bench" / "out" / "quantized"


def corpus_texts(per_corpus: int) -> tuple[list[str], list[str]]:
    """Chunk texts and queries of every development corpus, ``per_corpus`` of each."""
    from semcode.store.tables import Store

    texts, queries = [], []
    for name in CORPORA:
        task = build_task(name)
        index(task, MODEL)
        chunks = Store(str(store_of(task, MODEL)), create=False).scan("chunks", ["text"])
        texts += chunks.column("text").to_pylist()[:per_corpus]
        queries += [json.loads(line)["query"] for line in open(task / "queries.jsonl")][:20]
    return texts, queries


def variants(source: Path, calibration: list[str]) -> dict[str, Path]:
    """The exported graph, and its two NNCF variants written beside it."""
    import nncf

    from semcode.embed.backends import _import_openvino

    ov = _import_openvino()
    from tokenizers import Tokenizer

    spec = json.loads((source / "export.json").read_text())
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(int(spec["max_tokens"]))

    def feed(text: str) -> dict:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                  "token_type_ids": np.zeros_like(ids)}
        return {name: inputs[name] for name in spec["inputs"]}

    made = {"exported": source}
    for name, make in (
            ("int8 weights", lambda m: nncf.compress_weights(
                m, mode=nncf.CompressWeightsMode.INT8_ASYM)),
            ("int8 calibrated", lambda m: nncf.quantize(
                m, nncf.Dataset(calibration, feed), model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(calibration)))):
        target = WORK / name.replace(" ", "-")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        started = time.perf_counter()
        ov.save_model(make(ov.Core().read_model(str(source / "model.xml"))),
                      str(target / "model.xml"), compress_to_fp16=False)
        print(f"{name}: made in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        made[name] = target
    return made


def main() -> None:
    from semcode.embed.backends import OPENVINO, GraphRunner, cores, ensure_export

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=50, help="chunk texts per corpus")
    parser.add_argument("--calibration", type=int, default=30,
                        help="chunk texts per corpus to calibrate on (the first ones are "
                             "measured; these are taken after them)")
    args = parser.parse_args()
    texts, queries = corpus_texts(args.texts + args.calibration)
    per = args.texts + args.calibration
    measured = [t for i, t in enumerate(texts) if i % per < args.texts]
    calibration = [t for i, t in enumerate(texts) if i % per >= args.texts] + queries[::4]
    reference: tuple[np.ndarray, np.ndarray] | None = None
    for name, directory in variants(ensure_export(MODEL, OPENVINO), calibration).items():
        runner = GraphRunner(directory, OPENVINO, cores())
        runner.encode(queries[:4], 16)
        latencies = []
        for query in queries[:100]:
            started = time.perf_counter()
            runner.encode([query], 16)
            latencies.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        docs = runner.encode(measured, 16)
        rate = len(measured) / (time.perf_counter() - started)
        asked = runner.encode(queries, 16)
        reference = reference or (docs, asked)
        cosine = np.concatenate([(docs * reference[0]).sum(1), (asked * reference[1]).sum(1)])
        kept = [len(set(np.argsort(-(reference[0] @ q0))[:10]) &
                    set(np.argsort(-(docs @ q))[:10])) / 10
                for q0, q in zip(reference[1], asked, strict=True)]
        print(json.dumps({"variant": name, "precision": runner.precision,
                          "texts_per_s": round(rate, 1),
                          "query_p50_ms": round(statistics.median(latencies), 2),
                          "cosine_mean": round(float(cosine.mean()), 4),
                          "cosine_min": round(float(cosine.min()), 4),
                          "top10_kept": round(float(np.mean(kept)), 3)}), flush=True)


if __name__ == "__main__":
    main()
