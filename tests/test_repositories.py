"""One deployment, several repositories (SEMCODE_REPOS): a graph, a store and checks per
repository; search across all of them or scoped to some; status per repository and
overall."""

import json
import os
import sys
from pathlib import Path

import anyio
import dagster as dg
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from semcode.config import Settings
from semcode.errors import ConfigError
from semcode.interfaces.cli import main
from semcode.sharding import shard_keys
from semcode.store.tables import Store
from semcode_dagster.definitions import build_defs
from tests.conftest import ALL_PASSED, commit_all, git, make_repo
from tests.dagster_helpers import RANGE, FakeEmbedderResource

MEDIA = {
    "imaging/thumbs.py": '''
def resize_thumbnail(image, width, height):
    """Scale a picture down to a thumbnail of at most width x height, keeping its aspect."""
    ratio = min(width / image.width, height / image.height, 1.0)
    return image.resize((int(image.width * ratio), int(image.height * ratio)))


def rotate_upright(image, orientation):
    """Turn a photo the right way up from its EXIF orientation tag."""
    turns = {3: 180, 6: 270, 8: 90}
    return image.rotate(turns.get(orientation, 0), expand=True)
''',
    "imaging/palette.go": '''package imaging

// DominantColor returns the most frequent colour of the pixels.
func DominantColor(pixels []uint32) uint32 {
\tcounts := map[uint32]int{}
\tbest, most := uint32(0), 0
\tfor _, p := range pixels {
\t\tcounts[p]++
\t\tif counts[p] > most {
\t\t\tbest, most = p, counts[p]
\t\t}
\t}
\treturn best
}
''',
}


def make_media_repo(dest: Path) -> Path:
    for path, text in MEDIA.items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_text(text.lstrip())
    git(dest, "init", "-q", "-b", "main")
    git(dest, "config", "user.email", "test@example.com")
    git(dest, "config", "user.name", "test")
    commit_all(dest, "initial")
    return dest


def test_semcode_repos_names_each_repository_and_its_store():
    settings = Settings(repos="api=/src/api, web=/src/web", store="s3://bucket/idx/")
    assert settings.repositories == {"api": "/src/api", "web": "/src/web"}
    assert settings.for_repo("web").store_uri == "s3://bucket/idx/web"
    assert settings.for_repo("web").repositories == {}
    embedded = Settings(repos="api=/src/api").for_repo("api")
    assert embedded.store_uri == str(Path("/src/api").resolve() / ".semcode" / "lancedb")
    for bad, words in (("api", "not name=path"), ("9lives=/x", "not a repository name"),
                       ("a-b=/x", "not a repository name"), ("a=/x a=/y", "twice")):
        with pytest.raises(ConfigError, match=words):
            Settings(repos=bad)
    with pytest.raises(ConfigError, match="no repository named 'cli'"):
        settings.for_repo("cli")


def test_each_repository_gets_a_graph_of_its_own(tmp_path):
    defs = build_defs(Settings(repos=f"api={tmp_path} web={tmp_path}", shards=4))
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {f"{repo}/{asset}" for repo in ("api", "web")
                    for asset in ("repo_snapshot", "code_chunks", "code_symbols",
                                  "code_vectors")}
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert {("api/code_vectors", "vectors_match_chunks"),
            ("web/code_vectors", "vectors_match_chunks")} <= checks
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"api_index_job",
                                                                 "web_index_job"}
    assert {s.name for s in defs.sensors} == {"api_git_push_sensor", "web_git_push_sensor",
                                              "api_index_freshness_sensor",
                                              "web_index_freshness_sensor"}
    api, web = (defs.resolve_job_def(f"{n}_index_job") for n in ("api", "web"))
    assert api.tags["semcode/index"] == "api" and web.tags["semcode/index"] == "web"
    pools = {defs.resolve_assets_def(dg.AssetKey([n, "code_chunks"])).node_def.pool
             for n in ("api", "web")}
    assert pools == {"semcode_index_api", "semcode_index_web"}
    assert defs.resolve_assets_def(dg.AssetKey(["web", "code_chunks"])).partitions_def \
        .get_partition_keys() == shard_keys(4)


