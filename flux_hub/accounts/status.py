"""The values an account's state and an account operation's result take.

Both are ``str`` enums: a member equals, prints, formats and is stored (sqlite, JSON, the
service's pages) as its text, so the values written before these types existed read back the
same. The DB script (``flux_hub/provision/dbscript.py``) answers with the same texts; it runs
without flux_hub, so it spells them out.
"""

from enum import Enum


class _Text(str, Enum):
    """A member is its text wherever text is used (what ``enum.StrEnum`` does, on 3.10 too)."""

    __str__ = str.__str__
    __format__ = str.__format__


class AccountState(_Text):
    """A hub user's account as flux-hub keeps it (``Record.state``) or finds it on the
    cluster (``AccountRow.state``)."""

    ACTIVE = "active"  # it works: the password is known, unless the row says otherwise
    DEACTIVATED = "deactivated"  # on purpose: an admin, or the hub user was deleted
    FAILED = "failed"  # the last provisioning failed; ``error`` says why
    MISSING = "missing"  # overview only: no such account on the cluster (never stored)


class Status(_Text):
    """What one operation did to one account (``OpResult.status``, ``Outcome.status``)."""

    EXISTS = "exists"  # Outcome only: the record was current, the cluster was not asked
    CREATED = "created"
    UNCHANGED = "unchanged"
    REACTIVATED = "reactivated"
    PASSWORD_SET = "password-set"
    DEACTIVATED = "deactivated"
    MISSING = "missing"  # deactivate: there was no such account
    ERROR = "error"  # see ``error``

    @property
    def quiet(self):
        """Nothing changed: not worth a log line or a line in the reconcile report."""
        return self in (Status.EXISTS, Status.UNCHANGED)
