"""The static tier's vectors, made by the parse: no second tokenization of every chunk.

A static model's vector of a text is the mean of its tokens' rows, and the parse already
tokenizes every line to count it; so when ``code_vectors`` will run in this process after the
shards (``semcode index``, the in-process executor) and the model is ``static``, each parse
worker makes its chunks' vectors from those ids (``StaticPooler``) and spools them, a file
per shard, into a folder of this run. ``code_vectors`` plans from the store exactly as
before and takes, for the chunks its plan embeds, the spooled rows of the same chunk ids
(a chunk id names its text, so its vector is the one the encoder would make); whatever the
spool lacks — a file cut by line windows, a worker that failed — is encoded as before.
Nothing is written to the store here: what is committed and what the checks prove is
unchanged.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semcode.embed.model_files import model_id
from semcode.index.handover import Handover
from semcode.store.lease import alive
from semcode.store.tables import vector_rows, vectors_schema

SUFFIX = ".arrow"


class Spool:
    """What one parse of one shard writes: the vector rows of its chunks, in a file that is
    visible under its final name only once complete."""

    def __init__(self, folder: str, shard: int, model: str):
        self.path = Path(folder) / f"shard-{int(shard)}{SUFFIX}"
        self.model = model_id(model)
        self.writer: pa.ipc.RecordBatchStreamWriter | None = None

    def add(self, file: dict, columns: dict[str, list], vectors: bytes) -> None:
        """One file's chunks: their varying ``columns`` (chunk_id, text_hash, kind) and
        their vectors, one float32 row each."""
        count = len(columns["chunk_id"])
        if not count:
            return
        flat = np.frombuffer(vectors, np.float32)
        chunks = pa.table({"chunk_id": pa.array(columns["chunk_id"], pa.string()),
                           "text_hash": pa.array(columns["text_hash"], pa.string()),
                           "path": pa.array([file["path"]] * count, pa.string()),
                           "language": pa.array([file["language"]] * count, pa.string()),
                           "kind": pa.array(columns["kind"], pa.string())})
        rows = vector_rows(chunks, self.model, flat, len(flat) // count)
        if self.writer is None:
            self.writer = pa.ipc.new_stream(str(self.path) + ".part", rows.schema)
        self.writer.write_table(rows)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            Path(str(self.path) + ".part").replace(self.path)
            self.writer = None


def spool_root() -> Path:
    return Path(tempfile.gettempdir()) / "semcode-parsed-vectors"


class ParsedVectors:
    """A run's spool folder: the shards' parses write into it, the vectors step reads it.
    Named after the process that made it: a folder left by a process that died (killed
    mid-run: ~1 KB a chunk, 1.4 GB at the drivers/ size) is removed by the next one made."""

    def __init__(self, model: str):
        self.model_id = model_id(model)
        root = spool_root()
        root.mkdir(exist_ok=True)
        for left in root.iterdir():
            pid = left.name.split("-", 1)[0]
            if pid.isdigit() and not alive(int(pid)):  # another name: not a folder of ours
                shutil.rmtree(left, ignore_errors=True)
        self.folder = tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root)

    def take(self, wanted: pa.Array, dim: int) -> Iterator[pa.Table]:
        """The spooled vector rows of the chunk ids ``wanted``, of this model and size, a
        shard at a time; a spool that cannot be read is passed over (its chunks are
        encoded)."""
        for path in sorted(Path(self.folder).glob(f"*{SUFFIX}")):
            try:
                with pa.ipc.open_stream(str(path)) as reader:
                    rows = reader.read_all()
            except (OSError, pa.ArrowInvalid):
                continue
            if rows.schema != vectors_schema(dim):
                continue
            rows = rows.filter(pc.and_(pc.is_in(rows.column("chunk_id"), value_set=wanted),
                                       pc.equal(rows.column("model"), self.model_id)))
            if rows.num_rows:
                yield rows

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


_runs: Handover[ParsedVectors] = Handover()  # the run whose chunks step asked for them


def start(run: str, model: str) -> ParsedVectors:
    return _runs.put(run, ParsedVectors(model))


def claim(run: str) -> ParsedVectors | None:
    """The spool the chunks step of ``run`` filled in this process, or None; the caller
    discards it once read."""
    return _runs.take(run)


def drop(run: str) -> None:
    _runs.drop(run)
