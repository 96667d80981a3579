"""One writer at a time per store, across processes and machines: a lease kept in the store.

The lease is one row of the ``writer_lease`` table. Taking it is a conditional update —
``owner := me WHERE owner = '' OR owner = me OR expires < now`` — committed by LanceDB like
any other write: on a local disk by an atomic rename, on object storage by a conditional put
of the next manifest version. Two writers that update the row at once cannot both commit on
the same version; the loser's update is retried against the winner's row, where the
condition no longer holds. So the row names exactly one owner, whatever the store, with no
lock on any one machine's disk.

A holder renews the lease while it works — from a small process of its own (``python -m
semcode.store.lease``), so that a call holding the holder's interpreter (a native library, a long
parse) cannot starve the renewal; one that dies stops renewing, and the lease expires after
``ttl`` seconds — at once when the dead holder was a process on this machine. "This machine"
is this kernel and this pid namespace, not the hostname alone (``machine``): workers that
share a hostname but not their processes (containers, a worker pool started with one name)
see each other's pids as meaningless, so they wait for the expiry. A writer that finds the
lease held waits and says for whom.

Fencing: a holder can still stall past its lease (a stopped process, a paused machine) while
another writer takes over. So every commit first checks the row (``WriterLease.check``): it must
still name this writer, with at least a third of the lifetime left — more than a commit
takes. A holder that was merely slow (a starved machine: its keeper late) finds the row still
naming it and renews it there, by the same conditional update; since any other writer must
change the row before it writes, a row that still names this writer proves nobody else did.
Only a row that names someone else (or no one: another took it and let go) refuses the
commit with ``LeaseLost``. A stale writer fails instead of landing; a slow one goes on.
"""

import os
import select
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from semcode import progress
from semcode.errors import LeaseLost, StoreBusy, as_damage, first_line

if TYPE_CHECKING:
    from lancedb.table import Table

    from semcode.store.tables import Store

LEASE_TABLE = "writer_lease"
LEASE_KEY = "writer"
# Two writers that create the lease table at the same moment can both succeed, the second as
# an overwrite of the first (seen with lancedb 0.40): no one claims a table younger than this.
SETTLE_SECONDS = 1.0
DEFAULT_TTL = 30.0  # seconds a dead writer keeps the store before another may take it
DEFAULT_WAIT = 900.0  # seconds a writer waits for a live one before giving up

Waiting = Callable[[str, str, float], None]  # owner, host, seconds until it expires


def new_owner() -> str:
    """An owner id for a writer that is not part of a named run."""
    return f"writer-{uuid.uuid4().hex[:12]}"


def _say_waiting() -> Waiting:
    """Tell whoever listens (the CLI, the run log) that this writer waits, and for whom —
    at the first wait and then every 10 seconds."""
    last = [0.0]

    def on_wait(owner: str, host: str, seconds: float) -> None:
        if time.monotonic() - last[0] >= 10:
            last[0] = time.monotonic()
            progress.say(f"waiting for the store: {owner} on {shown(host)} is writing it (its "
                         f"lease runs {seconds:.0f} s more unless renewed)")

    return on_wait


def machine() -> str:
    """Where a pid means this process table: the hostname, then (on Linux) the kernel's boot
    and this process's pid namespace, as ``host [boot/namespace]``. Two workers with one
    hostname but their own pid namespaces — or one host rebooted — are two machines here."""
    host = socket.gethostname()
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:[").rstrip("]")
    except OSError:  # not Linux: the hostname is all there is
        return host
    return f"{host} [{boot}/{namespace}]"


def shown(host: str) -> str:
    """A lease's host as a person reads it: the hostname, without the boot and namespace."""
    return host.split(" [", 1)[0]


