"""Chunking with a deadline: a file's bytes steer a grammar, and a grammar can spin forever.

tree-sitter-perl never returns from the 3 bytes ``r#"`` (its external scanner loops at the end
of the input): the call holds the interpreter in C code, so no thread, signal handler or parse
callback gets it back, and the lease renewer and Ctrl-C starve with it. So a file's chunk rows
are made in a child process (``python -m semcode.ingest.sandbox``: tree-sitter and the tokenizer, no
store) that answers one file at a time over a pipe, and the parent waits on the pipe with a
deadline. A file that misses it is chunked by line windows in the parent (no grammar, so no
line is lost) with the reason ``parse_timeout``; the child is killed and a new one starts for
the next file. A child that dies on a file (a grammar's crash) is handled the same way
(``parse_crash``). The parent waits in ``select``, so Ctrl-C and SIGTERM reach it at once.

The child starts on the first file a process chunks and is kept for the process's next
shards; it dies with its parent (the kernel's parent-death signal, and end of input).
"""

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

from semcode.config import DEFAULT_PARSE_TIMEOUT
from semcode.embed.static_model import StaticPooler, is_static, static_pooler
from semcode.embed.tokens import token_counter
from semcode.ingest.chunking import Chunker
from semcode.ingest.rows import as_rows, chunk_columns

STARTUP_TIMEOUT = 120.0  # seconds the child may take to import and load the tokenizer
_HEADER = struct.Struct("!Q")

TIMEOUT, CRASH = "parse_timeout", "parse_crash"


class SandboxError(RuntimeError):
    """The child process could not be started (not a file's fault)."""


def _write_frame(fd: int, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    """``size`` bytes from ``fd``; None at end of input; TimeoutError past ``deadline``
    (monotonic seconds, None: wait as long as it takes)."""
    parts, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _read_frame(fd: int, deadline: float | None = None) -> Any:
    header = _read_exact(fd, _HEADER.size, deadline)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0], deadline)
    if body is None:
        return None
    return pickle.loads(body)


