"""flux_hub.paths: the lab's paths and the cluster's, and the one-line refusals people read."""

import os

import pytest

from flux_hub.paths import (
    ClusterPath,
    NoSharedStorage,
    PathMap,
    PathNotShared,
    render,
    within,
)

KUBE = "/home/jovyan=/shared/home/alice;/data=/shared/data"
NO_STORAGE = (
    "the Flux cluster cannot see your files: no shared storage is configured "
    "(see examples/kubernetes/README.md, 'Your files on the cluster')"
)


def test_unset_is_one_filesystem():
    paths = PathMap.from_env({})
    assert paths.same_filesystem and paths.shared
    assert paths.format() is None
    assert (paths.home, paths.lab_home) == (None, None)
    assert paths.to_cluster("/tmp/anything") == "/tmp/anything"
    assert paths.to_lab("/tmp/anything") == "/tmp/anything"
    assert paths == PathMap.parse(None)


def test_empty_shares_nothing():
    paths = PathMap.from_env({"FLUX_HUB_PATHS": ""})
    assert not paths.same_filesystem and not paths.shared
    assert paths.format() == ""
    assert paths.home is None
    with pytest.raises(NoSharedStorage) as refused:
        paths.to_cluster("/home/jovyan/analysis")
    assert str(refused.value) == NO_STORAGE
    assert isinstance(refused.value, PathNotShared) and isinstance(refused.value, ValueError)
    assert paths.to_lab("/shared/home/alice") is None
    # A folder only the cluster has, said so
    assert paths.to_cluster(ClusterPath("/scratch/run1")) == "/scratch/run1"


def test_pairs_parse_and_format():
    paths = PathMap.parse(" /home/jovyan/ = /shared/home/alice ;; /data=/shared//data/.;")
    assert paths.pairs == [("/home/jovyan", "/shared/home/alice"), ("/data", "/shared/data")]
    assert paths.format() == KUBE
    assert PathMap.parse(paths.format()) == paths
    assert not paths.same_filesystem and paths.shared
    assert (paths.lab_home, paths.home) == ("/home/jovyan", "/shared/home/alice")


@pytest.mark.parametrize(
    "text,message",
    [
        ("/home/jovyan", "FLUX_HUB_PATHS: '/home/jovyan' is not LAB=CLUSTER (two absolute paths)"),
        ("home=/shared", "FLUX_HUB_PATHS: a lab folder must be an absolute path, not 'home'"),
        ("/home=", "FLUX_HUB_PATHS: a cluster folder must be an absolute path, not ''"),
    ],
)
def test_a_value_that_is_not_a_map_is_refused_in_one_line(text, message):
    with pytest.raises(ValueError) as refused:
        PathMap.parse(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "lab,cluster",
    [
        ("/home/jovyan", "/shared/home/alice"),
        ("/home/jovyan/", "/shared/home/alice"),
        ("/home/jovyan/analysis", "/shared/home/alice/analysis"),
        ("/home/jovyan/a/../b/./c", "/shared/home/alice/b/c"),
        ("/data/set 1/x", "/shared/data/set 1/x"),
        # already the cluster's path: unchanged
        ("/shared/home/alice/results", "/shared/home/alice/results"),
        ("/shared/data", "/shared/data"),
    ],
)
def test_to_cluster(lab, cluster):
    assert PathMap.parse(KUBE).to_cluster(lab) == cluster


@pytest.mark.parametrize(
    "path", ["/tmp/x", "/home/jovyan2", "/home", "/home/jovyan/../bob", "/", "/shared/home/bob"]
)
def test_a_path_outside_names_the_folders_the_cluster_sees(path):
    with pytest.raises(PathNotShared) as refused:
        PathMap.parse(KUBE).to_cluster(path)
    assert not isinstance(refused.value, NoSharedStorage)
    assert str(refused.value) == (
        f"{path} is not in a folder the Flux cluster can see: only /home/jovyan "
        "(there: /shared/home/alice), /data (there: /shared/data)"
    )


def test_the_longest_prefix_wins_both_ways():
    paths = PathMap.parse("/home/jovyan=/shared/home/alice;/home/jovyan/big=/scratch/alice")
    assert paths.to_cluster("/home/jovyan/big/run") == "/scratch/alice/run"
    assert paths.to_cluster("/home/jovyan/bigger") == "/shared/home/alice/bigger"
    assert paths.to_lab("/scratch/alice/run") == "/home/jovyan/big/run"
    assert paths.to_lab("/shared/home/alice/x") == "/home/jovyan/x"