def alive(pid: int) -> bool:
    """Whether a process of this host with ``pid`` is running (one of another user's is)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WriterLease:
    def __init__(self, store: "Store", owner: str, *, ttl: float = DEFAULT_TTL,
                 wait: float = DEFAULT_WAIT, poll: float = 0.5,
                 on_wait: Waiting | None = None):
        self.store, self.owner, self.ttl = store, owner, ttl
        self.wait, self.poll, self.on_wait = wait, poll, on_wait or _say_waiting()
        self.host = machine()
        self._keeper: subprocess.Popen[bytes] | None = None
        self._handle: Table | None = None

    # -- the row ------------------------------------------------------------------------------
    def _table(self) -> "Table":
        """The lease table, created with its one row by whichever writer comes first."""
        if self._handle is not None:
            return self._handle
        import pyarrow as pa  # here, not at the top: the keeper process starts without it

        schema = pa.schema([("key", pa.string()), ("owner", pa.string()), ("host", pa.string()),
                            ("pid", pa.int64()), ("expires", pa.float64()),
                            ("created", pa.float64())])
        row = pa.Table.from_pylist([{"key": LEASE_KEY, "owner": "", "host": "", "pid": 0,
                                     "expires": 0.0, "created": time.time()}],
                                   schema=schema)
        for _ in range(100):
            try:
                self._handle = self.store.db.open_table(LEASE_TABLE)
                return self._handle
            except ValueError:  # not there yet
                pass
            try:
                self._handle = self.store.db.create_table(LEASE_TABLE, row)
                return self._handle
            except (ValueError, OSError, RuntimeError):  # another writer is creating it
                time.sleep(0.05)
        raise StoreBusy(f"cannot open or create the writer lease of {self.store.uri}")

    def holder(self, repair: bool = False) -> dict:
        """The lease row as the store holds it now: owner, host, pid, expires. ``repair``: a
        lease table whose files are damaged is made anew (no holder can renew or pass its
        fence through it either, so nobody's lease is taken)."""
        try:
            rows = self._row()
        except (RuntimeError, OSError, ValueError) as exc:
            if not repair or as_damage(exc) is None:
                raise
            progress.say(f"the writer lease of {self.store.uri} cannot be read "
                         f"({first_line(exc)}); making it anew")
            self.store.db.drop_table(LEASE_TABLE)
            self._handle = None
            rows = self._row()
        if len(rows) != 1:
            raise StoreBusy(f"the store's writer lease has {len(rows)} rows — delete the "
                            f"{LEASE_TABLE} table of {self.store.uri} while no index runs")
        return rows[0]

    def _row(self) -> list[dict]:
        return self._table().search().where(f"key = '{LEASE_KEY}'") \
            .select(["owner", "host", "pid", "expires", "created"]).to_arrow().to_pylist()

    def _claim(self, *, renew: bool, dead: dict | None = None, pid: int | None = None) -> bool:
        """One conditional update; True when the row names this owner afterwards. ``pid``:
        the holder's process (the keeper renews for its parent)."""
        from semcode.store.tables import retry_conflicts, sql_str

        now = time.time()
        me = sql_str(self.owner)
        free = "" if renew else f" OR owner = '' OR expires < {now!r}"
        if dead is not None:  # a holder on this machine whose process is gone
            free += f" OR (owner = {sql_str(dead['owner'])} AND pid = {int(dead['pid'])})"
        table = self._table()
        try:
            retry_conflicts(lambda: table.update(
                where=f"key = '{LEASE_KEY}' AND (owner = {me}{free})",
                values={"owner": self.owner, "host": self.host, "pid": pid or os.getpid(),
                        "expires": now + self.ttl}), attempts=50)
        except RuntimeError as exc:  # a creator's overwrite landed first: look again
            if "Incompatible transaction" not in str(exc):
                raise
            return False
        return bool(self.holder()["owner"] == self.owner)

    def _settle(self) -> None:
        """Wait until the lease table is older than SETTLE_SECONDS (see above)."""
        while (age := time.time() - self.holder(repair=True)["created"]) < SETTLE_SECONDS:
            time.sleep(SETTLE_SECONDS - age + 0.05)

    # -- acquire, renew, release ----------------------------------------------------------------
    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        dead = None
        self._settle()
        while not self._claim(renew=False, dead=dead):
            held = self.holder()
            owner, host, expires = held["owner"], held["host"], held["expires"]
            dead = held if host == self.host and held["pid"] and not alive(held["pid"]) \
                else None
            if dead is not None:
                continue
            if time.monotonic() > deadline:
                raise StoreBusy(
                    f"{self.store.uri} is being written by {owner} on {shown(host)} (lease until "
                    f"{time.strftime('%H:%M:%S', time.localtime(expires))}); waited "
                    f"{self.wait:.0f} s — try again when that run ends (a dead writer's lease "
                    f"expires by itself within {self.ttl:.0f} s)")
            self.on_wait(owner, host, max(0.0, expires - time.time()))
            time.sleep(self.poll)
        self._keeper = subprocess.Popen(
            [sys.executable, "-m", "semcode.store.lease", self.store.uri, self.owner,
             repr(self.ttl), str(os.getpid())], stdin=subprocess.PIPE)

    @property
    def margin(self) -> float:
        """Lifetime a commit needs left on the lease: a third of it (the keeper renews every
        third, so a live holder always has more)."""
        return self.ttl / 3

    def check(self) -> None:
        """The fence before a commit: raise ``LeaseLost`` unless the lease row names this
        writer and runs at least ``margin`` seconds more. A holder's helpers (a parse worker's
        own store handle) fence with a ``WriterLease`` of the same owner and ttl."""
        try:
            held = self.holder()
        except (RuntimeError, OSError, ValueError) as exc:
            if as_damage(exc) is None:
                raise
            raise LeaseLost(f"{self.store.uri}: the writer lease cannot be read "
                            f"({first_line(exc)}), so {self.owner} cannot prove it still "
                            "holds it — its write was refused; run `semcode index` again") \
                from exc
        if held["owner"] != self.owner:
            now = (f"passed from {self.owner} to {held['owner']} on {shown(held['host'])}"
                   if held["owner"] else
                   f"of {self.owner} lapsed, and another writer may have written since")
            raise LeaseLost(f"{self.store.uri}: the writer lease {now} while {self.owner} was "
                            "writing (it stalled past the lease) — its write was refused; run "
                            "`semcode index` again to converge")
        left = held["expires"] - time.time()
        if left < self.margin and self._claim(renew=True, pid=int(held["pid"])):
            return  # late, not lost: the row still named this writer, so nobody else wrote
        if left < self.margin:
            raise LeaseLost(
                f"{self.store.uri}: the writer lease of {self.owner} runs {left:.1f} s more, "
                f"less than a commit may take ({self.margin:.0f} s), because it was not "
                "renewed — its write was refused; run `semcode index` again to converge")

    def release(self) -> None:
        from semcode.store.tables import retry_conflicts, sql_str

        keeper, self._keeper = self._keeper, None
        if keeper is not None:  # end of its input: it stops renewing and exits by itself (a
            keeper.stdin.close()  # type: ignore[union-attr]  # renewal after the release
        table = self._table()  # below finds the row no longer its own and changes nothing)
        retry_conflicts(lambda: table.update(
            where=f"key = '{LEASE_KEY}' AND owner = {sql_str(self.owner)}",
            values={"owner": "", "host": "", "pid": 0, "expires": 0.0}), attempts=50)


def keep(uri: str, owner: str, ttl: float, parent: int) -> int:
    """The keeper: renew ``owner``'s lease every third of ``ttl`` for process ``parent``
    until its input ends (released, or the parent died). Exit 3 when the lease was lost."""
    source = sys.stdin.buffer.fileno()
    # LanceDB (~1.3 s of CPU) is imported after a short wait, not at the first renewal: a
    # hold shorter than the wait (most are) never pays for it, and on a starved machine,
    # where the import alone can take most of a lease's lifetime, a long hold's first
    # renewal does not wait for it.
    readable, _, _ = select.select([source], [], [], min(ttl / 6, 2.0))
    if readable and not os.read(source, 4096):
        return 0
    from semcode.store.tables import Store

    lease = WriterLease(Store(uri), owner, ttl=ttl)
    while os.getppid() == parent:
        readable, _, _ = select.select([source], [], [], ttl / 3)
        if readable and not os.read(source, 4096):
            return 0
        if readable:
            continue
        try:
            if not lease._claim(renew=True, pid=parent):
                return 3  # another writer took it: the holder's fence refuses its commits
        except Exception:  # a failed renewal (the network): try again at the next beat
            continue
    return 0


def prepare(store: "Store") -> None:
    """Make the store's lease table now if it has none. No writer claims a table younger than
    SETTLE_SECONDS, so a first run that makes it before its slow start (importing Dagster,
    opening its instance) finds it settled when its first step claims it: a second sooner."""
    WriterLease(store, new_owner())._table()


@contextmanager
def writer_lease(store: "Store", owner: str | None = None,
                 **options: object) -> Iterator[WriterLease]:
    """Hold the store's writer lease for the body; every commit through ``store`` meanwhile
    checks it first. Not re-entrant: the holder's helpers write under it without taking it
    again (fencing their own handles with a ``WriterLease`` of the same owner and ttl)."""
    lease = WriterLease(store, owner or new_owner(), **options)  # type: ignore[arg-type]
    lease.acquire()
    outer, store.fence = store.fence, lease.check
    try:
        yield lease
    finally:
        store.fence = outer
        lease.release()


if __name__ == "__main__":
    sys.exit(keep(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
