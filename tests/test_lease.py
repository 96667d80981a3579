"""The writer lease: one writer at a time on a store, across processes (and, with the same
code path, machines: see test_s3.py); a writer that waits says for whom; a dead holder's
lease does not block the store for long."""

import json
import multiprocessing as mp
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semcode.errors import StoreBusy
from semcode.store.lease import LEASE_TABLE, WriterLease, writer_lease
from semcode.store.tables import Store

pytestmark = pytest.mark.slow


def _contend(uri: str, rounds: int, barrier, spans) -> None:
    store = Store(uri)
    barrier.wait(timeout=600)  # margins for a machine at ten times its cores' load
    for i in range(rounds):
        with writer_lease(store, f"w{os.getpid()}-{i}", poll=0.02):
            start = time.time()
            time.sleep(0.02)
            spans.append((start, time.time()))


def contend(uri: str, writers: int = 4, rounds: int = 8) -> list[tuple[float, float]]:
    ctx = mp.get_context("spawn")
    barrier, manager = ctx.Barrier(writers), ctx.Manager()
    spans = manager.list()
    procs = [ctx.Process(target=_contend, args=(uri, rounds, barrier, spans))
             for _ in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=1200)
    assert [p.exitcode for p in procs] == [0] * writers
    return sorted(spans)


def overlaps(spans: list[tuple[float, float]]) -> int:
    return sum(1 for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1])


def test_writers_racing_for_the_lease_never_overlap(tmp_path):
    spans = contend(str(tmp_path / "store"))
    assert len(spans) == 32 and overlaps(spans) == 0


def test_a_waiting_writer_says_who_holds_the_store_and_gives_up_clearly(tmp_path):
    store = Store(str(tmp_path / "store"))
    heard = []
    with writer_lease(store, "first-run"):
        waiter = WriterLease(store, "second-run", wait=0.6, poll=0.1,
                             on_wait=lambda owner, host, left: heard.append(owner))
        with pytest.raises(StoreBusy, match="first-run"):
            waiter.acquire()
    assert heard and set(heard) == {"first-run"}
    with writer_lease(store, "second-run", wait=1):  # free again once released
        assert WriterLease(store, "x").holder()["owner"] == "second-run"


def _hold_and_die(uri: str) -> None:
    WriterLease(Store(uri), "killed-run", ttl=600).acquire()
    os._exit(9)  # no release: what SIGKILL leaves behind


def test_a_dead_holder_on_this_machine_does_not_block_the_next_writer(tmp_path):
    uri = str(tmp_path / "store")
    proc = mp.get_context("spawn").Process(target=_hold_and_die, args=(uri,))
    proc.start()
    proc.join(timeout=60)
    assert proc.exitcode == 9
    assert WriterLease(Store(uri), "x").holder()["owner"] == "killed-run"
    with writer_lease(Store(uri), "next-run", wait=5):  # a 600 s lease, taken at once
        pass


def test_a_lease_from_another_machine_blocks_until_it_expires(tmp_path):
    store = Store(str(tmp_path / "store"))
    lease = WriterLease(store, "x")
    lease._table()
    table = store.db.open_table(LEASE_TABLE)
    table.update(values={"owner": "remote-run", "host": "elsewhere", "pid": 1,
                         "expires": time.time() + 4})
    with pytest.raises(StoreBusy, match="remote-run on elsewhere"):
        WriterLease(store, "local", wait=0.3, poll=0.1).acquire()
    with writer_lease(store, "local", wait=10, poll=0.2):  # after expiry it is free
        assert lease.holder()["owner"] == "local"


