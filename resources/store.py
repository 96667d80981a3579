import dagster as dg
from pydantic import Field

from semcode.store.tables import Store


class StoreResource(dg.ConfigurableResource):
    """The LanceDB store holding files, chunks and vectors: a local directory (default
    ``<repo>/.semcode/lancedb``) or any LanceDB URI such as ``s3://bucket/index``."""

    uri: str = Field(description="LanceDB URI (SEMCODE_STORE).")

    def open(self) -> Store:
        return Store(self.uri)
