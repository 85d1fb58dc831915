"""MiniClusterPerUserProvisioner: the lifecycle of each person's MiniCluster (create, adopt,
wait, rotate, remove). See the package's docstring."""

import asyncio
import base64
import re
import secrets
from concurrent.futures import ThreadPoolExecutor

from traitlets import Callable, Dict, Float, Int, TraitError, Unicode, default, validate

from flux_hub import paths
from flux_hub.accounts.provisioner import (
    ClusterAccount,
    OpResult,
    Provisioner,
    ProvisioningError,
)
from flux_hub.config_checks import refuse, setting
from flux_hub.names import is_dns_subdomain, is_label_value

from ..api import api_errors, load_api_client
from ..discovery import GROUP
from ..errors import KubernetesError
from .manifest import VERSION, minicluster_manifest
from .names import (
    account_of,
    cluster_name,
    cluster_ours,
    managed_selector,
    other_hub,
    owned_annotations,
    owned_labels,
    secret_ours,
)
from .password import set_db_password
from .settings import (
    ClusterSettings,
    ClusterState,
    SettingsStore,
    check_node_selector,
)
from .storage import (
    DEFAULT_CLAIM,
    QUANTITY,
    RWX,
    access_modes,
    claim_body,
    claim_ours,
    fill,
    lab_overrides,
    phase,
    template_fields,
)


