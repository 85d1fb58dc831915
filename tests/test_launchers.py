"""Launchers (is_launcher): no tenant request runs a program inside the flux-restful server.

flux-restful 1.1.0 runs a launcher (``is_launcher=true``, ``command=nextflow|snakemake``) with
``subprocess.Popen`` inside its own process, found on the PATH the request supplies: as root on a
multi-user server. flux-hub's client and notebook API refuse it before sending anything, and
wherever flux-hub ships flux-restful (examples/kubernetes, the per-person MiniClusters) it sets
``KNOWN_LAUNCHERS=[]``. The last test shows on the stock server (its own command, no flux-hub
code in front of it), multi-user and as root, that this setting is what stops bob's own
``nextflow``: with it his raw request runs nothing; without it (the control) his program runs
as root.
"""

import asyncio
import os
import socket
import sys
import time

import pytest
from lanes import REAL_FLUX
from local_support import api, as_account

from flux_hub.local import LocalCluster
from flux_hub.notebook import connect
from flux_hub.restful import AsyncFluxRestfulClient, FluxRestfulClient, InvalidRequest

REFUSED = "launchers (nextflow, snakemake) are turned off"
PRIVILEGES = "with the server's privileges"
BOB_PATH = "/home/bob/bin:/usr/bin:/bin"


