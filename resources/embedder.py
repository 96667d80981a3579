import multiprocessing

import dagster as dg
from pydantic import Field

from semcode.config import (
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_BATCH_SIZE,
    DEFAULT_DEVICE,
    DEFAULT_MODEL,
)
from semcode.embed.embedding import TextEncoder, shared_embedder


class EmbedderResource(dg.ConfigurableResource):
    """A sentence-transformers model: the packaged all-MiniLM-L6-v2 by default, or any model
    name or directory. Loaded lazily, once per process."""

    model: str = Field(default=DEFAULT_MODEL, description="Model name or path (SEMCODE_MODEL).")
    device: str = Field(default=DEFAULT_DEVICE, description="cpu, cuda or mps (SEMCODE_DEVICE).")
    backend: str = Field(default=DEFAULT_BACKEND,
                         description="How the model runs: " + ", ".join(BACKENDS)
                         + " (SEMCODE_BACKEND).")
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE,
                            description="Texts per forward pass (SEMCODE_BATCH_SIZE).")

    def warm_up(self) -> None:
        """Load the model in the background while the shards parse — only when the vectors
        step will run in this process (``semcode index``, ``execute_in_process``); under the
        multiprocess executor each step has a process of its own."""
        warm = getattr(self.get(), "warm_up", None)
        if warm is not None and multiprocessing.parent_process() is None:
            warm()

    def get(self) -> TextEncoder:
        return shared_embedder(self.model, self.device, self.batch_size, self.backend)