class SandboxedChunker:
    """``chunk_columns`` of one file at a time in a child process, each within ``deadline``
    seconds. ``columns`` answers (columns, note): the note is empty, or says why the file was
    cut by line windows instead of by its grammar."""

    def __init__(self, model: str, reserve_tokens: int = 0,
                 deadline: float = DEFAULT_PARSE_TIMEOUT):
        self.model, self.reserve, self.deadline = model, reserve_tokens, float(deadline)
        self._child: subprocess.Popen[bytes] | None = None
        self._ready = False  # the child said it is ready
        self._errors: IO[bytes] | None = None
        self._fallback: Chunker | None = None
        self._busy = threading.Lock()  # one file at a time through the one child

    def columns(self, file: dict, text: str, vectors: bool = False,
                ) -> tuple[dict[str, list], str]:
        """Raises ``ValueError`` with the child's words when chunking failed on the file's
        content (the caller skips the file, as it would in-process). ``vectors``: the static
        tier's vectors too, under ``rows.VECTORS``, where the child can make them (a file cut
        by line windows here has none)."""
        with self._busy:
            return self._columns(file, text, vectors)

    def rows(self, file: dict, text: str, commit: str) -> tuple[list[dict], str]:
        """The same as whole rows, a dict each (for tests and benchmarks)."""
        columns, note = self.columns(file, text)
        return as_rows(file, columns, commit), note

    def _columns(self, file: dict, text: str, vectors: bool) -> tuple[dict[str, list], str]:
        child = self._running()
        try:
            _write_frame(child.stdin.fileno(), (file, text, vectors))  # type: ignore[union-attr]
            reply = _read_frame(child.stdout.fileno(),  # type: ignore[union-attr]
                                time.monotonic() + self.deadline)
        except TimeoutError:
            self.close()
            return self._windows(file, text, TIMEOUT,
                                 f"the {file['language']} grammar did not finish in "
                                 f"{self.deadline:g} s")
        except (BrokenPipeError, ConnectionResetError):
            reply = None
        except BaseException:  # interrupted mid-request: its late reply must not answer the
            self.close()       # next file of a long-lived process
            raise
        if reply is None:  # the child died on this file
            code = self.close()
            return self._windows(file, text, CRASH,
                                 f"the {file['language']} grammar ended its process ({code})")
        status, value = reply
        if status != "ok":
            raise ValueError(value)
        return value, ""

    def _windows(self, file: dict, text: str, kind: str,
                 why: str) -> tuple[dict[str, list], str]:
        if self._fallback is None:
            self._fallback = Chunker(token_counter(self.model), self.reserve)
        return (chunk_columns(file, text, self._fallback, language=""),
                f"{kind}: {why}; chunked by line windows")

    def start(self) -> None:
        """Start the child now, without waiting for it: its imports overlap whatever the
        caller reads before the first file."""
        with self._busy:
            if self._child is None or self._child.poll() is not None:
                self._spawn()

    def _spawn(self) -> None:
        self.close()
        self._errors = tempfile.TemporaryFile()  # what it says, for the message if it fails
        self._child = subprocess.Popen(
            [sys.executable, "-m", "semcode.ingest.sandbox", self.model, str(self.reserve),
             str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors,
            env=os.environ)  # a parse worker's TOKENIZERS_PARALLELISM=false passes on
        self._ready = False

    def _running(self) -> "subprocess.Popen[bytes]":
        if self._child is None or self._child.poll() is not None:
            self._spawn()
        child = self._child
        assert child is not None
        if self._ready:
            return child
        errors = self._errors
        assert errors is not None
        try:
            ready = _read_frame(child.stdout.fileno(),  # type: ignore[union-attr]
                                time.monotonic() + STARTUP_TIMEOUT)
        except TimeoutError:
            ready = None
        if ready != ("ready", None):
            code = self.close()
            errors.seek(0)
            said = [line for line in errors.read().decode("utf-8", "replace").splitlines()
                    if line.strip()]
            raise SandboxError(f"the parse process for SEMCODE_MODEL={self.model!r} did not "
                               f"start (exit {code}): "
                               f"{said[-1] if said else 'it said nothing'}")
        errors.close()
        self._ready = True
        return child

    def close(self) -> int | None:
        """Stop the child (if any); its exit code."""
        child, self._child = self._child, None
        self._ready = False
        if child is None:
            return None
        if child.poll() is None:
            child.kill()
        code = child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
        return code


_cached: dict[tuple[str, int, float], SandboxedChunker] = {}
_lock = threading.Lock()


def sandboxed_chunker(model: str, reserve_tokens: int = 0,
                      deadline: float = DEFAULT_PARSE_TIMEOUT) -> SandboxedChunker:
    """This process's sandbox for these settings: its child outlives one shard, so a run
    (or a long-lived process) starts it once."""
    key = (model, reserve_tokens, float(deadline))
    with _lock:
        if key not in _cached:
            _cached[key] = SandboxedChunker(model, reserve_tokens, deadline)
        return _cached[key]


def die_with_parent(parent: int) -> None:
    """A child must never outlive (or write after) the process that started it. On Linux the
    kernel kills it the moment the parent dies; elsewhere a watchdog thread notices within a
    second (it cannot run while a grammar spins; the parent kills a child that misses its
    deadline)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=watch, name="semcode-parent-watch", daemon=True).start()


def serve(model: str, reserve_tokens: int, parent: int, inp: IO[bytes] | None = None) -> None:
    """The child: chunk columns of each file sent on standard input, one reply each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a run ends
    die_with_parent(parent)
    out = os.dup(1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the replies
    source = (inp or sys.stdin.buffer).fileno()
    counter = token_counter(model)
    static = is_static(model)
    chunker = Chunker(counter, reserve_tokens, keep_ids=static)
    poolers: list[StaticPooler | None] = []  # loaded when first asked for
    _write_frame(out, ("ready", None))
    while (request := _read_frame(source)) is not None:
        file, text, vectors = request
        reply: tuple[str, dict[str, list] | str]
        try:
            if vectors and static and not poolers:
                poolers.append(static_pooler(counter.tokenizer))
            pooler = poolers[0] if vectors and poolers else None
            reply = ("ok", chunk_columns(file, text, chunker, pooler=pooler))
        except Exception as exc:  # one bad file is the caller's skip, never the child's end
            reply = ("error", f"{type(exc).__name__}: {exc}"[:300])
        _write_frame(out, reply)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