def test_the_k8s_step_configs_name_every_repositorys_steps(tmp_path):
    pytest.importorskip("dagster_k8s")
    from deploy.k8s.definitions import GPU_STEP, step_configs

    settings = Settings(repos=f"api={tmp_path} web={tmp_path}")
    configs = step_configs(settings)
    steps = {node.name for node in build_defs(settings).resolve_job_def("web_index_job")
             .graph.nodes}
    assert configs["web__code_vectors"] is GPU_STEP
    assert {"web__code_vectors", "web__code_chunks"} <= steps


@pytest.mark.slow
def test_two_repositories_index_in_one_deployment_with_checks_of_their_own(tmp_path):
    """Each repository's job writes only its own store, and its checks are its own: a
    change in one re-indexes that one and leaves the other's store as it was."""
    shop, media = make_repo(tmp_path / "shop"), make_media_repo(tmp_path / "media")
    stores = tmp_path / "stores"
    defs = build_defs(Settings(repos=f"shop={shop} media={media}", store=str(stores)),
                      embedder=FakeEmbedderResource())
    instance = dg.DagsterInstance.ephemeral()
    verdicts = {}
    for name in ("shop", "media"):
        result = defs.resolve_job_def(f"{name}_index_job").execute_in_process(
            instance=instance, tags=RANGE)
        assert result.success
        verdicts[name] = {(e.asset_key.to_user_string(), e.check_name): e.passed
                          for e in result.get_asset_check_evaluations()}
    for name in ("shop", "media"):
        assert all(verdicts[name].values())
        assert {key for key, _ in verdicts[name]} == {f"{name}/code_vectors"}
        assert Store(str(stores / name)).count("vectors") == \
            Store(str(stores / name)).count("chunks") > 0
    assert not (shop / ".semcode").exists() and not (media / ".semcode").exists()

    shop_version = Store(str(stores / "shop")).table("chunks").version
    (media / "imaging" / "crop.py").write_text("def crop_square(image):\n"
                                               "    side = min(image.size)\n"
                                               "    return image.crop((0, 0, side, side))\n")
    head = commit_all(media, "crop")
    for name in ("shop", "media"):  # each repository's sensor watches its own branch
        sensor = defs.resolve_sensor_def(f"{name}_git_push_sensor")
        assert sensor.job_name == f"{name}_index_job"
        with dg.build_sensor_context(resources=defs.resources) as context:
            result = sensor(context)
        assert bool(result.run_requests) == (name == "media"), name
    assert defs.resolve_job_def("media_index_job").execute_in_process(
        instance=instance, tags=RANGE).success
    assert Store(str(stores / "media")).last_vectors().commit == head
    assert Store(str(stores / "shop")).table("chunks").version == shop_version


async def _over_mcp():
    """The MCP server of the deployment (SEMCODE_REPOS and SEMCODE_STORE from the test)."""
    server = StdioServerParameters(command=sys.executable, args=["-m", "semcode", "mcp"],
                                   env=dict(os.environ))
    async with Client(server) as client:
        every = await client.call_tool("search_code", {"query": "cache", "limit": 30})
        scoped = await client.call_tool("search_code", {"query": "cache", "limit": 30,
                                                        "repository": ["media"]})
        similar = await client.call_tool("find_similar", {"path": "imaging/thumbs.py",
                                                          "repository": "media",
                                                          "across": True, "limit": 30})
        unknown = await client.call_tool("search_code", {"query": "cache",
                                                         "repository": ["nope"]})
        unnamed = await client.call_tool("find_similar", {"path": "imaging/thumbs.py"})
        assert unknown.is_error and "nope" in unknown.content[0].text
        assert unnamed.is_error and "name the repository" in unnamed.content[0].text
        return every, scoped, similar, await client.call_tool("index_status", {})


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