class MiniClusterPerUserProvisioner(Provisioner):
    """Gives each hub user a MiniCluster of their own (created, adopted, removed by the hub)."""

    namespace = Unicode(
        "flux-operator",
        config=True,
        help="""Namespace where the users' MiniClusters and their Secrets are made.""",
    )

    kubeconfig = Unicode(
        "",
        config=True,
        help="""kubeconfig file. Empty: the pod's service account inside a cluster, else
        $KUBECONFIG or ~/.kube/config.""",
    )

    context = Unicode("", config=True, help="""kubeconfig context to use (empty: current).""")

    name_prefix = Unicode(
        "flux-",
        config=True,
        help="""A person's MiniCluster (and its Secret) is named prefix + account name; an
        account name Kubernetes does not allow in names (``a_b``) becomes a readable stem plus
        a hash (``a-b--...``), so distinct people never share a name. Two hubs sharing a
        namespace need different prefixes (and hub_id follows the prefix).""",
    )

    @validate("name_prefix")
    def _check_prefix(self, proposal):
        if not re.fullmatch(r"[a-z]([-a-z0-9]{0,14})", proposal.value):
            must = "be 1-15 lower-case letters, digits or dashes, starting with a letter"
            raise refuse(self, proposal, must)
        return proposal.value

    hub_id = Unicode(
        config=True,
        help="""This hub's name on what it makes (the label flux-hub/hub). A hub adopts,
        changes and removes only MiniClusters and Secrets carrying its own hub_id, so two
        hubs in one namespace leave each other's alone. Default: name_prefix without its
        trailing dashes ("flux"): hubs sharing a namespace already need different prefixes,
        so that one setting keeps both their names and their clusters apart. The hub and its
        accounts service read it from the same config file; changing it later makes the
        clusters made before someone else's to this hub.""",
    )

    @default("hub_id")
    def _hub_id_default(self):
        return self.name_prefix.rstrip("-")

    @validate("hub_id")
    def _check_hub_id(self, proposal):
        value = proposal.value
        if not (value and is_label_value(value)):
            raise refuse(
                self,
                proposal,
                "be a Kubernetes label value: 1-63 letters, digits, '-', '_' or '.', a letter "
                "or digit at both ends",
            )
        return value

    size = Int(
        1,
        min=1,
        config=True,
        help="""Pods (Flux nodes) of each person's MiniCluster; admins can set it per person.""",
    )

    image = Unicode(
        "ghcr.io/converged-computing/flux-view-rocky:tag-9",
        config=True,
        help="""Container image of the Flux container of each person's MiniCluster (where
        their jobs run); admins can set it per person. The flux-restful sidecar uses
        restful_image.""",
    )

    restful_image = Unicode(
        "rockylinux:9",
        config=True,
        help="""Image of the flux-restful sidecar: it installs flux-restful with the Python of
        the operator's flux view (/mnt/flux), as examples/kubernetes/minicluster.yaml does.""",
    )

    node_selector = Dict(
        value_trait=Unicode(),
        config=True,
        help="""nodeSelector for the pods of each person's MiniCluster (spec.pod.nodeSelector);
        admins can set it per person.""",
    )

    @validate("node_selector")
    def _check_node_selector(self, proposal):
        try:
            return check_node_selector(proposal.value)
        except ValueError as e:
            raise TraitError(f"{setting(self, proposal)}: {e}") from None

    port = Int(5000, min=1, max=65535, config=True, help="""flux-restful's port.""")

    service_name = Unicode(
        "flux-service",
        config=True,
        help="""The MiniCluster's headless service (spec.network.headlessName).""",
    )

    url_template = Unicode(
        "http://{name}-0.{service}.{namespace}.svc.cluster.local:{port}",
        config=True,
        help="""URL of a person's flux-restful as the hub and their server reach it; fields
        {name} (the MiniCluster), {account}, {service}, {namespace}, {port}.""",
    )

    cluster_url_for = Callable(
        None,
        allow_none=True,
        config=True,
        help="""A callable (name, namespace) -> URL replacing url_template (e.g. when the hub
        reaches the clusters through port-forwards).""",
    )

    ready_timeout = Float(
        900.0,
        min=1.0,
        config=True,
        help="""Seconds a spawn waits for the person's flux-restful to answer (a new cluster
        pulls images and installs flux-restful first).""",
    )

    poll_interval = Float(
        2.0, min=0.05, config=True, help="""Seconds between checks while a spawn waits."""
    )

    idle_timeout = Float(
        0.0,
        min=0.0,
        config=True,
        help="""Remove a person's MiniCluster once it has been idle (their server stopped and
        no job of theirs pending or running) for this many seconds; the accounts service
        checks at each reconcile run. 0: never. Their next spawn creates it again, with the
        same password.""",
    )

    settings_path = Unicode(
        config=True,
        help="""sqlite file for per-person cluster settings. Default: the accounts store.""",
    )

    @default("settings_path")
    def _settings_path_default(self):
        return getattr(self.parent, "store_path", "") or "flux-hub-accounts.sqlite"

    parallel = Int(8, min=1, config=True, help="""Kubernetes calls made at once in a batch.""")

    exec_timeout = Float(
        120.0,
        min=1.0,
        config=True,
        help="""Seconds a credential rotation's pods/exec into a person's cluster may take.""",
    )

    # -- a person's files (see .storage) ------------------------------------------------------
    storage_class = Unicode(
        "",
        config=True,
        help="""StorageClass of the claim flux-hub makes for each person's files: a class
        that provides ReadWriteMany volumes (NFS, CephFS, Filestore, EFS, ...), since the
        person's lab pod and their cluster's pods mount it at once, on any nodes. flux-hub
        makes the claim (storage_claim, storage_size) before the person's MiniCluster,
        labelled like it but not owned by it: it stays when the cluster is removed (idle,
        deactivated) and the next cluster mounts it again; it is deleted when the hub user is
        deleted. Empty (the default): flux-hub makes no claim; see storage_claim for using
        claims that exist, and with neither the cluster shares no files with the lab
        (FLUX_HUB_PATHS="").""",
    )

    storage_size = Unicode(
        "10Gi",
        config=True,
        help="""Size asked for each person's claim when flux-hub makes it (a Kubernetes
        quantity, e.g. 10Gi). Changing it later changes no claim that exists.""",
    )

    @validate("storage_class")
    def _check_storage_class(self, proposal):
        if proposal.value and not is_dns_subdomain(proposal.value):
            raise refuse(self, proposal, "be the name of a StorageClass (or empty)")
        return proposal.value

    @validate("storage_size")
    def _check_storage_size(self, proposal):
        if not QUANTITY.fullmatch(proposal.value):
            raise refuse(self, proposal, "be a Kubernetes quantity such as 10Gi")
        return proposal.value

    storage_claim = Unicode(
        "",
        config=True,
        help="""Name of each person's claim; fields {name} (their MiniCluster's name, always
        a valid name) and {account}. With storage_class set: the name of the claim flux-hub
        makes (empty: "{name}-files"); a claim of that name flux-hub did not make is never
        used. With storage_class empty: a claim someone else made per person (e.g. by an
        admin on the group's NFS home folders), which must exist and be ReadWriteMany before
        the person's cluster is made; flux-hub mounts it and never creates, changes or
        deletes it. Zero to JupyterHub's own home claims (claim-{username}) are made only
        when the person's server first starts, after their cluster: let flux-hub make the
        claim instead. Both empty (the default): no storage.""",
    )

    @validate("storage_claim")
    def _check_storage_claim(self, proposal):
        try:
            extra = template_fields(proposal.value) - {"name", "account"}
        except ValueError:
            extra = {"?"}
        if extra:
            raise refuse(self, proposal, "use only the fields {name} and {account}")
        return proposal.value

    storage_mount = Unicode(
        "/home/{account}",
        config=True,
        help="""Where each person's claim is mounted in every container of their MiniCluster
        (the cluster path of their files; field {account}). The Flux container starts there,
        so a job given no working directory runs in the person's folder.""",
    )

    lab_mount = Unicode(
        "/home/jovyan",
        config=True,
        help="""Where the same claim is mounted in the person's JupyterLab pod (fields
        {account}, {username}): the lab path of their files. flux-hub hands KubeSpawner the
        volume and its mount (spawner_overrides), and the person's server FLUX_HUB_PATHS
        ("<lab_mount>=<storage_mount>"), so a lab path is sent to the cluster as its cluster
        path. A claim is mounted only by pods in its own namespace: KubeSpawner must make the
        lab pods in this provisioner's namespace. Turn off Zero to JupyterHub's own home
        volume at the same path (singleuser.storage.type: none).""",
    )

    @validate("storage_mount", "lab_mount")
    def _check_mount(self, proposal):
        fields = {"account"} if proposal.trait.name == "storage_mount" else {"account", "username"}
        try:
            ok = template_fields(proposal.value) <= fields and proposal.value.startswith("/")
            if ok:
                paths.render({proposal.value: "/x"}, account="a", username="u")
        except ValueError:
            ok = False
        if not ok:
            named = " and ".join("{" + f + "}" for f in sorted(fields))
            raise refuse(self, proposal, f"be an absolute path with at most the fields {named}")
        return proposal.value

    @property
    def has_storage(self):
        """Whether each person's cluster mounts a claim of their files."""
        return bool(self.storage_class or self.storage_claim)

    @property
    def makes_claims(self):
        """Whether flux-hub makes (and deletes) the claims, rather than using existing ones."""
        return bool(self.storage_class)

    def claim_name(self, account):
        """The name of ``account``'s claim (None without storage). ProvisioningError when the
        template gives a name Kubernetes refuses."""
        if not self.has_storage:
            return None
        name = fill(
            self.storage_claim or DEFAULT_CLAIM, name=self.cluster_name(account), account=account
        )
        if not is_dns_subdomain(name):
            raise ProvisioningError(
                f"MiniClusterPerUserProvisioner.storage_claim gives {name!r} for {account}, "
                "which is not a valid claim name (lower case letters, digits, '-' and '.'); "
                "use {name}, which always is"
            )
        return name

    def cluster_mount(self, account):
        return fill(self.storage_mount, account=account)

    def lab_environment(self, account, hub_user):
        """FLUX_HUB_PATHS for the person's server: their lab folder and where their cluster
        sees it; "" (nothing shared) without storage."""
        if not self.has_storage:
            return {paths.ENV: ""}
        templates = {self.lab_mount: self.storage_mount}
        return {paths.ENV: paths.render(templates, account=account, username=hub_user)}

    def spawner_overrides(self, account, hub_user):
        """KubeSpawner's ``volumes`` and ``volume_mounts``: the person's claim at lab_mount."""
        if not self.has_storage:
            return {}
        lab = fill(self.lab_mount, account=account, username=hub_user)
        return lab_overrides(self.claim_name(account), lab)

    @default("superusers")
    def _superusers_default(self):
        return []  # each person is the superuser of their own cluster only

    waits_for_cluster = True
    _api = None
    _api_client = None

    # -- Kubernetes --------------------------------------------------------------------------
    @property
    def apis(self):
        if self._api is None:
            from kubernetes import client

            try:
                api_client = load_api_client(self.kubeconfig or None, self.context or None)
            except KubernetesError as e:
                raise ProvisioningError(str(e)) from None
            self._api = (client.CoreV1Api(api_client), client.CustomObjectsApi(api_client))
            self._api_client = api_client
        return self._api

    def cluster_name(self, account):
        return cluster_name(self.name_prefix, account)

    def describe(self):
        return f"per-user MiniClusters in namespace {self.namespace}"

    def _get_cluster(self, name):
        with api_errors(
            f"get MiniCluster {name} in namespace {self.namespace}", not_found=lambda m: None
        ):
            return self.apis[1].get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, "miniclusters", name
            )
        return None

    def _get_secret(self, name):
        with api_errors(
            f"get secret {name} in namespace {self.namespace}", not_found=lambda m: None
        ):
            return self.apis[0].read_namespaced_secret(name, self.namespace)
        return None

    @staticmethod
    def _secret_values(secret):
        data = secret.data or {}
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    # -- the Provisioner interface --------------------------------------------------------
    def ensure(self, ops):
        if not ops:
            return []
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(ops))) as pool:
            return list(pool.map(self._ensure_one, ops))

    def _ensure_one(self, op):
        try:
            return self._ensure_cluster(op)
        except (KubernetesError, ProvisioningError, ValueError) as e:
            return OpResult("ensure", op.name, "error", str(e))

    def _ensure_cluster(self, op):
        account, name = op.name, self.cluster_name(op.name)
        cluster, secret = self._get_cluster(name), self._get_secret(name)
        if secret is not None and not secret_ours(secret, self.hub_id):
            raise ProvisioningError(self._foreign(name, secret.metadata, "Secret"))
        if cluster is not None:
            if not cluster_ours(cluster, secret, self.hub_id, account):
                raise ProvisioningError(self._foreign(name, cluster.get("metadata") or {}))
            password = self._secret_values(secret).get("FLUX_TOKEN")
            if op.rotate and op.password != password:
                self._rotate(name, account, op.password, password)
                return OpResult("ensure", account, "password-set", password=op.password)
            return OpResult("ensure", account, "unchanged", password=password)
        made_secret = secret is None
        if made_secret:
            secret = self._create_secret(name, account, op.password)
        elif op.rotate:  # a Secret left without its cluster: the new cluster gets the new one
            self._patch_password(name, op.password)
            secret = self._get_secret(name)
        password = self._secret_values(secret).get("FLUX_TOKEN")
        made_claim = None
        try:
            storage, made_claim = self._ensure_claim(account)
            self._create_cluster(name, account, secret, storage)
        except Exception:
            # No half-made cluster: what this call made goes with the failed create (a claim
            # made now holds no files yet; one made before is kept).
            if made_claim:
                self._delete_claim(made_claim)
            if made_secret:
                self._delete_secret(name)
            raise
        self.log.info("Created MiniCluster %s in namespace %s", name, self.namespace)
        return OpResult("ensure", account, "created", password=password)

    def _rotate(self, name, account, new, old):
        """A new password on the person's running cluster (see .password): first in its
        flux-restful's database, then in the Secret. If the Secret cannot be changed, the
        database gets the old password back, so the two never disagree."""
        set_db_password(
            self._api_client_of(),
            self.namespace,
            name,
            account,
            new,
            hide=[old],
            timeout=self.exec_timeout,
            log=self.log,
        )
        try:
            self._patch_password(name, new)
        except KubernetesError:
            try:
                set_db_password(
                    self._api_client_of(),
                    self.namespace,
                    name,
                    account,
                    old,
                    hide=[new],
                    timeout=self.exec_timeout,
                    log=self.log,
                )
            except ProvisioningError as e:
                self.log.error("The old password of %s could not be put back: %s", account, e)
            raise
        self.log.info("New password for %s on MiniCluster %s", account, name)

    def _api_client_of(self):
        self.apis  # noqa: B018 (makes the client on first use)
        return self._api_client

    def _patch_password(self, name, password):
        body = {"data": {"FLUX_TOKEN": base64.b64encode(password.encode()).decode()}}
        with api_errors(f"patch secret {name} in namespace {self.namespace}"):
            self.apis[0].patch_namespaced_secret(
                name, self.namespace, body, _content_type="application/merge-patch+json"
            )

    def _foreign(self, name, meta, kind="MiniCluster"):
        """Why an object of the name is not this hub's, and what to do."""
        where = f"{kind} {name} in namespace {self.namespace}"
        other = other_hub(meta, self.hub_id)
        if other == "":
            return (
                f"{where} was made by a flux-hub before hubs were named (no flux-hub/hub "
                "label), so this hub leaves it alone. If it is this hub's, adopt it with: "
                f"kubectl label -n {self.namespace} minicluster,secret {name} "
                f"flux-hub/hub={self.hub_id}"
            )
        if other is not None:
            return (
                f"{where} belongs to another hub (flux-hub/hub={other}; this hub is "
                f"{self.hub_id}); this hub never changes it. Hubs sharing a namespace need "
                "different MiniClusterPerUserProvisioner.name_prefix values."
            )
        if kind == "Secret":
            return (
                f"{where} exists and flux-hub did not make it; flux-hub leaves it alone. "
                "Remove or rename it to give this person a cluster."
            )
        return (
            f"{where} exists and flux-hub did not create it (no flux-hub label and owner "
            "reference); flux-hub never changes it. Remove or rename it to give this person "
            "a cluster of their own."
        )

    def _create_secret(self, name, account, password):
        from kubernetes import client

        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=name,
                labels=owned_labels(self.hub_id, account),
                annotations=owned_annotations(account),
            ),
            type="Opaque",
            string_data={
                "FLUX_SECRET_KEY": secrets.token_urlsafe(32),
                "FLUX_TOKEN_SIGNING_KEY": secrets.token_hex(32),
                "FLUX_USER": account,
                "FLUX_TOKEN": password,
            },
        )
        with api_errors(f"create secret {name} in namespace {self.namespace}"):
            self.apis[0].create_namespaced_secret(self.namespace, body)
        return self._get_secret(name)

    def _delete_secret(self, name):
        with api_errors(
            f"delete secret {name} in namespace {self.namespace}", not_found=lambda m: None
        ):
            self.apis[0].delete_namespaced_secret(name, self.namespace)

    # -- the person's claim (see .storage) ------------------------------------------------
    def _get_claim(self, name):
        with api_errors(
            f"get PersistentVolumeClaim {name} in namespace {self.namespace}",
            not_found=lambda m: None,
        ):
            return self.apis[0].read_namespaced_persistent_volume_claim(name, self.namespace)
        return None

    def _ensure_claim(self, account):
        """The person's claim, made if flux-hub makes claims and it is not there yet ->
        ((claim, cluster mount) or None without storage, the name of a claim made now or
        None). ProvisioningError for a claim that cannot be used, saying why."""
        claim = self.claim_name(account)
        if claim is None:
            return None, None
        where = f"PersistentVolumeClaim {claim} in namespace {self.namespace}"
        found = self._get_claim(claim)
        made = None
        if not self.makes_claims:
            if found is None:
                raise ProvisioningError(
                    f"{where} does not exist. MiniClusterPerUserProvisioner.storage_claim names "
                    "claims flux-hub does not make (storage_class is empty): make it first, or "
                    "set storage_class and flux-hub makes one per person."
                )
        elif found is None:
            self._create_claim(claim, account)
            made = claim
        elif not claim_ours(found, self.hub_id, account):
            raise ProvisioningError(self._foreign_claim(where, found))
        if found is not None and found.metadata.deletion_timestamp:
            raise ProvisioningError(
                f"{where} is still being deleted (Kubernetes removes it once no pod uses it); "
                "try again when it is gone."
            )
        if found is not None and RWX not in access_modes(found):
            modes = ", ".join(access_modes(found)) or "no access mode"
            raise ProvisioningError(
                f"{where} is {modes}, not {RWX}: the person's lab pod and every pod of their "
                "cluster mount it at once, on any nodes."
            )
        return (claim, self.cluster_mount(account)), made

    def _foreign_claim(self, where, claim):
        other = other_hub(claim.metadata, self.hub_id)
        if other:
            return (
                f"{where} belongs to another hub (flux-hub/hub={other}; this hub is "
                f"{self.hub_id}); this hub never uses it. Hubs sharing a namespace need "
                "different MiniClusterPerUserProvisioner.name_prefix values."
            )
        return (
            f"{where} exists and this hub did not make it; flux-hub never uses or deletes it. "
            "Remove or rename it, or leave MiniClusterPerUserProvisioner.storage_class empty to "
            "mount existing claims as they are."
        )

    def _create_claim(self, claim, account):
        body = claim_body(
            claim,
            self.namespace,
            hub=self.hub_id,
            account=account,
            storage_class=self.storage_class,
            size=self.storage_size,
        )
        with api_errors(f"create PersistentVolumeClaim {claim} in namespace {self.namespace}"):
            self.apis[0].create_namespaced_persistent_volume_claim(self.namespace, body)
        self.log.info("Created PersistentVolumeClaim %s in namespace %s", claim, self.namespace)

    def _delete_claim(self, claim):
        with api_errors(
            f"delete PersistentVolumeClaim {claim} in namespace {self.namespace}",
            not_found=lambda m: None,
        ):
            self.apis[0].delete_namespaced_persistent_volume_claim(claim, self.namespace)

    def forget_host_accounts(self, names):
        """The hub users are deleted: their claims go too, if flux-hub made them (an existing
        claim, or one without this hub's labels, is left alone). Their clusters are gone
        already (deactivate)."""
        if not self.makes_claims:
            return
        for account in names:
            try:
                claim = self.claim_name(account)
                found = self._get_claim(claim)
                if found is None:
                    continue
                if not claim_ours(found, self.hub_id, account):
                    self.log.warning(
                        "Leaving PersistentVolumeClaim %s alone: this hub did not make it", claim
                    )
                    continue
                self._delete_claim(claim)
                self.log.info(
                    "Deleted PersistentVolumeClaim %s in namespace %s (%s's files)",
                    claim,
                    self.namespace,
                    account,
                )
            except (KubernetesError, ProvisioningError) as e:
                self.log.error("The files of %s were not deleted: %s", account, e)

    def _claim_wait(self, account):
        """What the person's claim is waiting for, or None when it is bound."""
        claim = self.claim_name(account)
        found = self._get_claim(claim)
        if found is None:
            return f"PersistentVolumeClaim {claim} does not exist"
        state = phase(found)
        return None if state == "Bound" else f"PersistentVolumeClaim {claim} is {state}"

    def _create_cluster(self, name, account, secret, storage=None):
        body = self.manifest(name, account, secret.metadata.uid, self.settings(account), storage)
        with api_errors(f"create MiniCluster {name} in namespace {self.namespace}"):
            self.apis[1].create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, "miniclusters", body
            )

    def manifest(self, name, account, secret_uid, settings, storage=None):
        """The MiniCluster flux-hub makes for ``account`` (see examples/kubernetes);
        ``storage``: (claim, mount path) of the person's files."""
        return minicluster_manifest(
            name=name,
            namespace=self.namespace,
            hub=self.hub_id,
            account=account,
            secret_uid=secret_uid,
            size=settings.size or self.size,
            image=settings.image or self.image,
            restful_image=self.restful_image,
            node_selector=(
                self.node_selector if settings.node_selector is None else settings.node_selector
            ),
            service_name=self.service_name,
            port=self.port,
            storage=storage,
        )

    def deactivate(self, names):
        """Remove each person's MiniCluster and Secret (only flux-hub's own)."""
        if not names:
            return []
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(names))) as pool:
            return list(pool.map(self._remove_one, names))

    def _remove_one(self, account):
        name = self.cluster_name(account)
        try:
            cluster, secret = self._get_cluster(name), self._get_secret(name)
            removed = False
            if cluster is not None:
                if not cluster_ours(cluster, secret, self.hub_id, account):
                    self.log.warning(
                        "Leaving MiniCluster %s alone: %s",
                        name,
                        self._foreign(name, cluster.get("metadata") or {}),
                    )
                    return OpResult("deactivate", account, "missing")
                with api_errors(
                    f"delete MiniCluster {name} in namespace {self.namespace}",
                    not_found=lambda m: None,
                ):
                    self.apis[1].delete_namespaced_custom_object(
                        GROUP, VERSION, self.namespace, "miniclusters", name
                    )
                removed = True
            if secret_ours(secret, self.hub_id):
                self._delete_secret(name)
            if removed:
                self.log.info("Removed MiniCluster %s in namespace %s", name, self.namespace)
            return OpResult("deactivate", account, "deactivated" if removed else "missing")
        except KubernetesError as e:
            return OpResult("deactivate", account, "error", str(e))

    def list(self):
        """flux-hub's MiniClusters (label and owner reference checked) as active accounts."""
        selector = managed_selector(self.hub_id)
        try:
            with api_errors(f"list MiniClusters in namespace {self.namespace}"):
                clusters = self.apis[1].list_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, "miniclusters", label_selector=selector
                )["items"]
            with api_errors(f"list secrets in namespace {self.namespace}"):
                found = (
                    self.apis[0]
                    .list_namespaced_secret(self.namespace, label_selector=selector)
                    .items
                )
        except KubernetesError as e:
            raise ProvisioningError(str(e)) from None
        by_name = {s.metadata.name: s for s in found}
        accounts = []
        for cluster in clusters:
            meta = cluster.get("metadata") or {}
            account = account_of(meta)
            if cluster_ours(cluster, by_name.get(meta.get("name")), self.hub_id, account):
                accounts.append(ClusterAccount(account, True, False))
        return accounts

    def server_endpoint(self, account):
        """A person's server reaches their own cluster at the same URL as the hub does."""
        return self.endpoint(account)

    def url_of(self, account):
        """The URL of the person's cluster's flux-restful (no request made)."""
        name = self.cluster_name(account)
        if self.cluster_url_for is not None:
            return self.cluster_url_for(name, self.namespace)
        return self.url_template.format(
            name=name,
            account=account,
            service=self.service_name,
            namespace=self.namespace,
            port=self.port,
        )

    def endpoint(self, account):
        secret = self._get_secret(self.cluster_name(account))
        ours = secret_ours(secret, self.hub_id)
        key = self._secret_values(secret).get("FLUX_SECRET_KEY") if ours else ""
        return self.url_of(account), key or ""

    def ready_step(self, account, password):
        """One look at the person's cluster -> (ready, what it is waiting for). Ready: their
        flux-restful accepts their login. ProvisioningError when waiting is pointless."""
        from flux_hub.restful import FluxRestfulClient, FluxRestfulError

        name = self.cluster_name(account)
        try:
            state = self.cluster_state(account)
        except KubernetesError as e:
            raise ProvisioningError(str(e)) from None
        if state.state in ("absent", "foreign"):
            raise ProvisioningError(
                state.message or f"MiniCluster {name} in namespace {self.namespace} is gone."
            )
        message = f"Your Flux MiniCluster {name}: {state.pods_running} of {state.size} pods running"
        if state.state != "running" and self.has_storage:
            try:
                waiting = self._claim_wait(account)
            except KubernetesError:
                waiting = None
            if waiting:
                message += f", waiting for your files ({waiting})"
        if state.state == "running":
            url, key = self.endpoint(account)
            client = FluxRestfulClient(url, account, password, key or None, timeout=10)
            try:
                client.login()
                return True, f"Your Flux MiniCluster {name} is ready (flux-restful answers)"
            except FluxRestfulError as e:
                message = f"Your Flux MiniCluster {name}: waiting for flux-restful ({e})"
            finally:
                client.close()
        return False, message

    def not_ready(self, account, message):
        """The error of a wait that took longer than ready_timeout."""
        return ProvisioningError(
            f"MiniCluster {self.cluster_name(account)} in namespace {self.namespace} was not "
            f"ready within {self.ready_timeout:.0f} s ({message.split(': ', 1)[-1]})."
        )

    async def wait_ready(self, account, password, report):
        """Wait until the person's cluster is ready, telling ``report`` each new step. Each look
        (ready_step) runs in a thread; the waits between them hold none, so many spawns may
        wait at once. ProvisioningError when it is not ready in ready_timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        last = None
        while True:
            ready, message = await asyncio.to_thread(self.ready_step, account, password)
            if message != last:
                report(message)
                last = message
            if ready:
                return
            if loop.time() > deadline:
                raise self.not_ready(account, message)
            await asyncio.sleep(self.poll_interval)

    # -- state and settings for the pages -------------------------------------------------
    def cluster_state(self, account):
        name = self.cluster_name(account)
        cluster, secret = self._get_cluster(name), self._get_secret(name)
        if cluster is None:
            return ClusterState(account, name, "absent")
        if not cluster_ours(cluster, secret, self.hub_id, account):
            message = self._foreign(name, cluster.get("metadata") or {})
            return ClusterState(account, name, "foreign", message=message)
        spec = cluster.get("spec") or {}
        size = spec.get("size") or 1
        with api_errors(f"list pods in namespace {self.namespace}"):
            pods = (
                self.apis[0]
                .list_namespaced_pod(self.namespace, label_selector=f"job-name={name}")
                .items
            )
        running = sum(
            1
            for p in pods
            if not p.metadata.deletion_timestamp
            and p.status is not None
            and p.status.phase == "Running"
            and all(c.ready for c in p.status.container_statuses or ())
        )
        containers = spec.get("containers") or [{}]
        return ClusterState(
            account,
            name,
            "running" if running >= size else "starting",
            pods_running=running,
            size=size,
            image=containers[0].get("image"),
            node_selector=(spec.get("pod") or {}).get("nodeSelector") or {},
            created=(cluster.get("metadata") or {}).get("creationTimestamp"),
        )

    @property
    def _settings(self):
        return SettingsStore(self.settings_path)

    def settings(self, account):
        """The person's own settings (fields None: the configured default)."""
        return self._settings.get(account)

    def set_settings(self, account, settings):
        """Keep a person's settings (checked first; they apply when the cluster is next made)."""
        self._settings.set(account, settings)

    def defaults(self):
        return ClusterSettings(self.size, self.image, dict(self.node_selector))

    def active_jobs(self, account, password):
        """How many of the person's jobs are not finished (their cluster's flux-restful)."""
        from flux_hub.restful import FluxRestfulClient

        url, key = self.endpoint(account)
        with FluxRestfulClient(url, account, password, key or None, timeout=10) as client:
            return sum(1 for job in client.jobs() if job.get("state") != "INACTIVE")