@pytest.fixture
def listener():
    """A port that records whether anyone connected: the client must not."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.settimeout(0.3)
        yield sock


def nobody_connected(sock):
    try:
        sock.accept()[0].close()
    except TimeoutError:
        return True
    return False


def refusal(excinfo):
    message = str(excinfo.value)
    assert REFUSED in message and PRIVILEGES in message, message
    assert any(REFUSED in reason for reason in excinfo.value.reasons), excinfo.value.reasons
    return message


@pytest.mark.parametrize("value", [True, "true", 1])
def test_the_client_refuses_a_launcher_before_sending_anything(listener, value):
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client = FluxRestfulClient(url, "bob", "password", "secret")
    with pytest.raises(InvalidRequest) as excinfo:
        client.submit("nextflow run main.nf", is_launcher=value, envars={"PATH": BOB_PATH})
    refusal(excinfo)
    assert nobody_connected(listener)


def test_the_async_client_refuses_a_launcher_before_sending_anything(listener):
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    async def submit():
        client = AsyncFluxRestfulClient(url, "bob", "password", "secret")
        await client.submit("snakemake --cores 1", is_launcher=True)

    with pytest.raises(InvalidRequest) as excinfo:
        asyncio.run(submit())
    refusal(excinfo)
    assert nobody_connected(listener)


def test_the_notebook_api_refuses_a_launcher_and_records_no_job(listener, tmp_path):
    names = tmp_path / "names.json"
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with connect(url, "bob", "password", "secret", names_path=names) as flux:
        with pytest.raises(InvalidRequest) as excinfo:
            flux.submit("nextflow run main.nf", name="pipeline", is_launcher=True)
    refusal(excinfo)
    assert nobody_connected(listener)
    assert list(tmp_path.iterdir()) == []  # no name kept, nothing in the panel's journal


# -- the stock flux-restful server, with and without KNOWN_LAUNCHERS=[] ---------------------


# flux_hub.local.simserve as it was before it served the guard: the simulated bindings, then
# flux-restful's own command line
STOCK_SIMSERVE = """
import sys
from flux_hub.local.simserve import SIMFLUX
sys.path.insert(0, SIMFLUX)
import flux._broker
from flux_restful.cli import main
from flux_hub.local.cluster import node_prefix
flux._broker.serve_instance(int(sys.argv[1]), int(sys.argv[2]), node_prefix())
main(sys.argv[3:])
"""


class StockServer(LocalCluster):
    """The local cluster with flux-restful's own ``serve`` command where it puts its server
    (flux-hub's guard, which refuses is_launcher by itself): the setting alone is tested."""

    def _launch(self):
        if self.mode == "flux":  # real Flux runs _server_command as it is
            return super()._launch()
        argv = [sys.executable, "-c", STOCK_SIMSERVE, str(self.nodes), str(self.cores_per_node)]
        argv += self._server_command()[3:]
        return self._popen(argv, f"starting flux-restful's own server at {self.url} (simulated)")

    def _server_command(self):
        return [
            sys.executable,
            "-m",
            "flux_restful.cli",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]


@pytest.fixture(scope="module", params=["launchers off", "control"])
def stock(request, tmp_path_factory):
    """A multi-user local cluster as root running flux-restful's own server command, with
    KNOWN_LAUNCHERS=[] in its environment ("launchers off") or without it ("control")."""
    assert os.geteuid() == 0, "bob must be a Unix account of his own: this test needs root"
    off = request.param == "launchers off"
    cluster = StockServer(
        tmp_path_factory.mktemp("launchers"),
        users=["alice", "bob"],
        nodes=1,
        cores_per_node=2,
        multi_user=True,
        # The control names flux-restful's default (its core/config.py) rather than leaving
        # it out, so it stays the control whatever the local cluster sets by itself
        server_env={"KNOWN_LAUNCHERS": "[]" if off else '["nextflow", "snakemake"]'},
    )
    cluster.start(timeout=120)
    yield cluster, off
    cluster.stop()


def server_process(cluster):
    """The running server's argv and environment, as the kernel has them."""
    words = {}
    for name in ("cmdline", "environ"):
        with open(f"/proc/{cluster.server_pid}/{name}", "rb") as f:
            words[name] = [word.decode() for word in f.read().split(b"\0") if word]
    return words["cmdline"], dict(word.partition("=")[::2] for word in words["environ"])


def as_bob(command):
    return as_account("bob", command, check=True, timeout=30)


def test_a_stock_flux_restful_with_no_known_launchers_runs_none_of_bobs(stock, tmp_path):
    cluster, launchers_off = stock
    # The server is flux-restful's own `serve` (over the simulation: the same code, run by
    # flux_hub.local.simserve with the simulated bindings), with no guard in front of it
    argv, environ = server_process(cluster)
    if REAL_FLUX:
        assert argv[1:4] == ["-m", "flux_restful.cli", "serve"], argv
    else:
        assert argv[1:3] == ["-c", STOCK_SIMSERVE] and argv[5] == "serve", argv
    assert environ["KNOWN_LAUNCHERS"] == ("[]" if launchers_off else '["nextflow", "snakemake"]')
    # bob's own `nextflow`, first on the PATH he will send: it leaves a marker holding the uid
    # it ran as, in a folder only root may write to (so only the server could write there)
    as_bob(
        'mkdir -p "$HOME/bin" && printf "#!/bin/sh\\nid -u > \\"\\$MARKER\\"\\n" '
        '> "$HOME/bin/nextflow" && chmod 755 "$HOME/bin/nextflow"'
    )
    markers = tmp_path / "markers"
    markers.mkdir(mode=0o700)
    assert os.stat(tmp_path).st_uid == 0 and os.stat(markers).st_mode & 0o777 == 0o700
    try:
        # Through flux-hub's client: refused before it is sent, whatever the server does
        client = FluxRestfulClient(cluster.url, "bob", cluster.passwords["bob"], cluster.secret_key)
        with pytest.raises(InvalidRequest) as excinfo:
            client.submit(
                "nextflow",
                is_launcher=True,
                envars={"PATH": BOB_PATH, "MARKER": str(markers / "client")},
            )
        refusal(excinfo)
        client.close()
        # Raw HTTP with bob's token: what any tenant can send without flux-hub's code
        answer = api(cluster, "bob").post(
            "/v1/jobs/submit",
            params={"command": "nextflow", "is_launcher": "true"},
            json={"PATH": BOB_PATH, "MARKER": str(markers / "raw")},
        )
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + (3 if launchers_off else 30)
        while not (markers / "raw").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if launchers_off:
            assert answer.json() == {"Message": "nextflow is not a known launcher. ", "id": "MANY"}
            assert not (markers / "raw").exists()
        else:
            # The control: the same request, without the setting, runs bob's program as root
            time.sleep(0.2)  # its `id -u` has written
            assert (markers / "raw").read_text() == "0\n"
        assert not (markers / "client").exists()
    finally:
        as_bob('rm -f "$HOME/bin/nextflow"; rmdir "$HOME/bin" 2>/dev/null; true')


def test_the_local_legacy_server_runs_no_launcher(legacy_cluster, tmp_path):
    """The legacy flux-restful-api (0.2) has the same launcher (app/library/launcher.py: the
    server's whole environment, its secret key included, plus the request's PATH) and the same
    setting; the local cluster starts it with KNOWN_LAUNCHERS=[]. Its answer names nextflow,
    which its default list allows: only the setting gives that answer."""
    folder = tmp_path / "bin"
    folder.mkdir()
    marker = tmp_path / "marker"
    (folder / "nextflow").write_text(f'#!/bin/sh\nid -u > "{marker}"\n')
    (folder / "nextflow").chmod(0o755)
    answer = api(legacy_cluster, "alice").post(
        "/v1/jobs/submit",
        params={"command": "nextflow", "is_launcher": "true"},
        json={"PATH": f"{folder}:/usr/bin:/bin"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["Message"] == "nextflow is not a known launcher. ", answer.text
    time.sleep(2)
    assert not marker.exists()
