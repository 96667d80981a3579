"""Progress a person can trust: done of total, rate and ETA, from every parser worker."""

from semcode import progress
from semcode.index.parse import index_shards
from semcode.index.pipeline import record_snapshot
from semcode.store.tables import Store
from tests.conftest import make_repo


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make_meter() -> tuple[progress.Meter, list[str], Clock]:
    lines: list[str] = []
    clock = Clock()
    return progress.Meter(lines.append, every=10, clock=clock), lines, clock


def test_meter_writes_rate_and_eta_at_most_every_interval():
    meter, lines, clock = make_meter()
    meter("parse", 0, 1000)
    clock.now += 5
    meter("parse", 100, 1000)  # too soon for a line
    meter("chunks", 4000, 0)
    clock.now += 5
    meter("parse", 200, 1000)
    assert lines == ["parse: 200/1,000 files, 20 files/s, 4,000 chunks (400/s), ETA 40s"]


def test_meter_says_once_when_a_stage_ends_and_how_long_it_took():
    meter, lines, clock = make_meter()
    meter("embed", 0, 300)
    clock.now += 125
    meter("embed", 300, 300)
    meter("embed", 300, 300)
    assert lines == ["embed: 300/300 chunks, 2 chunks/s, done in 2m 05s"]


def test_meter_starts_over_when_a_stage_runs_again():
    meter, lines, clock = make_meter()
    meter("index", 4, 4)
    clock.now += 60
    meter("index", 0, 4)
    clock.now += 2
    meter("index", 4, 4)
    assert lines[-1] == "index: 4/4 steps, 2 steps/s, done in 2s"


def test_durations_read_as_a_person_writes_them():
    assert [progress.duration(s) for s in (0.4, 43, 125, 3725)] == \
        ["0s", "43s", "2m 05s", "1h 02m"]


def test_parse_progress_counts_every_file_and_chunk_from_every_worker(tmp_path):
    repo, store = make_repo(tmp_path / "repo"), str(tmp_path / "store")
    snap = record_snapshot(Store(store), repo=str(repo), shards=4, max_file_bytes=1_000_000)
    seen: dict[str, tuple[int, int]] = {}
    with progress.watch(lambda stage, done, total: seen.__setitem__(stage, (done, total))):
        reports = index_shards(store_uri=store, repo=str(repo), shards=[0, 1, 2, 3],
                               model="all-MiniLM-L6-v2", is_git=True, workers=2)
    assert seen["parse"] == (snap.indexed, snap.indexed)
    assert seen["chunks"] == (sum(r.chunks_added for r in reports), 0)
    assert seen["chunks"][0] == Store(store).count("chunks") > 0


def test_meter_can_announce_each_stage_as_it_begins():
    lines: list[str] = []
    clock = Clock()
    meter = progress.Meter(lines.append, every=10, clock=clock, announce=True)
    meter("parse", 0, 400)
    clock.now += 2
    meter("parse", 100, 400)  # too soon for another line
    meter("embed", 0, 900)
    assert lines == ["parse: 0/400 files", "embed: 0/900 chunks"]


def test_a_piped_index_says_each_phase_in_plain_lines(tmp_path):
    """A CI log: `semcode index` with stderr not a terminal prints one plain line as each
    phase begins (and every ~10 s while it runs), no control characters, not silence."""
    import os
    import subprocess
    import sys

    repo = make_repo(tmp_path / "repo")
    proc = subprocess.run([sys.executable, "-m", "semcode", "index", str(repo), "--store",
                           str(tmp_path / "store")], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.startswith("semcode: ")]
    assert any(line.startswith("semcode: parse: 0/") for line in said), proc.stderr
    assert any(line.startswith("semcode: embed: ") for line in said), proc.stderr
    assert any("done in" in line for line in said), proc.stderr
    assert "\x1b" not in proc.stderr and "\r" not in proc.stderr
