"""A store that cannot be reached — an endpoint that is down, a bucket that is missing,
credentials that are refused, a folder that cannot be read — is one line naming the store,
the endpoint and the cause, exit 1, from every command; and the same sentence as the MCP
tool's error. Real LanceDB against a real (moto) S3 server, real processes."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import make_repo
from tests.s3_server import BUCKET, S3Server, free_port

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return make_repo(tmp_path_factory.mktemp("reach") / "repo")


@pytest.fixture(scope="module")
def servers():
    """A plain server (a bucket that exists) and one that refuses the test keys."""
    plain, guarded = S3Server(), S3Server(auth_after=1)
    yield plain, guarded
    plain.stop()
    guarded.stop()


def _case(servers, case: str) -> tuple[dict[str, str], str, str]:
    """(environment, store URI, what the sentence must say) for each way to be out of reach."""
    plain, guarded = servers
    if case == "endpoint down":
        endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        return {**plain.env, "AWS_ENDPOINT_URL": endpoint}, f"s3://{BUCKET}/index", \
            f"cannot be reached at {endpoint}: connection refused"
    if case == "bucket missing":
        return plain.env, "s3://no-such-bucket/index", \
            f"cannot be reached at {plain.endpoint}: the bucket does not exist"
    return guarded.env, f"s3://{BUCKET}/index", \
        f"cannot be reached at {guarded.endpoint}: access denied"


CASES = ["endpoint down", "bucket missing", "credentials refused"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", [["search", "add an item"], ["status"], ["index"]])
def test_an_unreachable_store_is_one_line_naming_store_endpoint_and_cause(repo, servers, case,
                                                                          command):
    env, uri, said = _case(servers, case)
    where = [str(repo)] if command[0] == "index" else ["--repo", str(repo)]
    proc = subprocess.run([sys.executable, "-m", "semcode", *command, *where, "--store",
                           uri], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **env})
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "is inside the repository" not in line]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"semcode: the store at {uri} ") and said in lines[0]


@pytest.mark.model
@pytest.mark.parametrize("case", CASES)
def test_the_mcp_tools_say_the_same_sentence(repo, servers, case):
    env, uri, said = _case(servers, case)
    server = StdioServerParameters(command=sys.executable,
                                   args=["-m", "semcode", "mcp", "--repo", str(repo),
                                         "--store", uri],
                                   env={**os.environ, "HF_HUB_OFFLINE": "1", **env})

    async def calls():
        async with Client(server) as client:
            return [await client.call_tool(name, arguments) for name, arguments in
                    (("search_code", {"query": "add an item"}), ("index_status", {}))]

    for answer in anyio.run(calls):
        assert answer.is_error
        assert f"the store at {uri} {said}" in answer.content[0].text


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to run a command as another user")
def test_a_local_store_folder_that_cannot_be_read_is_one_line(repo):
    """As another user (root reads every folder): a store folder only root may open, in a
    folder that user may reach (pytest's own temp folder is root's alone)."""
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if subprocess.run([*nobody, sys.executable, "-c", "import semcode"],
                      capture_output=True).returncode != 0:
        pytest.skip("this Python or checkout cannot be run by another user here")
    home = Path(tempfile.mkdtemp(prefix="semcode-unreadable-"))
    try:
        home.chmod(0o755)
        store = home / "store"
        store.mkdir(mode=0o700)
        (store / "chunks.lance").mkdir()
        shared = home / "repo"
        shutil.copytree(repo, shared)
        subprocess.run(["chmod", "-R", "a+rX", str(shared)], check=True)
        proc = subprocess.run(
            [*nobody, sys.executable, "-m", "semcode", "status", "--repo", str(shared),
             "--store", str(store)],
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "HOME": str(home), "HF_HUB_OFFLINE": "1",
                 "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory",
                 "GIT_CONFIG_VALUE_0": "*"})
    finally:
        shutil.rmtree(home)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == \
        f"semcode: the store at {store} cannot be read: permission denied — check who may " \
        "read the folder"