def _machine_in_its_own_pid_namespace() -> str:
    """What ``machine()`` says in a process with a pid namespace of its own (a container, a
    worker started with ``unshare``): the same hostname, another machine."""
    try:
        proc = subprocess.run(["unshare", "--pid", "--fork", sys.executable, "-c",
                               "from semcode.store.lease import machine; print(machine())"],
                              capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.skip("no unshare here")
    if proc.returncode != 0:
        pytest.skip(f"no pid namespace for this user: {proc.stderr.strip()[-200:]}")
    return proc.stdout.strip()


def test_a_dead_pid_is_judged_only_in_its_own_pid_namespace(tmp_path):
    """Workers that share a hostname but not their processes: a holder's pid that is free
    here says nothing about the holder, so its lease is waited for, not taken."""
    from semcode.store.lease import machine, shown

    there = _machine_in_its_own_pid_namespace()
    assert there != machine() and shown(there) == shown(machine())
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid nobody holds here
    store = Store(str(tmp_path / "store"))
    WriterLease(store, "x")._table()
    table = store.db.open_table(LEASE_TABLE)
    table.update(values={"owner": "worker-2", "host": there, "pid": gone.pid,
                         "expires": time.time() + 600})
    with pytest.raises(StoreBusy, match=f"worker-2 on {shown(there)} "):
        WriterLease(store, "worker-1", wait=0.5, poll=0.1).acquire()
    table.update(values={"host": machine()})  # the same holder on this machine: dead, taken
    with writer_lease(store, "worker-1", wait=5):
        assert WriterLease(store, "y").holder()["owner"] == "worker-1"


def test_a_writer_that_waits_says_so_to_whoever_listens(tmp_path):
    from semcode import progress

    store, heard = Store(str(tmp_path / "store")), []
    with writer_lease(store, "busy-run"), progress.listen(heard.append):
        with pytest.raises(StoreBusy):
            WriterLease(store, "patient-run", wait=0.3, poll=0.1).acquire()
    assert heard and "busy-run" in heard[0] and "waiting for the store" in heard[0]


# A holder in a process of its own (its own session, so that a test can stop it whole):
# takes the lease, says so, then does what HOLDER_STEP says, then commits `meta.writer`.
HOLDER = """
import json, sys, time
from pathlib import Path
from semcode.errors import LeaseLost
from semcode.store.lease import writer_lease
from semcode.store.tables import Store

store, flag = Store(sys.argv[1]), Path(sys.argv[2])
with writer_lease(store, "first", ttl={ttl}) as lease:
    flag.with_suffix(".held").write_text(str(lease._keeper.pid))
    {step}
    try:
        store.set_meta(writer="first")
        outcome = "committed"
    except LeaseLost as exc:
        outcome = "refused: " + str(exc)
    released = time.time()
print(json.dumps({{"outcome": outcome, "released": released}}))
"""


def _holder(tmp_path, step: str, ttl: float = 3.0) -> tuple[subprocess.Popen, Path]:
    flag = tmp_path / "flag"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(step=step, ttl=ttl),
                             str(tmp_path / "store"), str(flag)], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not flag.with_suffix(".held").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.with_suffix(".held").exists(), "the holder never took the lease"
    return proc, flag


def test_a_holder_that_holds_the_interpreter_past_its_lease_keeps_it(tmp_path):
    """Renewal does not depend on the writer's threads: a C call that holds the interpreter
    for twice the lease's lifetime (a grammar, a native library) starves no keeper, so no
    second writer gets in before the first releases."""
    # libc's sleep through ctypes.PyDLL holds the interpreter without using the CPU (a spin
    # loop would take ten times longer on a loaded machine), 31 s: past the lease, so it
    # holds only if renewed. 20 s: the keeper imports LanceDB (~1.3 s of CPU) 2 s after it
    # starts, ~13 s at a load of ten times the cores, and renews before the lease runs out.
    proc, _ = _holder(tmp_path, "import ctypes; ctypes.PyDLL(None).sleep(31)  # the interpreter "
                      "held for 31 s", ttl=20.0)
    with writer_lease(Store(str(tmp_path / "store")), "second", ttl=20.0, wait=300, poll=0.1):
        taken = time.time()
    first = json.loads(proc.communicate(timeout=120)[0])
    assert first["outcome"] == "committed"
    assert taken >= first["released"]


def test_a_holder_that_stalled_past_its_lease_cannot_commit_after_another_took_it(tmp_path):
    """Fencing: the holder (and its keeper) stopped past the lease's lifetime — a paused
    machine — while a second writer takes the store and commits; resumed, the first writer's
    commit is refused. Exactly one of them wrote."""
    proc, flag = _holder(tmp_path, "\n    ".join([
        "while not flag.exists():", "    time.sleep(0.05)"]))
    store = Store(str(tmp_path / "store"))
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        with writer_lease(store, "second", ttl=3.0, wait=60, poll=0.1):
            store.set_meta(writer="second")
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    flag.write_text("go")
    first = json.loads(proc.communicate(timeout=120)[0])
    assert first["outcome"].startswith("refused") and "first" in first["outcome"]
    assert store.get_meta("writer") == "second"