@pytest.mark.parametrize(
    "cluster,lab",
    [
        ("/shared/home/alice", "/home/jovyan"),
        ("/shared/home/alice/analysis/", "/home/jovyan/analysis"),
        ("/shared/data/x", "/data/x"),
        ("/shared/home/bob", None),
        ("/srv/flux-restful", None),
        ("", None),
        (None, None),
        ("relative", None),
    ],
)
def test_to_lab(cluster, lab):
    assert PathMap.parse(KUBE).to_lab(cluster) == lab


def test_the_error_for_the_example_of_the_contract():
    with pytest.raises(PathNotShared) as refused:
        PathMap.parse("/home/jovyan=/shared/home/alice").to_cluster("/tmp/x")
    assert str(refused.value) == (
        "/tmp/x is not in a folder the Flux cluster can see: only /home/jovyan "
        "(there: /shared/home/alice)"
    )


def test_workdir_defaults_to_the_current_directory(tmp_path):
    assert PathMap.parse(None).workdir(cwd=tmp_path) == str(tmp_path)
    assert PathMap.parse(None).workdir("sub", cwd="/home/alice") == "/home/alice/sub"
    assert PathMap.parse(None).workdir() == os.getcwd()
    paths = PathMap.parse(KUBE)
    assert paths.workdir(cwd="/home/jovyan/analysis") == "/shared/home/alice/analysis"
    assert paths.workdir("run1", cwd="/home/jovyan/analysis") == "/shared/home/alice/analysis/run1"
    assert paths.workdir("/data", cwd="/tmp") == "/shared/data"
    assert paths.workdir(ClusterPath("/scratch"), cwd="/tmp") == "/scratch"
    # Not a path at all: left for the submission's own checks
    assert paths.workdir("", cwd="/tmp") == ""
    assert paths.workdir(5, cwd="/tmp") == 5


def test_a_current_directory_outside_says_to_name_one():
    with pytest.raises(PathNotShared) as refused:
        PathMap.parse(KUBE).workdir(cwd="/tmp/x", option="--cwd")
    assert str(refused.value) == (
        "the current directory /tmp/x is not in a folder the Flux cluster can see: only "
        "/home/jovyan (there: /shared/home/alice), /data (there: /shared/data); give the job's "
        "working directory with --cwd"
    )
    # Named explicitly, a folder outside is the plain refusal
    with pytest.raises(PathNotShared, match=r"^/tmp/x is not in a folder"):
        PathMap.parse(KUBE).workdir("x", cwd="/tmp", option="--cwd")


def test_with_nothing_shared_the_default_is_no_workdir_and_a_named_one_is_refused():
    paths = PathMap.parse("")
    assert paths.workdir(cwd="/home/jovyan") is None
    with pytest.raises(NoSharedStorage) as refused:
        paths.workdir("analysis", cwd="/home/jovyan")
    assert str(refused.value) == NO_STORAGE


def test_render_fills_in_the_person():
    text = render(
        {"/home/jovyan": "/shared/home/{account}", "/home/{username}/data": "/shared/{username}"},
        account="alice",
        username="alice.smith",
    )
    assert text == "/home/jovyan=/shared/home/alice;/home/alice.smith/data=/shared/alice.smith"
    assert PathMap.parse(text).home == "/shared/home/alice"
    assert render({}, account="alice", username="alice") == ""


@pytest.mark.parametrize(
    "templates,message",
    [
        (
            {"/home/jovyan": "/shared/{user}"},
            "FLUX_HUB_PATHS: '/shared/{user}' gives '/shared/{user}'; only {account} and "
            "{username} are filled in, and a folder cannot hold ';' or '='",
        ),
        (
            {"/home/jovyan": "/shared/{username}"},
            "FLUX_HUB_PATHS: '/shared/{username}' gives '/shared/a=b'; only {account} and "
            "{username} are filled in, and a folder cannot hold ';' or '='",
        ),
        (
            {"jovyan": "/shared/{account}"},
            "FLUX_HUB_PATHS: a lab folder must be an absolute path, not 'jovyan'",
        ),
    ],
)
def test_render_refuses_what_cannot_be_a_folder(templates, message):
    with pytest.raises(ValueError) as refused:
        render(templates, account="alice", username="a=b")
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "path,folder,rest",
    [
        ("/home/jovyan/a/b", "/home/jovyan", "a/b"),
        ("/home/jovyan", "/home/jovyan/", ""),
        ("/home/jovyan2", "/home/jovyan", None),
        ("/anything", "/", "anything"),
        (None, "/home", None),
        ("/home/x", None, None),
    ],
)
def test_within(path, folder, rest):
    assert within(path, folder) == rest
