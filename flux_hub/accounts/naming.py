"""Hub user name -> MiniCluster account name.

An account name is a POSIX-style user name: lower case, at most 32 characters, a letter first,
then letters, digits, ``_`` or ``-``. The MiniCluster may run jobs as that Linux user (multi-user
mode), so the name must be one ``useradd`` accepts and must never be a system account.

The default mapping keeps a hub name that already is such a name. Any other hub name (upper case
was already folded by JupyterHub; ``Alice.Smith@example.org``, ``ünïcode``, ``'a' * 60``) and any
reserved name (``root``, ``daemon``, the cluster's superuser ...) becomes a readable stem plus
``--`` plus a hash of the exact hub name. Hub names containing ``--`` are always hashed, so a
kept name can never equal a hashed one, and two hashed names differ unless 50-bit hashes collide.
"""

from flux_hub.names import HASH_MARK, account_name_error, hashed_name, is_account_name

# System and service accounts common on Linux images (Debian, RHEL, the Flux Operator's
# images): a hub user of that name must never become that account.
SYSTEM_NAMES = frozenset(
    """
    root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats
    nobody nogroup systemd-network systemd-resolve systemd-timesync systemd-journal
    systemd-coredump messagebus syslog sshd _apt polkitd avahi dnsmasq rpc rpcuser ntp chrony
    postfix operator halt shutdown adm ftp tss dbus tcpdump admin administrator sudo wheel
    staff users flux munge slurm jovyan
    """.split()
)


def hashed_account_name(hub_name):
    """The stem-plus-hash form of a hub name (valid, and distinct from every kept name)."""
    return hashed_name(hub_name)


def default_account_name(hub_name, reserved=frozenset()):
    """The default mapping: keep valid names that are not system or reserved names; hash all
    others."""
    kept = hub_name not in SYSTEM_NAMES and hub_name not in reserved
    if kept and is_account_name(hub_name) and HASH_MARK not in hub_name:
        return hub_name
    return hashed_account_name(hub_name)


class AccountNamer:
    """Maps hub names to account names with the default rule or a configured callable.

    The callable's answer is checked: a name that is not a valid account name, or that is a
    reserved (system or superuser) name, is refused with an error naming both.
    """

    def __init__(self, custom=None, reserved=()):
        self.custom = custom
        self.reserved = SYSTEM_NAMES | frozenset(reserved)

    def __call__(self, hub_name):
        if not hub_name:
            raise ValueError("A hub user name is required to choose an account name.")
        if self.custom is None:
            return default_account_name(hub_name, self.reserved)
        name = self.custom(hub_name)
        if not is_account_name(name):
            raise ValueError(
                f"The account name mapping gave no usable name for hub user {hub_name!r}: "
                f"{account_name_error(name)}."
            )
        if name in self.reserved:
            raise ValueError(
                f"The account name mapping gave {name!r} for hub user {hub_name!r}, which is a "
                f"reserved system or superuser account."
            )
        return name
