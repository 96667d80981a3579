import dagster as dg
from pydantic import Field

from semcode.config import DEFAULT_MODEL
from semcode.embedding import Embedder, shared_embedder


class EmbedderResource(dg.ConfigurableResource):
    """A sentence-transformers model: the packaged all-MiniLM-L6-v2 by default, or any model
    name or directory. Loaded lazily, once per process."""

    model: str = Field(default=DEFAULT_MODEL, description="Model name or path (SEMCODE_MODEL).")
    device: str = Field(default="cpu", description="cpu, cuda or mps (SEMCODE_DEVICE).")
    batch_size: int = Field(default=16, description="Texts per forward pass (SEMCODE_BATCH_SIZE).")

    def get(self) -> Embedder:
        return shared_embedder(self.model, self.device, self.batch_size)
