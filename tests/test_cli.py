"""The `semcode` command as a person or a script uses it: real processes, real model."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ALL_PASSED, make_repo

pytestmark = [pytest.mark.model, pytest.mark.slow]


def semcode(*args, input=None, env=None):
    return subprocess.run([sys.executable, "-m", "semcode", *args], input=input,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=600)


@pytest.fixture(scope="module")
def indexed_repo(tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("cli") / "repo")
    proc = semcode("index", str(repo), "--json")
    assert proc.returncode == 0, proc.stderr
    return repo, proc


def test_index_json_prints_exactly_one_summary_object(indexed_repo):
    _, proc = indexed_repo
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert set(summary) == {"commit", "files", "chunks", "vectors", "checks", "repairs",
                            "check_failures", "seconds", "up_to_date", "worktree", "error"}
    assert summary["worktree"]["state"] == "clean"  # the store inside the checkout is no change
    assert summary["check_failures"] == {}
    assert summary["error"] is None
    assert set(summary["files"]) == {"seen", "parsed", "unchanged", "skipped", "removed",
                                     "line_windows"}
    assert set(summary["chunks"]) == {"total", "added", "removed"}
    assert set(summary["vectors"]) == {"total", "embedded", "embedded_ahead", "reused",
                                       "deleted", "backend"}
    assert summary["vectors"]["backend"].startswith("openvino")  # auto on a CPU
    assert summary["up_to_date"] is False and summary["seconds"]["embed"] > 0
    assert summary["checks"] == ALL_PASSED
    assert summary["chunks"]["total"] == summary["vectors"]["total"] > 0
    assert summary["files"]["seen"] == summary["files"]["parsed"] + summary["files"]["skipped"]


def test_index_builds_the_default_store_inside_the_repo(indexed_repo):
    repo, _ = indexed_repo
    assert (repo / ".semcode" / "lancedb" / "chunks.lance").is_dir()


def test_search_stdin_answers_one_json_line_per_query_in_order(indexed_repo):
    repo, _ = indexed_repo
    queries = ["reverse a string in place", "send a welcome email", "fetch a user profile"]
    proc = semcode("search", "--repo", str(repo), "--stdin", "--json", "-k", "3",
                   input="\n".join(queries) + "\n")
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [a["query"] for a in answers] == queries
    for answer in answers:
        assert 0 < len(answer["hits"]) <= 3
        for hit in answer["hits"]:
            assert {"path", "start_line", "end_line", "symbol", "language", "score",
                    "text"} <= set(hit)
    assert answers[0]["hits"][0]["symbol"] == "reverse_string"


def test_search_filters_by_language_and_path(indexed_repo):
    repo, _ = indexed_repo
    proc = semcode("search", "--repo", str(repo), "--json", "--lang", "go", "cache")
    hits = json.loads(proc.stdout)["hits"]
    assert hits and {h["language"] for h in hits} == {"go"}
    proc = semcode("search", "--repo", str(repo), "--json", "--path", "web/*", "user")
    hits = json.loads(proc.stdout)["hits"]
    assert hits and all(h["path"].startswith("web/") for h in hits)


def test_status_json_reports_counts_and_freshness(indexed_repo):
    repo, _ = indexed_repo
    proc = semcode("status", "--repo", str(repo), "--json")
    status = json.loads(proc.stdout)
    assert status["chunks"] == status["vectors"] > 0
    assert status["freshness"]["fresh"] is True and status["freshness"]["behind"] == 0
    assert status["files"]["skip_reasons"]["binary"] == 1
    assert status["checks"] == ALL_PASSED


@pytest.mark.parametrize(("flag", "env"), [("--no-index", {}), ("", {"SEMCODE_AUTO_INDEX": "0"})])
def test_search_without_an_index_says_what_to_do_when_told_not_to_build(tmp_path, flag, env):
    proc = semcode("search", "--repo", str(tmp_path), "anything", *filter(None, [flag]),
                   env=env)
    assert proc.returncode == 1
    assert "semcode index" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / ".semcode").exists()


def test_a_first_search_builds_the_index_then_answers(tmp_path):
    repo = make_repo(tmp_path / "repo")
    proc = semcode("search", "send a welcome email", "--repo", str(repo), "--json", "-k", "1")
    assert proc.returncode == 0, proc.stderr
    assert "building it first" in proc.stderr  # and its progress, on stderr
    hit = json.loads(proc.stdout)["hits"][0]
    assert (hit["symbol"], hit["source"]) == ("Mailer.sendWelcomeEmail", "index")
    status = json.loads(semcode("status", "--repo", str(repo), "--json").stdout)
    assert status["checks"] == ALL_PASSED and status["up_to_date"]


def test_a_first_search_that_would_build_long_answers_by_keyword(tmp_path, monkeypatch,
                                                                 capsys):
    from semcode.interfaces import cli, first_use

    repo = make_repo(tmp_path / "repo")
    monkeypatch.setattr(first_use, "AUTO_INDEX_SECONDS", 0)  # any estimate is too long
    assert cli.main(["search", "send a welcome email", "--repo", str(repo), "--json"]) == 0
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert answer["hits"][0]["symbol"] == "Mailer.sendWelcomeEmail"
    assert {(h["source"], h["matched_by"]) for h in answer["hits"]} == {("worktree", "keyword")}
    assert "run `semcode index`" in answer["warnings"][0]
    assert not (repo / ".semcode" / "lancedb").exists()  # nothing built unasked


def test_index_of_a_missing_path_is_a_clear_error(tmp_path):
    proc = semcode("index", str(tmp_path / "nope"), "--json")
    assert proc.returncode == 2
    assert "not found" in proc.stderr and proc.stdout == ""


def test_an_unknown_language_is_a_clear_error_not_an_empty_answer(indexed_repo):
    repo, _ = indexed_repo
    proc = semcode("search", "--repo", str(repo), "--lang", "klingon", "user")
    assert proc.returncode == 1
    assert "unknown language klingon" in proc.stderr and "Traceback" not in proc.stderr


def test_stdin_survives_bad_bytes_and_bad_queries(indexed_repo):
    """Probe regression: non-UTF-8 bytes ended the --stdin loop with a traceback."""
    repo, _ = indexed_repo
    lines = [b"reverse a string", b"caf\xe9 \xff\xfe", b"x" * 100_000, b"a\x00b",
             b"send a welcome email"]
    proc = subprocess.run([sys.executable, "-m", "semcode", "search", "--repo", str(repo),
                           "--stdin", "--json", "-k", "2"], input=b"\n".join(lines) + b"\n",
                          capture_output=True, timeout=600)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr[-2000:]
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == len(lines)
    assert "characters" in answers[2]["error"]
    assert answers[-1]["hits"][0]["symbol"] == "Mailer.sendWelcomeEmail"


def test_index_with_nothing_to_do_starts_no_dagster_and_loads_no_model(indexed_repo):
    repo, _ = indexed_repo
    probe = ("import sys; from semcode.interfaces.cli import main;"
             " main(['index', sys.argv[1], '--json']);"
             "print(sorted(m for m in ('dagster', 'torch', 'sentence_transformers', 'openvino')"
             " if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", probe, str(repo)], capture_output=True,
                          text=True, timeout=600)
    summary, loaded = proc.stdout.strip().splitlines()
    assert json.loads(summary)["up_to_date"] is True
    assert json.loads(summary)["checks"] == ALL_PASSED
    assert loaded == "[]"
    full = json.loads(semcode("index", str(repo), "--json", "--full").stdout)
    assert full["up_to_date"] is False and full["vectors"]["embedded"] == 0


def test_similar_past_any_line_is_a_clear_error(indexed_repo):
    repo, _ = indexed_repo
    proc = semcode("similar", "src/shop/users.py:2147483648", "--repo", str(repo))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "line 2147483648" in proc.stderr


def test_every_path_search_prints_is_taken_back(indexed_repo):
    repo, _ = indexed_repo
    printed = semcode("search", "send a welcome email", "--repo", str(repo), "-k", "1").stdout
    where = printed.split()[0]  # /…/repo/native/mailer.php:5: piped, one line a hit
    assert where.startswith(str(repo.resolve())) and where.split(":")[1].isdigit()
    relative = where.removeprefix(f"{repo.resolve()}/").rstrip(":")
    folder, name = relative.split("/", 1)
    for given, cwd in [(where, repo), (relative, repo), (f"./{relative}", repo),
                       (f"./{name}", repo / folder), (name, repo / folder)]:
        proc = subprocess.run([sys.executable, "-m", "semcode", "similar", given, "--json",
                               "-k", "2"], cwd=cwd, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (given, proc.stderr)
        assert len(json.loads(proc.stdout)["hits"]) == 2, given
    for globs, inside in [([f"{repo}/src/**"], True), (["./src/**"], True),
                          (["**", f"!{repo}/src/**"], False), (["**", "!./src/**"], False)]:
        proc = subprocess.run([sys.executable, "-m", "semcode", "search", "user", "--json",
                               *(f"--path={glob}" for glob in globs)], cwd=repo,
                              capture_output=True, text=True, timeout=600)
        paths = {h["path"] for h in json.loads(proc.stdout)["hits"]}
        assert paths and all(p.startswith("src/") == inside for p in paths), (globs, paths)
    outside = semcode("similar", "/etc/passwd:3", "--repo", str(repo))
    assert outside.returncode == 1 and "outside the repository" in outside.stderr


@pytest.mark.parametrize("variable, value, words", [
    ("SEMCODE_SHARDS", "10000", "at most 1,024"),
    ("SEMCODE_BATCH_SIZE", "99999999", "at most 4,096"),
    ("SEMCODE_PARSE_TIMEOUT", "0", "at least 1"),
    ("SEMCODE_DEVICE", "tpu", "is not a device"),
    ("SEMCODE_MODEL", "./no-such-model", "no such directory"),
])
def test_a_setting_out_of_bounds_names_the_variable_and_why(indexed_repo, variable, value,
                                                            words):
    repo, _ = indexed_repo
    for args in (("index", str(repo), "--full"), ("search", "user", "--repo", str(repo))):
        proc = semcode(*args, env={variable: value, "HF_HUB_OFFLINE": "1"})
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, (args, proc.stderr)
        if args[0] == "index" or variable != "SEMCODE_MODEL":
            said = " ".join((proc.stderr + proc.stdout).split())  # a run's failure: stdout
            assert f"{variable}=" in said and value in said and words in said, (args, said)


def test_a_model_that_is_not_here_is_named_by_the_variable(indexed_repo, tmp_path):
    repo, _ = indexed_repo
    proc = semcode("index", str(repo), "--store", str(tmp_path / "store"),
                   env={"SEMCODE_MODEL": "no-such-model", "HF_HUB_OFFLINE": "1"})
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "SEMCODE_MODEL='no-such-model'" in " ".join((proc.stderr + proc.stdout).split())


def test_the_index_folder_ignores_itself(indexed_repo):
    repo, _ = indexed_repo
    assert (repo / ".semcode" / ".gitignore").read_text().splitlines()[-1] == "*"
    untracked = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=all"], capture_output=True, text=True)
    assert ".semcode" not in untracked.stdout


def test_piped_hits_are_one_whole_line_each(indexed_repo):
    repo, _ = indexed_repo
    proc = semcode("search", "--repo", str(repo), "-k", "3", "validate an email address")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and len(lines) == 3
    assert all(line.startswith(f"{repo}/") for line in lines)
    assert "\x1b[" not in proc.stdout  # no colour codes
    path, line, rest = lines[0].split(":", 2)
    assert (repo / path.removeprefix(f"{repo}/")).is_file() and line.isdigit()
    assert "validate_email_address" in rest


def test_a_reader_that_leaves_ends_the_command_quietly(indexed_repo):
    repo, _ = indexed_repo
    proc = subprocess.Popen([sys.executable, "-m", "semcode", "search", "--repo", str(repo),
                             "--json", "user"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    proc.stdout.close()  # as `| head` does once it has read enough
    _, err = proc.communicate(timeout=600)
    assert proc.returncode in (0, 141) and "Traceback" not in err and "Error" not in err


def test_an_unknown_kind_is_an_error_that_lists_the_kinds(indexed_repo):
    repo, _ = indexed_repo
    proc = semcode("search", "--repo", str(repo), "--kind", "functon", "user")
    assert proc.returncode == 1
    assert "unknown kind functon" in proc.stderr and "function" in proc.stderr


@pytest.mark.parametrize("argv,said", [
    (["serch", "user"], "did you mean 'search'?"),
    (["staus"], "did you mean 'status'?"),
    (["frobnicate"], "(commands: index, search, similar, def, refs, callers, callees, status, "
                     "mcp, ui, mcp-config, agents)"),
])
def test_a_mistyped_command_gets_the_closest_one(argv, said, capsys):
    from semcode.interfaces.cli import main

    assert main(argv) == 2
    assert said in capsys.readouterr().err


def test_version_and_repo_flag_work_like_everywhere_else(capsys):
    from semcode.interfaces.cli import build_parser, main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("semcode ")
    assert build_parser().parse_args(["index", "--repo", "/src/app"]).repo == "/src/app"
