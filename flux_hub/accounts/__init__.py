"""MiniCluster accounts for hub users: naming, credential store, provisioners, and the core."""

from .core import AccountRow, FluxAccounts, Outcome, new_password
from .naming import AccountNamer, default_account_name, is_account_name
from .provisioner import (
    ClusterAccount,
    DBScriptProvisioner,
    EnsureOp,
    LocalProvisioner,
    OpResult,
    Provisioner,
    ProvisioningError,
)
from .status import AccountState, Status
from .store import ACTIVE, DEACTIVATED, FAILED, CredentialStore, CryptKeyMissing, Record

__all__ = [
    "ACTIVE",
    "DEACTIVATED",
    "FAILED",
    "AccountNamer",
    "AccountState",
    "AccountRow",
    "ClusterAccount",
    "CredentialStore",
    "CryptKeyMissing",
    "DBScriptProvisioner",
    "EnsureOp",
    "FluxAccounts",
    "LocalProvisioner",
    "OpResult",
    "Outcome",
    "Provisioner",
    "ProvisioningError",
    "Record",
    "Status",
    "default_account_name",
    "is_account_name",
    "new_password",
]
