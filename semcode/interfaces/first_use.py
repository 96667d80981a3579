"""A search in a repository that has no index yet.

A person or an agent who asks a question wants an answer, not an instruction, so a search
indexes on first use (as ck and cocoindex-code do): ``semcode search`` builds the index first,
with its progress on stderr, and the MCP server starts the build in the background and answers
meanwhile. A build the plan (``semcode index --plan``) says would take long here is not started
unasked: the search answers by keyword from the working tree and says how to build it.
"""

from semcode.config import Settings
from semcode.errors import StoreNotFound
from semcode.progress import duration
from semcode.store.tables import Store

AUTO_INDEX_SECONDS = 120  # past this estimate, a first search does not start a build


def missing(settings: Settings) -> bool:
    """Whether the repository has no index to search yet: no store, or one whose first run
    has not embedded anything (it is running, or was interrupted)."""
    try:
        store = Store(settings.store_uri, create=False)
    except StoreNotFound:
        return True
    return not store.has("vectors")


def estimate(settings: Settings) -> float:
    """Seconds a full index would take here, as the plan estimates them."""
    from semcode.interfaces.plan import plan_index  # the chunker: only on a first use

    return plan_index(settings).seconds


def too_long(seconds: float) -> str:
    """The warning a search answers by keyword with, when building would take long."""
    return (f"no index yet, and building one would take ~{duration(seconds)} here: answering "
            "by keyword from the working tree — run `semcode index` to search by meaning")
