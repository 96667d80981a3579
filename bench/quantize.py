"""Quantizing the encoder with NNCF, calibrated on code (issue #26, point 2): the OpenVINO
graph of the packaged model as exported (fp32, or bf16 where the CPU has it), with int8
weights only, and post-training int8 (weights and activations) calibrated on chunks and
queries of the development corpora. For each: the raw rate on chunk texts, one query's
latency, and what the issue's gates read here — mean and lowest cosine to the exported
graph's vectors, and the top-10 neighbours of each query kept. The rates are an index's (the
graph on OpenVINO's streams), each variant's timed between two runs of the export (ABBA).
A variant worth a full run then goes through ``bench/quality.py`` (the hybrid MRR gate on
all 16 corpora).

    pip install -e '.[bench]'   # nncf
    python bench/quantize.py [--texts 50] [--calibration 30] [--variants 'int8 weights,...']
"""

import argparse
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality import CORPORA, build_task, index, store_of  # noqa: E402

MODEL = "all-MiniLM-L6-v2"
VARIANTS = ("int8 weights", "int8 calibrated", "int8 calibrated but FFN out",
            "int8 calibrated unsmoothed")
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


def variants(source: Path, calibration: list[str], names: list[str]) -> dict[str, Path]:
    """The exported graph, and the NNCF variants ``names`` written beside it."""
    import nncf
    from nncf.quantization.advanced_parameters import (
        AdvancedQuantizationParameters,
        AdvancedSmoothQuantParameters,
    )

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

    def calibrated(**options: object) -> Callable:
        return lambda m: nncf.quantize(m, nncf.Dataset(calibration, feed),
                                       model_type=nncf.ModelType.TRANSFORMER,
                                       subset_size=len(calibration), **options)

    makers: dict[str, Callable] = {
        "int8 weights": lambda m: nncf.compress_weights(
            m, mode=nncf.CompressWeightsMode.INT8_ASYM),
        "int8 calibrated": calibrated(),
        # each block's second feed-forward product (its input has the outliers) kept in float
        "int8 calibrated but FFN out": calibrated(ignored_scope=nncf.IgnoredScope(
            patterns=[r".*layer\.\d+/output/dense/MatMul"])),
        "int8 calibrated unsmoothed": calibrated(
            advanced_parameters=AdvancedQuantizationParameters(
                smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=-1))),
    }
    made = {"exported": source}
    for name in names:
        target = WORK / name.replace(" ", "-")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        started = time.perf_counter()
        ov.save_model(makers[name](ov.Core().read_model(str(source / "model.xml"))),
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
    parser.add_argument("--variants", default="int8 weights,int8 calibrated",
                        help="comma-separated, of: " + ", ".join(f"'{v}'" for v in VARIANTS))
    args = parser.parse_args()
    names = [name.strip() for name in args.variants.split(",")]
    if unknown := set(names) - set(VARIANTS):
        parser.error(f"unknown variants {sorted(unknown)}; known: {VARIANTS}")
    texts, queries = corpus_texts(args.texts + args.calibration)
    per = args.texts + args.calibration
    measured = [t for i, t in enumerate(texts) if i % per < args.texts]
    calibration = [t for i, t in enumerate(texts) if i % per >= args.texts] + queries[::4]
    made = variants(ensure_export(MODEL, OPENVINO), calibration, names)
    # the rate as an index gets it (one batch in flight per stream), the export timed right
    # after each variant: the machine drifts more between minutes than the variants differ
    export = GraphRunner(made.pop("exported"), OPENVINO, cores(), throughput=True)
    reference = export.encode(measured, 16), export.encode(queries, 16)
    for name, directory in made.items():
        runner = GraphRunner(directory, OPENVINO, cores(), throughput=True)
        runner.encode(queries[:16], 16)
        latencies = []
        for query in queries[:100]:
            started = time.perf_counter()
            runner.encode([query], 16)
            latencies.append((time.perf_counter() - started) * 1000)
        rates = {}
        for timed, who in ((runner, name), (export, "exported"), (export, "exported"),
                           (runner, name)):  # ABBA
            started = time.perf_counter()
            docs = timed.encode(measured, 16)
            rates.setdefault(who, []).append(len(measured) / (time.perf_counter() - started))
        docs, asked = runner.encode(measured, 16), runner.encode(queries, 16)
        cosine = np.concatenate([(docs * reference[0]).sum(1), (asked * reference[1]).sum(1)])
        kept = [len(set(np.argsort(-(reference[0] @ q0))[:10]) &
                    set(np.argsort(-(docs @ q))[:10])) / 10
                for q0, q in zip(reference[1], asked, strict=True)]
        print(json.dumps({"variant": name, "precision": runner.precision,
                          "streams": runner.streams,
                          "texts_per_s": round(statistics.mean(rates[name]), 1),
                          "export_texts_per_s": round(statistics.mean(rates["exported"]), 1),
                          "query_p50_ms": round(statistics.median(latencies), 2),
                          "cosine_mean": round(float(cosine.mean()), 4),
                          "cosine_min": round(float(cosine.min()), 4),
                          "top10_kept": round(float(np.mean(kept)), 3)}), flush=True)


if __name__ == "__main__":
    main()
