"""pods/exec over the websocket channel protocol, with the real kubernetes client."""

import pytest

from flux_hub.kubernetes import ConfigurationError, ExecFailed, Forbidden, PodNotFound, PodNotReady
from flux_hub.kubernetes.api import load_api_client
from flux_hub.kubernetes.execution import PodExec

from .conftest import NAMESPACE
from .fakeapi import V4, FakeKubeAPI
from .miniclusters import add_minicluster

READ_ONE_LINE = ["sh", "-c", 'read line; echo "got $line"; echo to-stderr >&2; pwd']


def _pod_exec(cluster, timeout=30):
    return PodExec(load_api_client(cluster.kubeconfig), NAMESPACE, timeout=timeout)


def test_stdin_stdout_stderr_and_working_directory(make_minicluster):
    cluster = make_minicluster("flux-sample")
    broker = cluster.pods[0].name

    result = _pod_exec(cluster).run(broker, "flux-restful", READ_ONE_LINE, stdin="hello\n")

    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["got hello", str(cluster.restful_dir)]
    assert result.stderr == "to-stderr\n"
    assert cluster.api.exec_calls == [(NAMESPACE, broker, "flux-restful", READ_ONE_LINE)]


def test_stdin_is_closed_on_v5_so_cat_ends(make_minicluster):
    cluster = make_minicluster("flux-sample")

    result = _pod_exec(cluster).run(cluster.pods[0].name, "flux", ["cat"], stdin="a\nb\n")

    assert result.stdout == "a\nb\n"


def test_a_v4_only_server_works_for_commands_that_read_one_line(tmp_path):
    with FakeKubeAPI(tmp_path / "kube", protocols=(V4,)) as api:
        pods = add_minicluster(api, NAMESPACE, "old", restful_dir=tmp_path)
        pod_exec = PodExec(
            load_api_client(api.kubeconfig(tmp_path / "kc", NAMESPACE)), NAMESPACE, timeout=30
        )

        result = pod_exec.run(pods[0].name, "flux-restful", READ_ONE_LINE, stdin="v4\n")

    assert result.stdout.splitlines()[0] == "got v4"


def test_nonzero_exit_carries_stderr(make_minicluster):
    cluster = make_minicluster("flux-sample")
    argv = ["sh", "-c", "echo 'disk full' >&2; exit 7"]

    with pytest.raises(ExecFailed) as error:
        _pod_exec(cluster).run(cluster.pods[0].name, "flux", argv)

    assert error.value.exit_code == 7
    assert error.value.stderr == "disk full\n"
    assert "exit code 7" in str(error.value) and "disk full" in str(error.value)
    unchecked = _pod_exec(cluster).run(cluster.pods[0].name, "flux", argv, check=False)
    assert unchecked.exit_code == 7


def test_missing_executable_is_a_clear_failure(make_minicluster):
    cluster = make_minicluster("flux-sample")

    with pytest.raises(ExecFailed, match='Cannot run no-such-tool .*"no-such-tool"'):
        _pod_exec(cluster).run(cluster.pods[0].name, "flux", ["no-such-tool"])


def test_exec_forbidden_by_rbac(make_minicluster, kube):
    cluster = make_minicluster("flux-sample")
    kube.forbid("create", "pods/exec")

    with pytest.raises(Forbidden) as error:
        _pod_exec(cluster).run(cluster.pods[0].name, "flux", ["true"])

    message = str(error.value)
    assert 'cannot create resource "pods/exec"' in message
    assert "needs 'create' on 'pods/exec'" in message


def test_missing_pod_and_container(make_minicluster):
    cluster = make_minicluster("flux-sample")
    pod_exec = _pod_exec(cluster)

    with pytest.raises(PodNotFound, match='pods "flux-sample-9-xxxxx" not found'):
        pod_exec.run("flux-sample-9-xxxxx", "flux", ["true"])
    with pytest.raises(ConfigurationError, match="container nope is not valid"):
        pod_exec.run(cluster.pods[0].name, "nope", ["true"])


def test_pod_not_running(make_minicluster):
    cluster = make_minicluster("flux-sample", phase="Pending")

    with pytest.raises(PodNotReady, match="container not found"):
        _pod_exec(cluster).run(cluster.pods[0].name, "flux", ["true"])


def test_a_command_that_hangs_is_stopped(make_minicluster):
    cluster = make_minicluster("flux-sample")

    with pytest.raises(ExecFailed, match="did not finish within 2 s"):
        _pod_exec(cluster, timeout=2).run(cluster.pods[0].name, "flux", ["sleep", "30"])
