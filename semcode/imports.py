"""Import costs paid only by the code that uses them, and imports that are safe in threads.

LanceDB imports ``lance_namespace``, which imports ``lance_namespace_urllib3_client``: a
generated REST client whose package ``__init__`` loads every API class of the Lance REST
namespace — 0.5–1 s of a fresh process on 2 cores, a third or more of a CLI search's start —
although a local or ``s3://`` store needs only its models. ``defer_rest_client`` registers
the package without running that ``__init__``: its submodules (the models) import as usual,
and the first access to any other name of the package runs the ``__init__`` then, so nothing
that uses the client finds less than it would have.

On Python 3.11, LanceDB marks its methods with the ``overrides`` package's ``@override``, which
checks each one's signature against its base class as the class is created (reading the
caller's bytecode): ~0.1 s of every start. From 3.12 on LanceDB uses ``typing.override``, a
marker that checks nothing at run time; ``plain_overrides`` gives 3.11 the same (type
checkers still check overrides).

transformers 5 (and peft) fill their top-level names lazily, on first access, with no lock:
two threads that import them at once — the model loading in the background while the parse
merges the tuned model, say — find names half-made (``ImportError: cannot import name
'AutoModel' from 'transformers'``, seen on a busy machine at a first ``SEMCODE_MODEL=code``
index). ``model_libraries`` imports them whole, once, under one lock; every place that imports
them calls it first.
"""

import contextlib
import importlib.util
import sys
import threading
import types
from importlib.machinery import ModuleSpec
from typing import Any

REST_CLIENT = "lance_namespace_urllib3_client"


class _Deferred(types.ModuleType):
    """A package whose ``__init__`` runs on first access to a name it would define."""

    def __init__(self, spec: ModuleSpec):
        super().__init__(spec.name)
        self._semcode_spec = spec
        self.__spec__ = spec
        self.__loader__ = spec.loader
        self.__file__ = spec.origin
        self.__package__ = spec.name
        self.__path__ = list(spec.submodule_search_locations or [])

    def __getattr__(self, name: str) -> object:  # called only for names not set yet
        if self.__dict__.get("_semcode_ran_init"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        self.__dict__["_semcode_ran_init"] = True
        get_code = getattr(self._semcode_spec.loader, "get_code", None)
        code = get_code(self.__name__) if get_code is not None else None
        if code is not None:
            exec(code, self.__dict__)  # noqa: S102 — the package's own __init__, as import would
        return getattr(self, name)


def plain_overrides() -> None:
    """``overrides.override`` as Python 3.12's ``typing.override`` (a marker), and its
    ``EnforceOverrides`` base a plain class, unless LanceDB is imported already."""
    if sys.version_info >= (3, 12) or "lancedb" in sys.modules:
        return
    try:
        import overrides
    except ImportError:
        return

    def override(method: Any = None, **_: Any) -> Any:
        if method is None:  # @override(check_signature=...)
            return override
        with contextlib.suppress(AttributeError, TypeError):
            method.__override__ = True
        return method

    class EnforceOverrides:
        pass

    for name, plain in (("override", override), ("EnforceOverrides", EnforceOverrides)):
        setattr(overrides, name, plain)


def defer_rest_client() -> None:
    """Register the REST client package unexecuted, unless it is imported already or absent."""
    if REST_CLIENT in sys.modules:
        return
    spec = importlib.util.find_spec(REST_CLIENT)
    if spec is not None and spec.submodule_search_locations is not None:
        sys.modules[REST_CLIENT] = _Deferred(spec)


_MODEL_LIBRARIES = threading.Lock()
# the names of transformers that semcode, sentence-transformers and peft reach for
_TRANSFORMERS_NAMES = ("AutoConfig", "AutoModel", "AutoTokenizer", "PreTrainedModel",
                       "PretrainedConfig")


def model_libraries(*, peft: bool = False) -> None:
    """Import transformers (its lazy names resolved), sentence-transformers and, with
    ``peft``, peft — in one thread at a time; a no-op once they are in."""
    with _MODEL_LIBRARIES:
        import transformers

        for name in _TRANSFORMERS_NAMES:
            getattr(transformers, name)
        import sentence_transformers  # noqa: F401

        if peft:
            import peft as peft_library

            peft_library.PeftModel  # noqa: B018 — resolved here, under the lock
