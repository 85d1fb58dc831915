"""FluxLocalProcessSpawner: each person's server runs as their own Unix account, never as root.

``c.JupyterHub.spawner_class = "flux-local"`` with ``FluxAuthenticator`` (or any authenticator
given ``with_flux_accounts``) on a hub run as root: the Unix account is the person's Flux account
name (the authenticator puts it in the server's ``FLUX_USER`` before the spawn), which flux-hub
made with a private home (``LocalProvisioner.system_accounts``). JupyterHub's own
LocalProcessSpawner would use the hub user's name instead, which need not be a valid Unix name
("Erin.Lee@example.org") and may name an account flux-hub did not make ("root").
"""

import pwd

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid

from flux_hub.accounts.system import SystemAccountError, lookup


class FluxLocalProcessSpawner(LocalProcessSpawner):
    """A local process as the person's flux-hub Unix account (their Flux account's name)."""

    @property
    def system_user(self):
        """The Unix account name: the Flux account the authenticator gave this server."""
        name = self.environment.get("FLUX_USER")
        if not name:
            raise SystemAccountError(
                f"{self.user.name} has no Flux account yet (FLUX_USER is not set), so there is "
                "no Unix account to start their server as"
            )
        return name

    def _record(self):
        record = lookup(self.system_user)
        if record is None:
            raise SystemAccountError(f"there is no Unix account {self.system_user!r} yet")
        return record

    async def start(self):
        try:
            record = self._record()
        except SystemAccountError as error:
            self.log.error("Not starting the server of %s: %s", self.user.name, error)
            raise RuntimeError(f"Your server cannot start: {error}.") from None
        self.log.info("Starting the server of %s as Unix user %s", self.user.name, record.pw_name)
        return await super().start()

    def make_preexec_fn(self, name):
        return set_user_setuid(self.system_user)

    def user_env(self, env):
        record = pwd.getpwnam(self.system_user)
        env.update(USER=record.pw_name, LOGNAME=record.pw_name, HOME=record.pw_dir)
        if record.pw_shell:
            env["SHELL"] = record.pw_shell
        return env
