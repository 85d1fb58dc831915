"""MiniClusters in the fake API server, as the Flux Operator makes them."""

import uuid

from .containers import FakePod


def add_minicluster(
    api,
    namespace,
    name,
    *,
    version="v1alpha2",
    size=2,
    restful_dir=None,
    secret_name="flux-restful",
    multi_user=False,
    port=5000,
    job_index_label=False,
    phase="Running",
    spec_extra=None,
    legacy_bin=None,
):
    """A MiniCluster as the operator makes it: the custom object plus its indexed Job's pods.

    v1alpha2: containers "flux" (runFlux) and the "flux-restful" sidecar working in
    /srv/flux-restful, its keys from Secret `secret_name` (env valueFrom secretKeyRef).
    v1alpha1: one container named after the MiniCluster running Flux and the older server
    from /flux-restful-api, settings in spec.fluxRestful.
    `restful_dir` is the local directory behind the server's working directory on the broker.
    `job_index_label`: whether the operator has patched the job-index label in yet.
    """
    service = "flux-service"
    if version == "v1alpha2":
        env = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
            for key in ("FLUX_SECRET_KEY", "FLUX_TOKEN_SIGNING_KEY", "FLUX_USER", "FLUX_TOKEN")
        ] + [
            {"name": "FLUX_AUTH_BACKEND", "value": "shared-secret"},
            {"name": "FLUX_SERVER_MODE", "value": "multi-user" if multi_user else "single-user"},
        ]
        spec = {
            "size": size,
            "network": {"headlessName": service},
            "containers": [
                {"name": "flux", "image": "ghcr.io/converged-computing/flux-view", "runFlux": True},
                {
                    "name": "flux-restful",
                    "image": "ghcr.io/example/flux-restful:1.1.0",
                    "workingDir": "/srv/flux-restful",
                    "command": "flux-restful serve --port 5000",
                    "ports": [port],
                },
            ],
        }
    else:
        spec = {
            "size": size,
            "users": [{"name": "peenut"}] if multi_user else [],
            "fluxRestful": {
                "port": port,
                "secretKey": "legacy-secret-key",
                "username": "fluxuser",
                "token": "legacy-admin-token",
            },
            "containers": [{"image": "ghcr.io/flux-framework/flux-restful-api:latest"}],
        }
    spec.update(spec_extra or {})
    api.add_object(
        version,
        namespace,
        name,
        {
            "apiVersion": f"flux-framework.org/{version}",
            "kind": "MiniCluster",
            "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4())},
            "spec": spec,
        },
    )
    pods = []
    for index in range(size):
        pod_name = f"{name}-{index}-{uuid.uuid4().hex[:5]}"
        mounts = {}
        if version == "v1alpha2":
            if index == 0 and restful_dir:
                mounts = {"/srv/flux-restful": str(restful_dir)}
            containers = [
                api.add_container(namespace, pod_name, "flux", working_dir="/opt/work"),
                api.add_container(
                    namespace,
                    pod_name,
                    "flux-restful",
                    working_dir="/srv/flux-restful",
                    env=env,
                    ports=[port],
                    mounts=mounts,
                ),
            ]
        else:
            if index == 0 and restful_dir:
                mounts = {"/flux-restful-api": str(restful_dir)}
            containers = [
                api.add_container(
                    namespace,
                    pod_name,
                    name,
                    env=[{"name": "FLUX_REQUIRE_AUTH", "value": "true"}],
                    mounts=mounts,
                    # its python3: the legacy server's own environment, without flux_restful
                    bin_path=[str(legacy_bin)] if legacy_bin else [],
                )
            ]
        labels = {
            "job-name": name,
            "batch.kubernetes.io/job-name": name,
            "namespace": namespace,
        }
        if job_index_label:
            labels["job-index"] = str(index)
        pods.append(
            api.add_pod(
                FakePod(
                    namespace=namespace,
                    name=pod_name,
                    containers={c.name: c for c in containers},
                    labels=labels,
                    annotations={"batch.kubernetes.io/job-completion-index": str(index)},
                    hostname=f"{name}-{index}",
                    subdomain=service,
                    phase=phase,
                )
            )
        )
    return pods


def operator_minicluster(
    namespace, name, *, size=2, volumes=None, multi_user=False, environment=None
):
    """A v1alpha2 MiniCluster's body as an admin applies it (no status): the runFlux container
    and the flux-restful sidecar with its keys from Secret "flux-restful" and ``environment``
    added to its own, both mounting ``volumes`` (the operator's containers[].volumes: {name:
    {path, claimName}})."""
    keys = ("FLUX_SECRET_KEY", "FLUX_TOKEN_SIGNING_KEY", "FLUX_USER", "FLUX_TOKEN")
    flux = {"name": "flux", "image": "rockylinux:9", "runFlux": True}
    restful = {
        "name": "flux-restful",
        "image": "registry.example.org/flux-hub/flux-restful:0.1.0",
        "workingDir": "/srv/flux-restful",
        "ports": [5000],
        "environment": {
            "FLUX_AUTH_BACKEND": "shared-secret",
            "FLUX_SERVER_MODE": "multi-user" if multi_user else "single-user",
            **(environment or {}),
        },
        "secrets": {key: {"name": "flux-restful", "key": key} for key in keys},
    }
    if volumes:
        flux["volumes"] = dict(volumes)
        restful["volumes"] = dict(volumes)
    return {
        "apiVersion": "flux-framework.org/v1alpha2",
        "kind": "MiniCluster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "size": size,
            "interactive": True,
            "network": {"headlessName": "flux-service"},
            "containers": [flux, restful],
        },
    }