def test_a_holder_whose_renewer_was_paused_past_its_lease_renews_late_and_commits(tmp_path):
    """A starved machine: the keeper does not run for longer than the lease's lifetime, and
    no other writer wants the store. The row still names the holder, so its commit renews
    the lease there and lands — slow is not lost (it failed at load 18 before)."""
    proc, flag = _holder(tmp_path, "\n    ".join([
        "while not flag.exists():", "    time.sleep(0.05)"]), ttl=3.0)
    keeper = int(flag.with_suffix(".held").read_text())
    os.kill(keeper, signal.SIGSTOP)
    try:
        time.sleep(4.5)  # past the whole lease: it has expired in the row
        flag.write_text("go")
        # the holder's line, read while the keeper (which shares its stdout) is still stopped
        assert select.select([proc.stdout], [], [], 120)[0], "the holder never answered"
        first = json.loads(proc.stdout.readline())
    finally:
        os.kill(keeper, signal.SIGCONT)
    proc.communicate(timeout=120)
    assert first["outcome"] == "committed", first
    store = Store(str(tmp_path / "store"))
    assert store.get_meta("writer") == "first"
    assert WriterLease(store, "x").holder()["owner"] == ""  # released after the late renewal


def test_a_late_renewal_keeps_the_holder_s_process_id(tmp_path):
    """A holder's helper (a parse worker) that renews late keeps the holder's pid in the row:
    the 'dead holder on this machine' shortcut must never see the helper's exit."""
    store = Store(str(tmp_path / "store"))
    with writer_lease(store, "first", ttl=3.0) as lease:
        lease._keeper.send_signal(signal.SIGSTOP)
        try:
            time.sleep(3.2)
            helper = WriterLease(Store(store.uri), "first", ttl=3.0)
            helper.check()  # renews late
            held = WriterLease(store, "x").holder()
            assert held["pid"] == os.getpid() and held["expires"] > time.time() + 2
        finally:
            lease._keeper.send_signal(signal.SIGCONT)


def test_a_stale_writer_s_parse_worker_cannot_commit_its_shard(tmp_path):
    """The same fence in a handle of the holder's helpers (a parse worker's own store)."""
    from semcode.errors import LeaseLost

    store = Store(str(tmp_path / "store"))
    with writer_lease(store, "first", ttl=3.0) as lease:
        worker = Store(store.uri)
        worker.fence = WriterLease(worker, "first", ttl=lease.ttl).check
        worker.set_meta(shard="first")  # while held: allowed
        lease._table().update(values={"owner": "second", "expires": time.time() + 60})
        with pytest.raises(LeaseLost, match="passed from first to second"):
            worker.set_meta(shard="stale")
        lease._table().update(values={"owner": "first"})
    assert store.get_meta("shard") == "first"


def test_a_lease_made_before_the_run_has_settled_when_its_first_writer_claims_it(
        tmp_path, monkeypatch):
    """`semcode index` makes a new store's lease table before importing Dagster: by the run's
    first claim it is older than SETTLE_SECONDS, so the claim does not wait for it to settle
    — as a claim that makes the table itself does."""
    from semcode.store import lease

    prepared, fresh = Store(str(tmp_path / "prepared")), Store(str(tmp_path / "fresh"))
    lease.prepare(prepared)
    assert prepared.has(LEASE_TABLE) and WriterLease(prepared, "x").holder()["owner"] == ""
    time.sleep(lease.SETTLE_SECONDS)  # the run's slow start
    slept: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(lease.time, "sleep", lambda s: slept.append(s) or real_sleep(s))
    with writer_lease(prepared, "first"):
        pass
    assert slept == []
    with writer_lease(fresh, "first"):
        pass
    assert slept and sum(slept) >= lease.SETTLE_SECONDS * 0.9
