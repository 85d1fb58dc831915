"""scripts/build-flux-core: where it finds flux-core, what it says when it cannot, and reuse."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lanes import FLUX, REAL_FLUX

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "build-flux-core"


def run(env=None, script=SCRIPT, unset=(), **kwargs):
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    environ.update(env or {})
    return subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, env=environ, timeout=600, **kwargs
    )


def path_without_flux():
    return os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "flux").exists()
    )


def test_a_tarball_that_is_not_flux_core_fails_clearly_and_leaves_nothing(tmp_path):
    cache = tmp_path / "cache"
    tarball = tmp_path / "flux-core-9.9.9.tar.gz"
    tarball.write_bytes(b"this is not a gzipped tar")
    proc = run({"FLUX_CORE_TARBALL": str(tarball), "FLUX_HUB_CACHE": str(cache)})
    assert proc.returncode == 1
    assert f"build-flux-core: cannot unpack {tarball} (not a gzipped tar?)" in proc.stderr
    assert "Traceback" not in proc.stderr
    # nothing half-made: no prefix, no build folder; a later run starts clean
    assert sorted(p.name for p in (cache / "flux-core").iterdir()) == [".lock"]


def test_a_tarball_without_a_version_in_its_name_is_refused(tmp_path):
    tarball = tmp_path / "source.tar.gz"
    tarball.write_bytes(b"")
    proc = run({"FLUX_CORE_TARBALL": str(tarball), "FLUX_HUB_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 1
    assert "build-flux-core: cannot read a version from source.tar.gz" in proc.stderr


def test_a_missing_tarball_is_named(tmp_path):
    missing = tmp_path / "flux-core-0.88.0.tar.gz"
    proc = run({"FLUX_CORE_TARBALL": str(missing), "FLUX_HUB_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 1
    assert f"build-flux-core: cannot read FLUX_CORE_TARBALL={missing}" in proc.stderr


def test_a_missing_flux_security_tarball_is_named(tmp_path):
    missing = tmp_path / "flux-security-0.15.0.tar.gz"
    core = tmp_path / "flux-core-0.88.0.tar.gz"
    core.write_bytes(b"")
    proc = run(
        {
            "FLUX_CORE_TARBALL": str(core),
            "FLUX_SECURITY_TARBALL": str(missing),
            "FLUX_HUB_CACHE": str(tmp_path / "cache"),
        }
    )
    assert proc.returncode == 1
    assert f"build-flux-core: cannot read FLUX_SECURITY_TARBALL={missing}" in proc.stderr


def test_a_flux_security_tarball_that_is_not_one_fails_clearly_and_leaves_nothing(tmp_path):
    # A stand-in flux-core source folder: the script looks no further before flux-security
    source = tmp_path / "src" / "flux-core-0.88.0"
    source.mkdir(parents=True)
    (source / "autogen.sh").write_text("#!/bin/sh\nexit 1\n")
    (source / "autogen.sh").chmod(0o755)
    core = tmp_path / "flux-core-0.88.0.tar.gz"
    subprocess.run(["tar", "-czf", str(core), "-C", str(source.parent), source.name], check=True)
    cache = tmp_path / "cache"
    bad = tmp_path / "flux-security-0.15.0.tar.gz"
    bad.write_bytes(b"this is not a gzipped tar")
    proc = run(
        {
            "FLUX_CORE_TARBALL": str(core),
            "FLUX_SECURITY_TARBALL": str(bad),
            "FLUX_HUB_CACHE": str(cache),
            "FLUX_HUB_VENV": str(tmp_path / "no-venv"),
        },
        unset=("FLUX_VERSION",),
    )
    assert proc.returncode == 1
    assert f"build-flux-core: cannot unpack {bad} (not a gzipped tar?)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in (cache / "flux-core").iterdir()) == [".lock"]


def test_no_flux_core_anywhere_exits_3_and_says_so(tmp_path):
    # A checkout with no ../shared beside it, no tarball named and no flux on PATH
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "scripts", checkout / "scripts")
    proc = run(
        {"PATH": path_without_flux(), "FLUX_HUB_CACHE": str(tmp_path / "cache")},
        script=checkout / "scripts" / "build-flux-core",
        unset=("FLUX_CORE_TARBALL",),
    )
    assert proc.returncode == 3
    assert "no flux-core here" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.skipif(not REAL_FLUX, reason="needs the real lane's flux-core build")
def test_a_second_run_reuses_the_build(tmp_path):
    """The real lane's flux-core came from this script: asking again reuses it."""
    if "/flux-hub/flux-core/" not in FLUX and not os.environ.get("FLUX_HUB_CACHE"):
        pytest.skip(f"this lane's flux-core is an installed one ({FLUX}), not a build")
    env = {"PATH": path_without_flux(), "FLUX_HUB_VENV": str(tmp_path / "no-venv")}
    proc = run(env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "build-flux-core: reusing flux-core" in proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(Path(FLUX).parent)
