"""``semcode index --plan``: what a full index would take, before it is built.

Nothing is written and nothing is embedded into the store. The manifest is taken exactly as
an index run takes it (the same skip rules and reasons); a sample of the indexed files is
chunked with the real chunker, which gives chunks per byte for each language and the share
of distinct texts; a few of the sample's texts are embedded with the configured model and
backend to time this machine. A repository smaller than the sample is chunked whole, so its
chunk count is exact.
"""

import os
import time
from collections import Counter, defaultdict
from hashlib import blake2b

from semcode.config import Settings
from semcode.embed.embedding import Embedder, embedding_text
from semcode.embed.tokens import token_counter
from semcode.index.parse import FileReader
from semcode.ingest.chunking import Chunker
from semcode.ingest.discovery import INDEXED, FileEntry, take_snapshot
from semcode.reports import Report

SAMPLE_BYTES = 3_000_000  # chunked for the estimate (~2 s on one core)
TIMED_TEXTS = 192  # embedded to time the model here
LARGEST = 10  # largest skipped files listed


class LanguagePlan(Report):
    files: int
    bytes: int
    chunks: int  # estimated (exact when the plan chunked every file)


class SkippedFile(Report):
    path: str
    size: int
    reason: str


class IndexPlan(Report):
    """What ``semcode index`` would do from scratch, and how long it would take here."""

    repo: str
    commit: str
    files: int
    indexed: int
    indexed_bytes: int
    skipped: int
    skip_reasons: dict[str, int]
    largest_skipped: list[SkippedFile]
    languages: dict[str, LanguagePlan]
    chunks: int
    texts: int  # distinct texts to embed (the same text is embedded once)
    exact: bool  # every indexed file was chunked
    sampled_files: int
    model: str
    backend: str
    texts_per_s: float
    parse_seconds: float
    embed_seconds: float
    seconds: float

    def text(self) -> str:
        return (f"plan: {self.indexed} files to index ({self.indexed_bytes / 1e6:.1f} MB), "
                f"{self.skipped} skipped; ~{self.chunks} chunks; ~{_duration(self.seconds)} "
                f"with {self.model} on {self.backend}")


def plan_index(settings: Settings) -> IndexPlan:
    snap = take_snapshot(settings.repo_path, shards=settings.shards,
                         limit=settings.max_file_bytes, branch=settings.branch)
    indexed = [f for f in snap.files if f.status == INDEXED]
    skipped = sorted((f for f in snap.files if f.status != INDEXED), key=lambda f: -f.size)
    sample = _sample(indexed)
    chunker = Chunker(token_counter(settings.model))
    reader = FileReader(settings.repo_path, snap.is_git)
    per_language: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # bytes, chunks
    texts: list[str] = []
    started = time.perf_counter()
    try:
        for f in sample:
            data, _ = reader.read({"path": f.path, "content_hash": f.content_hash})
            if data is None:
                continue
            pieces = chunker.chunk(data.decode("utf-8", "replace"), f.language)
            per_language[f.language][0] += len(data)
            per_language[f.language][1] += len(pieces)
            texts += [embedding_text(c.symbol, c.text) for c in pieces]
    finally:
        reader.close()
    chunk_seconds = time.perf_counter() - started
    sampled_bytes = sum(b for b, _ in per_language.values()) or 1
    overall = sum(c for _, c in per_language.values()) / sampled_bytes
    exact = len(sample) == len(indexed)
    languages: dict[str, LanguagePlan] = {}
    for language, group in _by_language(indexed).items():
        size = sum(f.size for f in group)
        seen_bytes, seen_chunks = per_language.get(language, (0, 0))
        rate = seen_chunks / seen_bytes if seen_bytes else overall
        languages[language] = LanguagePlan(files=len(group), bytes=size,
                                           chunks=seen_chunks if exact else round(size * rate))
    chunks = sum(p.chunks for p in languages.values())
    distinct = len(set(texts)) / len(texts) if texts else 1.0
    embedder = Embedder(settings.model, settings.device, settings.batch_size, settings.backend)
    rate = _texts_per_second(embedder, texts)
    indexed_bytes = sum(f.size for f in indexed)
    workers = max(1, min(os.cpu_count() or 1, settings.shards))
    parse = chunk_seconds * indexed_bytes / sampled_bytes / workers
    embed = chunks * distinct / rate if rate else 0.0
    return IndexPlan(
        repo=settings.repo_path, commit=snap.commit, files=len(snap.files),
        indexed=len(indexed), indexed_bytes=indexed_bytes, skipped=len(skipped),
        skip_reasons=dict(Counter(f.reason.split(":")[0] for f in skipped).most_common()),
        largest_skipped=[SkippedFile(path=f.path, size=f.size, reason=f.reason)
                         for f in skipped[:LARGEST]],
        languages=dict(sorted(languages.items(), key=lambda kv: -kv[1].bytes)),
        chunks=chunks, texts=round(chunks * distinct), exact=exact, sampled_files=len(sample),
        model=embedder.model_id, backend=embedder.runs_on if texts else embedder.backend,
        texts_per_s=round(rate, 1), parse_seconds=round(parse, 1), embed_seconds=round(embed, 1),
        seconds=round(parse + embed, 1))


def _sample(indexed: list[FileEntry]) -> list[FileEntry]:
    """Every file when they fit the sample's size, else files in an order that does not
    follow the tree (by a hash of the path) until the sample is full."""
    if sum(f.size for f in indexed) <= SAMPLE_BYTES:
        return indexed
    taken, size = [], 0
    for f in sorted(indexed, key=lambda f: blake2b(f.path.encode(), digest_size=8).digest()):
        if size >= SAMPLE_BYTES:
            break
        taken.append(f)
        size += f.size
    return taken


def _by_language(files: list[FileEntry]) -> dict[str, list[FileEntry]]:
    groups: dict[str, list[FileEntry]] = defaultdict(list)
    for f in files:
        groups[f.language].append(f)
    return groups


def _texts_per_second(embedder: Embedder, texts: list[str]) -> float:
    """This machine's encode rate on a spread of the sample's own texts (after a warm-up,
    which an index run pays once)."""
    distinct = sorted(set(texts), key=lambda t: blake2b(t.encode(), digest_size=8).digest())
    timed = distinct[:TIMED_TEXTS]
    if not timed:
        return 0.0
    embedder.encode(timed[:8])
    started = time.perf_counter()
    embedder.encode(timed)
    return len(timed) / max(time.perf_counter() - started, 1e-6)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
