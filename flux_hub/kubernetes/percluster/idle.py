"""The accounts service's idle check: which people's MiniClusters to remove."""

import time

from flux_hub.accounts.provisioner import ProvisioningError

from ..errors import KubernetesError


def idle_to_remove(accounts, running_servers, idle_since, now=None):
    """Hub users whose MiniCluster has been idle for the provisioner's idle_timeout.

    Idle: the person's server is not running (``running_servers``: hub user names with a
    server) and flux-restful lists no job of theirs that is not finished. ``idle_since``
    ({hub user: time}) is the caller's memory between calls; a cluster that cannot be asked
    (still starting, unreachable) counts as busy, so only a cluster seen idle is removed.
    """
    from flux_hub.accounts import ACTIVE
    from flux_hub.restful import FluxRestfulError

    provisioner = accounts.provisioner
    if not provisioner.idle_timeout:
        return []
    now = time.time() if now is None else now
    owned = {a.name for a in provisioner.list()}
    due = []
    for hub_user, record in accounts.records().items():
        if record.state != ACTIVE or record.account not in owned:
            idle_since.pop(hub_user, None)
            continue
        busy = hub_user in running_servers
        if not busy:
            try:
                busy = provisioner.active_jobs(record.account, accounts.store.password(record)) > 0
            except (FluxRestfulError, KubernetesError, ProvisioningError) as e:
                provisioner.log.info("Not idle: cannot ask %s's cluster (%s)", hub_user, e)
                busy = True
        if busy:
            idle_since.pop(hub_user, None)
        elif now - idle_since.setdefault(hub_user, now) >= provisioner.idle_timeout:
            due.append(hub_user)
    return due