@pytest.mark.slow
@pytest.mark.model
def test_search_across_repositories_or_in_one_and_status_per_repository(tmp_path, monkeypatch,
                                                                         capsys):
    shop, media = make_repo(tmp_path / "shop"), make_media_repo(tmp_path / "media")
    stores = tmp_path / "stores"
    monkeypatch.setenv("SEMCODE_REPOS", f"shop={shop} media={media}")
    monkeypatch.setenv("SEMCODE_STORE", str(stores))

    assert main(["index", "--json"]) == 0
    reports = _lines(capsys)
    assert [r["repository"] for r in reports] == ["shop", "media"]
    assert all(r["checks"] == ALL_PASSED for r in reports)

    assert main(["search", "shrink a picture to a thumbnail", "--json", "-k", "20"]) == 0
    (answer,) = _lines(capsys)
    hits = answer["hits"]
    assert hits[0]["repository"] == "media" and hits[0]["symbol"] == "resize_thumbnail"
    assert {h["repository"] for h in hits} == {"shop", "media"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)

    assert main(["search", "least recently used cache", "--json", "--in", "shop"]) == 0
    (scoped,) = _lines(capsys)
    assert scoped["hits"] and {h["repository"] for h in scoped["hits"]} == {"shop"}
    assert main(["search", "shrink a picture to a thumbnail", "--json", "--in", "shop"]) == 0
    assert "media" not in {h["repository"] for h in _lines(capsys)[0]["hits"]}

    assert main(["search", "cache", "--json", "--repo", str(shop)]) == 0  # its path = --in
    assert {h["repository"] for h in _lines(capsys)[0]["hits"]} == {"shop"}
    assert main(["status", "--repo", str(tmp_path)]) == 1  # whose store would it be?
    assert "not one of SEMCODE_REPOS" in capsys.readouterr().err

    assert main(["similar", "imaging/thumbs.py:2", "--json", "--in", "media"]) == 0
    assert {h["repository"] for h in _lines(capsys)[0]["hits"]} == {"media"}
    assert main(["similar", "imaging/thumbs.py:2"]) == 2  # which repository's path?
    capsys.readouterr()
    assert main(["similar", "imaging/thumbs.py:2", "--json", "--in", "media", "--across",
                 "-k", "30"]) == 0
    across = _lines(capsys)[0]["hits"]
    assert {h["repository"] for h in across} == {"shop", "media"}
    assert not [h for h in across if h["repository"] == "media"
                and h["path"] == "imaging/thumbs.py" and h["start_line"] <= 2 <= h["end_line"]]
    assert [h["score"] for h in across] == sorted((h["score"] for h in across), reverse=True)

    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["healthy"] and set(status["repositories"]) == {"shop", "media"}

    every, scoped_hits, similar, overall = anyio.run(_over_mcp)
    assert {h["repository"] for h in every.structured_content["hits"]} == {"shop", "media"}
    assert {h["repository"] for h in scoped_hits.structured_content["hits"]} == {"media"}
    assert not similar.is_error and similar.structured_content["hits"]
    assert {h["repository"] for h in similar.structured_content["hits"]} == {"shop", "media"}
    assert overall.structured_content["healthy"] is True
    assert set(overall.structured_content["repositories"]) == {"shop", "media"}

    media_store = Store(str(stores / "media"))  # one repository's index loses vectors
    media_store.table("vectors").delete("true")
    assert main(["status", "--json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert not status["healthy"]
    assert status["repositories"]["shop"]["checks"] == ALL_PASSED
    assert status["repositories"]["media"]["checks"]["vectors_match_chunks"] is False
    assert main(["status", "--json", "--in", "shop"]) == 0
    capsys.readouterr()
    assert main(["search", "x", "--in", "nope"]) == 1
    assert "no repository named nope" in capsys.readouterr().err
